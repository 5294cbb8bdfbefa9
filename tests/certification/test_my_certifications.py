"""A participant's own certifications: each state with its next step, nobody else's, and a new link."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone

from certification import services
from certification.models import Certification
from renewals.models import RenewalPolicy
from tests.factories import CertificationFactory, CourseFactory, UserFactory

pytestmark = pytest.mark.django_db

STATES = ["pending", "active", "expiring", "expired", "revoked"]
RENEW = 'href="/me/renewal/"'


def certification_in(status: str, holder, **workshop) -> Certification:
    """A certification of ``holder`` showing ``status`` today, its dates set directly. Activated on a
    day long after today, when none of the holder's others is current: activating it extends none of
    them (taking another course extends the earlier ones)."""
    certification = CertificationFactory(
        enrolment__participant=holder, **{f"enrolment__workshop__{k}": v for k, v in workshop.items()}
    )
    if status == "pending":
        return certification
    today = timezone.localdate()
    services.activate(certification=certification, accept_license=True, today=today + timedelta(days=3650))
    rows = Certification.objects.filter(pk=certification.pk)
    issued_on = today - timedelta(days=30)
    expires_on = services.add_months(issued_on, 24)
    rows.update(issued_on=issued_on, expires_on=expires_on, membership_until=expires_on)
    if status == "expiring":
        rows.update(issued_on=today - timedelta(days=700), expires_on=today + timedelta(days=30))
    elif status == "expired":
        rows.update(issued_on=today - timedelta(days=800), expires_on=today - timedelta(days=1))
    elif status == "revoked":
        rows.update(state=Certification.State.REVOKED, revoked_at=timezone.now(), revoked_reason="Misrepresentation")
    return Certification.objects.get(pk=certification.pk)


def section_of(page: str, certification: Certification) -> str:
    return re.search(rf'<section[^>]*id="certification-{certification.pk}".*?</section>', page, re.S).group(0)


def test_my_certifications_shows_each_state_with_its_next_step(client, participant):
    made = {status: certification_in(status, participant) for status in STATES}
    client.force_login(participant)

    response = client.get("/me/certifications/")

    page = response.content.decode()
    sections = {status: section_of(page, certification) for status, certification in made.items()}
    shown = {
        certification.pk: certification.current_status_label for certification in response.context["certifications"]
    }
    assert shown == {
        made["pending"].pk: "Pending activation",
        made["active"].pk: "Active",
        made["expiring"].pk: "Expiring soon",
        made["expired"].pk: "Expired",
        made["revoked"].pk: "Revoked",
    }
    for status, section in sections.items():
        certification = made[status]
        pdf = f'href="/me/certifications/{certification.pk}/certificate.pdf"'
        verify = f'href="/verify/{certification.certificant_number}/"'
        assert ("Send me a new activation link" in section) == (status == "pending"), status
        assert (pdf in section, verify in section) == ((status in ("active", "expiring"),) * 2), status
        assert (RENEW in section) == (status in ("active", "expiring", "expired")), status
    assert "We e-mailed a link to pat@example.org" in sections["pending"]
    assert "Given on activation" in sections["pending"]
    assert made["active"].certificant_number in sections["active"]
    assert f"{made['active'].membership_until:%-d %B %Y}" in sections["active"]
    assert f"{made['active'].issued_on:%-d %B %Y}" in sections["active"]
    assert f"Expired on {made['expired'].expires_on:%-d %B %Y}." in sections["expired"]
    assert "was revoked on" in sections["revoked"]
    workshop = made["active"].enrolment.workshop
    assert f"{workshop.title} with {workshop.lead_trainer.full_name}" in sections["active"]


def test_my_certifications_renewal_shows_seus_and_fee_and_links_to_the_ledger(client, participant):
    certification_in("expiring", participant)
    client.force_login(participant)

    page = client.get("/me/certifications/").content.decode()

    assert "0 of 20 SEUs logged; the renewal fee is 100.00 USD." in page
    assert '<a class="button" href="/me/renewal/">Log SEUs and renew</a>' in page


def test_my_certifications_expired_beyond_the_grace_period_cannot_be_renewed(client, participant):
    expired = certification_in("expired", participant)
    Certification.objects.filter(pk=expired.pk).update(expires_on=timezone.localdate() - timedelta(days=91))
    client.force_login(participant)

    page = client.get("/me/certifications/").content.decode()

    assert "The time to renew it has passed" in page
    assert RENEW not in section_of(page, expired)


def test_my_certifications_activate_now_opens_the_activation_form(client, participant):
    pending = certification_in("pending", participant)
    client.force_login(participant)

    certification = client.get("/me/certifications/").context["certifications"][0]
    form = client.get(certification.activation_path)

    assert certification.pk == pending.pk
    assert list(form.context["form"].fields) == ["accept"]
    assert form.context["certification"] == pending


def test_a_pending_a_cspo_says_the_work_experience_it_needs(client, participant):
    advanced = CourseFactory(kind="A-CSPO", title="Advanced Certified Scrum Product Owner", experience_months=12)
    pending = certification_in("pending", participant, course=advanced)
    client.force_login(participant)

    section = section_of(client.get("/me/certifications/").content.decode(), pending)

    assert "needs 12 months of work as a Product Owner within the last 5 years" in section


def test_my_certifications_another_participant_never_sees_them(client, participant):
    mine = certification_in("active", participant)
    someone = UserFactory(email="sam@example.org")
    client.force_login(someone)

    response = client.get("/me/certifications/")

    assert response.context["certifications"] == []
    assert mine.certificant_number not in response.content.decode()
    assert "You hold no certification yet." in response.content.decode()


def test_my_certifications_anonymous_is_sent_to_login(client):
    response = client.get("/me/certifications/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/me/certifications/"


def test_my_certifications_new_link_for_someone_else_is_not_found(
    client, participant, django_capture_on_commit_callbacks
):
    theirs = certification_in("pending", UserFactory(email="sam@example.org"))
    client.force_login(participant)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/me/certifications/", {"action": "new_link", "certification": theirs.pk, "version": 1})

    assert response.status_code == 404
    assert mail.outbox == []
    assert Certification.objects.get(pk=theirs.pk).activation_version == 1


def test_my_certifications_new_link_is_sent_once_to_the_holder(client, participant, django_capture_on_commit_callbacks):
    pending = certification_in("pending", participant)
    client.force_login(participant)
    data = {"action": "new_link", "certification": pending.pk, "version": pending.activation_version}

    with django_capture_on_commit_callbacks(execute=True):
        first = client.post("/me/certifications/", data, follow=True)
        second = client.post("/me/certifications/", data, follow=True)  # a double click

    assert [message.to for message in mail.outbox] == [["pat@example.org"]]
    assert Certification.objects.get(pk=pending.pk).activation_version == 2
    assert [str(m) for m in first.context["messages"]] == [
        "A new activation link is on its way to p…@example.org. The older links stop working."
    ]
    assert [str(m) for m in second.context["messages"]] == [
        "A new activation link was sent to p…@example.org a moment ago. Use the newest e-mail."
    ]


def test_my_certifications_new_link_for_an_active_one_sends_nothing(
    client, participant, django_capture_on_commit_callbacks
):
    active = certification_in("active", participant)
    client.force_login(participant)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/me/certifications/", {"action": "new_link", "certification": active.pk, "version": 1}, follow=True
        )

    assert [str(m) for m in response.context["messages"]] == ["This certification is already activated."]
    assert mail.outbox == []


def test_my_certifications_post_without_the_action_is_refused(client, participant):
    pending = certification_in("pending", participant)
    client.force_login(participant)

    response = client.post("/me/certifications/", {"certification": pending.pk})

    assert response.status_code == 400
    assert Certification.objects.get(pk=pending.pk).activation_version == 1


@pytest.mark.parametrize("count", [2, 8])
def test_my_certifications_query_count_is_flat(client, participant, django_assert_num_queries, count):
    for number in range(count):
        # One workshop without a title, whose name comes from the course: no query for it either.
        certification_in(STATES[number % len(STATES)], participant, title="" if number == 0 else f"Workshop {number}")
    client.force_login(participant)
    RenewalPolicy.current()  # read once, then from the cache

    # the session, the user, the certifications with their course and its renewal level, workshop
    # and trainer; for the renewal (its certifications picked from those): the SEU entries
    with django_assert_num_queries(4):
        response = client.get("/me/certifications/")

    assert len(response.context["certifications"]) == count
