"""The public verification page says whether a certification is valid, expired or revoked, and
nothing more personal; only an administrator revokes, and only with a reason."""

from __future__ import annotations

import re
from datetime import timedelta
from urllib.parse import quote

import pytest
from django.contrib.messages import get_messages
from django.urls import reverse
from django.utils import timezone

from certification import services
from certification.models import Certification
from tests.factories import certification_for

pytestmark = pytest.mark.django_db


def verify_url(certification: Certification) -> str:
    return reverse("certification:verify", args=[certification.certificant_number])


def revoke_url(certification: Certification) -> str:
    return reverse("certification:revoke", args=[certification.pk])


def verdict(response) -> str:
    return re.search(r'<strong class="verdict">([^<]*)</strong>', response.content.decode())[1]


@pytest.fixture
def active(participant, trainer):
    return certification_for(participant, trainer, activated_on=timezone.localdate())


def test_verification_of_an_active_certification_says_valid(active, client):
    response = client.get(verify_url(active))

    page = response.content.decode()
    assert response.status_code == 200
    assert verdict(response) == "Valid"
    assert "Pat Participant" in page
    assert "Certified Scrum Product Owner (CSPO)" in page
    assert f"{active.expires_on:%-d %B %Y}" in page


def test_verification_of_an_expiring_certification_says_valid(participant, trainer, client):
    expiring = certification_for(participant, trainer, activated_on=timezone.localdate() - timedelta(days=700))

    response = client.get(verify_url(expiring))

    assert verdict(response) == "Valid"


def test_verification_of_an_expired_certification_says_expired(participant, trainer, client):
    expired = certification_for(participant, trainer, activated_on=timezone.localdate() - timedelta(days=800))

    response = client.get(verify_url(expired))

    assert verdict(response) == "Expired"
    assert f"expired on {expired.expires_on:%-d %B %Y}" in response.content.decode()


def test_verification_of_a_revoked_certification_says_revoked_without_the_reason(active, administrator, client):
    services.revoke(certification=active, by=administrator, reason="Attendance record was forged.")

    response = client.get(verify_url(active))

    assert verdict(response) == "Revoked"
    assert "forged" not in response.content.decode()


def test_verification_shows_no_email_address(active, client):
    response = client.get(verify_url(active))

    assert re.findall(r"[\w.+-]+@[\w-]+\.[\w.]+", response.content.decode()) == []


def test_verification_asks_search_engines_not_to_index(active, client):
    response = client.get(verify_url(active))

    assert response["X-Robots-Tag"] == "noindex"


def test_verification_of_an_unknown_number_is_not_found(active, client):
    response = client.get(reverse("certification:verify", args=["0000-0000"]))

    assert response.status_code == 404


@pytest.mark.parametrize(
    "path", ["/verify/%00/", "/verify/1234-5678%00/", "/verify/1'%20OR%20'1'='1/", "/verify/12345678/"]
)
def test_verification_of_something_that_is_no_certificant_number_is_not_found(active, client, path):
    assert client.get(path).status_code == 404


def test_verification_of_a_pending_certification_is_not_found(participant, trainer, client):
    pending = certification_for(participant, trainer)
    # A pending certification has no number yet; guessing one it might get reveals nothing either.
    Certification.objects.filter(pk=pending.pk).update(certificant_number="1234-5678")

    response = client.get(reverse("certification:verify", args=["1234-5678"]))

    assert response.status_code == 404


def test_revoke_form_is_shown_to_an_administrator(active, administrator, login):
    response = login(administrator).get(revoke_url(active))

    assert response.status_code == 200
    assert '<textarea id="revoke-reason" name="reason"' in response.content.decode()


def test_revoke_by_a_participant_is_forbidden(active, participant, login):
    response = login(participant).post(revoke_url(active), {"reason": "I changed my mind."})

    active.refresh_from_db()
    assert (response.status_code, active.state) == (403, Certification.State.ACTIVE)


def test_revoke_by_a_trainer_is_forbidden(active, trainer, login):
    response = login(trainer).post(revoke_url(active), {"reason": "Did not really participate."})

    active.refresh_from_db()
    assert (response.status_code, active.state) == (403, Certification.State.ACTIVE)


def test_revoke_anonymous_goes_to_login(active, client):
    url = revoke_url(active)

    response = client.get(url)

    assert response.status_code == 302
    assert response["Location"] == f"{reverse('login')}?next={quote(url)}"


def test_revoke_without_a_reason_is_refused_and_changes_nothing(active, administrator, login):
    response = login(administrator).post(revoke_url(active), {"reason": "   "})

    active.refresh_from_db()
    assert response.status_code == 400
    assert "Give the reason for revoking." in response.content.decode()
    assert (active.state, active.revoked_at, active.revoked_reason) == (Certification.State.ACTIVE, None, "")


def test_revoke_with_a_reason_longer_than_kept_is_refused_with_the_reason_still_in_the_form(
    active, administrator, login
):
    reason = "Copied the exam.\r\n" + "x" * 300

    response = login(administrator).post(revoke_url(active), {"reason": reason})

    active.refresh_from_db()
    page = response.content.decode()
    assert response.status_code == 400
    assert "The reason for revoking is too long: 317 characters, at most 300." in page
    assert "x" * 300 in page  # what was typed is still there to shorten
    assert (active.state, active.revoked_reason) == (Certification.State.ACTIVE, "")


def test_a_reason_typed_with_line_breaks_is_counted_as_the_browser_counts_it(active, administrator, login):
    reason = "Line one.\r\n" * 27 + "End."  # 301 characters as posted, 274 as typed

    login(administrator).post(revoke_url(active), {"reason": reason})

    active.refresh_from_db()
    assert active.state == Certification.State.REVOKED
    assert active.revoked_reason == ("Line one.\n" * 27 + "End.")


def test_revoke_with_a_reason_makes_the_verification_page_say_revoked(active, administrator, login):
    client = login(administrator)

    response = client.post(revoke_url(active), {"reason": "Certified by mistake."})

    active.refresh_from_db()
    assert response.status_code == 302
    assert response["Location"] == verify_url(active)
    assert [str(message) for message in get_messages(response.wsgi_request)] == [
        f"Pat Participant’s CSPO certification {active.certificant_number} is revoked."
    ]
    assert (active.state, active.revoked_reason) == (Certification.State.REVOKED, "Certified by mistake.")
    assert verdict(client.get(verify_url(active))) == "Revoked"


def test_revoke_of_a_revoked_certification_goes_back_to_its_page(active, administrator, login):
    services.revoke(certification=active, by=administrator, reason="Certified by mistake.")

    response = login(administrator).get(revoke_url(active))

    assert (response.status_code, response["Location"]) == (302, verify_url(active))


def test_revoke_of_a_pending_certification_is_not_found(participant, trainer, administrator, login):
    pending = certification_for(participant, trainer)

    response = login(administrator).get(revoke_url(pending))

    assert response.status_code == 404


def test_verification_reads_one_row_whatever_the_certification(
    participant, trainer, administrator, client, django_assert_num_queries
):
    today = timezone.localdate()
    active, revoked = (certification_for(participant, trainer, activated_on=today) for _ in range(2))
    services.revoke(certification=revoked, by=administrator, reason="Issued by mistake")
    expired = certification_for(participant, trainer, activated_on=today - timedelta(days=800))

    verdicts = []
    for certification in (active, expired, revoked):
        with django_assert_num_queries(1):  # every column the page shows is in that one row's read
            verdicts.append(verdict(client.get(verify_url(certification))))

    assert verdicts == ["Valid", "Expired", "Revoked"]
