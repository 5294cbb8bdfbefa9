from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm
from django.contrib.auth.hashers import make_password
from django.contrib.sessions.models import Session
from django.core.exceptions import ValidationError
from django.core.mail import EmailMessage
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.utils import timezone

from cspo.celery import publish_after_commit
from cspo.compiled import CompiledRead, numbers
from cspo.text import typed_text
from workshops.models import Enrolment, Workshop

from .models import AttendanceMark, MarkChange, OutboundEmail, UnderstandingConfirmation, User, normalize_email_address

logger = logging.getLogger(__name__)

MAX_SEND_ATTEMPTS = 5
# A failed attempt is retried by its task after 30 s, then after twice as long each time, never more
# than half an hour (with jitter: somewhere up to that): ``tasks.deliver_email``.
RETRY_BACKOFF, RETRY_BACKOFF_MAX = 30, 1800  # seconds


class _AccountPasswordResetForm(PasswordResetForm):
    """Django's, but an account whose password was never chosen (a participant a trainer enrolled)
    may choose one by this link too: Django's leaves out every account without a usable password."""

    def get_users(self, email):
        return User.objects.filter(email=normalize_email_address(email), is_active=True)


def send_password_reset(*, email: str, domain: str, use_https: bool) -> None:
    """Send the password-reset e-mail, with a fresh token, to the active account of ``email`` if there
    is one, made with Django's own form and templates."""
    form = _AccountPasswordResetForm(data={"email": email})
    if form.is_valid():
        form.save(domain_override=domain, use_https=use_https)


def clear_expired_sessions() -> int:
    deleted, _ = Session.objects.filter(expire_date__lt=timezone.now()).delete()
    return deleted


def find_or_create_participant(*, email: str, full_name: str) -> tuple[User, bool]:
    """The e-mail is the identity key: an existing account keeps its name; a new one has no password
    until the person sets one (password reset, or activation later)."""
    # get_or_create survives the same new person enrolling in two workshops at the same moment.
    user, created = User.objects.get_or_create(
        email=normalize_email_address(email),
        defaults={"full_name": full_name.strip(), "is_participant": True, "password": make_password(None)},
    )
    if not user.is_participant:
        user.is_participant = True
        user.save(update_fields=["is_participant"])
    return user, created


def remember_time_zone(*, user: User, time_zone: str) -> User:
    """The zone a person chose for showing times; validated by the caller's form."""
    if user.time_zone != time_zone:
        user.time_zone = time_zone
        user.save(update_fields=["time_zone"])
    return user


@dataclass(frozen=True)
class Attachment:
    name: str
    content: str
    mimetype: str


def compose_email(
    *,
    purpose: str,
    to: str,
    template: str,
    context: dict,
    attachment: Attachment | None = None,
    dedup_key: str | None = None,
) -> OutboundEmail:
    """An outbox message, not saved yet: ``template`` names ``emails/<template>.txt``, whose first
    line is the subject."""
    subject, _, body = render_to_string(f"emails/{template}.txt", context).strip().partition("\n")
    return OutboundEmail(
        purpose=purpose,
        to=to,
        subject=subject.strip(),
        body=body.strip() + "\n",
        dedup_key=dedup_key,
        attachment_name=attachment.name if attachment else "",
        attachment_content=attachment.content if attachment else "",
        attachment_mimetype=attachment.mimetype if attachment else "",
    )


def queue_email(**composition) -> OutboundEmail | None:
    """Write a message (``compose_email``'s arguments) to the outbox and have a worker send it after
    the transaction commits. With a ``dedup_key``, a message already queued under that key is not
    queued again (returns None)."""
    return _queue_composed(compose_email(**composition))


# How many of a batch's messages one task sends: enough that queueing them costs little, few enough
# that a slow mail server (EMAIL_TIMEOUT a step) seldom makes a task outlive CELERY_TASK_TIME_LIMIT;
# the messages of a task stopped mid-way are queued again by ``stranded_emails``' job.
DELIVERY_BATCH = 10


def queue_emails(messages: list[OutboundEmail]) -> list[OutboundEmail]:
    """Write many composed messages to the outbox in one insert (a daily job's batch), sent by workers
    ``DELIVERY_BATCH`` at a time after the transaction commits. Callers leave out the keys already
    queued; when another run queued one in the meantime, the batch is written one by one instead and
    that one skipped."""
    try:
        with transaction.atomic():
            OutboundEmail.objects.bulk_create(messages)
    except IntegrityError:
        return [message for message in map(_queue_composed, messages) if message is not None]
    from .tasks import deliver_emails  # the task module imports this one

    for start in range(0, len(messages), DELIVERY_BATCH):
        publish_after_commit(deliver_emails, message_ids=[m.pk for m in messages[start : start + DELIVERY_BATCH]])
    return messages


def _queue_composed(message: OutboundEmail) -> OutboundEmail | None:
    message.pk = None  # not written, whatever a failed bulk insert left in it
    try:
        with transaction.atomic():
            message.save()
    except IntegrityError:
        if message.dedup_key and OutboundEmail.objects.filter(dedup_key=message.dedup_key).exists():
            return None
        raise
    _deliver_after_commit(message)
    return message


def _deliver_after_commit(message: OutboundEmail) -> None:
    from .tasks import deliver_email  # the task module imports this one

    publish_after_commit(deliver_email, message_id=message.pk)  # lost, it is found by ``stranded_emails``


class TemporarySendFailure(Exception):
    """SMTP said no for now; the task retries with backoff."""


def deliver_email(*, message_id: int) -> OutboundEmail.State:
    """Send one outbox message unless it was sent already. The row is locked while sending, so two
    workers given the same message (a retry, a redelivery) send it once."""
    with transaction.atomic():
        message = OutboundEmail.objects.select_for_update().filter(pk=message_id).first()
        if message is None or message.state == OutboundEmail.State.SENT:
            return OutboundEmail.State.SENT
        email = EmailMessage(message.subject, message.body, settings.DEFAULT_FROM_EMAIL, [message.to])
        if message.attachment_name:
            email.attach(message.attachment_name, message.attachment_content, message.attachment_mimetype)
        message.attempts += 1
        message.last_attempt_at = timezone.now()
        try:
            email.send()
        except OSError as error:  # smtplib.SMTPException is an OSError, as are connection failures
            message.last_error = f"{error.__class__.__name__}: {error}"[:2000]
            if message.attempts >= MAX_SEND_ATTEMPTS:
                message.state = OutboundEmail.State.FAILED
            message.save(update_fields=["attempts", "last_attempt_at", "last_error", "state"])
            logger.warning("E-mail %s to %s failed (attempt %s): %s", message.pk, message.to, message.attempts, error)
        except ValueError as error:  # an address or header no server will take: trying again cannot help
            message.last_error = f"{error.__class__.__name__}: {error}"[:2000]
            message.state = OutboundEmail.State.FAILED
            message.save(update_fields=["attempts", "last_attempt_at", "last_error", "state"])
            logger.warning("E-mail %s to %s cannot be sent: %s", message.pk, message.to, error)
        else:
            message.state = OutboundEmail.State.SENT
            message.sent_at = timezone.now()
            message.last_error = ""
            message.save(update_fields=["attempts", "last_attempt_at", "last_error", "state", "sent_at"])
            return message.state
    if message.state == OutboundEmail.State.QUEUED:
        raise TemporarySendFailure(message.last_error)
    return message.state


def deliver_emails(*, message_ids: list[int]) -> list[int]:
    """Send each message (``deliver_email``); the ids of those not sent, to retry one by one. One
    message's trouble, whatever it is, never keeps the others of its batch from being sent."""
    failed = []
    for message_id in message_ids:
        try:
            deliver_email(message_id=message_id)
        except TemporarySendFailure:
            failed.append(message_id)
        except Exception:  # retried on its own, where its error is reported
            logger.exception("E-mail %s failed in its batch; it is retried on its own", message_id)
            failed.append(message_id)
    return failed


# A message never tried this long after it was written lost its delivery task (the broker was away
# when it was queued, or a worker was stopped mid-batch); one tried and failed, whose retry has not come
# this long after the longest backoff, lost its retry (the broker was away when the worker asked for it).
# After the longer age a message is left for an administrator (the outbox lists what was not sent).
STRANDED_AFTER = timedelta(minutes=15)
RETRY_LOST_AFTER = timedelta(seconds=RETRY_BACKOFF_MAX) + STRANDED_AFTER
STRANDED_UNTIL = timedelta(days=2)


def stranded_emails(*, now: datetime | None = None) -> list[int]:
    """The ids of queued messages whose task or retry was lost: the periodic job queues them again."""
    now = now or timezone.now()
    never_tried = Q(attempts=0, created_at__lte=now - STRANDED_AFTER)
    retry_lost = Q(attempts__gt=0, last_attempt_at__lte=now - RETRY_LOST_AFTER)
    return list(
        OutboundEmail.objects.filter(
            never_tried | retry_lost, state=OutboundEmail.State.QUEUED, created_at__gte=now - STRANDED_UNTIL
        ).values_list("pk", flat=True)
    )


def resend_email(*, message: OutboundEmail) -> None:
    """An administrator sends a failed message again."""
    failed = OutboundEmail.objects.filter(pk=message.pk, state=OutboundEmail.State.FAILED)
    if failed.update(state=OutboundEmail.State.QUEUED, attempts=0):  # a double click re-sends nothing
        _deliver_after_commit(message)


# --- Attendance and participation -------------------------------------------------------------


def _check_not_locked(workshop) -> None:
    if workshop.sheet_locked_at is not None:
        raise ValidationError("The participants were submitted, so the sheet is locked; an administrator reopens it.")


def _check_sheet_open(*, workshop, reason: str) -> None:
    if workshop.status in (Workshop.Status.DRAFT, Workshop.Status.CANCELLED):
        raise ValidationError(f"This workshop is {workshop.get_status_display().lower()}; there is nothing to mark.")
    _check_not_locked(workshop)
    if workshop.changes_need_a_reason and not reason.strip():
        raise ValidationError("The workshop is completed: give a reason for this change.")


# Every cell save locks and reads so: compiled once (``cspo.compiled``), as compiling cost more than running.
_ENROLMENT, _SESSION = numbers(2)
_HOLD_SHEET = CompiledRead(
    lambda pk: (
        Enrolment.objects.select_for_update(of=("self",), no_key=True)
        .filter(pk=pk)
        .values_list("status", "workshop__status", "workshop__sheet_locked_at")
        .order_by()
    ),
    _ENROLMENT,
    shares=(Workshop,),
)
_MARK = CompiledRead(
    lambda enrolment_id, session_id: AttendanceMark.objects.filter(
        enrolment_id=enrolment_id, session_id=session_id
    ).order_by("pk")[:1],
    *(_ENROLMENT, _SESSION),
)


def hold_sheet(enrolment) -> None:
    """Before a change to a participant's row of the sheet (a mark, the understanding, an override),
    inside its transaction: lock the enrolment, so that a second change waits for the first (an empty
    cell has no row to lock), and hold the workshop's row shared until the change commits, so that a
    submission or a cancellation (which lock it for update) waits for the changes under way, and a
    change that comes during one waits for it. The enrolment's status, and its workshop's status and
    sheet lock, are read again under these locks: what the checks after it must judge."""
    held = _HOLD_SHEET.rows(enrolment.pk)
    if not held:
        raise ValidationError("This participant's enrolment no longer exists; reload the page.")
    workshop = enrolment.workshop
    [(enrolment.status, workshop.status, workshop.sheet_locked_at)] = held


def _locked_mark(*, enrolment, session) -> AttendanceMark | None:
    """The cell's mark, its row held (``hold_sheet``): a second save of the same cell waits for the
    first to commit, then finds and updates its mark."""
    hold_sheet(enrolment)
    found = _MARK.objects(enrolment.pk, session.pk)
    return found[0] if found else None


NOT_MARKED = "Only enrolled participants of this workshop can be marked."


@transaction.atomic
def record_mark(
    *,
    enrolment,
    session,
    by: User,
    presence: str,
    minutes: int = 0,
    participated: bool = False,
    note: str = "",
    reason: str = "",
    now: datetime | None = None,
) -> AttendanceMark:
    """Save one cell of the sheet and its history. ``minutes`` are the minutes late (for Late) or
    left early (for Left early). The later of two changes to one cell wins; both are in the history."""
    now = now or timezone.now()
    if enrolment.workshop_id != session.workshop_id:
        raise ValidationError(NOT_MARKED)
    note = typed_text(note, field=AttendanceMark._meta.get_field("note"), label="The note")
    reason = typed_text(reason, field=MarkChange._meta.get_field("reason"), label="The reason for the change")
    mark = _locked_mark(enrolment=enrolment, session=session)
    if enrolment.status != Enrolment.Status.ENROLLED:  # as read under the locks, as the sheet's state below
        raise ValidationError(NOT_MARKED)
    _check_sheet_open(workshop=enrolment.workshop, reason=reason)
    if session.starts_at > now:
        raise ValidationError("This session has not started yet; marks can be entered once it starts.")
    length = int(session.duration.total_seconds() // 60)
    Presence = AttendanceMark.Presence
    if presence not in Presence.values:
        raise ValidationError("Choose present, late, left early or absent.")
    if presence in (Presence.LATE, Presence.LEFT_EARLY) and not 0 < minutes <= length:
        which = "late" if presence == Presence.LATE else "left early"
        raise ValidationError(f"Give the minutes {which}: a whole number from 1 to {length}, the session's length.")
    if presence == Presence.ABSENT and participated:
        raise ValidationError("Someone absent cannot have participated; mark them present first.")
    before = mark.snapshot() if mark else None
    mark = mark or AttendanceMark(enrolment=enrolment, session=session)
    mark.presence = presence
    mark.late_minutes = minutes if presence == Presence.LATE else 0
    mark.left_early_minutes = minutes if presence == Presence.LEFT_EARLY else 0
    mark.participated = participated
    mark.note = note
    if mark.snapshot() == before:
        return mark
    mark.updated_by = by
    mark.credit_pending = True  # until the SEU credit follows the change (renewals)
    mark.save()
    MarkChange.objects.create(
        enrolment=enrolment, mark=mark, changed_by=by, before=before, after=mark.snapshot(), reason=reason
    )
    from renewals.services import credit_attendance_after_commit  # renewals builds on this app

    credit_attendance_after_commit(enrolment_id=enrolment.pk, session_id=session.pk)
    return mark


@transaction.atomic
def mark_everyone_present(*, session, by: User, reason: str = "", now: datetime | None = None) -> int:
    """Mark every enrolled participant without a mark for ``session`` present; marks already
    entered stay as they are. Returns how many were marked."""
    marked = set(AttendanceMark.objects.filter(session=session).values_list("enrolment_id", flat=True))
    waiting = session.workshop.enrolments.filter(status=Enrolment.Status.ENROLLED).exclude(pk__in=marked)
    count = 0
    for enrolment in waiting:
        if _locked_mark(enrolment=enrolment, session=session) is not None:
            continue  # a co-trainer marked this cell a moment ago: theirs stands
        if enrolment.status != Enrolment.Status.ENROLLED:
            continue  # cancelled a moment ago
        record_mark(enrolment=enrolment, session=session, by=by, presence="present", reason=reason, now=now)
        count += 1
    return count


@transaction.atomic
def confirm_understanding(
    *, enrolment, by: User, demonstrated: bool, reason: str = "", now: datetime | None = None
) -> UnderstandingConfirmation:
    """The trainer's judgement at the end of the workshop; ``reason`` says why not."""
    hold_sheet(enrolment)
    if enrolment.status != Enrolment.Status.ENROLLED:
        raise ValidationError("Only enrolled participants can be confirmed.")
    first = enrolment.workshop.sessions.order_by("starts_at").first()
    if first is None or first.starts_at > (now or timezone.now()):
        raise ValidationError("Understanding is confirmed once the workshop has started.")
    _check_not_locked(enrolment.workshop)
    reason = typed_text(reason, field=UnderstandingConfirmation._meta.get_field("reason"), label="The reason")
    if not demonstrated and not reason:
        raise ValidationError("Say why the participant did not demonstrate understanding.")
    confirmation = UnderstandingConfirmation.objects.select_for_update().filter(enrolment=enrolment).first()
    before = confirmation.snapshot() if confirmation else None
    confirmation = confirmation or UnderstandingConfirmation(enrolment=enrolment)
    confirmation.demonstrated, confirmation.reason = demonstrated, "" if demonstrated else reason
    if confirmation.snapshot() == before:
        return confirmation
    confirmation.confirmed_by = by
    confirmation.save()
    MarkChange.objects.create(enrolment=enrolment, changed_by=by, before=before, after=confirmation.snapshot())
    return confirmation
