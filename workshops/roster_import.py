"""An administrator imports a workshop's roster from a CSV file of names and e-mail addresses.

The file is read in full and checked first, when it is uploaded; only a file without a single problem
is imported, by a worker (``start_roster_import``, ``run_roster_import``: two thousand people take
seconds, and the page shows how far it got), and then in one transaction, so a row refused halfway
leaves the workshop as it was. Enrolling is idempotent (``services.enrol``), so importing the same
file twice changes nothing the second time.
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from cspo.celery import publish_after_commit
from participants.models import User, normalize_email_address
from participants.services import find_or_create_participant

from . import services
from .models import Enrolment, RosterImport, Workshop

logger = logging.getLogger(__name__)

MAX_ROSTER_ROWS = 2000
MEGABYTE = 1024 * 1024
MAX_ROSTER_BYTES = MEGABYTE
MAX_NAME_LENGTH = User._meta.get_field("full_name").max_length
MAX_EMAIL_LENGTH = User._meta.get_field("email").max_length

# Header names are compared after lower-casing and collapsing spaces.
NAME_HEADERS = frozenset({"name", "full name", "full_name"})
EMAIL_HEADERS = frozenset({"email", "e-mail"})
EXAMPLE_HEADER = "name,e-mail"


@dataclass(frozen=True)
class RosterProblem:
    """One reason the file cannot be imported. ``row`` counts as a spreadsheet does (the header is
    row 1); it is None, like ``column``, for a problem with the whole file."""

    reason: str
    row: int | None = None
    column: str = ""

    def __str__(self) -> str:
        if self.row is None:
            return self.reason
        where = f"Row {self.row}, {self.column}" if self.column else f"Row {self.row}"
        return f"{where}: {self.reason}"


@dataclass(frozen=True)
class RosterRow:
    row: int
    full_name: str
    email: str


@dataclass(frozen=True)
class RosterParse:
    rows: tuple[RosterRow, ...] = ()
    problems: tuple[RosterProblem, ...] = ()

    @property
    def is_valid(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class RosterResult:
    enrolled: int = 0
    waitlisted: int = 0
    already_there: int = 0
    accounts_created: int = 0

    @property
    def people(self) -> int:
        return self.enrolled + self.waitlisted + self.already_there


class RosterRejected(ValidationError):
    """The roster was not imported; ``problems`` says why, row by row."""

    def __init__(self, problems: Sequence[RosterProblem]):
        self.problems = tuple(problems)
        super().__init__([str(problem) for problem in self.problems])


def _rejected_file(reason: str) -> RosterParse:
    return RosterParse(problems=(RosterProblem(reason),))


def _decode(data: bytes) -> str | None:
    for encoding in ("utf-8-sig", "cp1252"):  # CSV UTF-8, then what Excel on Windows calls plain CSV
        try:
            text = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        # A spreadsheet (.xlsx is a zip), a PDF or a UTF-16 export is full of NUL bytes; CSV text never is.
        return None if "\x00" in text else text
    return None


def _header_key(header: str) -> str:
    return " ".join(header.split()).lower()


def _positions(header: list[str], accepted: frozenset[str]) -> list[int]:
    return [i for i, name in enumerate(header) if _header_key(name) in accepted]


def parse_roster(*, data: bytes) -> RosterParse:
    """Read a roster file: its rows, or every problem found in it, in words an administrator can act on."""
    if len(data) > MAX_ROSTER_BYTES:
        return _rejected_file(
            f"The file is larger than {MAX_ROSTER_BYTES / MEGABYTE:g} MB, the most a roster file can be. "
            "Split it into smaller files."
        )
    text = _decode(data)
    if text is None:
        return _rejected_file(
            "This is not a CSV file we can read (a spreadsheet or another kind of file?). "
            "In your spreadsheet program choose Save as… “CSV UTF-8 (comma delimited)” and upload that file."
        )
    try:
        records = list(csv.reader(io.StringIO(text, newline="")))
    except csv.Error as error:
        return _rejected_file(f"This file is not valid CSV (is a quotation mark left open?): {error}.")

    # Blank lines count as rows, as they do in a spreadsheet, so the row numbers match what the person sees.
    numbered = [(number, record) for number, record in enumerate(records, start=1) if any(f.strip() for f in record)]
    if not numbered:
        return _rejected_file(
            f"The file is empty: it needs a header row (for example “{EXAMPLE_HEADER}”) and one row per person."
        )
    (header_row, header), body = numbered[0], numbered[1:]

    problems = _header_problems(header, header_row)
    if problems:
        return RosterParse(problems=tuple(problems))
    if not body:
        return _rejected_file("The file has a header row but nobody in it: add one row per person.")
    if len(body) > MAX_ROSTER_ROWS:
        return _rejected_file(
            f"The file has {len(body):,} people; a roster can have at most {MAX_ROSTER_ROWS:,}. "
            "Split it into smaller files."
        )

    # Problems are reported under the column names the file itself uses.
    (name_at,), (email_at,) = _positions(header, NAME_HEADERS), _positions(header, EMAIL_HEADERS)
    name_column, email_column = header[name_at].strip(), header[email_at].strip()
    rows: list[RosterRow] = []
    first_row_of: dict[str, int] = {}
    for number, record in body:
        full_name = " ".join(record[name_at].split()) if name_at < len(record) else ""
        email = normalize_email_address(record[email_at]) if email_at < len(record) else ""
        row_problems = [
            *_name_problems(full_name, number, name_column),
            *_email_problems(email, number, email_column, first_row_of),
        ]
        problems += row_problems
        if not row_problems:
            rows.append(RosterRow(row=number, full_name=full_name, email=email))
        if email:
            first_row_of.setdefault(email, number)
    return RosterParse(rows=tuple(rows), problems=tuple(problems))


def _header_problems(header: list[str], row: int) -> list[RosterProblem]:
    problems = []
    for accepted, label in ((NAME_HEADERS, "name"), (EMAIL_HEADERS, "e-mail")):
        positions = _positions(header, accepted)
        if len(positions) > 1:
            problems.append(RosterProblem(f"The header has more than one {label} column; keep one.", row=row))
        elif not positions:
            problems.append(RosterProblem(_missing_column_reason(header, label), row=row))
    return problems


def _missing_column_reason(header: list[str], label: str) -> str:
    found = ", ".join(f"“{name.strip()}”" for name in header if name.strip()) or "nothing"
    reason = (
        f"The header row has no {label} column. The first row must name the columns, "
        f"for example “{EXAMPLE_HEADER}”; this file’s first row has {found}."
    )
    if len(header) == 1 and ";" in header[0]:
        reason += " The columns seem to be separated by semicolons: save the file as CSV with commas."
    return reason


def _name_problems(full_name: str, row: int, column: str) -> list[RosterProblem]:
    if not full_name:
        return [RosterProblem("The name is missing.", row=row, column=column)]
    if len(full_name) > MAX_NAME_LENGTH:
        return [RosterProblem(f"The name is longer than {MAX_NAME_LENGTH} characters.", row=row, column=column)]
    return []


def _email_problems(email: str, row: int, column: str, first_row_of: dict[str, int]) -> list[RosterProblem]:
    if not email:
        return [RosterProblem("The e-mail address is missing.", row=row, column=column)]
    try:
        validate_email(email)
        if len(email) > MAX_EMAIL_LENGTH:
            raise ValidationError("too long")
    except ValidationError:
        return [RosterProblem(f"“{email}” is not a valid e-mail address.", row=row, column=column)]
    if email in first_row_of:
        return [
            RosterProblem(
                f"“{email}” is already on row {first_row_of[email]}; each person appears once.",
                row=row,
                column=column,
            )
        ]
    return []


def _import_refusal(workshop: Workshop) -> str | None:
    if workshop.status == Workshop.Status.PUBLISHED:
        return None
    if workshop.status == Workshop.Status.DRAFT:
        return "This workshop is a draft: publish it before importing its roster."
    return (
        f"This workshop is {workshop.get_status_display().lower()}, so nobody can be enrolled in it any more; "
        "a roster can only be imported into a published workshop."
    )


@transaction.atomic
def import_roster(
    *, workshop: Workshop, data: bytes, by: User, progress: Callable[[int, int], None] | None = None
) -> RosterResult:
    """Enrol everyone in the file, or nobody: any problem, in the file or with one person, rolls the
    whole import back and raises ``RosterRejected``. People already enrolled or waiting are left as
    they are; a full workshop puts the rest on its waiting list."""
    # The lock makes "who was here before" below exact: nobody else enrols in this workshop meanwhile.
    workshop = Workshop.objects.select_for_update().get(pk=workshop.pk)
    if refusal := _import_refusal(workshop):
        raise ValidationError(refusal)
    parsed = parse_roster(data=data)
    if not parsed.is_valid:
        raise RosterRejected(parsed.problems)

    emails = [row.email for row in parsed.rows]
    known_emails = set(User.objects.filter(email__in=emails).values_list("email", flat=True))
    present_emails = set(
        workshop.enrolments.exclude(status=Enrolment.Status.CANCELLED)
        .filter(participant__email__in=emails)
        .values_list("participant__email", flat=True)
    )
    # New accounts first, in e-mail order: two imports at once (into two workshops) that share new people
    # create them in one order, so one waits for the other rather than each holding an address the other
    # needs next (a deadlock, which PostgreSQL ends by failing one import).
    new_people = sorted((row for row in parsed.rows if row.email not in known_emails), key=lambda row: row.email)
    steps = len(new_people) + len(parsed.rows)  # ``progress`` hears each one: (steps done, steps)
    for done, row in enumerate(new_people, start=1):
        find_or_create_participant(email=row.email, full_name=row.full_name)
        if progress is not None:
            progress(done, steps)
    enrolled = waitlisted = already_there = 0
    for done, row in enumerate(parsed.rows, start=len(new_people) + 1):
        try:
            enrolment = services.enrol(workshop=workshop, email=row.email, full_name=row.full_name, by=by)
        except ValidationError as error:
            reason = f"{row.email} could not be enrolled: {' '.join(error.messages)} Nothing was imported."
            raise RosterRejected([RosterProblem(reason, row=row.row)]) from error
        if row.email in present_emails:
            already_there += 1
        elif enrolment.status == Enrolment.Status.WAITLISTED:
            waitlisted += 1
        else:
            enrolled += 1
        if progress is not None:
            progress(done, steps)
    return RosterResult(
        enrolled=enrolled,
        waitlisted=waitlisted,
        already_there=already_there,
        accounts_created=len(set(emails) - known_emails),
    )


# --- Imported by a worker, with its progress --------------------------------------------------

STRANDED_AFTER = timedelta(minutes=2)  # an import still waiting this long lost its task: the periodic job runs it


def _progress_key(job_pk: int) -> str:
    return f"roster-import:{job_pk}:percent"


def progress_of(job: RosterImport) -> int | None:
    """How far an import under way got, in percent, as its worker last noted (in the cache: the
    import's own transaction shows nothing until it commits); None before it starts, or with the cache
    away."""
    return cache.get(_progress_key(job.pk))


@transaction.atomic
def start_roster_import(*, workshop: Workshop, data: bytes, filename: str, by: User) -> RosterImport:
    """Check the file now, so that its problems are answered at once and nothing is kept; then leave
    the import to a worker. Raises ``RosterRejected`` (row by row) or ``ValidationError``."""
    workshop = Workshop.objects.get(pk=workshop.pk)
    if refusal := _import_refusal(workshop):
        raise ValidationError(refusal)
    parsed = parse_roster(data=data)
    if not parsed.is_valid:
        raise RosterRejected(parsed.problems)
    job = RosterImport.objects.create(
        workshop=workshop, uploaded_by=by, filename=filename[:255], data=data, rows=len(parsed.rows)
    )
    from .tasks import import_roster as import_task  # the task module imports this one

    publish_after_commit(import_task, import_id=job.pk)
    return job


def _problems(error: ValidationError) -> list[dict]:
    if isinstance(error, RosterRejected):
        return [{"row": p.row, "column": p.column, "reason": p.reason} for p in error.problems]
    return [{"row": None, "column": "", "reason": message} for message in error.messages]


def run_roster_import(*, import_id: int) -> RosterImport | None:
    """The worker's part: the import, whole or not at all, and its outcome. An import already done, or
    being run by another worker (a task delivered twice, the periodic job), is left alone: None."""
    try:
        with transaction.atomic():
            job = (
                RosterImport.objects.select_for_update(of=("self",), skip_locked=True)
                .select_related("workshop", "uploaded_by")
                .filter(pk=import_id, state=RosterImport.State.QUEUED)
                .first()
            )
            if job is None:
                return None

            noted = [None]
            cache.delete(_progress_key(job.pk))  # a run stopped earlier noted its own

            def note(done: int, steps: int) -> None:  # once a percent
                if (percent := 100 * done // steps) != noted[0]:
                    cache.set(_progress_key(job.pk), percent, timeout=3600)
                    noted[0] = percent

            try:
                result = import_roster(workshop=job.workshop, data=bytes(job.data), by=job.uploaded_by, progress=note)
            except ValidationError as refused:  # the file, a person, or the workshop closed since the upload
                job.state, job.problems = RosterImport.State.FAILED, _problems(refused)
            else:
                job.state = RosterImport.State.DONE
                job.enrolled, job.waitlisted = result.enrolled, result.waitlisted
                job.already_there, job.accounts_created = result.already_there, result.accounts_created
            job.data, job.finished_at = b"", timezone.now()
            job.save()
            return job
    except Exception:
        RosterImport.objects.filter(pk=import_id, state=RosterImport.State.QUEUED).update(
            state=RosterImport.State.FAILED, data=b"", finished_at=timezone.now(),
            problems=[{"row": None, "column": "", "reason": STOPPED}],
        )  # fmt: skip
        raise


STOPPED = "The import stopped on an unexpected error, so nobody was imported. Upload the file again."


def run_stranded_roster_imports(*, now: datetime | None = None, batch: int = 20) -> int:
    """The periodic job: run the imports whose task was lost (the broker was away, a worker stopped
    before it began). Returns how many it ran."""
    before = (now or timezone.now()) - STRANDED_AFTER
    waiting = RosterImport.objects.filter(state=RosterImport.State.QUEUED, created_at__lte=before)
    ran = 0
    for pk in list(waiting.order_by("created_at").values_list("pk", flat=True)[:batch]):
        try:
            ran += run_roster_import(import_id=pk) is not None
        except Exception:
            logger.exception("The roster import %s failed.", pk)
    return ran
