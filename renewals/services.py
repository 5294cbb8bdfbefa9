"""Every write of renewals: logging SEUs, crediting our own events, paying and renewing, reminders."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import ROUND_DOWN, Decimal

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Sum, Value
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from certification.models import Certification
from certification.services import extend
from cspo.celery import publish_after_commit
from cspo.stored_files import delete_on_commit, undone_on_error
from participants.models import AttendanceMark, OutboundEmail, User
from participants.services import compose_email, queue_email, queue_emails
from workshops.services import absolute_url

from . import payments
from .models import (
    ALREADY_LOGGED,
    Payment,
    Renewal,
    RenewalPolicy,
    RenewedCertification,
    SeuCategory,
    SeuEntry,
    seus,
)
from .queries import RenewalQuote, quote, quotes_for, renewable_certifications

logger = logging.getLogger(__name__)

QUARTER = Decimal("0.25")


@dataclass(frozen=True)
class SeuActivity:
    """What a person types for one entry (the form's cleaned data)."""

    earned_on: date
    category: SeuCategory
    hours: Decimal
    title: str
    description: str = ""
    evidence_url: str = ""
    evidence_file: object | None = None
    good_faith: bool = False


def _logged_on(holder: User, day: date, *, besides: SeuEntry | None = None) -> Decimal:
    """SEUs the holder has on ``day`` already (the daily cap's measure), leaving out ``besides``."""
    entries = SeuEntry.objects.filter(holder=holder, earned_on=day)
    if besides is not None:
        entries = entries.exclude(pk=besides.pk)
    return entries.aggregate(total=Sum("hours"))["total"] or Decimal("0")


def _check_activity(*, holder: User, activity: SeuActivity, today: date, entry: SeuEntry | None = None) -> None:
    """Every rule an entry must keep, each failure in words; raises with all of them at once."""
    problems: dict[str, list[str]] = {}

    def refuse(field: str, message: str) -> None:
        problems.setdefault(field, []).append(message)

    policy = RenewalPolicy.current()
    if not activity.good_faith:
        refuse("good_faith", "Confirm that you completed this activity as described.")
    if not activity.title.strip():
        refuse("title", "Give the activity a title.")
    hours = activity.hours
    if hours is None or hours <= 0:
        refuse("hours", "SEUs must be more than 0.")
    elif hours % QUARTER:
        refuse("hours", "SEUs are counted in quarter hours: 0.25, 0.5, 0.75, 1…")
    elif hours > policy.daily_cap:
        refuse("hours", f"At most {seus(policy.daily_cap)} SEUs count per day.")
    if not activity.category.is_active and (entry is None or entry.category_id != activity.category.pk):
        refuse("category", "This category is no longer used; choose another.")
    if activity.earned_on > today:
        refuse("earned_on", "The date cannot be in the future: log an activity once you have done it.")
    else:
        starts = quote(holder, today=today, policy=policy).window_starts_on
        if starts is None:
            refuse("earned_on", "You hold no certification that renews, so there is no period to log SEUs in.")
        elif activity.earned_on < starts:
            refuse("earned_on", f"SEUs count from the start of your current period, {starts:%-d %B %Y}.")
        elif hours and hours > 0 and not problems.get("hours"):
            logged = _logged_on(holder, activity.earned_on, besides=entry)
            if logged + hours > policy.daily_cap:
                room = max(Decimal("0"), policy.daily_cap - logged)
                refuse(
                    "hours",
                    f"At most {seus(policy.daily_cap)} SEUs count per day; you logged {seus(logged)} "
                    f"on {activity.earned_on:%-d %B %Y} already, so {seus(room)} more fit.",
                )
    # Compared as the constraint seu_entry_not_twice compares, by the database's LOWER(): iexact uses
    # UPPER(), which differs for a few characters (the Kelvin sign "K" lowers to "k", "k" uppers to "K").
    duplicate = (
        SeuEntry.objects.filter(holder=holder, earned_on=activity.earned_on)
        .alias(lower_title=Lower("title"))
        .filter(lower_title=Lower(Value(activity.title.strip())))
    )
    if entry is not None:
        duplicate = duplicate.exclude(pk=entry.pk)
    if activity.title.strip() and duplicate.exists():
        refuse("title", ALREADY_LOGGED)
    if problems:
        raise ValidationError(problems)


def _apply(entry: SeuEntry, activity: SeuActivity) -> None:
    entry.earned_on = activity.earned_on
    entry.category = activity.category
    entry.hours = activity.hours
    entry.title = activity.title.strip()
    entry.description = activity.description.strip()
    entry.evidence_url = activity.evidence_url
    if activity.evidence_file:
        entry.evidence_file = activity.evidence_file
    entry.confirmed_at = timezone.now()


@transaction.atomic
def log_seu_entry(*, holder: User, activity: SeuActivity, today: date | None = None) -> SeuEntry:
    today = today or timezone.localdate()
    User.objects.select_for_update().filter(pk=holder.pk).first()  # one holder's entries, one at a time
    _check_activity(holder=holder, activity=activity, today=today)
    entry = SeuEntry(holder=holder)
    _apply(entry, activity)
    _save_with_evidence(entry)
    return entry


def _editable(entry: SeuEntry) -> SeuEntry:
    entry = SeuEntry.objects.select_for_update().get(pk=entry.pk)
    if entry.renewal_id is not None:
        raise ValidationError("This entry was used by a renewal; it is kept as it is.")
    if entry.is_credited:
        raise ValidationError("We credited this entry for attending our event; it changes with the attendance.")
    return entry


@transaction.atomic
def update_seu_entry(*, entry: SeuEntry, activity: SeuActivity, today: date | None = None) -> SeuEntry:
    today = today or timezone.localdate()
    User.objects.select_for_update().filter(pk=entry.holder_id).first()
    entry = _editable(entry)
    _check_activity(holder=entry.holder, activity=activity, today=today, entry=entry)
    replaced = entry.evidence_file.name if activity.evidence_file else ""
    _apply(entry, activity)
    _save_with_evidence(entry, replaces=replaced)
    return entry


def _save_with_evidence(entry: SeuEntry, *, replaces: str = "") -> None:
    """Save ``entry``; its new evidence file is written to storage first. When the database then
    refuses the row, that file is deleted again; the file it ``replaces`` goes once the change is
    committed. Neither is left on disk with no entry pointing to it."""
    with undone_on_error(entry.evidence_file), transaction.atomic():
        entry.save()
    if replaces != entry.evidence_file.name:
        delete_on_commit(entry.evidence_file.storage, replaces)


@transaction.atomic
def delete_seu_entry(*, entry: SeuEntry) -> None:
    entry = _editable(entry)
    delete_on_commit(entry.evidence_file.storage, entry.evidence_file.name)
    entry.delete()


# --- Our own events credit SEUs ---------------------------------------------------------------


def credit_attendance_after_commit(*, enrolment_id: int, session_id: int) -> None:
    """Called when a mark changes: the credit follows once the mark is committed, in a worker (or, its
    task lost, in ``credit_stranded_attendance``'s periodic job: the mark stays ``credit_pending``)."""
    from .tasks import credit_attendance  # the task module imports this one

    publish_after_commit(credit_attendance, enrolment_id=enrolment_id, session_id=session_id)


# A mark still pending this long after its change lost its credit's task (the broker was away, a worker
# stopped): the periodic job credits it.
STRANDED_CREDIT_AFTER = timedelta(minutes=2)
STRANDED_CREDIT_BATCH = 500


def stranded_credits(*, now: datetime | None = None) -> list[tuple[int, int]]:
    """(enrolment id, session id) of the marks whose credit never followed, oldest first."""
    before = (now or timezone.now()) - STRANDED_CREDIT_AFTER
    pending = AttendanceMark.objects.filter(credit_pending=True, updated_at__lte=before).order_by("updated_at")
    return list(pending.values_list("enrolment_id", "session_id")[:STRANDED_CREDIT_BATCH])


def credit_stranded_attendance(*, now: datetime | None = None) -> int:
    """The periodic job: credit each mark whose credit's task was lost, one transaction each. A mark
    whose credit fails is logged and stays pending; it never keeps the marks after it from theirs."""
    stranded = stranded_credits(now=now)
    for enrolment_id, session_id in stranded:
        try:
            credit_attendance(enrolment_id=enrolment_id, session_id=session_id)
        except Exception:
            logger.exception("The SEU credit of enrolment %s, session %s failed.", enrolment_id, session_id)
    return len(stranded)


def _quarters_down(hours: Decimal) -> Decimal:
    return (hours / QUARTER).to_integral_value(rounding=ROUND_DOWN) * QUARTER


@transaction.atomic
def credit_attendance(*, enrolment_id: int, session_id: int) -> SeuEntry | None:
    """Attending one of our sessions (another course, a Lean Coffee) credits its attended hours to a
    holder of an active certification, capped by the day's room. Safe to run again: the one entry
    per session follows the mark; an entry a renewal used stays as it is."""
    # The mark is locked until the credit is written: a change made meanwhile waits, then sets its own
    # credit pending again, so an older mark's credit never lands after a newer one's.
    mark = (
        AttendanceMark.objects.select_related("session__workshop__course", "enrolment__participant")
        .select_for_update(of=("self",))
        .filter(enrolment_id=enrolment_id, session_id=session_id)
        .first()
    )
    if mark is None:
        return None
    entry = _credit(mark, enrolment_id=enrolment_id)
    if mark.credit_pending:
        AttendanceMark.objects.filter(pk=mark.pk).update(credit_pending=False)
    return entry


def _credit(mark: AttendanceMark, *, enrolment_id: int) -> SeuEntry | None:
    session, holder = mark.session, mark.enrolment.participant
    User.objects.select_for_update().filter(pk=holder.pk).first()
    existing = SeuEntry.objects.filter(holder=holder, source_session=session).first()
    if existing is not None and existing.renewal_id is not None:
        return existing
    policy = RenewalPolicy.current()
    earned_on = session.local_starts_at.date()
    # Only a certification that can still renew gains from SEUs (not one expired beyond its grace).
    renewable = renewable_certifications([holder.pk], today=earned_on, policy=policy)
    holds = renewable.exclude(enrolment_id=enrolment_id).exists()
    attended = _quarters_down(Decimal(mark.attended(session.duration).total_seconds()) / 3600)
    hours = min(attended, policy.daily_cap - _logged_on(holder, earned_on, besides=existing))
    category = policy.community_category or SeuCategory.objects.filter(is_active=True).first()
    if not holds or hours <= 0 or category is None:
        if existing is not None:
            existing.delete()
        return None
    course, workshop = session.workshop.course, session.workshop
    entry = existing or SeuEntry(holder=holder, source_session=session)
    entry.earned_on, entry.hours, entry.category = earned_on, hours, category
    when = f", {session.local_starts_at:%-d %b %Y %H:%M}"
    entry.title = (workshop.title or course.title)[: SeuEntry._meta.get_field("title").max_length - len(when)] + when
    entry.description = f"Credited by cspo for attending this {'event' if course.is_community_event else 'course'}."
    entry.confirmed_at = timezone.now()
    try:
        with transaction.atomic():
            entry.save()
    except IntegrityError:  # the holder logged the same title on that day themselves
        return None
    return entry


# --- Paying and renewing ----------------------------------------------------------------------


@transaction.atomic
def renew(
    *,
    holder: User,
    by: User,
    provider_name: str,
    expected_key: str,
    details: dict | None = None,
    today: date | None = None,
) -> Renewal:
    """Charge the fee through the provider and renew every covered certification by its validity from
    its current expiry date, using the SEU entries of the period. ``expected_key`` is the quote the
    payer saw: a second click, a retry or another tab finds the renewal already made and charges nothing."""
    today = today or timezone.localdate()
    provider = payments.provider(provider_name)
    if not provider.self_service and not by.is_staff:
        raise ValidationError("Only an administrator can record this kind of payment.")
    if by.pk != holder.pk and not by.is_staff:
        raise ValidationError("You can pay only for your own renewal.")
    User.objects.select_for_update().get(pk=holder.pk)
    done = Payment.objects.select_related("renewal").filter(holder=holder, idempotency_key=expected_key).first()
    if done is not None:
        return done.renewal
    current = quote(holder, today=today)
    if not current.covers_anything:
        raise ValidationError("There is no certification to renew: none is active or inside its grace period.")
    if current.key != expected_key:
        raise ValidationError("Your renewal changed since you looked at it. Check it again, then pay.")
    if not current.requirement_met:
        raise ValidationError(
            f"{seus(current.seus_missing)} more SEUs are needed before renewing "
            f"({seus(current.seus_earned)} of {seus(current.seus_required)})."
        )
    charge = provider.charge(
        amount=current.fee, currency=current.currency, key=current.key, payer=holder, details=details or {}
    )
    renewal = Renewal.objects.create(
        holder=holder,
        renewed_on=today,
        seus_required=current.seus_required,
        seus_used=current.seus_earned,
        fee=current.fee,
        currency=current.currency,
    )
    Payment.objects.create(
        holder=holder,
        renewal=renewal,
        provider=provider.name,
        amount=current.fee,
        currency=current.currency,
        reference=charge.reference,
        idempotency_key=current.key,
        recorded_by=by,
    )
    for certification in current.certifications:
        previous = extend(certification=certification)
        RenewedCertification.objects.create(
            renewal=renewal, certification=certification, previous_expiry=previous, new_expiry=certification.expires_on
        )
    SeuEntry.objects.filter(holder=holder).counting_towards(current.window_starts_on, today).update(renewal=renewal)
    _after_renewal(renewal=renewal, certifications=current.certifications)
    return renewal


def _after_renewal(*, renewal: Renewal, certifications: list[Certification]) -> None:
    from .tasks import issue_certificate  # the task module imports this one

    for certification in certifications:
        # lost (the broker away), the holder's first download draws the certificate instead
        publish_after_commit(issue_certificate, certification_id=certification.pk)
    queue_email(
        purpose="renewal_confirmation",
        to=renewal.holder.email,
        template="renewals/renewed",
        context={"renewal": renewal, "certifications": certifications, "holder": renewal.holder,
                 "url": absolute_url(reverse("certification:my_certifications"))},
        dedup_key=f"renewed:{renewal.pk}",
    )  # fmt: skip


def issue_certificate(*, certification_id: int) -> None:
    """Draw the renewed certificate now, so the holder's next download is the stored one."""
    from certification.certificates import certificate_file

    certification = Certification.objects.filter(pk=certification_id).first()
    if certification is not None and certification.status(timezone.localdate()) in {"active", "expiring"}:
        certificate_file(certification=certification)


# --- Reminders ----------------------------------------------------------------------------


def reminder_key(certification: Certification, offset: int) -> str:
    """One reminder per certification, period (its expiry date) and stage (90, 30, 7, -1 days)."""
    return f"renewal-reminder:{certification.pk}:{certification.expires_on.isoformat()}:{offset}"


def send_renewal_reminders(*, today: date | None = None, batch_size: int = 1000) -> int:
    """The daily job: a reminder for each certification expiring in 90, 30 and 7 days (the policy's
    days) and each that expired yesterday. It finds them by expiry date on an index, so its cost
    follows the number due, not the number held; the outbox's key makes a second run send nothing."""
    today = today or timezone.localdate()
    policy = RenewalPolicy.current()
    days = {}
    for offset in policy.reminder_offsets:
        for late in range(policy.catch_up_days + 1):
            days.setdefault(today + timedelta(days=offset - late), offset)
    queued = 0
    last_pk = 0
    due = Certification.objects.filter(
        state=Certification.State.ACTIVE, expires_on__in=list(days), course__renewal_level__isnull=False
    ).order_by("pk")
    while True:
        batch = list(due.filter(pk__gt=last_pk).select_related("holder", "course")[:batch_size])
        if not batch:
            return queued
        last_pk = batch[-1].pk
        keys = {c.pk: reminder_key(c, days[c.expires_on]) for c in batch}
        sent = set(OutboundEmail.objects.filter(dedup_key__in=keys.values()).values_list("dedup_key", flat=True))
        waiting = [c for c in batch if keys[c.pk] not in sent]
        quotes = quotes_for({c.holder_id for c in waiting}, today=today, policy=policy)
        reminders = [_reminder(c, days[c.expires_on], quotes[c.holder_id], keys[c.pk]) for c in waiting]
        with transaction.atomic():  # one insert and one commit per batch; the sends are queued once it commits
            queued += len(queue_emails(reminders))


def _reminder(certification: Certification, offset: int, holder_quote: RenewalQuote, key: str) -> OutboundEmail:
    return compose_email(
        purpose="renewal_reminder",
        to=certification.holder.email,
        template="renewals/reminder",
        context={
            "certification": certification,
            "holder": certification.holder,
            "quote": holder_quote,
            "expired": offset < 0,
            "days_left": (certification.expires_on - holder_quote.today).days,
            "url": absolute_url(reverse("renewals:ledger")),
        },
        dedup_key=key,
    )
