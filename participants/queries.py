"""Reads for the attendance sheet: every row's progress against the course minimum, in a fixed
number of queries whatever the number of participants and sessions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import date_format

from cspo.compiled import CompiledRead, numbers
from workshops.models import Enrolment, Workshop, WorkshopSession

from .models import AttendanceMark, MarkChange, UnderstandingConfirmation, User


@dataclass(frozen=True)
class Progress:
    attended: timedelta
    minimum: timedelta
    possible: timedelta  # attended plus every session not marked yet
    sessions_attended: int
    sessions_participated: int

    @property
    def attended_minutes(self) -> int:
        return int(self.attended.total_seconds() // 60)

    @property
    def minimum_minutes(self) -> int:
        return int(self.minimum.total_seconds() // 60)

    @property
    def status(self) -> str:
        if self.attended >= self.minimum:
            return "complete"
        return "at_risk" if self.possible < self.minimum else "on_track"

    @property
    def status_label(self) -> str:
        return {"complete": "Complete", "on_track": "On track", "at_risk": "At risk"}[self.status]

    @property
    def status_explained(self) -> str:
        if self.status == "at_risk":
            return "Cannot reach the minimum any more with the sessions left."
        if self.status == "on_track":
            return "Can still reach the minimum with the sessions left."
        return "Has the minimum contact time."


def progress(sessions: list[WorkshopSession], marks: dict[int, AttendanceMark], minimum: timedelta) -> Progress:
    """``marks`` by session id, for one participant."""
    attended = unmarked = timedelta()
    present = participated = 0
    for session in sessions:
        mark = marks.get(session.pk)
        if mark is None:
            unmarked += session.duration
            continue
        attended += mark.attended(session.duration)
        if mark.presence != AttendanceMark.Presence.ABSENT:
            present += 1
            participated += mark.participated
    return Progress(attended, minimum, attended + unmarked, present, participated)


@dataclass
class SheetCell:
    session: WorkshopSession
    mark: AttendanceMark | None
    is_open: bool  # the session has started, so it can be marked
    save_url: str = ""
    day: str = ""  # the session's day, "Monday 23 November", for the cell's labels
    posted: dict | None = None  # what the trainer typed, shown again when it could not be saved
    error: str = ""  # why it could not be saved, when the whole sheet is drawn again (without JavaScript)

    @property
    def values(self) -> dict:
        if self.posted is not None:
            return {
                "presence": self.posted.get("presence", ""),
                "minutes": self.posted.get("minutes", ""),
                "participated": bool(self.posted.get("participated")),
                "note": self.posted.get("note", ""),
                "reason": self.posted.get("reason", ""),
            }
        mark = self.mark
        if mark is None:
            return {"presence": "", "minutes": "", "participated": False, "note": "", "reason": ""}
        return {
            "presence": mark.presence,
            "minutes": mark.minutes or "",
            "participated": mark.participated,
            "note": mark.note,
            "reason": "",
        }


@dataclass
class SheetColumn:
    session: WorkshopSession
    is_open: bool  # the session has started, so it can be marked


@dataclass
class SheetRow:
    enrolment: Enrolment
    cells: list[SheetCell]
    progress: Progress
    address: str  # the row's own address on the sheet, which its forms and history extend
    # What the trainer typed for the understanding, and why it was refused, when the whole sheet is
    # drawn again (without JavaScript), as for a cell.
    understanding_posted: dict | None = None
    understanding_error: str = ""

    @property
    def understanding_url(self) -> str:
        return f"{self.address}understanding/"

    @property
    def history_url(self) -> str:
        return f"{self.address}history/"


def _days(sessions) -> dict[int, str]:
    """Each session's day as the cell labels say it, formatted once per session, not per cell."""
    return {s.pk: date_format(s.local_starts_at, "l j F") for s in sessions}


def _row(enrolment: Enrolment, sessions, marks: dict[int, AttendanceMark], minimum, now, days, sheet_url) -> SheetRow:
    # Every address on a row extends the sheet's (participants/urls.py): built here by joining strings,
    # not by a reverse() or {% url %} per cell, which cost a sixth of the page (bench/findings.md).
    address = f"{sheet_url}{enrolment.pk}/"
    cells = [
        SheetCell(s, marks.get(s.pk), s.starts_at <= now, save_url=f"{address}{s.pk}/", day=days[s.pk])
        for s in sessions
    ]
    return SheetRow(enrolment, cells, progress(sessions, marks, minimum), address)


SHEET_ENROLMENT_FIELDS = ("workshop_id", "status", "participant__full_name", "understanding__demonstrated",
                          "understanding__reason")  # fmt: skip
SHEET_MARK_FIELDS = ("enrolment_id", "session_id", "presence", "late_minutes", "left_early_minutes",
                     "participated", "note")  # fmt: skip


def attendance_sheet(workshop: Workshop, *, now: datetime | None = None) -> dict:
    now = now or timezone.now()
    sessions = sessions_of(workshop)
    # Only the columns the sheet shows: building the rest (timestamps, the password hash) took a
    # third of these two queries' time (bench/findings.md).
    enrolments = list(
        workshop.enrolments.filter(status=Enrolment.Status.ENROLLED)
        .select_related("participant", "understanding")
        .only(*SHEET_ENROLMENT_FIELDS)
        .order_by("participant__full_name", "pk")
    )
    by_enrolment: dict[int, dict[int, AttendanceMark]] = {e.pk: {} for e in enrolments}
    for mark in AttendanceMark.objects.filter(enrolment__in=[e.pk for e in enrolments]).only(*SHEET_MARK_FIELDS):
        by_enrolment[mark.enrolment_id][mark.session_id] = mark
    minimum = workshop.course.minimum_contact_time
    days = _days(sessions)
    sheet_url = reverse("participants:sheet", args=[workshop.pk])
    return {
        "workshop": workshop,
        "sessions": sessions,
        "columns": [SheetColumn(s, s.starts_at <= now) for s in sessions],
        "rows": [_row(e, sessions, by_enrolment[e.pk], minimum, now, days, sheet_url) for e in enrolments],
        "needs_reason": workshop.changes_need_a_reason,
    }


def _sheet_fingerprint_sql() -> tuple[str, str]:
    session, enrolment = WorkshopSession._meta.db_table, Enrolment._meta.db_table
    user, understanding = User._meta.db_table, UnderstandingConfirmation._meta.db_table
    mark = AttendanceMark._meta.db_table
    sessions = (
        f"SELECT id, starts_at, ends_at, CASE WHEN starts_at <= %s THEN 1 ELSE 0 END FROM {session}"
        " WHERE workshop_id = %s ORDER BY starts_at, id"
    )
    rows = (
        f"SELECT e.id, u.full_name, c.demonstrated, c.reason, m.session_id, m.presence, m.late_minutes,"
        f" m.left_early_minutes, m.participated, m.note FROM {enrolment} e"
        f" JOIN {user} u ON u.id = e.participant_id"
        f" LEFT JOIN {understanding} c ON c.enrolment_id = e.id"
        f" LEFT JOIN {mark} m ON m.enrolment_id = e.id"
        " WHERE e.workshop_id = %s AND e.status = %s ORDER BY e.id, m.session_id"
    )
    return sessions, rows


SHEET_FINGERPRINT_SQL = _sheet_fingerprint_sql()


def sheet_fingerprint(workshop: Workshop, *, now: datetime) -> tuple:
    """Every value the sheet's table shows, read as plain rows in two queries (no models built): the
    key under which the rendered table is kept (``cspo.regions``). Whatever changes a mark, a name, an
    understanding, an enrolment or a session, by any path, changes it; so does a session starting."""
    sessions_sql, rows_sql = SHEET_FINGERPRINT_SQL
    with connection.cursor() as cursor:
        cursor.execute(sessions_sql, [now, workshop.pk])
        sessions = cursor.fetchall()
        cursor.execute(rows_sql, [workshop.pk, Enrolment.Status.ENROLLED])
        rows = cursor.fetchall()
    course = workshop.course
    shown = (workshop.pk, workshop.time_zone, workshop.changes_need_a_reason, course.minimum_contact_hours, course.role)
    return shown, sessions, rows


# Read by every cell save (the enrolment, the sessions, the row's marks): compiled once
# (``cspo.compiled``), as compiling them cost more than running them.
_WORKSHOP, _ENROLMENT = numbers(2)
_ENROLMENT_OF = CompiledRead(
    lambda workshop_id, pk: (
        Enrolment.objects.select_related("participant").filter(workshop_id=workshop_id, pk=pk).order_by()
    ),
    *(_WORKSHOP, _ENROLMENT),
)
_SESSIONS_OF = CompiledRead(
    lambda workshop_id: WorkshopSession.objects.filter(workshop_id=workshop_id).order_by("starts_at"), _WORKSHOP
)
_MARKS_OF = CompiledRead(lambda enrolment_id: AttendanceMark.objects.filter(enrolment_id=enrolment_id), _ENROLMENT)


def enrolment_in(workshop: Workshop, pk: int) -> Enrolment | None:
    """The enrolment ``pk`` of ``workshop`` with its participant, knowing its workshop; None if the
    workshop has no such enrolment."""
    found = _ENROLMENT_OF.objects(workshop.pk, int(pk))
    for enrolment in found:
        enrolment.workshop = workshop
    return found[0] if found else None


def sessions_of(workshop: Workshop) -> list[WorkshopSession]:
    """The workshop's sessions in order, each knowing its workshop (the services read it)."""
    sessions = _SESSIONS_OF.objects(workshop.pk)
    for session in sessions:
        session.workshop = workshop
    return sessions


def sheet_row(
    enrolment: Enrolment, *, sessions: list[WorkshopSession] | None = None, now: datetime | None = None
) -> SheetRow:
    """One row: the answer to a cell save, and what a participant sees of their own attendance.
    ``sessions``: the workshop's, in order, when the caller has read them already."""
    workshop = enrolment.workshop
    sessions = sessions_of(workshop) if sessions is None else sessions
    marks = {m.session_id: m for m in _MARKS_OF.objects(enrolment.pk)}
    minimum = workshop.course.minimum_contact_time
    sheet_url = reverse("participants:sheet", args=[workshop.pk])
    return _row(enrolment, sessions, marks, minimum, now or timezone.now(), _days(sessions), sheet_url)


def mark_history(enrolment: Enrolment) -> list[MarkChange]:
    return list(
        MarkChange.objects.filter(enrolment=enrolment)
        .select_related("mark__session", "changed_by")
        .order_by("-changed_at", "-pk")
    )
