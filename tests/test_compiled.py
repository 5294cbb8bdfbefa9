"""A read compiled once (``cspo.compiled``) answers as the ORM does, whatever the arguments, and
refuses a placeholder it cannot place. The verification page reads through one."""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from certification import services
from certification.models import Certification
from cspo.compiled import CompiledRead
from tests.factories import certification_for

pytestmark = pytest.mark.django_db

COLUMNS = ("pk", "certificant_number", "issued_on", "expires_on", "revoked_at", "holder__full_name", "course__kind")


def by_number(number):
    return Certification.objects.filter(certificant_number=number).values_list(*COLUMNS).order_by()


@pytest.fixture
def three(participant, trainer, administrator):
    today = timezone.localdate()
    active, revoked = (certification_for(participant, trainer, activated_on=today) for _ in range(2))
    services.revoke(certification=revoked, by=administrator, reason="Issued by mistake")
    expired = certification_for(participant, trainer, activated_on=today - timedelta(days=800))
    return active, revoked, expired


def test_a_compiled_read_gives_the_orm_s_own_rows_for_each_argument(three):
    read = CompiledRead(by_number, "\x00number\x00")

    for certification in three:
        number = certification.certificant_number
        assert read.rows(number) == list(by_number(number))
    assert read.rows("0000-0000") == []


def test_a_compiled_read_converts_columns_as_the_orm_does(three):
    """Dates are dates and times are aware times, on SQLite too (which stores them as text)."""
    _, revoked, _ = three
    read = CompiledRead(by_number, "\x00number\x00")

    [(_, _, issued_on, expires_on, revoked_at, _, _)] = read.rows(revoked.certificant_number)

    assert (type(issued_on), type(expires_on), type(revoked_at)) == (date, date, datetime)
    assert timezone.is_aware(revoked_at)


def test_a_compiled_read_is_compiled_once_and_then_only_given_new_arguments(three):
    built = []

    def build(number):
        built.append(number)
        return by_number(number)

    read = CompiledRead(build, "\x00number\x00")
    answers = [read.rows(certification.certificant_number)[0][0] for certification in three]

    assert answers == [certification.pk for certification in three]
    assert built == ["\x00number\x00"]


def test_a_placeholder_the_parameters_do_not_hold_once_is_refused(three):
    not_used = CompiledRead(lambda number: by_number("1234-5678"), "\x00number\x00")
    twice = CompiledRead(
        lambda number: Certification.objects.filter(certificant_number=number, revoked_reason=number).values_list("pk"),
        "\x00number\x00",
    )

    for read in (not_used, twice):
        with pytest.raises(ImproperlyConfigured, match="must be there once"):
            read.rows("1234-5678")


def test_a_compiled_read_takes_as_many_arguments_as_placeholders(three):
    read = CompiledRead(by_number, "\x00number\x00")

    with pytest.raises(TypeError, match="1 arguments expected, 2 given"):
        read.rows("1234-5678", "5678-1234")


def test_an_argument_is_a_parameter_never_sql(three, client):
    response = client.get(reverse("certification:verify", args=["1' OR '1'='1"]))

    assert response.status_code == 404


def test_the_verification_page_states_the_revocation_date_it_read(three, client):
    _, revoked, _ = three
    revoked.refresh_from_db()

    page = client.get(reverse("certification:verify", args=[revoked.certificant_number])).content.decode()

    revoked_on = date_format(timezone.localtime(revoked.revoked_at), "j F Y")
    assert f"revoked on {revoked_on} and is not valid" in re.sub(r"\s+", " ", page)
    assert revoked.holder.full_name in page
    assert revoked.course.title in page
