"""Every write to workshops, sessions, enrolments and pre-work, with the e-mails they cause."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import UTC, date, datetime, time, timedelta

from django.conf import settings
from django.core import signing
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import F, Min, prefetch_related_objects
from django.urls import reverse
from django.utils import timezone

from cspo.celery import publish_after_commit
from cspo.stored_files import delete_on_commit, undone_on_error
from participants.models import User
from participants.services import Attachment, find_or_create_participant, queue_email

from . import catalogue
from .calendar import ICS_MIMETYPE, calendar_filename, workshop_calendar
from .models import (
    CALENDAR_FROM,
    CALENDAR_REFUSAL,
    CALENDAR_UNTIL,
    Enrolment,
    PreworkDelivery,
    PreworkItem,
    Workshop,
    WorkshopSession,
)
from .queries import publishing_problems, schedule_figures, waitlist_position, worsened_schedule_problems

logger = logging.getLogger(__name__)

OFFER_SALT = "workshops.seat-offer"


def absolute_url(path: str) -> str:
    return settings.CSPO_SITE_URL.rstrip("/") + path


def _locked(workshop: Workshop) -> Workshop:
    """The workshop row, locked until the transaction ends: enrolments of one workshop take turns.
    Its course is read with it but not locked: the other workshops of the course go on."""
    return Workshop.objects.select_for_update(of=("self",)).select_related("course").get(pk=workshop.pk)


def _first_start(workshop: Workshop) -> datetime | None:
    return workshop.sessions.aggregate(first=Min("starts_at"))["first"]


def has_begun(workshop: Workshop, *, now: datetime | None = None) -> bool:
    """Its first session has started (whatever its status says: that follows every few minutes)."""
    first = _first_start(workshop)
    return first is not None and first <= (now or timezone.now())


def _calendar_attachment(enrolment: Enrolment) -> Attachment:
    """The workshop's calendar file; its meeting link only for someone enrolled (not a seat offered)."""
    workshop = enrolment.workshop
    url = absolute_url(reverse("workshops:public_detail", args=[workshop.pk]))
    enrolled = enrolment.status == Enrolment.Status.ENROLLED
    calendar = workshop_calendar(workshop, workshop.sessions.all(), url=url, include_meeting_link=enrolled)
    return Attachment(calendar_filename(workshop), calendar, ICS_MIMETYPE)


def _email_context(enrolment: Enrolment, **extra) -> dict:
    workshop = enrolment.workshop
    return {
        "enrolment": enrolment,
        "participant": enrolment.participant,
        "workshop": workshop,
        "sessions": list(workshop.sessions.all()),
        "workshop_url": absolute_url(reverse("workshops:public_detail", args=[workshop.pk])),
        "my_url": absolute_url(reverse("workshops:my_enrolment", args=[enrolment.pk])),
        **extra,
    }


def _with_sessions(workshop: Workshop) -> Workshop:
    """Load the sessions once for every e-mail about this workshop (and its calendar file)."""
    prefetch_related_objects([workshop], "sessions")
    return workshop


def _notify(enrolment: Enrolment, purpose: str, *, calendar: bool = False, key: str | None = None, **extra):
    return queue_email(
        purpose=purpose,
        to=enrolment.participant.email,
        template=f"workshops/{purpose}",
        context=_email_context(enrolment, **extra),
        attachment=_calendar_attachment(enrolment) if calendar else None,
        dedup_key=key,
    )


# --- Scheduling -------------------------------------------------------------------------------


def _aware(day: date, clock: time, workshop: Workshop) -> datetime:
    local = datetime.combine(day, clock, tzinfo=workshop.zone)
    if local.astimezone(UTC).astimezone(workshop.zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        raise ValidationError(
            f"{clock:%H:%M} on {day:%-d %b %Y} does not exist in {workshop.time_zone}: the clocks change that night."
        )
    # In UTC: Python subtracts two times of one zone by the wall clock, wrong across a clock change.
    return local.astimezone(UTC)


@transaction.atomic
def schedule_session(
    *, workshop: Workshop, day: date, starts: time, ends: time, by: User, session: WorkshopSession | None = None
) -> WorkshopSession:
    """Add a session (or move ``session``), given as a day and clock times in the workshop's zone."""
    workshop = _locked(workshop)
    if workshop.schedule_is_final:
        raise ValidationError(f"This workshop is {workshop.get_status_display().lower()}; its sessions are final.")
    if not CALENDAR_FROM <= day <= CALENDAR_UNTIL:
        raise ValidationError(CALENDAR_REFUSAL)
    starts_at, ends_at = _aware(day, starts, workshop), _aware(day, ends, workshop)
    if ends_at <= starts_at:
        raise ValidationError("A session must end after it starts.")
    session = session or WorkshopSession(workshop=workshop)
    is_new = session.pk is None
    if not is_new and (session.starts_at, session.ends_at) == (starts_at, ends_at):
        return session  # saved as it was: nothing changed, nobody is told
    before = schedule_figures(workshop)
    session.starts_at, session.ends_at = starts_at, ends_at
    session.workshop = workshop
    if session.overlapping().exists():
        raise ValidationError("This session overlaps another session of the same workshop.")
    try:
        with transaction.atomic():
            session.save()
    except IntegrityError as error:  # a co-trainer added an overlapping session at the same moment
        raise ValidationError("This session overlaps another session of the same workshop.") from error
    _check_kept_schedule(workshop, before=before)
    _schedule_changed(workshop)
    catalogue.changed()
    return session


@transaction.atomic
def remove_session(*, session: WorkshopSession, by: User) -> None:
    workshop = _locked(session.workshop)
    if workshop.schedule_is_final:
        raise ValidationError(f"This workshop is {workshop.get_status_display().lower()}; its sessions are final.")
    if session.marks.exists():  # they, their history and the SEUs they credited would go with it
        raise ValidationError(
            "Attendance is marked for this session, so it cannot be removed: its marks and their history would be "
            "lost. Move it if its times were wrong."
        )
    before = schedule_figures(workshop)
    session.delete()
    _check_kept_schedule(workshop, before=before, removing=True)
    _schedule_changed(workshop)
    catalogue.changed()


def _check_kept_schedule(workshop: Workshop, *, before: tuple, removing: bool = False) -> None:
    """Once published, a change keeps the rules the schedule was published under (the change is rolled
    back with the transaction when it breaks one). A draft is checked when it is published."""
    if workshop.status == Workshop.Status.DRAFT:
        return
    if problems := worsened_schedule_problems(workshop, before=before):
        if removing:
            problems.append("Move it instead, or add the session that replaces it first, then remove this one.")
        raise ValidationError(problems)


def _schedule_changed(workshop: Workshop) -> None:
    """A new schedule version (calendars replace the older ones); once published, people are told of
    it after a pause (``tell_schedule_change``)."""
    workshop.schedule_version += 1
    workshop.schedule_changed_at = timezone.now()
    workshop.save(update_fields=["schedule_version", "schedule_changed_at", "updated_at"])
    if workshop.status != Workshop.Status.DRAFT:
        _notify_schedule_change(workshop)


# A trainer often changes a schedule in a few steps (add the new session, then remove the old): people
# hear of it once, this long after the last step, with the times as they then are.
SCHEDULE_NOTICE_DELAY = timedelta(minutes=2)
# A notice still untold this long after its change lost its task: the periodic job sends it.
UNTOLD_AFTER = SCHEDULE_NOTICE_DELAY + timedelta(minutes=10)


def _notify_schedule_change(workshop: Workshop) -> None:
    """Tell people of the schedule ``workshop`` has now (its version was just raised), after a pause."""
    from .tasks import tell_schedule_change  # the task module imports this one

    publish_after_commit(
        tell_schedule_change, countdown=SCHEDULE_NOTICE_DELAY.total_seconds(),
        workshop_id=workshop.pk, version=workshop.schedule_version,
    )  # fmt: skip


@transaction.atomic
def tell_schedule_change(*, workshop_id: int, version: int | None = None) -> int:
    """Everyone with a seat, with a new calendar file; everyone waiting for one, so that they know
    the times a seat would be for (no calendar file: they have no seat yet). The notice of an older
    ``version`` tells nobody: the newer change's notice will. Once told, a version is not told again,
    nor is a workshop cancelled or completed meanwhile (it said so). Returns how many were told."""
    workshop = Workshop.objects.select_for_update(of=("self",)).select_related("course").get(pk=workshop_id)
    current = workshop.schedule_version
    if version not in (None, current) or workshop.schedule_told_version >= current:
        return 0
    workshop.schedule_told_version = current
    workshop.save(update_fields=["schedule_told_version"])
    if workshop.status == Workshop.Status.DRAFT or workshop.schedule_is_final:
        return 0
    workshop = _with_sessions(workshop)
    waiting_or_seated = [*Enrolment.SEAT_HOLDING, Enrolment.Status.WAITLISTED]
    # Those who came since were sent these times when they came.
    before_the_change = workshop.enrolments.filter(created_at__lte=workshop.schedule_changed_at or timezone.now())
    told = 0
    for enrolment in before_the_change.filter(status__in=waiting_or_seated).select_related("participant"):
        enrolment.workshop = workshop
        key = f"sessions-changed:{enrolment.pk}:{current}"
        calendar = enrolment.status != Enrolment.Status.WAITLISTED
        told += bool(_notify(enrolment, "sessions_changed", calendar=calendar, key=key))
    return told


def tell_untold_schedule_changes(*, now: datetime | None = None) -> int:
    """The periodic job: the schedule changes whose notice's task was lost (the broker was away, a
    worker stopped). Returns how many people were told."""
    before = (now or timezone.now()) - UNTOLD_AFTER
    untold = Workshop.objects.filter(
        schedule_version__gt=F("schedule_told_version"), schedule_changed_at__lte=before,
        status__in=[Workshop.Status.PUBLISHED, Workshop.Status.RUNNING],
    ).values_list("pk", "schedule_version")  # fmt: skip
    told = 0
    for pk, version in list(untold[:100]):  # that version: a change made since has its own notice coming
        try:
            told += tell_schedule_change(workshop_id=pk, version=version)
        except Exception:
            logger.exception("The schedule notice of workshop %s failed.", pk)
    return told


@transaction.atomic
def update_workshop(
    *, workshop: Workshop, by: User, fields: dict, co_trainers: Iterable[User] | None = None
) -> Workshop:
    """Save edited details; a larger capacity offers the new seats to the waiting list."""
    locked = _locked(workshop)
    old_capacity, old_zone = locked.capacity, locked.zone
    if "course" in fields and fields["course"].pk != locked.course_id and has_begun(locked):
        raise ValidationError(
            {"course": "The workshop has begun, so its course stays: its attendance is judged by that course's rules."}
        )
    zone_changes = "time_zone" in fields and fields["time_zone"] != locked.time_zone
    if zone_changes and locked.schedule_is_final:
        raise ValidationError(
            {"time_zone": f"This workshop is {locked.get_status_display().lower()}; its sessions are final."}
        )
    if zone_changes and has_begun(locked):
        raise ValidationError(
            {"time_zone": "The workshop has begun, so its time zone stays: its sessions took place at their times."}
        )
    for name, value in fields.items():
        setattr(locked, name, value)
    locked.full_clean()
    locked.save()
    if co_trainers is not None:
        locked.co_trainers.set([t for t in co_trainers if t.pk != locked.lead_trainer_id])
    if zone_changes and _keep_clock_times(locked, old_zone=old_zone):
        _schedule_changed(locked)
    catalogue.changed()
    if locked.capacity > old_capacity:
        offer_free_seats(workshop=locked)
    return locked


def _keep_clock_times(workshop: Workshop, *, old_zone) -> bool:
    """After the workshop's time zone changed, each session keeps the day and clock times the trainer
    entered (09:00 to 16:00 stays 09:00 to 16:00, now in the new zone), as sessions are entered and
    shown in the workshop's zone. Returns whether any session moved."""
    moved, later = [], False
    try:
        for session in workshop.sessions.order_by("starts_at"):
            starts, ends = session.starts_at.astimezone(old_zone), session.ends_at.astimezone(old_zone)
            new = (_aware(starts.date(), starts.time(), workshop), _aware(ends.date(), ends.time(), workshop))
            if new != (session.starts_at, session.ends_at):
                later = later or new[0] > session.starts_at
                session.starts_at, session.ends_at = new
                moved.append(session)
    except ValidationError as problem:
        raise ValidationError({"time_zone": problem.messages}) from problem
    # Sessions never overlap, checked row by row: the last first when they move later, else the first first.
    if later:
        moved.reverse()
    try:
        with transaction.atomic():
            for session in moved:
                session.save(update_fields=["starts_at", "ends_at"])
    except IntegrityError as error:
        raise ValidationError(
            {"time_zone": "In this zone two sessions would overlap (the clocks change between them): move one first."}
        ) from error
    return bool(moved)


@transaction.atomic
def create_workshop(*, by: User, fields: dict, co_trainers: Iterable[User] = ()) -> Workshop:
    workshop = Workshop(**{"lead_trainer": by, **fields, "status": Workshop.Status.DRAFT})
    workshop.full_clean()
    workshop.save()
    workshop.co_trainers.set([t for t in co_trainers if t.pk != workshop.lead_trainer_id])
    return workshop


@transaction.atomic
def publish_workshop(*, workshop: Workshop, by: User, now: datetime | None = None) -> Workshop:
    workshop = _locked(workshop)
    if workshop.status != Workshop.Status.DRAFT:
        raise ValidationError(f"Only a draft can be published; this workshop is {workshop.get_status_display()}.")
    problems = publishing_problems(workshop, now=now)
    if problems:
        raise ValidationError(problems)
    workshop.status = Workshop.Status.PUBLISHED
    workshop.schedule_told_version = workshop.schedule_version  # the plan before it is nobody's news
    workshop.save(update_fields=["status", "schedule_told_version", "updated_at"])
    catalogue.changed()
    return workshop


@transaction.atomic
def cancel_workshop(*, workshop: Workshop, by: User) -> int:
    """Cancel, and tell everyone enrolled, offered a seat or waiting. Returns how many were told."""
    workshop = _locked(workshop)
    if workshop.schedule_is_final:
        raise ValidationError(f"This workshop is {workshop.get_status_display().lower()} already.")
    if workshop.sheet_locked_at is not None:
        raise ValidationError(
            "Its participants were submitted for certification, so it is held, not cancelled; an administrator "
            "reopens the submission first."
        )
    was_public = workshop.status != Workshop.Status.DRAFT
    workshop.status = Workshop.Status.CANCELLED
    workshop.save(update_fields=["status", "updated_at"])
    catalogue.changed()
    told = 0
    workshop = _with_sessions(workshop)
    if was_public:
        for enrolment in workshop.enrolments.exclude(status=Enrolment.Status.CANCELLED).select_related("participant"):
            enrolment.workshop = workshop
            _notify(enrolment, "workshop_cancelled", key=f"workshop-cancelled:{enrolment.pk}")
            told += 1
    return told


@transaction.atomic
def add_prework_item(*, workshop: Workshop, by: User, title: str, file=None, url: str = "") -> tuple[PreworkItem, int]:
    """The item, and how many people are sent it now: those enrolled who already received the
    pre-work. Everyone else finds it among the rest when theirs is released. The workshop's row is
    locked, as ``release_prework`` locks it: a release at the same moment either sees the new item
    or has its delivery seen here, never neither."""
    workshop = _locked(workshop)
    if workshop.schedule_is_final:
        raise ValidationError(f"This workshop is {workshop.get_status_display().lower()}; its pre-work is final.")
    item = PreworkItem(workshop=workshop, title=title, file=file or "", url=url)
    item.full_clean()
    with undone_on_error(item.file):  # the whole change: the row goes back if telling people fails
        item.save()
        workshop = _with_sessions(workshop)
        told = 0
        already_sent = workshop.enrolments.filter(status=Enrolment.Status.ENROLLED, prework_delivery__isnull=False)
        for enrolment in already_sent.select_related("participant"):
            enrolment.workshop = workshop
            if _notify(enrolment, "prework_added", items=[item], key=f"prework-item:{item.pk}:{enrolment.pk}"):
                told += 1
    return item, told


@transaction.atomic
def remove_prework_item(*, item: PreworkItem, by: User) -> None:
    delete_on_commit(item.file.storage, item.file.name)
    item.delete()


COMPLETION_GRACE = timedelta(hours=24)


def advance_workshop_statuses(*, now: datetime | None = None) -> int:
    """The periodic job: a published workshop whose first session started is running; a running
    one is completed a day after its last session ended (the trainer has that day to finish the
    sheet before every change needs a reason). Returns how many changed."""
    now = now or timezone.now()
    figures = Workshop.objects.with_figures()
    started = figures.filter(status=Workshop.Status.PUBLISHED, first_starts_at__lte=now).values("pk")
    ended = figures.filter(status=Workshop.Status.RUNNING, last_ends_at__lte=now - COMPLETION_GRACE).values("pk")
    # The status again on the rows written: one cancelled meanwhile (its lock waited for) stays cancelled,
    # as PostgreSQL checks the written row again but not the subquery's reading of it.
    completed = Workshop.objects.filter(pk__in=ended, status=Workshop.Status.RUNNING).update(
        status=Workshop.Status.COMPLETED, updated_at=now
    )
    running = Workshop.objects.filter(pk__in=started, status=Workshop.Status.PUBLISHED).update(
        status=Workshop.Status.RUNNING, updated_at=now
    )
    if running + completed:
        catalogue.changed()
    return running + completed


# --- Enrolment and the waiting list -----------------------------------------------------------


def enrolment_closed_reason(workshop: Workshop, *, now: datetime) -> str | None:
    """Why nobody can enrol now, or None when enrolment is open."""
    if workshop.status != Workshop.Status.PUBLISHED:
        return "This workshop is not open for enrolment."
    first = _first_start(workshop)
    if first is not None and first <= now:
        return "This workshop has started; enrolment is closed."
    return None


@transaction.atomic
def enrol(
    *, workshop: Workshop, email: str, full_name: str, by: User | None = None, now: datetime | None = None
) -> Enrolment:
    """Give the person a seat, or a place on the waiting list when the workshop is full.

    The workshop row is locked first, so two people taking the last seat at the same moment take
    turns: one gets the seat, the other joins the waiting list. Enrolling again changes nothing.
    """
    now = now or timezone.now()
    workshop = _locked(workshop)
    if reason := enrolment_closed_reason(workshop, now=now):
        raise ValidationError(reason)
    participant, _ = find_or_create_participant(email=email, full_name=full_name)
    enrolment = Enrolment.objects.filter(workshop=workshop, participant=participant).first()
    if enrolment is not None and enrolment.status != Enrolment.Status.CANCELLED:
        return enrolment
    enrolment = enrolment or Enrolment(workshop=workshop, participant=participant)
    enrolment.cancelled_at = None
    catalogue.changed()  # seats left
    if _free_seats(workshop) > 0 and not workshop.enrolments.filter(status=Enrolment.Status.WAITLISTED).exists():
        enrolment.status, enrolment.waitlisted_at = Enrolment.Status.ENROLLED, None
        enrolment.save()
        _notify(enrolment, "enrolment_confirmed", calendar=True)
        release_prework(enrolment=enrolment, now=now)
    else:
        enrolment.status, enrolment.waitlisted_at = Enrolment.Status.WAITLISTED, now
        enrolment.save()
        _notify(enrolment, "waitlisted", position=waitlist_position(enrolment))
    return enrolment


def _free_seats(workshop: Workshop) -> int:
    return workshop.capacity - workshop.enrolments.filter(status__in=Enrolment.SEAT_HOLDING).count()


def offer_token(enrolment: Enrolment) -> str:
    return signing.dumps(enrolment.pk, salt=OFFER_SALT)


def enrolment_from_offer_token(token: str) -> Enrolment | None:
    try:
        pk = signing.loads(token, salt=OFFER_SALT)
    except signing.BadSignature:
        return None
    return Enrolment.objects.select_related("workshop__course", "participant").filter(pk=pk).first()


def offer_free_seats(*, workshop: Workshop, now: datetime | None = None) -> list[Enrolment]:
    """Offer each free seat to the next person waiting. The caller holds the workshop lock."""
    now = now or timezone.now()
    if workshop.status != Workshop.Status.PUBLISHED:
        return []
    free = _free_seats(workshop)
    if free <= 0:
        return []
    offered = list(
        workshop.enrolments.filter(status=Enrolment.Status.WAITLISTED)
        .select_related("participant")
        .order_by("waitlisted_at", "pk")[:free]
    )
    if offered:
        catalogue.changed()  # seats left
    workshop = _with_sessions(workshop)
    for enrolment in offered:
        enrolment.status = Enrolment.Status.OFFERED
        enrolment.offer_expires_at = now + timedelta(hours=workshop.offer_hours)
        enrolment.save(update_fields=["status", "offer_expires_at", "updated_at"])
        enrolment.workshop = workshop
        offer_url = absolute_url(reverse("workshops:offer", args=[offer_token(enrolment)]))
        _notify(
            enrolment,
            "seat_offered",
            offer_url=offer_url,
            key=f"offer:{enrolment.pk}:{int(enrolment.offer_expires_at.timestamp())}",
        )
    return offered


@transaction.atomic
def accept_offer(*, enrolment: Enrolment, now: datetime | None = None) -> Enrolment:
    now = now or timezone.now()
    workshop = _locked(enrolment.workshop)
    enrolment = Enrolment.objects.select_related("participant").get(pk=enrolment.pk)
    enrolment.workshop = workshop
    if enrolment.status == Enrolment.Status.ENROLLED:
        return enrolment
    if reason := enrolment_closed_reason(workshop, now=now):
        raise ValidationError(reason)
    if enrolment.status != Enrolment.Status.OFFERED or enrolment.offer_expires_at <= now:
        raise ValidationError("This offer has expired and the seat went to the next person waiting.")
    enrolment.status, enrolment.offer_expires_at = Enrolment.Status.ENROLLED, None
    enrolment.save(update_fields=["status", "offer_expires_at", "updated_at"])
    _notify(enrolment, "enrolment_confirmed", calendar=True)
    release_prework(enrolment=enrolment, now=now)
    return enrolment


@transaction.atomic
def decline_offer(*, enrolment: Enrolment, now: datetime | None = None) -> Enrolment:
    """The "No, thank you" of a seat offer's link, which works without signing in: it gives up the
    offer, never a seat taken since (the link is in an old e-mail, and its enrolment's row is reused
    when the person enrols again)."""
    _locked(enrolment.workshop)  # first, as every change of its enrolments locks it
    enrolment = Enrolment.objects.get(pk=enrolment.pk)
    if enrolment.status == Enrolment.Status.ENROLLED:
        raise ValidationError(
            "You took this seat already, so this link no longer declines it. To give it up, sign in and "
            "cancel your enrolment."
        )
    if enrolment.status != Enrolment.Status.OFFERED:
        raise ValidationError("This offer is no longer open: it expired or was declined already.")
    return cancel_enrolment(enrolment=enrolment, by=enrolment.participant, now=now)


@transaction.atomic
def cancel_enrolment(*, enrolment: Enrolment, by: User, now: datetime | None = None) -> Enrolment:
    """Give up a seat, an offer or a place on the waiting list; a freed seat goes to the next person."""
    now = now or timezone.now()
    workshop = _locked(enrolment.workshop)
    enrolment = Enrolment.objects.select_related("participant").get(pk=enrolment.pk)
    if enrolment.status == Enrolment.Status.CANCELLED:
        return enrolment
    first = _first_start(workshop)
    if first is not None and first <= now and not by.is_staff:
        raise ValidationError("The workshop has started; only the training company can change enrolments now.")
    freed_seat = enrolment.holds_seat
    catalogue.changed()  # seats left
    enrolment.status, enrolment.cancelled_at = Enrolment.Status.CANCELLED, now
    enrolment.offer_expires_at = enrolment.waitlisted_at = None
    enrolment.save()
    if freed_seat:
        offer_free_seats(workshop=workshop, now=now)
    return enrolment


def expire_offers(*, now: datetime | None = None, batch: int = 200) -> int:
    """Offers nobody answered in time lapse; their seats go to the next people waiting."""
    now = now or timezone.now()
    due = Enrolment.objects.filter(status=Enrolment.Status.OFFERED, offer_expires_at__lte=now)
    workshop_ids = set(due.values_list("workshop_id", flat=True)[:batch])
    expired = 0
    for workshop_id in workshop_ids:
        with transaction.atomic():
            workshop = _locked(Workshop(pk=workshop_id))
            for enrolment in due.filter(workshop=workshop).select_related("participant"):
                enrolment.status, enrolment.cancelled_at, enrolment.offer_expires_at = (
                    Enrolment.Status.CANCELLED,
                    now,
                    None,
                )
                enrolment.save(update_fields=["status", "cancelled_at", "offer_expires_at", "updated_at"])
                catalogue.changed()  # seats left
                enrolment.workshop = workshop
                if workshop.status == Workshop.Status.PUBLISHED:  # a cancelled workshop told them already
                    _notify(enrolment, "offer_expired")
                expired += 1
            offer_free_seats(workshop=workshop, now=now)
    return expired


# --- Pre-work ---------------------------------------------------------------------------------


def release_prework(*, enrolment: Enrolment, now: datetime | None = None) -> PreworkDelivery | None:
    """Send the pre-work to one enrolled person once it is due. One delivery row per enrolment,
    ever: a second call, a retry or a crash between two runs never sends it twice."""
    workshop = enrolment.workshop
    if enrolment.status != Enrolment.Status.ENROLLED or not workshop.prework_items.exists():
        return None
    if not workshop.prework_released(first_start=_first_start(workshop), now=now):
        return None
    # An item being added waits, or is read below (``add_prework_item``); a cancellation of the workshop or
    # of this enrolment (both lock the workshop) is waited for, then seen: the job read them a while ago.
    if _locked(workshop).status not in (Workshop.Status.PUBLISHED, Workshop.Status.RUNNING):
        return None
    if not Enrolment.objects.filter(pk=enrolment.pk, status=Enrolment.Status.ENROLLED).exists():
        return None
    delivery, created = PreworkDelivery.objects.get_or_create(enrolment=enrolment)
    if not created:
        return None
    delivery.email = _notify(
        enrolment, "prework", items=list(workshop.prework_items.all()), key=f"prework:{enrolment.pk}"
    )
    delivery.save(update_fields=["email"])
    return delivery


def send_due_prework(*, now: datetime | None = None, batch: int = 500) -> int:
    """The periodic job: release pre-work to every enrolled person whose workshop's time has come."""
    now = now or timezone.now()
    workshops = (
        Workshop.objects.filter(status__in=[Workshop.Status.PUBLISHED, Workshop.Status.RUNNING])
        .filter(prework_items__isnull=False)
        .annotate(first_start=Min("sessions__starts_at"))
        .filter(first_start__isnull=False)
        .distinct()
    )
    sent = 0
    for workshop in workshops:
        if not workshop.prework_released(first_start=workshop.first_start, now=now):
            continue
        waiting = workshop.enrolments.filter(status=Enrolment.Status.ENROLLED, prework_delivery__isnull=True)
        for enrolment in waiting.select_related("participant")[: batch - sent]:
            with transaction.atomic():
                enrolment.workshop = workshop
                if release_prework(enrolment=enrolment, now=now):
                    sent += 1
        if sent >= batch:
            break
    return sent
