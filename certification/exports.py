"""Eligibility lists for a certification body, as CSV and XLSX, for any number of workshops.

``queries.eligibility(workshop)`` answers for one workshop in a fixed number of queries; an export of
thousands of workshops would repeat those queries for each. Here the same decisions are made for a
batch of workshops at once, so the number of queries grows with the number of batches, never with
the number of rows. A hundred thousand rows would be hundreds of thousands of model instances
(participants, marks): the export reads tuples instead, sums attended time in SQL, streams the
participants, and words the reasons with the review page's own ``eligibility_reasons``.
"""

from __future__ import annotations

import csv
import tempfile
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby
from operator import itemgetter
from pathlib import Path
from typing import TextIO

import xlsxwriter
from django.db.models import (
    Case,
    DurationField,
    Exists,
    ExpressionWrapper,
    F,
    IntegerField,
    Min,
    OuterRef,
    Q,
    Subquery,
    Sum,
    Value,
    When,
)
from django.db.models.functions import Greatest
from django.utils import timezone

from participants.models import AttendanceMark, User
from workshops.models import Course, Enrolment, Workshop, WorkshopSession

from .models import Certification, ExamResult, Submission, status_of
from .queries import eligibility_reasons, prerequisite_holders, session_labels

BATCH_SIZE = 1000  # workshops per batch: their sessions and attended times in memory, the participants streamed

HEADER = [
    "First name",
    "Last name",
    "E-mail",
    "Course",
    "Workshop",
    "Workshop dates",
    "Location",
    "Trainers",
    "Eligible",
    "Reasons",
    "Override justification",
    "Submitted at",
    "Certification state",
]


# --- Rows ----------------------------------------------------------------------------------------


def split_name(full_name: str) -> tuple[str, str]:
    """First and last name from the one full name we keep: split at the last space, so
    "Mary Ann Smith" is ("Mary Ann", "Smith"). A single word is a first name with no last name.
    Wrong for "Ludwig van Beethoven" (last name "Beethoven"); a certification body reads both columns."""
    first, _, last = full_name.strip().rpartition(" ")
    return (first.strip(), last) if first else (last, "")


def _workshop_ids(
    *, workshop: Workshop | None, trainer: User | None, course: Course | None, start: date | None, end: date | None
) -> list[int]:
    """Ids of the workshops to export, by their first session; cancelled and draft workshops have
    nobody to certify. The date range is on the first session's day in the workshop's time zone:
    a workshop belongs to the period it starts in, so consecutive monthly exports never list it twice."""
    workshops = Workshop.objects.certifying()
    if workshop is not None:
        workshops = workshops.filter(pk=workshop.pk)
    if trainer is not None:
        co_trained = Workshop.co_trainers.through.objects.filter(user=trainer).values("workshop_id")
        workshops = workshops.filter(Q(lead_trainer=trainer) | Q(pk__in=co_trained))
    if course is not None:
        workshops = workshops.filter(course=course)
    workshops = workshops.annotate(first_starts_at=Min("sessions__starts_at"))
    # Time zones reach 14 hours either side of UTC: a day's margin in SQL, the exact day below. A margin
    # beyond the calendar's first or last day (start 1 January 1, end 31 December 9999) bounds nothing.
    if start is not None and start > date.min:
        workshops = workshops.filter(first_starts_at__gte=_utc_midnight(start - timedelta(days=1)))
    if end is not None and end < date.max - timedelta(days=1):
        workshops = workshops.filter(first_starts_at__lt=_utc_midnight(end + timedelta(days=2)))
    found = workshops.order_by("first_starts_at", "pk").values_list("pk", "first_starts_at", "time_zone")
    if start is None and end is None:
        return [pk for pk, _, _ in found]
    return [
        pk
        for pk, first_starts_at, time_zone in found
        if (start or date.min) <= first_starts_at.astimezone(zoneinfo.ZoneInfo(time_zone)).date() <= (end or date.max)
    ]


def _utc_midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _dates(sessions: list[WorkshopSession]) -> str:
    if not sessions:
        return ""
    first, last = (f"{session.local_starts_at:%Y-%m-%d}" for session in (sessions[0], sessions[-1]))
    return first if first == last else f"{first} – {last}"


def _location(workshop: Workshop) -> str:
    if workshop.format == Workshop.Format.ONLINE:
        return "online"
    return ", ".join(line.strip() for line in workshop.venue_address.splitlines() if line.strip())


def _eligible(reasons: list[str], overridden: bool) -> str:
    if not reasons:
        return "yes"
    return "yes (override)" if overridden else "no"


def _marks(batch: list[int]) -> tuple[dict[int, timedelta], dict[int, list[int]]]:
    """Each enrolment's attended time, and the sessions it attended without participating, summed in
    SQL rather than read mark by mark: one row per enrolment, plus one per such session (the group's
    second key is the session then, NULL otherwise). Attended time is ``AttendanceMark.attended``:
    the session's length less the minutes late and left early, never below zero, none if absent."""
    lacking = Case(When(participated=False, then=F("session_id")), default=None, output_field=IntegerField())
    minutes_missed = ExpressionWrapper(
        Value(timedelta(minutes=1)) * (F("late_minutes") + F("left_early_minutes")), output_field=DurationField()
    )
    attended_each = Greatest(
        F("session__ends_at") - F("session__starts_at") - minutes_missed,
        Value(timedelta()),
        output_field=DurationField(),
    )
    attended: dict[int, timedelta] = defaultdict(timedelta)
    without_participation: dict[int, list[int]] = defaultdict(list)
    for enrolment_id, session_id, attended_time in (
        AttendanceMark.objects.filter(session__workshop_id__in=batch)
        .exclude(presence=AttendanceMark.Presence.ABSENT)
        .order_by()
        .values("enrolment_id", lacking_session=lacking)
        .annotate(time=Sum(attended_each))
        .values_list("enrolment_id", "lacking_session", "time")
    ):
        attended[enrolment_id] += attended_time
        if session_id is not None:
            without_participation[enrolment_id].append(session_id)
    return attended, without_participation


def _batch_rows(batch: list[int], today: date, status_labels: dict) -> Iterator[list[str]]:
    """The rows of one batch of workshops, from tuples (no model instance per participant or mark),
    decided by the review page's own rules (``eligibility_reasons``)."""
    by_id = {
        w.pk: w for w in Workshop.objects.filter(pk__in=batch).select_related("course__prerequisite", "lead_trainer")
    }
    co_trainers: dict[int, list[User]] = defaultdict(list)
    for link in (
        Workshop.co_trainers.through.objects.filter(workshop_id__in=batch)
        .select_related("user")
        .order_by("user__full_name", "user__email")
    ):
        co_trainers[link.workshop_id].append(link.user)
    submitted_at = dict(
        Submission.objects.filter(workshop_id__in=batch, reopened_at__isnull=True).values_list(
            "workshop_id", "submitted_at"
        )
    )
    sessions: dict[int, list[WorkshopSession]] = defaultdict(list)
    for session in WorkshopSession.objects.filter(workshop_id__in=by_id).order_by("workshop_id", "starts_at"):
        session.workshop = by_id[session.workshop_id]
        sessions[session.workshop_id].append(session)
    enrolments = Enrolment.objects.filter(workshop_id__in=by_id, status=Enrolment.Status.ENROLLED)
    if any(w.course.has_exam for w in by_id.values()):
        passing = ExamResult.objects.filter(enrolment=OuterRef("pk"), score__gte=F("pass_mark"))  # ExamResult.passed
        enrolments = enrolments.annotate(exam_passed=Exists(passing))
    else:
        enrolments = enrolments.annotate(exam_passed=Value(False))
    attended, without_participation = _marks(list(by_id))
    holders = prerequisite_holders(list(by_id.values()), today=today)
    # Streamed (a server-side cursor on PostgreSQL), workshops in the order of ``_workshop_ids``: by
    # first session, then id. So a batch can be large, paying once for reading the big tables.
    first_starts_at = WorkshopSession.objects.filter(workshop=OuterRef("workshop_id")).order_by("starts_at")
    enrolled = (
        enrolments.annotate(first_starts_at=Subquery(first_starts_at.values("starts_at")[:1]))
        .order_by("first_starts_at", "workshop_id", "participant__full_name", "pk")
        .values_list(
            "pk",
            "workshop_id",
            "participant_id",
            "participant__full_name",
            "participant__email",
            "understanding__demonstrated",
            "understanding__reason",
            "override__justification",
            "certification__state",
            "certification__expires_on",
            "exam_passed",
        )
        .iterator(chunk_size=2000)
    )
    no_time = timedelta()
    for pk, participants in groupby(enrolled, key=itemgetter(1)):
        if pk not in by_id:  # deleted since the ids were read
            continue
        current = by_id[pk]
        course = current.course
        minimum = course.minimum_contact_time
        prerequisite = course.prerequisite.kind if course.prerequisite_id else None
        labels = session_labels(sessions[pk])
        trainers = "; ".join(str(user) for user in [current.lead_trainer, *co_trainers[pk]])
        submitted = submitted_at.get(pk)
        submitted = submitted.astimezone(current.zone).isoformat(timespec="seconds") if submitted else ""
        workshop_columns = [course.kind, str(current), _dates(sessions[pk]), _location(current), trainers]
        for (
            enrolment_id, _, participant_id, full_name, email, demonstrated, not_demonstrated_because,
            justification, certification_state, expires_on, exam_passed,
        ) in participants:  # fmt: skip
            lacking = without_participation.get(enrolment_id)
            reasons = eligibility_reasons(
                attended=attended.get(enrolment_id, no_time),
                minimum=minimum,
                sessions_without_participation=[label for session, label in labels.items() if session in lacking]
                if lacking
                else (),
                understanding=demonstrated,
                understanding_reason=not_demonstrated_because or "",
                role=course.role,
                exam_required=course.has_exam,
                exam_passed=exam_passed,
                prerequisite=prerequisite,
                holds_prerequisite=(participant_id, course.prerequisite_id) in holders,
            )
            if certification_state is None:
                state = "not submitted"
            elif (certification_state, expires_on) in status_labels:
                state = status_labels[certification_state, expires_on]
            else:
                status = status_of(certification_state, expires_on, today)
                state = status_labels[certification_state, expires_on] = Certification.STATUS_LABELS[status]
            yield [
                *split_name(full_name),
                email,
                *workshop_columns,
                _eligible(reasons, justification is not None),
                "; ".join(reasons),
                justification if justification is not None else "",
                submitted,
                state,
            ]


def eligibility_rows(
    *,
    workshop: Workshop | None = None,
    trainer: User | None = None,
    course: Course | None = None,
    start: date | None = None,
    end: date | None = None,
    today: date | None = None,
    batch_size: int = BATCH_SIZE,
) -> Iterator[list[str]]:
    """The header, then one row per enrolled participant of each matching workshop, workshops by
    first session, participants by name. Lazy: rows are made a batch of workshops at a time, in
    one query for the ids plus at most seven per batch."""
    today = today or timezone.localdate()
    yield list(HEADER)
    ids = _workshop_ids(workshop=workshop, trainer=trainer, course=course, start=start, end=end)
    status_labels: dict[tuple[str, date | None], str] = {}  # a certification's column, by state and expiry
    for offset in range(0, len(ids), batch_size):
        yield from _batch_rows(ids[offset : offset + batch_size], today, status_labels)


# --- Files ---------------------------------------------------------------------------------------


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_FIRST = frozenset(FORMULA_STARTS)  # each a single character: a set lookup per cell is cheaper


def spreadsheet_safe(row: list[str]) -> list[str]:
    """A participant types their own name: a cell that starts like a formula ("=HYPERLINK(…)") is
    kept as text by a leading apostrophe, so a spreadsheet opening the CSV does not run it."""
    return [f"'{cell}" if cell[:1] in _FORMULA_FIRST else cell for cell in row]


class _Echo:
    """The file-like object ``csv.writer`` wants, handing each written line back (Django's pattern
    for streaming large CSV files)."""

    def write(self, value: str) -> str:
        return value


def csv_chunks(rows: Iterable[list[str]], *, rows_per_chunk: int = 500) -> Iterator[str]:
    """CSV text a few hundred rows at a time, for a streaming response."""
    writer = csv.writer(_Echo())
    chunk = []
    for row in rows:
        chunk.append(writer.writerow(spreadsheet_safe(row)))
        if len(chunk) >= rows_per_chunk:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)


def write_csv(rows: Iterable[list[str]], file: TextIO) -> int:
    """Write the rows to an open text file (opened with ``newline=""``); returns how many, header included."""
    writer = csv.writer(file)
    count = 0
    for row in rows:
        writer.writerow(spreadsheet_safe(row))
        count += 1
    return count


def xlsx_file(rows: Iterable[list[str]]) -> Path:
    """The rows as an XLSX workbook in a temporary file, whose path the caller deletes. An XLSX is a
    zip and cannot be streamed while it is written; XlsxWriter's constant-memory mode flushes each
    row to disk, so memory stays flat however long the list."""
    with tempfile.NamedTemporaryFile(prefix="eligibility-", suffix=".xlsx", delete=False) as handle:
        path = Path(handle.name)
    try:
        workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
        try:
            sheet = workbook.add_worksheet("Eligibility")
            sheet.set_column(0, len(HEADER) - 1, 22)
            sheet.freeze_panes(1, 0)
            bold = workbook.add_format({"bold": True})
            for number, row in enumerate(rows):
                for column, value in enumerate(row):
                    # write_string, never write(): a name starting with "=" stays text, not a formula.
                    sheet.write_string(number, column, value, bold if number == 0 else None)
        finally:
            workbook.close()
    except BaseException:
        path.unlink(missing_ok=True)  # nobody else knows the path
        raise
    return path
