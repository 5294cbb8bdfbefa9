"""Eligibility lists for a certification body, as CSV and XLSX, for any number of workshops.

``queries.eligibility(workshop)`` answers for one workshop in a fixed number of queries; an export of
thousands of workshops would repeat those queries for each. Here the same decisions are made for a
batch of workshops at once (``batch_eligibility``), so the number of queries grows with the number
of batches, never with the number of rows, and only one batch is in memory at a time.
"""

from __future__ import annotations

import csv
import tempfile
import zoneinfo
from collections import defaultdict
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import TextIO

import xlsxwriter
from django.db.models import Min, Q
from django.utils import timezone

from participants.models import User
from workshops.models import Course, Workshop, WorkshopSession

from .models import Certification, Submission
from .queries import EligibilityDecision, batch_eligibility

BATCH_SIZE = 200  # workshops per batch: a few thousand enrolments in memory at most

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
    workshops = Workshop.objects.exclude(status__in=[Workshop.Status.DRAFT, Workshop.Status.CANCELLED])
    if workshop is not None:
        workshops = workshops.filter(pk=workshop.pk)
    if trainer is not None:
        co_trained = Workshop.co_trainers.through.objects.filter(user=trainer).values("workshop_id")
        workshops = workshops.filter(Q(lead_trainer=trainer) | Q(pk__in=co_trained))
    if course is not None:
        workshops = workshops.filter(course=course)
    workshops = workshops.annotate(first_starts_at=Min("sessions__starts_at"))
    # Time zones reach 14 hours either side of UTC: a day's margin in SQL, the exact day below.
    if start is not None:
        workshops = workshops.filter(first_starts_at__gte=_utc_midnight(start - timedelta(days=1)))
    if end is not None:
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


def _eligible(decision: EligibilityDecision) -> str:
    if decision.meets_the_rules:
        return "yes"
    return "yes (override)" if decision.override is not None else "no"


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
    one query for the ids plus at most eight per batch."""
    today = today or timezone.localdate()
    yield list(HEADER)
    ids = _workshop_ids(workshop=workshop, trainer=trainer, course=course, start=start, end=end)
    for offset in range(0, len(ids), batch_size):
        batch = ids[offset : offset + batch_size]
        workshops = Workshop.objects.filter(pk__in=batch).select_related("course__prerequisite", "lead_trainer")
        by_id = {w.pk: w for w in workshops}
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
        decided = batch_eligibility([by_id[pk] for pk in batch if pk in by_id], today=today)
        for pk in batch:
            if pk not in decided:  # deleted since the ids were read
                continue
            current = by_id[pk]
            sessions, decisions = decided[pk]
            trainers = "; ".join(str(user) for user in [current.lead_trainer, *co_trainers[pk]])
            submitted = submitted_at.get(pk)
            submitted = submitted.astimezone(current.zone).isoformat(timespec="seconds") if submitted else ""
            workshop_columns = [current.course.kind, str(current), _dates(sessions), _location(current), trainers]
            for decision in decisions:
                participant = decision.enrolment.participant
                certification = decision.certification
                yield [
                    *split_name(participant.full_name),
                    participant.email,
                    *workshop_columns,
                    _eligible(decision),
                    "; ".join(decision.reasons),
                    decision.override.justification if decision.override is not None else "",
                    submitted,
                    Certification.STATUS_LABELS[certification.status(today)] if certification else "not submitted",
                ]


# --- Files ---------------------------------------------------------------------------------------


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(row: list[str]) -> list[str]:
    """A participant types their own name: a cell that starts like a formula ("=HYPERLINK(…)") is
    kept as text by a leading apostrophe, so a spreadsheet opening the CSV does not run it."""
    return [f"'{cell}" if cell.startswith(FORMULA_STARTS) else cell for cell in row]


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
