"""The outbox: every e-mail is a row first, then a worker sends it once, retrying SMTP failures."""

from __future__ import annotations

import smtplib
from datetime import timedelta
from unittest import mock

import pytest
from django.core import mail
from django.core.mail.backends.locmem import EmailBackend as LocmemBackend
from django.utils import timezone

from cspo.celery import app as celery_app
from participants import services, tasks
from participants.models import OutboundEmail
from participants.services import Attachment, TemporarySendFailure
from tests.factories import WorkshopFactory

pytestmark = pytest.mark.django_db

# The SMTP boundary: the test e-mail backend's one method that would talk to a mail server.
SMTP_SEND = "django.core.mail.backends.locmem.EmailBackend.send_messages"


@pytest.fixture
def worker_keeps_retrying():
    """A worker retries a task in the background; run eagerly, the retry would reach the caller instead."""
    previous = celery_app.conf.task_eager_propagates
    celery_app.conf.task_eager_propagates = False
    yield
    celery_app.conf.task_eager_propagates = previous


def queue_offer_expired(participant, *, dedup_key=None, attachment=None):
    workshop = WorkshopFactory(title="CSPO Toronto")
    return services.queue_email(
        purpose="offer_expired",
        to=participant.email,
        template="workshops/offer_expired",
        context={"workshop": workshop, "participant": participant, "workshop_url": "https://cspo.test/w/1/"},
        attachment=attachment,
        dedup_key=dedup_key,
    )


def test_queue_email_writes_a_row_that_the_worker_sends(participant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = queue_offer_expired(participant)

    message.refresh_from_db()
    assert message.state == OutboundEmail.State.SENT
    assert message.sent_at is not None
    assert message.attempts == 1
    assert message.subject == "Your seat offer has expired: CSPO Toronto"
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["pat@example.org"]
    assert mail.outbox[0].subject == "Your seat offer has expired: CSPO Toronto"
    assert mail.outbox[0].body == message.body


def test_queue_email_sends_nothing_before_the_transaction_commits(participant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = queue_offer_expired(participant)

    message.refresh_from_db()
    assert message.state == OutboundEmail.State.QUEUED
    assert len(callbacks) == 1
    assert mail.outbox == []


def test_queue_email_keeps_the_attachment(participant, django_capture_on_commit_callbacks):
    calendar = Attachment("cspo.ics", "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n", "text/calendar")

    with django_capture_on_commit_callbacks(execute=True):
        queue_offer_expired(participant, attachment=calendar)

    assert len(mail.outbox[0].attachments) == 1
    sent = mail.outbox[0].attachments[0]
    assert (sent.filename, sent.content, sent.mimetype) == (
        "cspo.ics",
        "BEGIN:VCALENDAR\r\nEND:VCALENDAR\r\n",
        "text/calendar",
    )


def test_deliver_email_of_a_sent_message_sends_nothing_more(participant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = queue_offer_expired(participant)

    state = services.deliver_email(message_id=message.pk)

    message.refresh_from_db()
    assert state == OutboundEmail.State.SENT
    assert message.attempts == 1
    assert len(mail.outbox) == 1


def test_deliver_email_task_run_twice_sends_once(participant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        message = queue_offer_expired(participant)

    tasks.deliver_email.delay(message_id=message.pk)
    tasks.deliver_email.delay(message_id=message.pk)

    message.refresh_from_db()
    assert message.state == OutboundEmail.State.SENT
    assert message.attempts == 1
    assert len(mail.outbox) == 1


def test_deliver_email_smtp_failure_keeps_the_message_queued_and_asks_for_a_retry(
    participant, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        message = queue_offer_expired(participant)

    with (
        mock.patch(SMTP_SEND, side_effect=smtplib.SMTPServerDisconnected("Connection unexpectedly closed")),
        pytest.raises(TemporarySendFailure),
    ):
        services.deliver_email(message_id=message.pk)

    message.refresh_from_db()
    assert message.state == OutboundEmail.State.QUEUED
    assert message.attempts == 1
    assert message.last_error == "SMTPServerDisconnected: Connection unexpectedly closed"
    assert message.sent_at is None
    assert mail.outbox == []


def test_deliver_email_after_max_attempts_marks_the_message_failed(participant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        message = queue_offer_expired(participant)

    with mock.patch(SMTP_SEND, side_effect=smtplib.SMTPServerDisconnected("Connection unexpectedly closed")):
        for _ in range(services.MAX_SEND_ATTEMPTS - 1):
            with pytest.raises(TemporarySendFailure):
                services.deliver_email(message_id=message.pk)
        state = services.deliver_email(message_id=message.pk)

    message.refresh_from_db()
    assert state == OutboundEmail.State.FAILED
    assert message.state == OutboundEmail.State.FAILED
    assert message.attempts == services.MAX_SEND_ATTEMPTS
    assert list(OutboundEmail.objects.failed()) == [message]


@pytest.mark.usefixtures("worker_keeps_retrying")
def test_deliver_email_task_retries_until_the_message_is_failed(participant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        message = queue_offer_expired(participant)

    with mock.patch(SMTP_SEND, side_effect=smtplib.SMTPServerDisconnected("Connection unexpectedly closed")) as smtp:
        result = tasks.deliver_email.delay(message_id=message.pk)

    message.refresh_from_db()
    assert result.get() == OutboundEmail.State.FAILED
    assert smtp.call_count == services.MAX_SEND_ATTEMPTS
    assert message.state == OutboundEmail.State.FAILED
    assert message.attempts == services.MAX_SEND_ATTEMPTS


@pytest.mark.usefixtures("worker_keeps_retrying")
def test_deliver_email_task_retry_sends_once_the_server_answers(participant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        message = queue_offer_expired(participant)
    real_send = LocmemBackend.send_messages
    answers = iter([smtplib.SMTPServerDisconnected("Connection unexpectedly closed"), None])

    def flaky_server(backend, messages):
        if error := next(answers):
            raise error
        return real_send(backend, messages)

    with mock.patch(SMTP_SEND, autospec=True, side_effect=flaky_server):
        tasks.deliver_email.delay(message_id=message.pk)

    message.refresh_from_db()
    assert message.state == OutboundEmail.State.SENT
    assert message.attempts == 2
    assert message.last_error == ""
    assert len(mail.outbox) == 1


def test_resend_email_sends_a_failed_message(participant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        message = queue_offer_expired(participant)
    with mock.patch(SMTP_SEND, side_effect=smtplib.SMTPServerDisconnected("Connection unexpectedly closed")):
        for _ in range(services.MAX_SEND_ATTEMPTS - 1):
            with pytest.raises(TemporarySendFailure):
                services.deliver_email(message_id=message.pk)
        services.deliver_email(message_id=message.pk)
    message.refresh_from_db()
    assert message.state == OutboundEmail.State.FAILED

    with django_capture_on_commit_callbacks(execute=True):
        services.resend_email(message=message)

    message.refresh_from_db()
    assert message.state == OutboundEmail.State.SENT
    assert message.attempts == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["pat@example.org"]


def test_resend_email_of_a_sent_message_sends_nothing_more(participant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        message = queue_offer_expired(participant)

    with django_capture_on_commit_callbacks(execute=True):
        services.resend_email(message=message)

    message.refresh_from_db()
    assert message.state == OutboundEmail.State.SENT
    assert len(mail.outbox) == 1


def test_queue_email_with_a_used_dedup_key_writes_no_second_row(participant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        first = queue_offer_expired(participant, dedup_key="offer-expired:1")
        second = queue_offer_expired(participant, dedup_key="offer-expired:1")

    assert first is not None
    assert second is None
    assert OutboundEmail.objects.filter(dedup_key="offer-expired:1").count() == 1
    assert len(mail.outbox) == 1


def test_an_administrator_resends_failed_messages_from_the_admin(
    client, participant, administrator, django_capture_on_commit_callbacks
):
    failed = OutboundEmail.objects.create(
        purpose="activation", to=participant.email, subject="Activate", body="Hello", state="failed", attempts=5
    )
    sent = OutboundEmail.objects.create(
        purpose="activation", to=participant.email, subject="Done", body="Hi", state="sent", sent_at=timezone.now()
    )
    administrator.is_superuser = True
    administrator.save()
    client.force_login(administrator)

    with django_capture_on_commit_callbacks(execute=True):
        client.post(
            "/admin/participants/outboundemail/",
            {"action": "send_again", "_selected_action": [failed.pk, sent.pk]},
        )

    failed.refresh_from_db()
    assert (failed.state, [m.subject for m in mail.outbox]) == (OutboundEmail.State.SENT, ["Activate"])


def test_queue_emails_sends_a_batch_a_few_per_task_and_retries_a_failure_on_its_own(
    django_capture_on_commit_callbacks, worker_keeps_retrying
):
    recipients = [f"holder{n}@example.org" for n in range(services.DELIVERY_BATCH + 3)]
    composed = [
        services.compose_email(purpose="renewal_reminder", to=to, template="renewals/renewed",
                               context={"holder": {"get_short_name": "Pat"}, "url": "https://cspo.test/"})
        for to in recipients
    ]  # fmt: skip
    refused = recipients[4]
    smtp = LocmemBackend.send_messages

    def refuse_one(backend, messages):
        if messages[0].to == [refused]:
            raise smtplib.SMTPRecipientsRefused({refused: (451, b"Try again later")})
        return smtp(backend, messages)

    with (
        mock.patch(SMTP_SEND, autospec=True, side_effect=refuse_one),
        django_capture_on_commit_callbacks(execute=True) as callbacks,
    ):
        services.queue_emails(composed)

    assert len(callbacks) == 2  # two tasks for the batch, not one per message
    assert sorted(m.to[0] for m in mail.outbox) == sorted(to for to in recipients if to != refused)
    refused_message = OutboundEmail.objects.get(to=refused)
    # tried once in its batch, then by a task of its own, with its retries (run at once here, eagerly)
    # until the last attempt; the others in its batch were sent all the same
    assert (refused_message.state, refused_message.attempts) == (OutboundEmail.State.FAILED, services.MAX_SEND_ATTEMPTS)


def test_a_batch_goes_on_past_a_message_that_raises_and_that_one_is_retried_alone(
    django_capture_on_commit_callbacks, worker_keeps_retrying
):
    composed = [
        services.compose_email(purpose="renewal_reminder", to=to, template="renewals/renewed",
                               context={"holder": {"get_short_name": "Pat"}, "url": "https://cspo.test/"})
        for to in ("ann@example.org", "ben@example.org", "cy@example.org")
    ]  # fmt: skip
    smtp = LocmemBackend.send_messages

    def break_on_ben(backend, messages):
        if messages[0].to == ["ben@example.org"]:
            raise RuntimeError("a bug of ours, not the mail server's")
        return smtp(backend, messages)

    with (
        mock.patch(SMTP_SEND, autospec=True, side_effect=break_on_ben),
        django_capture_on_commit_callbacks(execute=True),
    ):
        services.queue_emails(composed)

    assert sorted(m.to[0] for m in mail.outbox) == ["ann@example.org", "cy@example.org"]
    assert OutboundEmail.objects.get(to="ben@example.org").state == OutboundEmail.State.QUEUED


def test_a_message_with_an_address_no_server_takes_fails_at_once(participant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        message = queue_offer_expired(participant)
    OutboundEmail.objects.filter(pk=message.pk).update(to="pat@example.org\nBcc: everyone@example.org")

    state = services.deliver_email(message_id=message.pk)

    message.refresh_from_db()
    assert (state, message.state, message.attempts) == (OutboundEmail.State.FAILED, OutboundEmail.State.FAILED, 1)
    assert message.last_error.startswith("BadHeaderError: Header values can't contain newlines")
    assert mail.outbox == []


def test_messages_whose_delivery_task_was_lost_are_queued_again(participant, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):  # the publish never happened
        lost = queue_offer_expired(participant, dedup_key="lost")
        recent = queue_offer_expired(participant, dedup_key="recent")
        old = queue_offer_expired(participant, dedup_key="old")
    now = timezone.now()
    OutboundEmail.objects.filter(pk=lost.pk).update(created_at=now - timedelta(minutes=20))
    OutboundEmail.objects.filter(pk=recent.pk).update(created_at=now - timedelta(minutes=5))  # its task may come
    OutboundEmail.objects.filter(pk=old.pk).update(created_at=now - timedelta(days=3))  # for an administrator

    assert tasks.requeue_stranded_emails.delay().get(timeout=10) == 1

    assert [(m.pk, m.state) for m in OutboundEmail.objects.filter(state=OutboundEmail.State.SENT)] == [
        (lost.pk, OutboundEmail.State.SENT)
    ]
    assert len(mail.outbox) == 1


def test_a_message_whose_retry_was_lost_is_queued_again_once_the_longest_backoff_has_passed(
    participant, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        message = queue_offer_expired(participant)
    disconnected = smtplib.SMTPServerDisconnected("Connection unexpectedly closed")
    with mock.patch(SMTP_SEND, side_effect=disconnected), pytest.raises(TemporarySendFailure):
        services.deliver_email(message_id=message.pk)  # the worker asks for a retry: say the broker lost it
    message.refresh_from_db()
    tried_at = message.last_attempt_at
    assert (message.state, message.attempts) == (OutboundEmail.State.QUEUED, 1)
    assert tried_at is not None

    # its retry may still come within the longest backoff (half an hour, with jitter)
    assert services.stranded_emails(now=tried_at + timedelta(minutes=44)) == []
    assert services.stranded_emails(now=tried_at + timedelta(minutes=46)) == [message.pk]

    OutboundEmail.objects.filter(pk=message.pk).update(last_attempt_at=timezone.now() - timedelta(minutes=46))
    assert tasks.requeue_stranded_emails.delay().get(timeout=10) == 1
    message.refresh_from_db()
    assert (message.state, message.attempts) == (OutboundEmail.State.SENT, 2)
    assert len(mail.outbox) == 1


def test_a_failed_message_is_left_for_an_administrator_not_queued_again(
    participant, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        message = queue_offer_expired(participant)
    long_ago = timezone.now() - timedelta(hours=3)
    OutboundEmail.objects.filter(pk=message.pk).update(
        state=OutboundEmail.State.FAILED, attempts=services.MAX_SEND_ATTEMPTS, last_attempt_at=long_ago
    )

    assert services.stranded_emails() == []
