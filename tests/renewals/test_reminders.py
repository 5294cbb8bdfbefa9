"""The daily reminder job: one e-mail per certification at 90, 30 and 7 days before expiry and the
day after, once per period however often the job runs, catching up missed days, with what is left
to do; its cost follows the certifications due, not the certifications held."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from certification.models import Certification
from certification.services import add_months, revoke
from cspo.celery import app as celery_app
from participants.models import OutboundEmail
from participants.services import compose_email, queue_emails
from renewals.models import RenewalPolicy
from renewals.payments import TestProvider
from renewals.queries import quote
from renewals.services import renew, send_renewal_reminders
from tests.factories import SeuEntryFactory, UserFactory, certification_for

pytestmark = pytest.mark.django_db

TODAY = date(2026, 1, 15)


@pytest.fixture(autouse=True)
def _test_card(settings, monkeypatch):
    settings.CSPO_PAYMENT_PROVIDERS = ["test"]
    monkeypatch.setattr(TestProvider, "charges", [])


def expiring(on: date, *, trainer, holder=None) -> Certification:
    """An active CSPO of ``holder`` (a new person by default) expiring on ``on``."""
    holder = holder or UserFactory()
    certification = certification_for(holder, trainer, activated_on=add_months(on, -24))
    if certification.expires_on != on:  # 29 February cannot go back and forth exactly
        Certification.objects.filter(pk=certification.pk).update(expires_on=on)
        certification.refresh_from_db()
    return certification


def reminders_to(holder) -> list[OutboundEmail]:
    return list(OutboundEmail.objects.filter(purpose="renewal_reminder", to=holder.email).order_by("pk"))


@pytest.mark.parametrize(
    ("days", "subject"),
    [
        (90, "Your CSPO certification expires in 90 days"),
        (30, "Your CSPO certification expires in 30 days"),
        (7, "Your CSPO certification expires in 7 days"),
        (-1, "Your CSPO certification expired"),
    ],
)
def test_send_renewal_reminders_reminds_once_on_each_stage(
    trainer, days, subject, django_capture_on_commit_callbacks, mailoutbox
):
    certification = expiring(TODAY + timedelta(days=days), trainer=trainer)

    with django_capture_on_commit_callbacks(execute=True):
        queued = send_renewal_reminders(today=TODAY)

    assert queued == 1
    assert [message.subject for message in reminders_to(certification.holder)] == [subject]
    assert [(m.to, m.subject) for m in mailoutbox] == [([certification.holder.email], subject)]


@pytest.mark.parametrize("days", [91, 45, 31, 26, 8, 3, 0, -5])
def test_send_renewal_reminders_leaves_certifications_not_due_alone(trainer, days, mailoutbox):
    expiring(TODAY + timedelta(days=days), trainer=trainer)

    assert send_renewal_reminders(today=TODAY) == 0

    assert OutboundEmail.objects.count() == 0
    assert mailoutbox == []


def test_send_renewal_reminders_reminds_only_the_certifications_due(trainer):
    due = [expiring(TODAY + timedelta(days=days), trainer=trainer) for days in (90, 30, 7, -1)]
    for days in (120, 45, 14, 1):
        expiring(TODAY + timedelta(days=days), trainer=trainer)

    assert send_renewal_reminders(today=TODAY) == 4

    assert sorted(m.to for m in OutboundEmail.objects.all()) == sorted(c.holder.email for c in due)


def test_send_renewal_reminders_run_twice_in_a_day_sends_each_once(
    trainer, django_capture_on_commit_callbacks, mailoutbox
):
    for days in (90, 30, 7, -1):
        expiring(TODAY + timedelta(days=days), trainer=trainer)

    with django_capture_on_commit_callbacks(execute=True):
        first = send_renewal_reminders(today=TODAY)
    with django_capture_on_commit_callbacks(execute=True):
        second = send_renewal_reminders(today=TODAY)

    assert (first, second) == (4, 0)
    assert OutboundEmail.objects.filter(purpose="renewal_reminder").count() == 4
    assert len(mailoutbox) == 4


def test_send_renewal_reminders_next_day_does_not_repeat_a_stage(trainer):
    certification = expiring(TODAY + timedelta(days=90), trainer=trainer)
    send_renewal_reminders(today=TODAY)

    assert send_renewal_reminders(today=TODAY + timedelta(days=1)) == 0

    assert len(reminders_to(certification.holder)) == 1


def test_send_renewal_reminders_remind_each_stage_of_one_period(trainer):
    certification = expiring(TODAY + timedelta(days=90), trainer=trainer)

    for days_later in (0, 60, 83, 91):
        send_renewal_reminders(today=TODAY + timedelta(days=days_later))

    assert [m.subject for m in reminders_to(certification.holder)] == [
        "Your CSPO certification expires in 90 days",
        "Your CSPO certification expires in 30 days",
        "Your CSPO certification expires in 7 days",
        "Your CSPO certification expired",
    ]


def test_send_renewal_reminders_a_later_period_gets_its_own_reminders(participant, trainer):
    certification = expiring(TODAY + timedelta(days=30), trainer=trainer, holder=participant)
    send_renewal_reminders(today=TODAY)
    for day in range(3):
        SeuEntryFactory(holder=participant, earned_on=TODAY - timedelta(days=day + 1), hours=Decimal("8"))
    renew(
        holder=participant,
        by=participant,
        provider_name="test",
        expected_key=quote(participant, today=TODAY).key,
        details={"card_number": TestProvider.ACCEPTED},
        today=TODAY,
    )
    certification.refresh_from_db()
    new_expiry = add_months(TODAY + timedelta(days=30), 24)
    assert certification.expires_on == new_expiry

    renewed_today = send_renewal_reminders(today=TODAY)
    thirty_days_before = send_renewal_reminders(today=new_expiry - timedelta(days=30))

    assert (renewed_today, thirty_days_before) == (0, 1)
    assert sorted(m.dedup_key for m in reminders_to(participant)) == [
        f"renewal-reminder:{certification.pk}:{TODAY + timedelta(days=30)}:30",
        f"renewal-reminder:{certification.pk}:{new_expiry}:30",
    ]


def test_send_renewal_reminders_says_what_is_missing_the_fee_and_where_to_log(participant, trainer):
    expiring(TODAY + timedelta(days=30), trainer=trainer, holder=participant)
    SeuEntryFactory(holder=participant, earned_on=TODAY - timedelta(days=3), hours=Decimal("8"))
    SeuEntryFactory(holder=participant, earned_on=TODAY - timedelta(days=2), hours=Decimal("4.5"))

    send_renewal_reminders(today=TODAY)

    lines = OutboundEmail.objects.get().body.splitlines()
    assert "SEUs logged: 12.5 of 20. Still missing: 7.5 SEUs." in lines
    assert "The renewal fee is 100.00 USD, paid once the SEUs are complete." in lines
    assert "http://127.0.0.1:8000/me/renewal/" in lines


def test_send_renewal_reminders_tells_someone_with_enough_seus_only_the_fee_is_left(participant, trainer):
    expiring(TODAY + timedelta(days=7), trainer=trainer, holder=participant)
    for day in range(3):
        SeuEntryFactory(holder=participant, earned_on=TODAY - timedelta(days=day + 1), hours=Decimal("8"))

    send_renewal_reminders(today=TODAY)

    assert (
        "You have logged the 20 SEUs your renewal needs. All that is left is the renewal fee of 100.00 USD."
        in OutboundEmail.objects.get().body.splitlines()
    )


@pytest.mark.parametrize(("days_late", "reminded"), [(1, 1), (2, 1), (3, 1), (4, 0), (5, 0)])
def test_send_renewal_reminders_catches_up_missed_days_within_the_policy(trainer, days_late, reminded):
    certification = expiring(TODAY + timedelta(days=90 - days_late), trainer=trainer)

    assert send_renewal_reminders(today=TODAY) == reminded

    assert [m.dedup_key for m in reminders_to(certification.holder)] == [
        f"renewal-reminder:{certification.pk}:{certification.expires_on}:90"
    ][:reminded]


def test_send_renewal_reminders_catch_up_follows_the_policy(trainer):
    policy = RenewalPolicy.current()
    policy.catch_up_days = 0
    policy.save()
    expiring(TODAY + timedelta(days=88), trainer=trainer)

    assert send_renewal_reminders(today=TODAY) == 0


def test_send_renewal_reminders_stages_follow_the_policy(trainer):
    policy = RenewalPolicy.current()
    policy.reminder_days, policy.remind_after_expiry = "60", False
    policy.save()
    sixty = expiring(TODAY + timedelta(days=60), trainer=trainer)
    expiring(TODAY + timedelta(days=90), trainer=trainer)
    expiring(TODAY - timedelta(days=1), trainer=trainer)

    assert send_renewal_reminders(today=TODAY) == 1

    assert [m.to for m in OutboundEmail.objects.all()] == [sixty.holder.email]


def test_send_renewal_reminders_skip_pending_and_revoked_certifications(trainer, administrator):
    pending = certification_for(UserFactory(), trainer)
    revoked = expiring(TODAY + timedelta(days=30), trainer=trainer)
    revoke(certification=revoked, by=administrator, reason="Shared the exam answers")
    Certification.objects.filter(pk=pending.pk).update(expires_on=TODAY + timedelta(days=7))

    assert send_renewal_reminders(today=TODAY) == 0

    assert OutboundEmail.objects.filter(purpose="renewal_reminder").count() == 0


def queries_of_a_run(*, trainer, not_due: int) -> int:
    """Queries of one run with two certifications due and ``not_due`` others held, in a fresh day."""
    run_on = TODAY + timedelta(days=400 * not_due)
    for days in (90, -1):
        expiring(run_on + timedelta(days=days), trainer=trainer)
    for n in range(not_due):
        expiring(run_on + timedelta(days=100 + n), trainer=trainer)
    RenewalPolicy.current()
    with CaptureQueriesContext(connection) as queries:
        assert send_renewal_reminders(today=run_on) == 2
    return len(queries)


def test_send_renewal_reminders_query_count_does_not_grow_with_certifications_not_due(trainer):
    few = queries_of_a_run(trainer=trainer, not_due=2)
    many = queries_of_a_run(trainer=trainer, not_due=12)

    assert many == few


def test_send_renewal_reminders_runs_as_the_celery_task(trainer, django_capture_on_commit_callbacks, mailoutbox):
    # The periodic task has no ``today``: it runs on the real date.
    certification = expiring(timezone.localdate() + timedelta(days=30), trainer=trainer)

    with django_capture_on_commit_callbacks(execute=True):
        result = celery_app.tasks["renewals.send_renewal_reminders"].delay()

    assert result.get(timeout=10) == 1
    assert [m.to for m in mailoutbox] == [[certification.holder.email]]


def test_send_renewal_reminders_writes_a_batch_in_one_insert_whatever_the_number_due(trainer):
    def queries_of_a_day_with(due: int, day: date) -> int:
        for _ in range(due):
            expiring(day + timedelta(days=30), trainer=trainer)
        with CaptureQueriesContext(connection) as queries:
            assert send_renewal_reminders(today=day) == due
        return len(queries)

    RenewalPolicy.current()  # read once, then from the cache
    assert queries_of_a_day_with(2, TODAY) == queries_of_a_day_with(9, TODAY + timedelta(days=200))


RENEWED = {
    "holder": {"get_short_name": "Pat"},
    "renewal": {"fee": 100, "currency": "USD"},
    "url": "https://cspo.example/",
}


def test_queue_emails_skips_a_message_another_run_queued_meanwhile_and_sends_the_rest(
    django_capture_on_commit_callbacks, mailoutbox
):
    """Two runs of a job at once: this one found nothing queued for Pat, then the other queued it."""
    OutboundEmail.objects.create(purpose="renewal_reminder", to="pat@example.org", subject="Theirs", body="b",
                                 dedup_key="reminder:pat")  # fmt: skip
    composed = [
        compose_email(purpose="renewal_reminder", to=f"{name}@example.org", template="renewals/renewed",
                      context=RENEWED, dedup_key=f"reminder:{name}")
        for name in ("pat", "sam")
    ]  # fmt: skip

    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        queued = queue_emails(composed)

    assert [m.to for m in queued] == ["sam@example.org"]
    assert list(OutboundEmail.objects.order_by("pk").values_list("to", "subject")) == [
        ("pat@example.org", "Theirs"),
        ("sam@example.org", "Your renewal is complete"),
    ]
    assert [m.to for m in mailoutbox] == [["sam@example.org"]]
