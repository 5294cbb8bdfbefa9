"""A read compiled once (``cspo.compiled``) answers as the ORM does, whatever the arguments, and
refuses a placeholder it cannot place. The verification page reads through one."""

from __future__ import annotations

import re
import threading
from datetime import date, datetime, timedelta

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import OperationalError, connection, transaction
from django.db.models import Value
from django.db.transaction import TransactionManagementError
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from certification import services
from certification.models import Certification
from certification.queries import verification
from cspo.compiled import CompiledRead, CompiledReads, numbers, padded
from participants.models import User
from tests.factories import CourseFactory, certification_for
from workshops.models import Workshop

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


def test_an_argument_is_a_parameter_never_sql(three):
    assert verification("1' OR '1'='1") is None
    assert verification(three[0].certificant_number) is not None


def test_the_verification_page_states_the_revocation_date_it_read(three, client):
    _, revoked, _ = three
    revoked.refresh_from_db()

    page = client.get(reverse("certification:verify", args=[revoked.certificant_number])).content.decode()

    revoked_on = date_format(timezone.localtime(revoked.revoked_at), "j F Y")
    assert f"revoked on {revoked_on} and is not valid" in re.sub(r"\s+", " ", page)
    assert revoked.holder.full_name in page
    assert revoked.course.title in page


# --- Model instances --------------------------------------------------------------------------


def with_relations(holder_id):
    return (
        Certification.objects.filter(holder_id=holder_id)
        .select_related("course__renewal_level", "enrolment__workshop__lead_trainer", "submission")
        .order_by("-issued_on", "pk")
    )


def fields_of(instance) -> dict:
    return {name: value for name, value in vars(instance).items() if not name.startswith("_")}


def test_a_compiled_model_read_builds_the_orm_s_own_instances_with_their_relations(
    three, participant, django_assert_num_queries
):
    Certification.objects.filter(pk=three[2].pk).update(course=CourseFactory(kind="LEAN"))  # renews at no level
    read = CompiledRead(with_relations, -7_314_159)
    by_orm = list(with_relations(participant.pk))

    def related(c):
        relations = (c.course, c.course.renewal_level, c.enrolment, c.enrolment.workshop.lead_trainer, c.submission)
        return [fields_of(relation) if relation is not None else None for relation in relations]

    with django_assert_num_queries(1):  # the relations come with the rows
        compiled = read.objects(participant.pk)
        relations = [related(c) for c in compiled]

    assert [fields_of(c) for c in compiled] == [fields_of(c) for c in by_orm]
    assert relations == [related(c) for c in by_orm]
    assert [fields_of(c.enrolment.workshop) for c in compiled] == [fields_of(c.enrolment.workshop) for c in by_orm]
    assert None in [c.course.renewal_level for c in compiled]  # a relation left empty is None
    assert read.objects(-1) == []


def test_a_compiled_model_read_defers_and_annotates_as_the_orm_does(three, participant):
    def build(holder_id):
        return (
            Certification.objects.filter(holder_id=holder_id)
            .only("certificant_number", "course__kind")
            .select_related("course")
            .annotate(years=Value(2))
            .order_by("pk")
        )

    [compiled, *_] = CompiledRead(build, -7_314_159).objects(participant.pk)
    [by_orm, *_] = build(participant.pk)

    assert compiled.get_deferred_fields() == by_orm.get_deferred_fields()
    assert "expires_on" in compiled.get_deferred_fields()
    assert (compiled.certificant_number, compiled.course.kind, compiled.years) == (
        by_orm.certificant_number,
        by_orm.course.kind,
        2,
    )


def test_a_compiled_read_is_read_the_way_its_queryset_reads(three, participant):
    as_rows, as_models = CompiledRead(by_number, "\x00number\x00"), CompiledRead(with_relations, -7_314_159)
    prefetching = CompiledRead(lambda pk: with_relations(pk).prefetch_related("extensions_made"), -7_314_159)
    as_dicts = CompiledRead(lambda number: by_number(number).values("pk"), "\x00number\x00")

    with pytest.raises(ImproperlyConfigured, match="gives rows"):
        as_rows.objects("1234-5678")
    with pytest.raises(ImproperlyConfigured, match="gives objects"):
        as_models.rows(participant.pk)
    with pytest.raises(ImproperlyConfigured, match="no prefetch_related"):
        prefetching.objects(participant.pk)
    with pytest.raises(ImproperlyConfigured, match="values_list"):
        as_dicts.rows("1234-5678")


# --- Dates, and a family of reads -----------------------------------------------------------------


def test_a_date_placeholder_takes_each_day_as_the_orm_does(three):
    """A date is handed to the database as the ORM hands it: as it is to PostgreSQL, as text to SQLite."""
    read = CompiledRead(
        lambda since, until: (
            Certification.objects.filter(expires_on__gte=since, expires_on__lte=until).values_list("pk").order_by("pk")
        ),
        *(date(1, 1, 3), date(1, 1, 4)),
    )
    days = sorted({c.expires_on for c in three})

    for since, until in [(days[0], days[-1]), (days[-1], days[-1]), (days[0] + timedelta(days=1), days[-1])]:
        expected = Certification.objects.filter(expires_on__gte=since, expires_on__lte=until).order_by("pk")
        assert read.rows(since, until) == list(expected.values_list("pk"))


def test_a_date_worked_out_inside_the_queryset_is_refused_not_fixed(three):
    """``since - 30 days`` computed from the placeholder would be fixed at the first run: refused."""
    read = CompiledRead(
        lambda since: Certification.objects.filter(expires_on__gte=since - timedelta(days=30)).values_list("pk"),
        date(1, 2, 3),
    )

    with pytest.raises(ImproperlyConfigured, match="must be there once"):
        read.rows(timezone.localdate())


def test_compiled_reads_of_one_shape_are_compiled_once_a_key(three, participant):
    built = []

    def make(count):
        built.append(count)
        return CompiledRead(lambda *pks: Certification.objects.filter(pk__in=pks).values_list("pk"), *numbers(count))

    reads = CompiledReads(make)
    pks = sorted(c.pk for c in three)

    assert sorted(reads[2].rows(*pks[:2])) == [(pk,) for pk in pks[:2]]
    assert sorted(reads[2].rows(*pks[1:])) == [(pk,) for pk in pks[1:]]
    assert sorted(reads[3].rows(*pks)) == [(pk,) for pk in pks]
    assert built == [2, 3]


# --- Guards ----------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_a_locking_read_outside_a_transaction_is_refused_as_the_orm_refuses_it(three):
    read = CompiledRead(
        lambda pk: Certification.objects.select_for_update().filter(pk=pk).values_list("pk"), -7_314_159
    )
    with transaction.atomic():
        assert read.rows(three[0].pk) == [(three[0].pk,)]  # compiled here, inside a transaction

    with pytest.raises(TransactionManagementError):
        read.rows(three[0].pk)


def test_a_number_no_column_holds_matches_nothing(three, login, trainer):
    read = CompiledRead(lambda pk: Certification.objects.filter(pk=pk).values_list("pk"), -7_314_159)

    assert read.rows(2**63) == read.rows(-(2**63)) == read.rows(10**30) == []
    assert login(trainer).get(f"/trainer/workshops/{2**63}/").status_code == 404


def test_columns_the_queryset_does_not_name_are_refused(three):
    read = CompiledRead(
        lambda pk: Certification.objects.filter(pk=pk).order_by("holder__email").distinct().values_list("pk"),
        -7_314_159,
    )

    with pytest.raises(ImproperlyConfigured, match="no extra"):
        read.rows(three[0].pk)


def test_lists_of_keys_are_padded_with_no_row_s_key_to_a_few_lengths():
    assert padded([7]) == (7,)
    assert padded([7, 8, 9]) == (7, 8, 9, 0)
    assert {len(padded(range(1, n + 1))) for n in range(1, 65)} == {1, 2, 4, 8, 16, 32, 64}


def test_a_family_keeps_the_reads_asked_for_last_and_compiles_others_again(three):
    built = []

    def make(offset):
        built.append(offset)
        return CompiledRead(lambda pk: Certification.objects.filter(pk__gte=pk).values_list("pk")[offset:], -7_314_159)

    pages = CompiledReads(make, keep=2)
    for offset in (0, 1, 0, 2, 0, 1):  # 1 is the least recently asked for when 2 comes
        assert len(pages[offset].rows(0)) == 3 - offset

    assert built == [0, 1, 2, 1]


@pytest.mark.django_db(transaction=True)
def test_a_read_holds_the_joined_rows_it_names_shared_where_the_database_locks_rows(three):
    active = three[0]
    read = CompiledRead(
        lambda pk: Certification.objects.select_for_update(of=("self",)).filter(pk=pk).values_list("holder__email"),
        numbers(1)[0],
        shares=(User,),
    )

    with transaction.atomic():
        rows = read.rows(active.pk)
        others = _another_connection_tries(active.holder_id) if connection.vendor == "postgresql" else None

    assert rows == [(active.holder.email,)]  # on SQLite, which locks no rows, the same read unlocked
    assert others in (None, {"share": "granted", "update": "waits"})


def _another_connection_tries(user_pk: int) -> dict[str, str]:
    """Whether a second connection may hold the person's row shared, and lock it for update, now."""
    tried = {}

    def attempt() -> None:
        try:
            for mode, clause in (("share", "FOR SHARE"), ("update", "FOR UPDATE")):
                try:
                    with transaction.atomic(), connection.cursor() as cursor:
                        cursor.execute(f"SELECT 1 FROM participants_user WHERE id = %s {clause} NOWAIT", [user_pk])
                    tried[mode] = "granted"
                except OperationalError:
                    tried[mode] = "waits"
        finally:
            connection.close()

    other = threading.Thread(target=attempt)
    other.start()
    other.join(timeout=10)
    return tried


def test_a_read_holding_rows_shared_locks_its_own_and_joins_theirs():
    unlocked = CompiledRead(lambda pk: Certification.objects.filter(pk=pk).values_list("pk"), -1, shares=(User,))
    unjoined = CompiledRead(
        lambda pk: Certification.objects.select_for_update(of=("self",)).filter(pk=pk).values_list("pk"),
        -1,
        shares=(Workshop,),
    )

    with transaction.atomic():
        with pytest.raises(ImproperlyConfigured, match="locks its own"):
            unlocked.rows(1)
        with pytest.raises(ImproperlyConfigured, match="so it joins that table"):
            unjoined.rows(1)
