"""One benchmark run after the data exists: the jobs in this process, then the pages and the export
over HTTP against gunicorn, then what the report needs to say about the machine and the data."""

from __future__ import annotations

import os
import platform
import re
import sys
from dataclasses import dataclass, field
from datetime import timedelta
from importlib import metadata
from pathlib import Path

from django.db import connection
from django.db.models import Count, Q
from django.urls import reverse
from django.utils import timezone

from certification.models import Certification
from participants.models import AttendanceMark, User
from renewals.models import SeuEntry
from workshops.models import Enrolment, Workshop, WorkshopSession

from . import jobs
from .client import Browser, PageBroken, Stats, drive
from .generate import Targets
from .pages import VISITOR_TIME_ZONE, Facts, Page, pages, read_facts, sheet_cells, static_file_page
from .server import Server, collect_static

SMALL_REQUESTS = 5  # requests of a page's smaller twin, for its query count only


@dataclass
class PageResult:
    page: Page
    stats: Stats | None = None
    small_queries: list[int] = field(default_factory=list)
    problem: str = ""  # why it was not measured


@dataclass
class Results:
    scale: float
    requests: int
    warmup: int
    concurrency: int
    workers: int
    targets: Targets
    facts: Facts
    pages: list[PageResult] = field(default_factory=list)
    baseline_again: Stats | None = None
    exports: list[jobs.ExportRun] = field(default_factory=list)
    reminders: list[jobs.ReminderRun] = field(default_factory=list)
    reminder_plan: str = ""
    pdf_render: jobs.PdfRender | None = None
    pdf_first_download: list[float] = field(default_factory=list)
    data: list[tuple[str, int]] = field(default_factory=list)
    machine: list[tuple[str, str]] = field(default_factory=list)
    broken: list[str] = field(default_factory=list)
    total_seconds: float = 0.0

    @property
    def baseline(self) -> Stats:
        return self.pages[0].stats


def measure(options, targets: Targets, *, log=print) -> Results:
    facts = read_facts(targets)
    warmup = max(5, options.requests // 10)
    results = Results(options.scale, options.requests, warmup, options.concurrency, options.workers, targets, facts)
    log("The daily reminder job (in this process, as a worker runs it)…")
    results.reminders = jobs.measure_reminders(log=log)
    results.reminder_plan = jobs.reminder_plan()
    log("Rendering the certificate (in this process)…")
    results.pdf_render = jobs.measure_pdf_render(facts.pdf_certification)
    log(f"  p50 {results.pdf_render.p50 * 1000:.0f} ms")
    log("Collecting static files and starting gunicorn…")
    collect_static()
    Path(os.environ["BENCH_QUERY_LOG"]).unlink(missing_ok=True)
    with Server(workers=options.workers) as server:
        log(f"  gunicorn on 127.0.0.1:{server.port}, workers {server.worker_pids()}")
        browsers = _log_in(server, facts, options.concurrency, log=log)
        cells = {"sheet": _cells(browsers["trainer"], targets.sheet_workshop),
                 "small_sheet": _cells(browsers["small_trainer"], targets.small_sheet_workshop)}  # fmt: skip
        measured = pages(facts, cells)
        measured.append(static_file_page(_stylesheet(browsers["visitor"][0])))
        for page in measured:
            results.pages.append(_measure_page(page, browsers, options.requests, warmup, log=log))
        log("The eligibility export (CSV, streamed)…")
        for run in jobs.export_ranges([max(100, round(10_000 * options.scale)), round(100_000 * options.scale)]):
            jobs.measure_export(server, browsers["administrator"][0], run)
            results.exports.append(run)
            log(f"  {run.rows:,} rows in {run.seconds:.2f} s, peak {(run.peak_kib or 0) / 1024:.0f} MiB")
            results.broken += [f"export of {run.wanted:,} rows: {problem}" for problem in run.problems]
        log("The certificate's first download over HTTP (renders and stores)…")
        results.pdf_first_download = jobs.measure_pdf_first_download(browsers["holder"][0], facts.pdf_certification)
        log("The baseline view again, last…")
        baseline = results.pages[0].page
        results.baseline_again = drive(baseline.action, browsers[baseline.role], requests=options.requests,
                                       warmup=warmup)  # fmt: skip
    jobs.purge_queued_tasks()  # the cell saves queued SEU credits: no worker runs here
    results.broken += [f"{r.page.name}: {r.problem}" for r in results.pages if r.problem.startswith("broken")]
    results.data = data_sizes()
    results.machine = machine()
    return results


def _log_in(server: Server, facts: Facts, concurrency: int, *, log) -> dict[str, list[Browser]]:
    """A browser per concurrent client and role, each logged in through the login form."""
    login = reverse("login")
    browsers: dict[str, list[Browser]] = {"anonymous": [], "visitor": []}
    for _ in range(concurrency):
        browsers["anonymous"].append(Browser(server.host, server.port))
        visitor = Browser(server.host, server.port)
        visitor.cookies["tz"] = VISITOR_TIME_ZONE
        browsers["visitor"].append(visitor)
    for role, count in [("trainer", concurrency), ("holder", concurrency), ("ledger_holder", concurrency),
                        ("administrator", concurrency), ("small_trainer", 1), ("holder_one", 1)]:  # fmt: skip
        browsers[role] = []
        for _ in range(count):
            browser = Browser(server.host, server.port)
            browser.log_in(facts.users[role].email, facts.targets.password, login_path=login)
            browsers[role].append(browser)
    log(f"  logged in {sum(len(b) for b in browsers.values()) - 2 * concurrency} browsers through the login form")
    return browsers


def _cells(browsers: list[Browser], workshop: int) -> list[str]:
    """Each trainer's browser opens the sheet, as before saving a cell: its CSRF token, the cells."""
    path = reverse("participants:sheet", args=[workshop])
    cells: list[str] = []
    for browser in browsers:
        page = browser.request("GET", path)
        if page.status != 200:
            raise PageBroken(f"The attendance sheet {path} answered {page.status}.")
        browser.take_csrf_token(page)
        cells = sheet_cells(page.body, path)
    return cells


def _stylesheet(browser: Browser) -> str:
    page = browser.request("GET", reverse("workshops:catalogue"))
    found = re.search(rb'<link rel="stylesheet" href="([^"]+)"', page.body)
    if found is None:
        raise PageBroken("The catalogue links no stylesheet.")
    return found.group(1).decode()


def _measure_page(page: Page, browsers, requests: int, warmup: int, *, log) -> PageResult:
    if page.action is None:
        log(f"  {page.name}: {page.not_measured}")
        return PageResult(page, problem=page.not_measured)
    if page.requests:
        requests, warmup = page.requests, 1
    stats = drive(page.action, browsers[page.role][: page.browsers or None], requests=requests, warmup=warmup)
    result = PageResult(page, stats)
    if stats.failures:
        result.problem = f"broken: {len(stats.failures)} of {requests} requests failed, e.g. {stats.failures[0]}"
        log(f"  {page.name}: {result.problem}")
        return result
    if page.small_action is not None:
        small = drive(page.small_action, browsers[page.small_role][:1], requests=SMALL_REQUESTS, warmup=1)
        if small.failures:
            result.problem = f"broken at the small size: {small.failures[0]}"
        result.small_queries = small.queries
    log(f"  {page.name}: p50 {stats.p50 * 1000:.1f} ms, p95 {stats.p95 * 1000:.1f} ms, "
        f"{stats.rps:.0f}/s, {stats.query_counts} queries")  # fmt: skip
    return result


# --- What the report says about the data and the machine ----------------------------------------


def data_sizes() -> list[tuple[str, int]]:
    """Actual row counts, read back from the database."""
    today = timezone.localdate()
    horizon = today + timedelta(days=90)
    active = Q(state=Certification.State.ACTIVE)
    certifications = Certification.objects.aggregate(
        pending=Count("pk", filter=Q(state=Certification.State.PENDING)),
        valid=Count("pk", filter=active & Q(expires_on__gt=horizon)),
        expiring=Count("pk", filter=active & Q(expires_on__gte=today, expires_on__lte=horizon)),
        expired=Count("pk", filter=active & Q(expires_on__lt=today)),
        revoked=Count("pk", filter=Q(state=Certification.State.REVOKED)),
    )
    workshops = dict(Workshop.objects.order_by().values_list("status").annotate(n=Count("pk")))
    return [
        ("participants (people with the participant role)", User.objects.filter(is_participant=True).count()),
        ("trainers", User.objects.filter(is_trainer=True).count()),
        ("workshops", Workshop.objects.count()),
        *[(f"  {label.lower()}", workshops.get(value, 0)) for value, label in Workshop.Status.choices],
        ("workshop sessions", WorkshopSession.objects.count()),
        ("enrolments", Enrolment.objects.count()),
        ("attendance marks", AttendanceMark.objects.count()),
        ("certifications", Certification.objects.count()),
        ("  pending activation", certifications["pending"]),
        ("  active, valid beyond 90 days", certifications["valid"]),
        ("  active, expiring within 90 days", certifications["expiring"]),
        ("  active, expired", certifications["expired"]),
        ("  revoked", certifications["revoked"]),
        ("SEU entries", SeuEntry.objects.count()),
        ("  holders with SEU entries", SeuEntry.objects.values("holder_id").distinct().count()),
    ]


def machine() -> list[tuple[str, str]]:
    cpu = "unknown"
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        found = re.search(r"^model name\s*:\s*(.+)$", cpuinfo.read_text(), re.MULTILINE)
        cpu = found.group(1) if found else cpu
    memory = "unknown"
    meminfo = Path("/proc/meminfo")
    if meminfo.exists():
        found = re.search(r"^MemTotal:\s*(\d+) kB", meminfo.read_text(), re.MULTILINE)
        memory = f"{int(found.group(1)) / 1024 / 1024:.1f} GiB" if found else memory
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        postgres = cursor.fetchone()[0]
    import redis
    from django.conf import settings

    redis_version = redis.Redis.from_url(settings.REDIS_URL).info("server")["redis_version"]
    versions = ", ".join(f"{name} {metadata.version(name)}" for name in ("Django", "gunicorn", "whitenoise", "psycopg"))
    return [
        ("CPU", cpu),
        ("cores", str(os.cpu_count())),
        ("memory", memory),
        ("system", platform.platform()),
        ("Python", sys.version.split()[0]),
        ("PostgreSQL", postgres),
        ("Redis", redis_version),
        ("packages", versions),
    ]
