"""Scale data for the benchmark, written into PostgreSQL with COPY (psycopg 3), never row by row
through the ORM.

At scale 1: 200,000 participants, 5,000 workshops over seven years and the next three months (with
their sessions, enrolments, marks, confirmations of understanding and submissions), 300,000
certifications in every state and 1,000,000 SEU entries. Everything is derived from the row's
number, so two runs on the same day make the same data. The rows keep every database constraint
(the exclusion constraint on sessions, unique certificant numbers, the check constraints); foreign
keys are checked when each table's transaction commits.

Besides the bulk, a few known rows the measurements need (``Targets``): an attendance sheet of 40
participants and 4 sessions, a certificant with three certifications, one with 200 SEU entries, and
smaller twins of each, so that the query count of a page can be compared at two sizes.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from certification.services import add_months
from workshops.demo import seed_courses

PASSWORD = "bench-password-7"
DOMAIN = "bench.example"

HISTORY_DAYS = 7 * 365  # workshops from seven years ago…
FUTURE_DAYS = 91  # …to three months ahead
SHEET_PARTICIPANTS = 40
SHEET_SESSIONS = 4
LEDGER_ENTRIES = 200

FIRST_NAMES = [
    "Amara", "Ben", "Chloé", "Dev", "Elif", "Farah", "Gabriel", "Hana", "Ines", "Jonas", "Kofi", "Lena",
    "Mateo", "Noor", "Olu", "Paula", "Quentin", "Rosa", "Sami", "Tara", "Ugo", "Vera", "Wen", "Ximena",
    "Yusuf", "Zoé", "Mary Ann", "Jean-Luc", "Ana", "Piotr",
]  # fmt: skip
LAST_NAMES = [
    "Okafor", "Lindqvist", "Tremblay", "Nakamura", "Haddad", "Kowalski", "Moreau", "Singh", "García",
    "O'Brien", "van der Berg", "Rossi", "Nguyen", "Schmidt", "Dubois", "Andersen", "Costa", "Ivanova",
    "Müller", "Kim", "Novak", "Ferreira", "Smith", "Hughes", "Larsen",
]  # fmt: skip
ZONES = ["America/Toronto", "Europe/London", "America/Vancouver", "Europe/Berlin", "Australia/Sydney"]
ACTIVITIES = [
    "Scrum Gathering talk", "Product Owner webinar", "Book: Agile Product Management", "Coaching session",
    "Local user group meetup", "Backlog refinement workshop", "Conference: Agile 20xx", "Mentoring a new PO",
]  # fmt: skip
# Courses in a cycle of 20 workshops: CSPO is the most taught, A-CSPO the least.
COURSE_CYCLE = ["CSPO"] * 11 + ["CSM"] * 7 + ["A-CSPO"] * 2


@dataclass(frozen=True)
class Sizes:
    participants: int
    workshops: int
    certifications: int
    seu_entries: int
    trainers: int

    @classmethod
    def at(cls, scale: float) -> Sizes:
        """The issue's sizes times ``scale``, with floors that keep a tiny run meaningful."""
        return cls(
            participants=max(400, round(200_000 * scale)),
            workshops=max(20, round(5_000 * scale)),
            certifications=max(200, round(300_000 * scale)),
            seu_entries=max(LEDGER_ENTRIES + 400, round(1_000_000 * scale)),
            trainers=max(3, round(30 * scale)),
        )


@dataclass
class Targets:
    """The known rows the measurements use, found again by these ids and addresses."""

    password: str
    administrator: str
    trainer: str  # leads the 40 × 4 sheet, and a share of all workshops
    small_trainer: str  # leads the 10 × 2 sheet only
    holder: str  # three certifications
    holder_one: str  # one certification, a few SEU entries
    ledger_holder: str  # one certification, 200 SEU entries
    sheet_workshop: int = 0
    small_sheet_workshop: int = 0
    generated_on: str = ""
    scale: float = 1.0
    sizes: dict = field(default_factory=dict)
    seconds: float = 0.0


def email(local: str) -> str:
    return f"{local}@{DOMAIN}"


def certificant_number(n: int) -> str:
    """n ↦ 48271·n + 12345 (mod 10⁸) is one-to-one (48271 is prime to 10⁸): unique numbers, not in order."""
    value = (n * 48_271 + 12_345) % 100_000_000
    return f"{value // 10_000:04d}-{value % 10_000:04d}"


def _name(n: int) -> str:
    return f"{FIRST_NAMES[n % len(FIRST_NAMES)]} {LAST_NAMES[(n // len(FIRST_NAMES)) % len(LAST_NAMES)]}"


def _coprime_stride(size: int) -> int:
    """A step through the participants that visits each once per lap (so nobody is enrolled twice in
    one workshop) and spreads one person's enrolments over the years."""
    from math import gcd

    stride = 7_919
    while gcd(stride, size) != 1:
        stride += 2
    return stride


# --- Writing -------------------------------------------------------------------------------------


def _copy(table: str, columns: list[str], rows: Iterable[tuple]) -> int:
    """COPY the rows into ``table`` in one transaction; foreign keys are checked at its commit."""
    count = 0
    with transaction.atomic(), connection.cursor() as cursor:
        statement = f"COPY {table} ({', '.join(columns)}) FROM STDIN"
        with cursor.cursor.copy(statement) as copy:
            for row in rows:
                copy.write_row(row)
                count += 1
    return count


def _reset_identity(tables: list[str]) -> None:
    """Rows written with explicit ids leave the identity sequence behind: move it past them."""
    with connection.cursor() as cursor:
        for table in tables:
            cursor.execute(f"SELECT coalesce(max(id), 0) + 1 FROM {table}")
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), %s, false)", [table, cursor.fetchone()[0]])


# --- The plan --------------------------------------------------------------------------------------


@dataclass
class Workshop:
    id: int
    course: str
    format: str
    zone: str
    status: str
    sessions: list[tuple[datetime, datetime]]
    lead: int
    co_trainer: int | None
    title: str
    capacity: int = 20
    submitted_at: datetime | None = None
    enrolled: list[int] = field(default_factory=list)  # participant ids, certified ones first
    certified: int = 0  # how many of ``enrolled`` are certified (marked present throughout, understood)
    not_eligible: int = 0  # the next ones: absent from the first session
    cancelled: list[int] = field(default_factory=list)
    waitlisted: list[int] = field(default_factory=list)
    marked_sessions: int = 0  # sessions with marks (all of them once completed)
    session_ids: list[int] = field(default_factory=list)
    special: dict[int, tuple[date, date]] = field(default_factory=dict)  # holder id → issued, expires


def _sessions(course: str, format: str, zone: str, first_day: date) -> list[tuple[datetime, datetime]]:
    tz = ZoneInfo(zone)
    if course == "A-CSPO":
        days, starts, ends = 4, clock(9), clock(13)  # 16 hours
    elif format == "online":
        days, starts, ends = 4, clock(13), clock(16, 30)  # 14 hours
    else:
        days, starts, ends = 2, clock(9), clock(17)  # 16 hours
    return [
        (
            datetime.combine(first_day + timedelta(days=n), starts, tzinfo=tz).astimezone(UTC),
            datetime.combine(first_day + timedelta(days=n), ends, tzinfo=tz).astimezone(UTC),
        )
        for n in range(days)
    ]


class Plan:
    """Every id and every decision, made in memory before anything is written."""

    def __init__(self, sizes: Sizes, *, now: datetime):
        self.sizes = sizes
        self.now = now
        self.today = now.date()
        self.next_user = 1
        self.administrator = self._user_id()
        self.trainers = [self._user_id() for _ in range(sizes.trainers)]
        self.small_trainer = self._user_id()
        self.holder, self.holder_one, self.ledger_holder = self._user_id(), self._user_id(), self._user_id()
        self.first_participant = self.next_user
        self.next_user += sizes.participants
        self.stride = _coprime_stride(sizes.participants)
        self.next_slot = 0  # position in the walk through the participants
        self.workshops: list[Workshop] = []
        self._plan_workshops()
        self._plan_specials()

    def _user_id(self) -> int:
        self.next_user += 1
        return self.next_user - 1

    def participants(self, count: int) -> list[int]:
        ids = [
            self.first_participant + ((self.next_slot + n) * self.stride) % self.sizes.participants
            for n in range(count)
        ]
        self.next_slot += count
        return ids

    def _plan_workshops(self) -> None:
        sizes = self.sizes
        span = HISTORY_DAYS + FUTURE_DAYS
        for number in range(sizes.workshops):
            offset = -HISTORY_DAYS + number * span // sizes.workshops
            if -6 < offset < 2:  # nothing generated runs now: only the two sheets below do
                offset = -6 if offset < 0 else 2
            course = COURSE_CYCLE[number % len(COURSE_CYCLE)]
            format = "online" if number % 3 == 0 else "in_person"
            zone = ZONES[number % len(ZONES)]
            if offset < 0:
                status = "cancelled" if number % 50 == 7 else "completed"
            else:
                status = "draft" if number % 40 == 3 else "published"
            lead = self.trainers[number % len(self.trainers)]
            co = self.trainers[(number + 1) % len(self.trainers)] if number % 10 == 0 else None
            where = "Live online" if format == "online" else zone.split("/")[1].replace("_", " ")
            self.workshops.append(
                Workshop(
                    id=number + 1,
                    course=course,
                    format=format,
                    zone=zone,
                    status=status,
                    sessions=_sessions(course, format, zone, self.today + timedelta(days=offset)),
                    lead=lead,
                    co_trainer=co,
                    title=f"{course} · {where} #{number + 1}",
                )
            )
        completed = [w for w in self.workshops if w.status == "completed"]
        budget = self.sizes.certifications - 5  # the five certifications of the known holders below
        for index, workshop in enumerate(completed):
            workshop.certified = budget // len(completed) + (1 if index < budget % len(completed) else 0)
            workshop.not_eligible = index % 3
            workshop.enrolled = self.participants(workshop.certified + workshop.not_eligible)
            workshop.cancelled = self.participants(1) if index % 4 == 0 else []
            workshop.capacity = len(workshop.enrolled) + 2
            workshop.marked_sessions = len(workshop.sessions)
            workshop.submitted_at = workshop.sessions[-1][1] + timedelta(days=1)
        for index, workshop in enumerate(w for w in self.workshops if w.status == "published"):
            workshop.capacity = 40 if workshop.format == "online" else 24
            seats = min(workshop.capacity, 4 + (index * 7) % (workshop.capacity + 6))
            workshop.enrolled = self.participants(seats)
            workshop.waitlisted = self.participants(3) if seats == workshop.capacity else []
        for workshop in (w for w in self.workshops if w.status == "cancelled"):
            workshop.cancelled = self.participants(10)

    def _closest_completed(self, course: str, days_ago: int) -> Workshop:
        wanted = self.now - timedelta(days=days_ago)
        candidates = [w for w in self.workshops if w.status == "completed" and w.course == course]
        return min(candidates, key=lambda w: abs(w.sessions[-1][1] - wanted))

    def _plan_specials(self) -> None:
        # The known certificants, each certified in a real workshop of the course.
        for holder, course, days_ago in [
            (self.holder, "CSPO", 690),  # expiring within 90 days
            (self.holder, "CSM", 240),
            (self.holder, "A-CSPO", 100),
            (self.holder_one, "CSPO", 365),
            (self.ledger_holder, "CSPO", 420),
        ]:
            workshop = self._closest_completed(course, days_ago)
            issued = workshop.sessions[-1][1].date() + timedelta(days=1)
            workshop.special[holder] = (issued, add_months(issued, 24))
            workshop.capacity += 1
        now = self.now
        sheet = Workshop(
            id=len(self.workshops) + 1,
            course="CSPO",
            format="online",
            zone="Europe/London",
            status="running",
            # Four afternoons, the last one started four hours ago: every cell can be marked.
            sessions=[
                (now - timedelta(days=3 - n, hours=4), now - timedelta(days=3 - n, hours=4) + timedelta(hours=3.5))
                for n in range(SHEET_SESSIONS)
            ],
            lead=self.trainers[0],
            co_trainer=None,
            title=f"Bench · attendance sheet, {SHEET_PARTICIPANTS} participants × {SHEET_SESSIONS} sessions",
            capacity=SHEET_PARTICIPANTS,
            marked_sessions=SHEET_SESSIONS - 1,
        )
        sheet.enrolled = self.participants(SHEET_PARTICIPANTS)
        small = Workshop(
            id=len(self.workshops) + 2,
            course="CSPO",
            format="in_person",
            zone="America/Toronto",
            status="running",
            sessions=[
                (now - timedelta(days=1, hours=10), now - timedelta(days=1, hours=2)),
                (now - timedelta(hours=10), now - timedelta(hours=2)),
            ],
            lead=self.small_trainer,
            co_trainer=None,
            title="Bench · attendance sheet, 10 participants × 2 sessions",
            capacity=10,
            marked_sessions=1,
        )
        small.enrolled = self.participants(10)
        self.workshops += [sheet, small]
        self.sheet, self.small_sheet = sheet, small


# --- Rows ------------------------------------------------------------------------------------------


def _users(plan: Plan, password: str) -> Iterator[tuple]:
    joined = plan.now - timedelta(days=HISTORY_DAYS + 30)

    def user(pk, local, name, *, trainer=False, participant=True, staff=False, zone=""):
        return (pk, password, None, staff, email(local), name, trainer, participant, staff, True, joined, zone)

    yield user(plan.administrator, "bench-admin", "Ada Bench", participant=False, staff=True)
    for number, pk in enumerate(plan.trainers, start=1):
        yield user(pk, f"trainer{number:03d}", f"{_name(number * 7)} (trainer)", trainer=True, participant=False)
    yield user(plan.small_trainer, "bench-trainer-small", "Sam Small", trainer=True, participant=False)
    yield user(plan.holder, "bench-holder", "Holly Holder")
    yield user(plan.holder_one, "bench-holder-one", "Omar One")
    yield user(plan.ledger_holder, "bench-ledger", "Lee Ledger")
    for n in range(plan.sizes.participants):
        zone = ZONES[n % len(ZONES)] if n % 7 == 0 else ""
        yield user(plan.first_participant + n, f"participant{n:06d}", _name(n), zone=zone)


USER_COLUMNS = ["id", "password", "last_login", "is_superuser", "email", "full_name", "is_trainer",
                "is_participant", "is_staff", "is_active", "date_joined", "time_zone"]  # fmt: skip
WORKSHOP_COLUMNS = ["id", "title", "description", "format", "venue_address", "meeting_url", "time_zone",
                    "capacity", "price", "currency", "status", "created_at", "updated_at", "course_id",
                    "lead_trainer_id", "offer_hours", "prework_days_before", "schedule_version",
                    "schedule_told_version", "sheet_locked_at"]  # fmt: skip
ENROLMENT_COLUMNS = ["id", "status", "created_at", "updated_at", "participant_id", "workshop_id",
                     "cancelled_at", "offer_expires_at", "waitlisted_at"]  # fmt: skip
MARK_COLUMNS = ["presence", "late_minutes", "left_early_minutes", "participated", "note", "updated_at",
                "enrolment_id", "session_id", "updated_by_id"]  # fmt: skip
UNDERSTANDING_COLUMNS = ["demonstrated", "reason", "confirmed_at", "confirmed_by_id", "enrolment_id"]
SUBMISSION_COLUMNS = ["id", "submitted_at", "reopened_at", "reopen_reason", "reopened_by_id", "submitted_by_id",
                      "workshop_id"]  # fmt: skip
CERTIFICATION_COLUMNS = ["state", "certificant_number", "issued_on", "expires_on", "membership_until",
                         "license_accepted_at", "activation_version", "activation_sent_at", "reminder_sent_at",
                         "revoked_at", "revoked_reason", "certificate_pdf", "certificate_fingerprint",
                         "created_at", "course_id", "enrolment_id", "holder_id", "submission_id"]  # fmt: skip
SEU_COLUMNS = ["earned_on", "hours", "title", "description", "evidence_url", "evidence_file", "confirmed_at",
               "created_at", "updated_at", "category_id", "holder_id", "renewal_id", "source_session_id"]  # fmt: skip


def _workshops(plan: Plan, courses: dict[str, int]) -> Iterator[tuple]:
    for w in plan.workshops:
        created = w.sessions[0][0] - timedelta(days=60)
        venue = "" if w.format == "online" else f"{100 + w.id % 800} King St W\n{w.zone.split('/')[1]}"
        url = f"https://meet.{DOMAIN}/w{w.id}" if w.format == "online" else ""
        price = Decimal("995.00") if w.format == "online" else Decimal("1295.00")
        yield (w.id, w.title, f"A {w.course} workshop generated for the benchmark.", w.format, venue, url, w.zone,
               w.capacity, price, "CAD", w.status, created, created, courses[w.course], w.lead, 48, 7, 0, 0,
               w.submitted_at)  # fmt: skip


def _sessions_rows(plan: Plan) -> Iterator[tuple]:
    number = 0
    for w in plan.workshops:
        for starts, ends in w.sessions:
            number += 1
            w.session_ids.append(number)
            yield (number, starts, ends, w.id)


@dataclass
class Written:
    """Ids handed from one table to the next while writing."""

    enrolments: list[tuple[int, int, int, str]] = field(default_factory=list)  # id, workshop, participant, role
    renewing_holders: set[int] = field(default_factory=set)


def _enrolments(plan: Plan, written: Written) -> Iterator[tuple]:
    number = 0
    for w in plan.workshops:
        created = w.sessions[0][0] - timedelta(days=30)
        roles = (
            [(p, "certified") for p in w.enrolled[: w.certified]]
            + [(p, "not_eligible") for p in w.enrolled[w.certified :]]
            + [(p, "special") for p in w.special]
        )
        if w.status in ("published", "running"):
            roles = [(p, "enrolled") for p in w.enrolled]
        for participant, role in roles:
            number += 1
            written.enrolments.append((number, w.id, participant, role))
            yield (number, "enrolled", created, created, participant, w.id, None, None, None)
        for position, participant in enumerate(w.waitlisted):
            number += 1
            waited = created + timedelta(hours=position + 1)
            yield (number, "waitlisted", waited, waited, participant, w.id, None, None, waited)
        for participant in w.cancelled:
            number += 1
            cancelled = created + timedelta(days=3)
            yield (number, "cancelled", created, cancelled, participant, w.id, cancelled, None, None)


def _marks(plan: Plan, written: Written) -> Iterator[tuple]:
    by_id = {w.id: w for w in plan.workshops}
    for enrolment, workshop_id, _, role in written.enrolments:
        w = by_id[workshop_id]
        for index in range(w.marked_sessions):
            ends = w.sessions[index][1]
            if role == "not_eligible" and index == 0:
                yield ("absent", 0, 0, False, "", ends, enrolment, w.session_ids[index], w.lead)
            elif w.format == "in_person" and w.course != "A-CSPO" and index == 1 and enrolment % 9 == 0:
                yield ("late", 30, 0, True, "Train delayed", ends, enrolment, w.session_ids[index], w.lead)
            else:
                yield ("present", 0, 0, True, "", ends, enrolment, w.session_ids[index], w.lead)


def _understandings(plan: Plan, written: Written) -> Iterator[tuple]:
    by_id = {w.id: w for w in plan.workshops}
    for enrolment, workshop_id, _, role in written.enrolments:
        w = by_id[workshop_id]
        if w.status != "completed":
            continue
        shown = role != "not_eligible" or enrolment % 2 == 0
        reason = "" if shown else "Did not take part in the product backlog exercises."
        yield (shown, reason, w.sessions[-1][1], w.lead, enrolment)


def _submissions(plan: Plan) -> Iterator[tuple]:
    for w in plan.workshops:
        if w.submitted_at is not None:
            yield (w.id, w.submitted_at, None, "", None, w.lead, w.id)


def _certifications(plan: Plan, written: Written, courses: dict[str, int], renewing: set[str]) -> Iterator[tuple]:
    by_id = {w.id: w for w in plan.workshops}
    today, now = plan.today, plan.now
    grace_start = today - timedelta(days=90)
    number = 0
    for enrolment, workshop_id, holder, role in written.enrolments:
        w = by_id[workshop_id]
        if role not in ("certified", "special"):
            continue
        number += 1
        ended = w.sessions[-1][1].date()
        sent = w.submitted_at
        reminded = sent + timedelta(days=7) if sent + timedelta(days=7) < now else None
        course = courses[w.course]
        if role == "special":
            issued, expires = w.special[holder]
            state = "active"
        else:
            issued = ended + timedelta(days=1 + number % 10)
            state = "active"
            if number % 97 == 5:
                state = "revoked"
            elif number % 41 == 0 or ((today - ended).days < 45 and number % 3 == 0) or issued >= today:
                state = "pending"
            expires = add_months(issued, 24)
            if number % 20 < 9:  # renewed every two years since
                while expires < grace_start:
                    expires = add_months(expires, 24)
        if state == "pending":
            yield ("pending", None, None, None, None, None, 1, sent, reminded, None, "", "", "", sent, course,
                   enrolment, holder, w.id)  # fmt: skip
            continue
        accepted = datetime.combine(issued, clock(10), tzinfo=UTC)
        revoked_at = min(accepted + timedelta(days=100), now) if state == "revoked" else None
        reason = "Bench: certified by mistake." if state == "revoked" else ""
        if state == "active" and w.course in renewing and expires >= grace_start and role != "special":
            written.renewing_holders.add(holder)
        yield (state, certificant_number(number), issued, expires, expires, accepted, 1, sent, None, revoked_at,
               reason, "", "", sent, course, enrolment, holder, w.id)  # fmt: skip


def _seu_entries(plan: Plan, written: Written, categories: list[int]) -> Iterator[tuple]:
    today = plan.today

    def entry(holder: int, n: int, earned_on: date, salt: int) -> tuple:
        confirmed = datetime.combine(min(earned_on + timedelta(days=1), today), clock(12), tzinfo=UTC)
        hours = Decimal(1 + (salt * 7 + n * 3) % 16) / 4  # 0.25 to 4 in quarters
        description = "" if n % 3 else "Notes on what I learned and how I will apply it with my team."
        return (earned_on, hours, f"{ACTIVITIES[n % len(ACTIVITIES)]} #{n + 1}", description,
                f"https://evidence.{DOMAIN}/{holder}/{n}" if n % 4 == 0 else "", "", confirmed, confirmed,
                confirmed, categories[(salt + n) % len(categories)], holder, None, None)  # fmt: skip

    for n in range(LEDGER_ENTRIES):
        yield entry(plan.ledger_holder, n, today - timedelta(days=1 + 2 * n), n)
    for n in range(5):
        yield entry(plan.holder_one, n, today - timedelta(days=3 + 20 * n), n)
    for n in range(10):
        yield entry(plan.holder, n, today - timedelta(days=2 + 15 * n), n)
    holders = sorted(written.renewing_holders)
    remaining = plan.sizes.seu_entries - LEDGER_ENTRIES - 15
    for index, holder in enumerate(holders):
        count = remaining // len(holders) + (1 if index < remaining % len(holders) else 0)
        for n in range(count):
            yield entry(holder, n, today - timedelta(days=1 + (n * 37 + index * 11) % 600), index)


# --- The whole dataset -----------------------------------------------------------------------------


def generate(scale: float, *, log=print) -> Targets:
    """Write the dataset into the (freshly migrated, empty) database; returns the known rows."""
    started = time.perf_counter()
    sizes = Sizes.at(scale)
    now = timezone.now().replace(microsecond=0)
    plan = Plan(sizes, now=now)
    seeded = seed_courses().values()  # the demo's courses, with their renewal levels
    courses = {course.kind: course.pk for course in seeded}
    renewing = {course.kind for course in seeded if course.renewal_level_id}
    with connection.cursor() as cursor:
        cursor.execute("SELECT id FROM renewals_seucategory WHERE is_active ORDER BY position, id")
        categories = [row[0] for row in cursor.fetchall()]
    password = make_password(PASSWORD)  # one hash for everybody: hashing is slow by design
    written = Written()

    def step(table: str, columns: list[str], rows: Iterable[tuple]) -> None:
        began = time.perf_counter()
        count = _copy(table, columns, rows)
        log(f"  {table}: {count:,} rows in {time.perf_counter() - began:.1f} s")

    step("participants_user", USER_COLUMNS, _users(plan, password))
    step("workshops_workshop", WORKSHOP_COLUMNS, _workshops(plan, courses))
    step("workshops_workshopsession", ["id", "starts_at", "ends_at", "workshop_id"], _sessions_rows(plan))
    step(
        "workshops_workshop_co_trainers",
        ["workshop_id", "user_id"],
        ((w.id, w.co_trainer) for w in plan.workshops if w.co_trainer is not None),
    )
    step("workshops_enrolment", ENROLMENT_COLUMNS, _enrolments(plan, written))
    step("participants_attendancemark", MARK_COLUMNS, _marks(plan, written))
    step("participants_understandingconfirmation", UNDERSTANDING_COLUMNS, _understandings(plan, written))
    step("certification_submission", SUBMISSION_COLUMNS, _submissions(plan))
    step("certification_certification", CERTIFICATION_COLUMNS, _certifications(plan, written, courses, renewing))
    step("renewals_seuentry", SEU_COLUMNS, _seu_entries(plan, written, categories))
    _reset_identity(["participants_user", "workshops_workshop", "workshops_workshopsession",
                     "workshops_enrolment", "certification_submission"])  # fmt: skip
    began = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")  # as autovacuum would have, long before this much data is read
        cursor.execute("CHECKPOINT")  # the bulk load's writes are flushed before anything is timed
    log(f"  VACUUM ANALYZE and CHECKPOINT in {time.perf_counter() - began:.1f} s")
    return Targets(
        password=PASSWORD,
        administrator=email("bench-admin"),
        trainer=email("trainer001"),
        small_trainer=email("bench-trainer-small"),
        holder=email("bench-holder"),
        holder_one=email("bench-holder-one"),
        ledger_holder=email("bench-ledger"),
        sheet_workshop=plan.sheet.id,
        small_sheet_workshop=plan.small_sheet.id,
        generated_on=plan.today.isoformat(),
        scale=scale,
        sizes=asdict(sizes),
        seconds=round(time.perf_counter() - started, 1),
    )
