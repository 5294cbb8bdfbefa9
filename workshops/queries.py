"""Reads across workshops, sessions and enrolments, with the prefetches that keep query counts flat."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

from django.core.paginator import Page, Paginator
from django.db.models import Count, Max, Min, OuterRef, Prefetch, Q, QuerySet, Subquery
from django.utils import timezone

from cspo.compiled import CompiledRead, CompiledReads, numbers, padded
from participants.models import User
from participants.queries import sheet_row

from .models import Enrolment, PreworkDelivery, Workshop, WorkshopSession
from .templatetags.durations import hours_minutes

COURSE_SPAN = timedelta(days=92)  # a course finishes within 3 months of its start (domain notes)


def contact_time(sessions: Iterable[WorkshopSession]) -> timedelta:
    return sum((session.duration for session in sessions), timedelta())


def publishing_problems(workshop: Workshop, *, now: datetime | None = None) -> list[str]:
    """Everything that stops a workshop from being published, in words a trainer can act on."""
    now = now or timezone.now()
    sessions = sorted(workshop.sessions.all(), key=lambda s: s.starts_at)
    if not sessions:
        return ["Add the sessions first: a workshop needs at least one session to be published."]
    problems = _too_short(workshop, sessions)
    for earlier, later in pairwise(sessions):
        if later.starts_at < earlier.ends_at:
            problems.append(f"The sessions of {_day(earlier)} and {_day(later)} overlap.")
    problems += [f"The session of {_day(s)} is in the past." for s in sessions if s.starts_at < now]
    problems += _too_long(sessions)
    if workshop.format == Workshop.Format.IN_PERSON and not workshop.venue_address.strip():
        problems.append("An in-person workshop needs a venue address.")
    if workshop.format == Workshop.Format.ONLINE and not workshop.meeting_url:
        problems.append("A live online workshop needs a meeting link.")
    return problems


def schedule_figures(workshop: Workshop) -> tuple[timedelta, timedelta]:
    """The sessions' contact time, and the time from the first's start to the last's end."""
    return _figures(list(workshop.sessions.order_by("starts_at")))


def _figures(sessions: list[WorkshopSession]) -> tuple[timedelta, timedelta]:
    return contact_time(sessions), (sessions[-1].ends_at - sessions[0].starts_at if sessions else timedelta())


def worsened_schedule_problems(workshop: Workshop, *, before: tuple[timedelta, timedelta]) -> list[str]:
    """What a change to a published workshop's sessions broke of the rules it was published under: the
    course's contact hours, all within three months. A schedule already outside them (set so in the
    admin site) may change, but not further outside."""
    sessions = list(workshop.sessions.order_by("starts_at"))
    (total, span), (total_before, span_before) = _figures(sessions), before
    return (_too_short(workshop, sessions) if total < total_before else []) + (
        _too_long(sessions) if span > span_before else []
    )


def _too_short(workshop: Workshop, sessions: list[WorkshopSession]) -> list[str]:
    total, minimum = contact_time(sessions), workshop.course.minimum_contact_time
    if total >= minimum:
        return []
    return [
        f"The sessions add up to {hours_minutes(total)}, but a {workshop.course.kind} workshop needs at least "
        f"{hours_minutes(minimum)}: {hours_minutes(minimum - total)} missing."
    ]


def _too_long(sessions: list[WorkshopSession]) -> list[str]:
    if sessions and sessions[-1].ends_at - sessions[0].starts_at > COURSE_SPAN:
        return ["All sessions must fall within three months of the first one."]
    return []


def _day(session: WorkshopSession) -> str:
    return f"{session.local_starts_at:%a %-d %b %Y %H:%M}"


PAST_PAGE_SIZE = 20


@dataclass
class TrainerWorkshops:
    running: list[Workshop]
    upcoming: list[Workshop]  # soonest first, those without sessions last
    past: Page  # one page of them, most recent first


# When each workshop a trainer teaches runs, read on every visit of their home: compiled once
# (``cspo.compiled``). A union, not an OR: PostgreSQL then finds the trainer's workshops by index,
# not by reading them all. Whether each has ended is asked in Python: the time is not fixed.
_SPANS = CompiledRead(
    lambda lead, co_trainer: (
        Workshop.objects.filter(
            pk__in=Workshop.objects.filter(lead_trainer_id=lead)
            .values("pk")
            .order_by()
            .union(
                Workshop.co_trainers.through.objects.filter(user_id=co_trainer).values("workshop_id").order_by(),
                all=True,
            )
        )
        .annotate(first=Min("sessions__starts_at"), last=Max("sessions__ends_at"))
        .values_list("pk", "last")
        .order_by("-first", "-pk")
    ),
    *numbers(2),
)


def workshops_for_trainer(
    trainer, *, past_page: str | int | None = 1, per_page: int = PAST_PAGE_SIZE, now: datetime | None = None
) -> TrainerWorkshops:
    """The trainer's running and upcoming workshops and one page of their past ones, with their figures.
    Two queries: when each workshop the trainer teaches runs (a small row each), then the figures of the
    rows shown only, whatever the number of past workshops. A workshop is past once its last session
    has ended; one without sessions is upcoming."""
    now = now or timezone.now()
    spans = [(pk, last is not None and last < now) for pk, last in _SPANS.rows(trainer.pk, trainer.pk)]
    past = Paginator([pk for pk, is_past in spans if is_past], per_page).get_page(past_page)
    current = [pk for pk, is_past in spans if not is_past]
    rows = {w.pk: w for w in _with_figures(current + list(past.object_list))}
    past.object_list = [rows[pk] for pk in past.object_list]
    current_rows = sorted(
        (rows[pk] for pk in current), key=lambda w: (w.first_starts_at is None, w.first_starts_at or now, w.pk)
    )
    return TrainerWorkshops(
        running=[w for w in current_rows if w.first_starts_at is not None and w.first_starts_at <= now],
        upcoming=[w for w in current_rows if w.first_starts_at is None or w.first_starts_at > now],
        past=past,
    )


# What the trainer's tables show (templates/workshops/_workshop_table.html).
TRAINER_TABLE_FIELDS = (
    "title",
    "format",
    "time_zone",
    "capacity",
    "status",
    "course__kind",
    "course__minimum_contact_hours",
    "lead_trainer__full_name",
    "lead_trainer__email",
)

# The figures of the workshops a trainer's home shows: a query of five subqueries, compiled once
# (``cspo.compiled``) for each size of the padded list of workshops shown.
_FIGURES_OF = CompiledReads(
    lambda count: CompiledRead(
        lambda *shown: (
            Workshop.objects.filter(pk__in=shown)
            .select_related("course", "lead_trainer")
            .only(*TRAINER_TABLE_FIELDS)
            .with_figures()
            .order_by()
        ),
        *numbers(count),
    )
)


def _with_figures(pks: list[int]) -> list[Workshop]:
    """The workshops ``pks`` with what their table shows, and their figures, in no order."""
    keys = padded(pks)
    return _FIGURES_OF[len(keys)].objects(*keys) if pks else []


def _open_workshops(
    *, now: datetime | None = None, course: str = "", format: str = "", month: date | None = None
) -> QuerySet[Workshop]:
    """Published workshops that have not started, narrowed by the catalogue's filters, with their first start."""
    first_start = WorkshopSession.objects.filter(workshop=OuterRef("pk")).order_by().values("workshop")
    workshops = (
        Workshop.objects.filter(status=Workshop.Status.PUBLISHED)
        .annotate(first_starts_at=Subquery(first_start.annotate(first=Min("starts_at")).values("first")))
        .filter(first_starts_at__gt=now or timezone.now())
    )
    if course:
        workshops = workshops.filter(course__kind=course)
    if format:
        workshops = workshops.filter(format=format)
    if month:
        start = datetime(month.year, month.month, 1, tzinfo=UTC)
        end = datetime(month.year + month.month // 12, month.month % 12 + 1, 1, tzinfo=UTC)
        workshops = workshops.filter(first_starts_at__gte=start, first_starts_at__lt=end)
    return workshops


def catalogue(
    *, now: datetime | None = None, course: str = "", format: str = "", month: date | None = None
) -> QuerySet[Workshop]:
    """Published workshops that have not started, with their figures and sessions, soonest first."""
    return (
        _open_workshops(now=now, course=course, format=format, month=month)
        .select_related("course", "lead_trainer")
        .with_figures()
        .prefetch_related(Prefetch("sessions", queryset=WorkshopSession.objects.order_by("starts_at")))
        .order_by("first_starts_at", "pk")
    )


@dataclass
class CataloguePage:
    page: Page
    # Of every workshop the filters list, not only this page's: when it starts, the list changes.
    soonest_start: datetime | None


def catalogue_page(*, number: str | int | None, per_page: int, now: datetime | None = None, **filters) -> CataloguePage:
    """One page of ``catalogue()``: how many there are and the soonest start in one query, then the
    page's workshops and their sessions."""
    now = now or timezone.now()
    listed = _open_workshops(now=now, **filters).aggregate(count=Count("pk"), soonest=Min("first_starts_at"))
    numbering = Paginator(range(listed["count"]), per_page)
    number = numbering.get_page(number).number
    start = (number - 1) * per_page
    workshops = list(catalogue(now=now, **filters)[start : start + per_page])
    return CataloguePage(Page(workshops, number, numbering), listed["soonest"])


def enrolments_of(participant) -> QuerySet[Enrolment]:
    return (
        Enrolment.objects.filter(participant=participant)
        .select_related("workshop__course", "workshop__lead_trainer")
        .prefetch_related(Prefetch("workshop__sessions", queryset=WorkshopSession.objects.order_by("starts_at")))
        .order_by("-created_at")
    )


def roster(workshop: Workshop) -> QuerySet[Enrolment]:
    return workshop.enrolments.select_related("participant").order_by("status", "created_at")


@dataclass
class Overview:
    workshops_by_status: dict[str, int]
    people: dict[str, int]
    enrolments_by_status: dict[str, int]
    upcoming: list[Workshop]


def overview(*, now: datetime | None = None, upcoming_limit: int = 10) -> Overview:
    now = now or timezone.now()
    by_status = dict(Workshop.objects.order_by().values_list("status").annotate(n=Count("pk")))
    enrolments = dict(Enrolment.objects.order_by().values_list("status").annotate(n=Count("pk")))
    people = User.objects.aggregate(
        trainers=Count("pk", filter=Q(is_trainer=True)),
        participants=Count("pk", filter=Q(is_participant=True)),
        administrators=Count("pk", filter=Q(is_staff=True)),
    )
    upcoming = list(
        Workshop.objects.exclude(status=Workshop.Status.CANCELLED)
        .select_related("course", "lead_trainer")
        .with_figures()
        .filter(first_starts_at__gte=now)
        .order_by("first_starts_at")[:upcoming_limit]
    )
    return Overview(
        workshops_by_status={label: by_status.get(value, 0) for value, label in Workshop.Status.choices},
        people=people,
        enrolments_by_status={label: enrolments.get(value, 0) for value, label in Enrolment.Status.choices},
        upcoming=upcoming,
    )


def waitlist_position(enrolment: Enrolment) -> int | None:
    if enrolment.status != Enrolment.Status.WAITLISTED:
        return None
    ahead = Enrolment.objects.filter(workshop_id=enrolment.workshop_id, status=Enrolment.Status.WAITLISTED).filter(
        Q(waitlisted_at__lt=enrolment.waitlisted_at) | Q(waitlisted_at=enrolment.waitlisted_at, pk__lt=enrolment.pk)
    )
    return ahead.count() + 1


def enrolment_page(enrolment: Enrolment, *, now: datetime | None = None) -> dict:
    """What a participant sees of their own enrolment: schedule, place, and pre-work once released."""
    now = now or timezone.now()
    workshop = enrolment.workshop
    sessions = list(workshop.sessions.order_by("starts_at"))
    first_start = sessions[0].starts_at if sessions else None
    released = enrolment.status == Enrolment.Status.ENROLLED and (
        workshop.prework_released(first_start=first_start, now=now)
        or PreworkDelivery.objects.filter(enrolment=enrolment).exists()
    )
    return {
        "enrolment": enrolment,
        "workshop": workshop,
        "sessions": sessions,
        "position": waitlist_position(enrolment),
        "prework_released": released,
        "prework_items": list(workshop.prework_items.all()) if released else [],
        "can_cancel": enrolment.status != Enrolment.Status.CANCELLED and (first_start is None or first_start > now),
        # Their own marks only (the trainer's notes stay with the trainer).
        "attendance": sheet_row(enrolment, now=now)
        if enrolment.status == Enrolment.Status.ENROLLED and first_start is not None and first_start <= now
        else None,
    }


def schedule(workshop: Workshop, *, now: datetime | None = None) -> dict:
    """The sessions region of the edit page: sessions, running total against the minimum, and
    what still stops publishing."""
    sessions = list(workshop.sessions.order_by("starts_at"))
    total, minimum = contact_time(sessions), workshop.course.minimum_contact_time
    return {
        "sessions": sessions,
        "contact_time": total,
        "minimum_contact_time": minimum,
        "contact_missing": max(minimum - total, timedelta()),
        "contact_percent": min(100, round(100 * total / minimum)) if minimum else 100,
        "publishing_problems": publishing_problems(workshop, now=now)
        if workshop.status == Workshop.Status.DRAFT
        else [],
    }


def trainer_workshop_page(workshop: Workshop) -> dict:
    """Everything the trainer's workshop page shows, in a fixed number of queries."""
    roster = list(
        workshop.enrolments.select_related("participant", "prework_delivery__email").order_by(
            "status", "waitlisted_at", "created_at"
        )
    )
    sessions = list(workshop.sessions.order_by("starts_at"))
    first_start = sessions[0].starts_at if sessions else None
    waiting = sorted(
        (e for e in roster if e.status == Enrolment.Status.WAITLISTED), key=lambda e: (e.waitlisted_at, e.pk)
    )
    for position, enrolment in enumerate(waiting, start=1):
        enrolment.position = position
    return {
        "workshop": workshop,
        "sessions": sessions,
        "contact_time": contact_time(sessions),
        "roster": roster,
        "seats_taken": sum(1 for e in roster if e.holds_seat),
        "waitlist_length": len(waiting),
        "to_notify": sum(1 for e in roster if e.status != Enrolment.Status.CANCELLED),
        "prework_items": list(workshop.prework_items.all()),
        "prework_release": workshop.prework_release_time(first_start),
    }
