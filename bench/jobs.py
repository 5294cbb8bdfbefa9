"""What is measured besides pages: the daily reminder job and the certificate renderer (both in this
process, as a worker runs them), and the eligibility export (over HTTP, with the serving worker's
memory read from /proc)."""

from __future__ import annotations

import csv
import http.client
import io
import json
import statistics
import time
import uuid
from dataclasses import dataclass, field
from datetime import date, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from django.db import connection
from django.db.models import Count, Min, Q
from django.urls import reverse
from django.utils import timezone

from certification.certificates import certificate_file
from certification.models import Certification
from participants.models import OutboundEmail
from renewals.models import RenewalPolicy
from renewals.services import send_renewal_reminders
from workshops.models import Enrolment, Workshop

from .client import Browser
from .environment import DATA_DIR
from .middleware import QueryCounter
from .server import Server, memory_kib, reset_peak_memory

# --- The daily reminder job --------------------------------------------------------------------


@dataclass
class ReminderRun:
    label: str
    day: date
    held: int  # certifications in the database
    due: int  # reminders the job queued
    seconds: float
    queries: int

    @property
    def percent_due(self) -> float:
        return 100 * self.due / self.held if self.held else 0.0

    @property
    def ms_per_due(self) -> float | None:
        return 1000 * self.seconds / self.due if self.due else None


def _reminder_days(today: date) -> list[date]:
    """The expiry dates the job looks for on ``today``: the same rule as ``send_renewal_reminders``."""
    policy = RenewalPolicy.current()
    return sorted(
        {today + timedelta(days=offset - late) for offset in policy.reminder_offsets
         for late in range(policy.catch_up_days + 1)}
    )  # fmt: skip


def due_on(day: date) -> int:
    return Certification.objects.filter(
        state=Certification.State.ACTIVE, expires_on__in=_reminder_days(day), course__renewal_level__isnull=False
    ).count()


def _day_with(share_of: int, near: date) -> date:
    """A day in the three years after ``near`` on which about ``share_of`` certifications are due
    (fewer expire towards the end of the two-year validity of the newest ones)."""
    candidates = [near + timedelta(days=n) for n in range(5, 3 * 365, 5)]
    return min(candidates, key=lambda day: abs(due_on(day) - share_of))


def _forget_reminders() -> None:
    """The job sends a reminder once (the outbox's key); a measured run must find them unsent."""
    OutboundEmail.objects.filter(purpose="renewal_reminder").delete()


def purge_queued_tasks() -> int:
    """The e-mails the job queued sit in the benchmark's Redis database: no worker sends them."""
    from cspo.celery import app

    return app.control.purge()


def reminder_plan() -> str:
    """EXPLAIN ANALYZE of the job's first batch, as it runs it."""
    today = timezone.localdate()
    due = (
        Certification.objects.filter(
            state=Certification.State.ACTIVE, expires_on__in=_reminder_days(today), course__renewal_level__isnull=False
        )
        .order_by("pk")
        .filter(pk__gt=0)
        .select_related("holder", "course")[:1000]
    )
    return due.explain(analyze=True)


def measure_reminders(*, log=print) -> list[ReminderRun]:
    """The job on three days: today, a day with about a quarter as many due, a day with none."""
    today = timezone.localdate()
    held = Certification.objects.count()
    days = [("today", today), ("a day with fewer due", _day_with(due_on(today) // 4, today)),
            ("a day with none due", today + timedelta(days=3 * 365))]  # fmt: skip
    runs = []
    for label, day in days:
        _forget_reminders()
        counter = QueryCounter()
        started = time.perf_counter()
        with connection.execute_wrapper(counter):
            queued = send_renewal_reminders(today=day)
        seconds = time.perf_counter() - started
        runs.append(ReminderRun(label, day, held, queued, seconds, counter.count))
        log(f"  reminder job on {day} ({label}): {queued:,} due of {held:,}, {seconds:.2f} s, {counter.count} queries")
        purge_queued_tasks()
    _forget_reminders()
    return runs


# --- The certificate ---------------------------------------------------------------------------


@dataclass
class PdfRender:
    seconds: list[float]
    size: int

    @property
    def p50(self) -> float:
        return statistics.median(self.seconds)


def _forget_certificate(pk: int) -> None:
    """What the stored PDF shows no longer matches, so the next download draws it again."""
    Certification.objects.filter(pk=pk).update(certificate_fingerprint="")


def measure_pdf_render(pk: int, *, renders: int = 5) -> PdfRender:
    """``certificate_file`` draws and stores the PDF, as the first download does; once first to warm
    up (weasyprint's import and fonts), then ``renders`` times."""
    _forget_certificate(pk)
    certificate_file(certification=Certification.objects.get(pk=pk))
    seconds = []
    for _ in range(renders):
        _forget_certificate(pk)
        certification = Certification.objects.get(pk=pk)  # as a download reads it: the fingerprint forgotten
        started = time.perf_counter()
        stored = certificate_file(certification=certification)
        seconds.append(time.perf_counter() - started)
    return PdfRender(seconds, stored.size)


def measure_pdf_first_download(browser: Browser, pk: int, *, downloads: int = 3) -> list[float]:
    """The first download over HTTP, which renders and stores (a worker may import weasyprint first)."""
    path = reverse("certification:certificate_pdf", args=[pk])
    seconds = []
    for _ in range(downloads):
        _forget_certificate(pk)
        response = browser.request("GET", path)
        if response.status != 200 or not response.body.startswith(b"%PDF"):
            raise RuntimeError(f"The certificate download answered {response.status}.")
        seconds.append(response.seconds)
    return seconds


# --- The eligibility export --------------------------------------------------------------------


@dataclass
class ExportRun:
    wanted: int
    start: date
    end: date
    rows: int = 0
    seconds: float = 0.0
    queries: int | None = None
    rss_start_kib: int | None = None
    peak_kib: int | None = None
    problems: list[str] = field(default_factory=list)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def export_ranges(wanted: list[int]) -> list[ExportRun]:
    """Date ranges (first days, in the workshops' zones) from the oldest workshop that hold about
    ``wanted`` enrolled participants each."""
    workshops = (
        Workshop.objects.certifying()
        .annotate(
            first_starts_at=Min("sessions__starts_at"),
            enrolled=Count("enrolments", filter=Q(enrolments__status=Enrolment.Status.ENROLLED), distinct=True),
        )
        .order_by("first_starts_at", "pk")
        .values_list("first_starts_at", "time_zone", "enrolled")
    )
    rows = [(first.astimezone(ZoneInfo(zone)).date(), n) for first, zone, n in workshops if first]
    runs = []
    for target in wanted:
        total, end = 0, rows[-1][0]
        for day, enrolled in rows:
            total += enrolled
            if total >= target:
                end = day
                break
        runs.append(ExportRun(wanted=target, start=rows[0][0] - timedelta(days=1), end=end))
    return runs


def _streamed_queries(request_id: str) -> int | None:
    log = DATA_DIR / "streamed-queries.jsonl"
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if log.exists():
            for line in log.read_text().splitlines():
                entry = json.loads(line)
                if entry["id"] == request_id:
                    return entry["queries"]
        time.sleep(0.05)
    return None


def measure_export(server: Server, browser: Browser, run: ExportRun) -> ExportRun:
    """One CSV export over HTTP, read as it streams; the serving worker's peak memory from VmHWM,
    reset in every worker just before."""
    request_id = uuid.uuid4().hex
    query = urlencode({"format": "csv", "start": run.start.isoformat(), "end": run.end.isoformat()})
    for pid in server.worker_pids():
        if not reset_peak_memory(pid):
            run.problems.append("could not reset the workers' peak memory (/proc/<pid>/clear_refs)")
    started_rss: dict[str, int | None] = {}

    def read(answer) -> bytes:
        pid = answer.getheader("X-Bench-Pid")
        started_rss["kib"] = memory_kib(int(pid)) if pid else None
        chunks = []
        while chunk := answer.read(1 << 16):
            chunks.append(chunk)
        return b"".join(chunks)

    path = reverse("certification:eligibility_export") + "?" + query
    try:
        response = browser.request("GET", path, headers={"X-Bench-Id": request_id}, read=read)
    except (http.client.HTTPException, OSError) as error:  # gunicorn kills a worker after 30 s
        run.problems.append(f"the response was cut off ({error.__class__.__name__}): see bench/data/gunicorn.log")
        return run
    if response.status != 200 or not response.headers.get("content-type", "").startswith("text/csv"):
        run.problems.append(f"the export answered {response.status} {response.headers.get('content-type')}")
        return run
    pid = int(response.headers["x-bench-pid"])
    run.seconds = response.seconds
    run.rows = sum(1 for _ in csv.reader(io.StringIO(response.body.decode("utf-8")))) - 1
    run.rss_start_kib = started_rss.get("kib")
    run.peak_kib = memory_kib(pid, "VmHWM")
    run.queries = _streamed_queries(request_id)
    return run
