"""From the trainer's submission to an active certification: the e-mailed link, the license, the
password, single use, expiry, new links and the reminder."""

from __future__ import annotations

import html
import re
import threading
import time
from datetime import timedelta

import pytest
from django.core import mail, signing
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from certification import services
from certification.models import Certification, Submission
from participants.models import OutboundEmail, User
from participants.services import confirm_understanding, record_mark
from tests.concurrency import wait_until_another_connection_waits_for_a_lock
from tests.factories import CourseFactory, EnrolmentFactory, UserFactory, WorkshopFactory, WorkshopSessionFactory
from workshops.models import Workshop

pytestmark = pytest.mark.django_db

PASSWORD = "a-long-Secret-2026"


def finished_workshop(trainer, **fields) -> Workshop:
    """Two seven-hour days, both over."""
    fields.setdefault("title", "CSPO Toronto, March")
    workshop = WorkshopFactory(lead_trainer=trainer, status=Workshop.Status.RUNNING, **fields)
    start = timezone.now().replace(microsecond=0) - timedelta(days=3)
    for day in range(2):
        WorkshopSessionFactory(
            workshop=workshop, starts_at=start + timedelta(days=day), ends_at=start + timedelta(days=day, hours=7)
        )
    return workshop


def attends(workshop, person, trainer, *, participated: bool = True):
    enrolment = EnrolmentFactory(workshop=workshop, participant=person)
    for session in workshop.sessions.order_by("starts_at"):
        record_mark(enrolment=enrolment, session=session, by=trainer, presence="present", participated=participated)
    confirm_understanding(enrolment=enrolment, by=trainer, demonstrated=True)
    return enrolment


def newcomer(email: str = "nora@example.org", name: str = "Nora Newcomer") -> User:
    """Enrolled through the public form: an account without a password yet."""
    return UserFactory(email=email, full_name=name, password=None)


def link_path(message) -> str:
    return re.search(r"https?://[^/\s]+(/activate/\S+/)", message.body).group(1)


def expired_token(certification: Certification) -> str:
    class FifteenDaysAgo(signing.TimestampSigner):
        def timestamp(self):
            return signing.b62_encode(int(time.time()) - 15 * 24 * 3600)

    value = f"{certification.pk}.{certification.activation_version}"
    return FifteenDaysAgo(salt=services.ACTIVATION_SALT).sign(value)


@pytest.fixture
def submitted(trainer, django_capture_on_commit_callbacks):
    """Nora completed the workshop and was submitted; her activation e-mail is in the outbox."""
    workshop = finished_workshop(trainer)
    attends(workshop, newcomer(), trainer)
    with django_capture_on_commit_callbacks(execute=True):
        services.submit_workshop(workshop=workshop, by=trainer)
    return Certification.objects.get()


def test_activation_full_path_from_submission_to_active(client, trainer, django_capture_on_commit_callbacks):
    workshop = finished_workshop(trainer)
    nora = newcomer()
    omar = newcomer("omar@example.org", "Omar Other")
    attends(workshop, nora, trainer)
    attends(workshop, omar, trainer)
    attends(workshop, newcomer("quiet@example.org", "Quinn Quiet"), trainer, participated=False)

    with django_capture_on_commit_callbacks(execute=True):
        services.submit_workshop(workshop=workshop, by=trainer)
    sent = sorted((message.to[0], message.subject) for message in mail.outbox)
    path = link_path(next(message for message in mail.outbox if message.to == ["nora@example.org"]))
    form = client.get(path)
    response = client.post(path, {"accept": "on", "password": PASSWORD, "password_again": PASSWORD})

    today = timezone.localdate()
    certification = Certification.objects.get(holder=nora)
    assert sent == [
        ("nora@example.org", "Activate your CSPO certification"),
        ("omar@example.org", "Activate your CSPO certification"),
    ]
    assert form.status_code == 200
    assert list(form.context["form"].fields) == ["accept", "password", "password_again"]
    assert "Certification license agreement" in form.content.decode()
    assert response.status_code == 302
    assert response["Location"] == "/me/certifications/"
    assert (
        certification.state,
        certification.issued_on,
        certification.expires_on,
        certification.membership_until,
    ) == (Certification.State.ACTIVE, today, services.add_months(today, 24), services.add_months(today, 24))
    assert certification.license_accepted_at is not None
    assert re.fullmatch(r"\d{4}-\d{4}", certification.certificant_number)
    assert client.session["_auth_user_id"] == str(nora.pk)
    assert User.objects.get(pk=nora.pk).check_password(PASSWORD)
    assert Certification.objects.get(holder=omar).state == Certification.State.PENDING


def test_activation_success_message_names_the_expiry_date(client, submitted):
    response = client.post(
        link_path(mail.outbox[0]), {"accept": "on", "password": PASSWORD, "password_again": PASSWORD}, follow=True
    )

    certification = Certification.objects.get()
    messages = [str(message) for message in response.context["messages"]]
    assert messages == [
        f"Your CSPO certification is active until {certification.expires_on:%-d %B %Y}. "
        f"Your certificant number is {certification.certificant_number}."
    ]


def test_activation_link_works_once(client, submitted):
    path = link_path(mail.outbox[0])
    client.post(path, {"accept": "on", "password": PASSWORD, "password_again": PASSWORD})
    before = Certification.objects.values().get()
    client.logout()

    again = client.get(path)
    replayed = client.post(
        path, {"accept": "on", "password": "another-Secret-2027", "password_again": "another-Secret-2027"}
    )

    assert "Already activated" in again.content.decode()
    assert "Already activated" in replayed.content.decode()
    assert Certification.objects.values().get() == before
    assert "_auth_user_id" not in client.session
    assert User.objects.get(pk=submitted.holder_id).check_password(PASSWORD)


def test_activation_of_a_person_with_a_password_asks_only_for_the_license(client, trainer, participant):
    workshop = finished_workshop(trainer)
    attends(workshop, participant, trainer)
    services.submit_workshop(workshop=workshop, by=trainer)
    token = services.activation_token(Certification.objects.get())

    form = client.get(f"/activate/{token}/")
    response = client.post(f"/activate/{token}/", {"accept": "on"})

    assert list(form.context["form"].fields) == ["accept"]
    assert response["Location"] == "/me/certifications/"
    assert Certification.objects.get().state == Certification.State.ACTIVE


def test_activation_refused_without_the_license(client, submitted):
    response = client.post(link_path(mail.outbox[0]), {"password": PASSWORD, "password_again": PASSWORD})

    assert response.status_code == 200
    assert response.context["form"].errors == {"accept": ["Accept the license agreement to activate."]}
    assert Certification.objects.get().state == Certification.State.PENDING
    assert not User.objects.get(pk=submitted.holder_id).has_usable_password()
    assert "_auth_user_id" not in client.session


def test_activation_refuses_a_weak_password(client, submitted):
    response = client.post(link_path(mail.outbox[0]), {"accept": "on", "password": "b7#q", "password_again": "b7#q"})

    assert response.context["form"].errors == {
        "password": ["This password is too short. It must contain at least 8 characters."]
    }
    assert "This password is too short" in response.content.decode()
    assert Certification.objects.get().state == Certification.State.PENDING
    assert not User.objects.get(pk=submitted.holder_id).has_usable_password()


def test_activation_refuses_a_password_like_the_e_mail_address(client, submitted):
    response = client.post(
        link_path(mail.outbox[0]),
        {"accept": "on", "password": "nora@example.org", "password_again": "nora@example.org"},
    )

    assert response.context["form"].errors == {"password": ["The password is too similar to the e-mail."]}
    assert Certification.objects.get().state == Certification.State.PENDING


def test_activation_refuses_two_different_passwords(client, submitted):
    response = client.post(
        link_path(mail.outbox[0]), {"accept": "on", "password": PASSWORD, "password_again": PASSWORD + "x"}
    )

    assert response.context["form"].errors == {"password_again": ["The two passwords differ."]}
    assert Certification.objects.get().state == Certification.State.PENDING


def test_activation_link_expired_explains_and_offers_a_new_one(client, submitted):
    token = expired_token(submitted)

    certification, reason = services.certification_from_token(token)
    response = client.get(f"/activate/{token}/")

    page = response.content.decode()
    assert (certification, reason) == (None, "This activation link has expired. Ask for a new one below.")
    assert response.status_code == 400
    assert "This activation link has expired. Ask for a new one below." in page
    assert f'action="/activate/{token}/new-link/"' in page


def test_activation_new_link_from_an_expired_one_is_sent_to_a_masked_address(
    client, submitted, django_capture_on_commit_callbacks
):
    token = expired_token(submitted)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(f"/activate/{token}/new-link/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "A new link is on its way to n…@example.org." in page
    assert "nora@example.org" not in page
    assert [message.to for message in mail.outbox] == [["nora@example.org"], ["nora@example.org"]]
    assert "Activate my certification" in client.get(link_path(mail.outbox[-1])).content.decode()


def test_activation_new_link_replaces_the_old_one(client, submitted, django_capture_on_commit_callbacks):
    old = link_path(mail.outbox[0])

    with django_capture_on_commit_callbacks(execute=True):
        client.post(old + "new-link/")
    stale = client.post(old, {"accept": "on", "password": PASSWORD, "password_again": PASSWORD})

    assert stale.status_code == 400
    assert "This activation link was replaced by a newer one." in stale.content.decode()
    assert Certification.objects.get().state == Certification.State.PENDING
    assert link_path(mail.outbox[-1]) != old


def test_activation_new_link_double_click_sends_one_e_mail(client, submitted, django_capture_on_commit_callbacks):
    old = link_path(mail.outbox[0])

    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(old + "new-link/")
        second = client.post(old + "new-link/")

    assert len(mail.outbox) == 2
    assert "Activate my certification" in client.get(link_path(mail.outbox[-1])).content.decode()
    assert "A new link is on its way to n…@example.org." in first.content.decode()
    assert "A new link is on its way to n…@example.org." in second.content.decode()


def test_activation_new_link_with_a_forged_signature_is_not_found(client, submitted):
    forged = services.activation_token(submitted).rsplit(":", 1)[0] + ":forged"

    assert client.post(f"/activate/{forged}/new-link/").status_code == 404
    assert client.post("/activate/garbage/new-link/").status_code == 404
    assert client.get(f"/activate/{forged}/").status_code == 400
    assert Certification.objects.get().activation_version == 1


def test_activation_new_link_after_activation_sends_nothing(client, submitted, django_capture_on_commit_callbacks):
    services.activate(certification=submitted, accept_license=True, password=PASSWORD)

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(link_path(mail.outbox[0]) + "new-link/")

    assert "Already activated" in response.content.decode()
    assert len(mail.outbox) == 1
    assert Certification.objects.get().activation_version == 1


def test_activation_new_link_needs_a_post(client, submitted):
    assert client.get(link_path(mail.outbox[0]) + "new-link/").status_code == 405


def test_remind_unactivated_sends_one_reminder_after_seven_days(submitted, django_capture_on_commit_callbacks):
    now = timezone.now()

    with django_capture_on_commit_callbacks(execute=True):
        early = services.remind_unactivated(now=now + timedelta(days=6))
        first = services.remind_unactivated(now=now + timedelta(days=7, minutes=1))
        second = services.remind_unactivated(now=now + timedelta(days=8))

    assert (early, first, second) == (0, 1, 0)
    assert [message.subject for message in mail.outbox] == [
        "Activate your CSPO certification",
        "Reminder: your CSPO certification is waiting",
    ]
    assert link_path(mail.outbox[1]).startswith("/activate/")


def test_remind_unactivated_skips_an_activated_certification(submitted, django_capture_on_commit_callbacks):
    services.activate(certification=submitted, accept_license=True, password=PASSWORD)

    with django_capture_on_commit_callbacks(execute=True):
        sent = services.remind_unactivated(now=timezone.now() + timedelta(days=8))

    assert sent == 0
    assert len(mail.outbox) == 1


def test_submit_workshop_twice_makes_one_submission_and_one_e_mail(
    client, login, trainer, django_capture_on_commit_callbacks
):
    workshop = finished_workshop(trainer)
    enrolment = attends(workshop, newcomer(), trainer)
    login(trainer)

    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(f"/trainer/workshops/{workshop.pk}/certification/submit/", {"expected": [enrolment.pk]})
        second = client.post(f"/trainer/workshops/{workshop.pk}/certification/submit/", {"expected": [enrolment.pk]})

    assert (first.status_code, second.status_code) == (302, 302)
    assert Submission.objects.count() == 1
    assert Certification.objects.count() == 1
    assert [message.to for message in mail.outbox] == [["nora@example.org"]]


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL's row locks (SQLite has one writer)")
def test_a_certification_activated_while_the_reminder_job_runs_gets_no_reminder(submitted):
    reminded = []

    def the_job_runs() -> None:
        try:
            reminded.append(services.remind_unactivated(now=timezone.now() + timedelta(days=8)))
        finally:
            connection.close()

    job = threading.Thread(target=the_job_runs)
    with transaction.atomic():  # Nora activates; the job read her certification as pending just before
        services.activate(certification=submitted, accept_license=True, password=PASSWORD)
        job.start()
        wait_until_another_connection_waits_for_a_lock()
    job.join(timeout=10)

    assert reminded == [0]
    assert not OutboundEmail.objects.filter(purpose="activation_reminder").exists()


# --- An advanced course needs work experience -------------------------------------------------


@pytest.fixture
def advanced(trainer, django_capture_on_commit_callbacks):
    """Nora completed an A-CSPO, which needs 12 months of Product Owner work within 5 years."""
    course = CourseFactory(kind="A-CSPO", title="Advanced Certified Scrum Product Owner", experience_months=12)
    workshop = finished_workshop(trainer, course=course, title="A-CSPO London")
    attends(workshop, newcomer(), trainer)
    with django_capture_on_commit_callbacks(execute=True):
        services.submit_workshop(workshop=workshop, by=trainer)
    return Certification.objects.get()


@pytest.mark.parametrize(
    ("months", "refusal"),
    [
        (None, "Say how many months you worked as a Product Owner within the last 5 years."),
        (
            8,
            "The A-CSPO certification needs 12 months of work as a Product Owner within the last 5 years; you stated 8",
        ),
        (61, "Give the months you worked as a Product Owner within the last 5 years: from 0 to 60."),
    ],
)
def test_an_a_cspo_stays_pending_until_its_holder_states_the_work_it_needs(advanced, months, refusal):
    with pytest.raises(ValidationError) as refused:
        services.activate(certification=advanced, accept_license=True, password=PASSWORD, experience_months=months)

    assert refused.value.messages[0].startswith(refusal)
    advanced.refresh_from_db()
    assert (advanced.state, advanced.experience_months_stated) == (Certification.State.PENDING, None)
    assert not advanced.holder.has_usable_password()


def test_an_a_cspo_is_activated_with_the_months_its_holder_stated(advanced):
    services.activate(certification=advanced, accept_license=True, password=PASSWORD, experience_months=14)

    advanced.refresh_from_db()
    assert (advanced.state, advanced.experience_months_stated) == (Certification.State.ACTIVE, 14)


def test_the_activation_page_asks_for_the_work_an_advanced_course_needs_and_says_why_it_waits(client, advanced):
    path = link_path(mail.outbox[0])
    form = {"accept": "on", "password": PASSWORD, "password_again": PASSWORD}

    page = client.get(path).content.decode()
    short = client.post(path, form | {"experience_months": "8"}).content.decode()
    enough = client.post(path, form | {"experience_months": "12"}, follow=True)

    assert '<label for="id_experience_months">Months you worked as a Product Owner in the last 5 years' in page
    assert 'max="60"' in page
    assert "you stated 8. It stays pending until you have them" in html.unescape(short)
    assert enough.redirect_chain[-1][0] == "/me/certifications/"
    assert Certification.objects.get().experience_months_stated == 12


def test_the_activation_page_of_a_cspo_asks_for_no_work_experience(client, submitted):
    page = client.get(link_path(mail.outbox[0])).content.decode()

    assert "experience_months" not in page
