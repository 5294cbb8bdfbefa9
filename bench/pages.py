"""The measured pages: how to request each one, what it must show (so a broken page is never
measured as a fast one), its smaller twin for comparing query counts, and its target.

Addresses come from ``django.urls.reverse``; expected contents from the database, read here in the
benchmark's own process before the load starts.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from django.db.models import Q
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from certification.models import Certification
from participants.models import User
from renewals import queries as renewal_queries
from renewals.models import SeuEntry
from workshops import queries as workshop_queries
from workshops.models import Workshop

from .client import Action, Browser, PageBroken, Response
from .generate import SHEET_PARTICIPANTS, SHEET_SESSIONS, Targets

# A returning visitor (the ``tz`` cookie): the catalogue shows times in the workshop's zone and theirs.
VISITOR_TIME_ZONE = "Europe/Berlin"


@dataclass(frozen=True)
class Target:
    """Latency limits as multiples of the baseline view's latency in the same run."""

    p50: float
    p95: float

    def met(self, p50_ratio: float, p95_ratio: float) -> bool:
        return p50_ratio <= self.p50 and p95_ratio <= self.p95

    def __str__(self) -> str:
        return f"p50 ≤ {self.p50:g}×, p95 ≤ {self.p95:g}×"


PAGE = Target(p50=10, p95=20)
FAST = Target(p50=3, p95=20)  # the issue: verification, catalogue and a cell save "within 3×"
STORED_PDF = Target(p50=3, p95=20)


@dataclass
class Page:
    name: str
    role: str  # whose browsers: "anonymous", "visitor", or a role of Facts.users
    action: Action | None
    shows: str  # what the check proves, for the report
    target: Target | None = None
    small_role: str = ""
    small_action: Action | None = None
    small_shows: str = ""
    not_measured: str = ""
    key: str = ""  # names the page in bench/before.json
    browsers: int = 0  # how many browsers at once; 0: the run's concurrency
    requests: int = 0  # timed requests; 0: the run's number


def expect(response: Response, *, status: int = 200, content_type: str = "text/html") -> bytes:
    if response.status != status:
        raise PageBroken(f"answered {response.status}, not {status}")
    if not response.headers.get("content-type", "").startswith(content_type):
        raise PageBroken(f"answered {response.headers.get('content-type')}, not {content_type}")
    return response.body


def expect_count(body: bytes, marker: bytes, count: int, what: str) -> None:
    found = body.count(marker)
    if found != count:
        raise PageBroken(f"shows {found} {what}, not {count}")


PAGER = b'class="pager"'


def expect_listed(body: bytes, marker: bytes, total: int, what: str) -> None:
    """All ``total`` items, or a first page of them with a pager: a list page may be paginated."""
    found = body.count(marker)
    if found == total or (0 < found < total and PAGER in body):
        return
    raise PageBroken(f"shows {found} {what} of {total}" + (" and no pager" if 0 < found < total else ""))


def all_or_page(count: int, word: str, many: str = "") -> str:
    return f"{plural(count, word, many)}, all or a first page with a pager"


def empty_cache() -> None:
    """Delete Django's cache entries (keys ":<version>:<key>") from the benchmark's Redis database,
    so that what a page caches is computed again; the queued tasks there are left alone."""
    import redis
    from django.conf import settings

    client = redis.Redis.from_url(settings.REDIS_URL)
    keys = list(client.scan_iter(match=":*:*", count=1000))
    if keys:
        client.delete(*keys)


def uncached(action: Action) -> Action:
    def run(browser: Browser, number: int) -> Response:
        empty_cache()
        return action(browser, number)

    return run


def get(path: str, check) -> Action:
    def action(browser: Browser, number: int) -> Response:
        response = browser.request("GET", path)
        check(response)
        return response

    return action


# --- What the database says each page must show ------------------------------------------------


@dataclass
class Facts:
    """Read once, before the load, from the database the server uses."""

    targets: Targets
    users: dict[str, User]
    trainer_workshops: int
    small_trainer_workshops: int
    catalogue: int
    catalogue_small: int
    catalogue_small_query: str
    certifications: int
    certifications_small: int
    entries: int
    entries_small: int
    numbers: list[str]
    expiring_90: int
    expiring_30: int
    pdf_certification: int


def plural(count: int, word: str, many: str = "") -> str:
    return f"{count:,} {word if count == 1 else many or word + 's'}"


def _taught(user: User) -> int:
    return Workshop.objects.filter(Q(lead_trainer=user) | Q(co_trainers=user)).distinct().count()


def _smallest_month() -> dict:
    """The catalogue filtered to the month of fewest open workshops (at least one). The month filter
    is checked without a query, unlike the course filter, so both requests run the same queries
    when the count does not follow the data."""
    today = timezone.localdate()
    counts = {}
    for ahead in range(4):
        first = date(today.year + (today.month + ahead - 1) // 12, (today.month + ahead - 1) % 12 + 1, 1)
        counts[first] = workshop_queries.catalogue(month=first).count()
    month = min((day for day, count in counts.items() if count), key=counts.get, default=today.replace(day=1))
    return {"catalogue_small": counts.get(month, 0), "catalogue_small_query": f"?month={month:%Y-%m}"}


def read_facts(targets: Targets) -> Facts:
    emails = {
        "administrator": targets.administrator, "trainer": targets.trainer, "small_trainer": targets.small_trainer,
        "holder": targets.holder, "holder_one": targets.holder_one, "ledger_holder": targets.ledger_holder,
    }  # fmt: skip
    users = {role: User.objects.get(email=address) for role, address in emails.items()}
    today = timezone.localdate()
    numbers = list(
        Certification.objects.exclude(state=Certification.State.PENDING)
        .order_by("?")
        .values_list("certificant_number", flat=True)[:500]
    )
    pdf = (
        Certification.objects.filter(holder=users["holder"], state=Certification.State.ACTIVE)
        .order_by("expires_on")
        .first()
    )
    return Facts(
        targets=targets,
        users=users,
        trainer_workshops=_taught(users["trainer"]),
        small_trainer_workshops=_taught(users["small_trainer"]),
        catalogue=workshop_queries.catalogue().count(),
        **_smallest_month(),
        certifications=Certification.objects.filter(holder=users["holder"]).count(),
        certifications_small=Certification.objects.filter(holder=users["holder_one"]).count(),
        entries=SeuEntry.objects.filter(holder=users["ledger_holder"]).count(),
        entries_small=SeuEntry.objects.filter(holder=users["holder_one"]).count(),
        numbers=numbers,
        expiring_90=renewal_queries.expiring_certifications(today=today, days=90).count(),
        expiring_30=renewal_queries.expiring_certifications(today=today, days=30).count(),
        pdf_certification=pdf.pk,
    )


# --- The pages ---------------------------------------------------------------------------------------

KEYS = ["baseline", "write_floor", "sheet", "sheet_cold", "cell", "catalogue", "certifications", "trainer_home",
        "ledger", "verify", "dashboard", "dashboard_cold", "pdf"]  # fmt: skip
SHEET_ROW = b'<th scope="row" class="sheet-person">'
SHEET_CELL = b'class="cell-form"'
CARD = b'<li class="card">'
CERTIFICATION = b'<section class="card certification"'
WORKSHOP_ROW = b'<th scope="row"><a href="'
ENTRY_ROW = b'<tr id="entry-'


def sheet_cells(body: bytes, sheet_path: str) -> list[str]:
    """The cell-save addresses of a sheet, as its forms post them."""
    pattern = re.escape(sheet_path).encode() + rb"\d+/\d+/"
    return sorted({match.decode() for match in re.findall(rb'hx-post="(' + pattern + rb')"', body)})


def cell_save(cells: list[str]) -> Action:
    """Save one cell as htmx does: its form's fields, the CSRF token in a header, the cell back.
    Each request changes the cell (late by a few minutes, then present; a new note), so each one
    writes the mark and its history: the note names this run too, or a run on kept data would send
    the notes of the run before and change nothing."""
    run = f"{time.time():.0f}"

    def action(browser: Browser, number: int) -> Response:
        path = cells[number % len(cells)]
        late = (number // len(cells)) % 2 == 0
        data = {"presence": "late" if late else "present", "minutes": str(1 + number % 30) if late else "",
                "participated": "on", "note": f"bench {run}-{number}"}  # fmt: skip
        headers = {"HX-Request": "true", "X-CSRFToken": browser.csrf_token}
        response = browser.request("POST", path, data=data, headers=headers)
        if b'data-state="saved"' not in expect(response):
            raise PageBroken("the cell was not saved")
        return response

    return action


def pages(facts: Facts, cells: dict[str, list[str]]) -> list[Page]:
    """Every measured page, the baseline first. ``cells`` holds the cell addresses of both sheets. A
    page whose address does not exist (yet) is listed as not measured, with the reason."""
    t = facts.targets
    numbers = facts.numbers

    def baseline(response: Response) -> None:
        if expect(response, content_type="text/plain") != b"ok":
            raise PageBroken("the baseline view did not answer ok")

    def write_floor(browser: Browser, number: int) -> Response:
        response = browser.request(
            "POST", reverse("bench_write_floor"), data={}, headers={"X-CSRFToken": browser.csrf_token}
        )
        baseline(response)
        return response

    def sheet_of(rows: int, sessions: int):
        def check(response: Response) -> None:
            body = expect(response)
            expect_count(body, SHEET_ROW, rows, "participants")
            expect_count(body, SHEET_CELL, rows * sessions, "cells")

        return check

    def listed(marker: bytes, count: int, what: str):
        def check(response: Response) -> None:
            expect_listed(expect(response), marker, count, what)

        return check

    def verify(browser: Browser, number: int) -> Response:
        certificant = numbers[number % len(numbers)]
        response = browser.request("GET", reverse("certification:verify", args=[certificant]))
        body = expect(response)
        if b'class="verdict"' not in body or certificant.encode() not in body:
            raise PageBroken(f"the verification of {certificant} shows no verdict")
        return response

    def dashboard_rows(count: int):
        ledger_prefix = reverse("renewals:holder_ledger", args=[0]).removesuffix("0/").encode()

        def check(response: Response) -> None:
            body = expect(response)
            if b'<table class="summary">' not in body:
                raise PageBroken("the dashboard shows no summary")
            expect_listed(body, b'href="' + ledger_prefix, count, "certifications")

        return check

    def pdf(response: Response) -> None:
        if not expect(response, content_type="application/pdf").startswith(b"%PDF"):
            raise PageBroken("the certificate is not a PDF")

    def sheet(pk: int) -> str:
        return reverse("participants:sheet", args=[pk])

    def catalogue(query: str = "") -> str:
        return reverse("workshops:catalogue") + query

    builders: list[tuple[str, Callable[[str], Page]]] = [
        ("Baseline view (tiny response, reads nothing)", lambda name: Page(
            name, "anonymous", get(reverse("bench_baseline"), baseline), "the body is exactly “ok”")),
        ("Write floor (signed in: the CSRF token checked, one row committed, “ok”)", lambda name: Page(
            name, "trainer", write_floor, "the body is exactly “ok”")),
        (f"Attendance sheet ({SHEET_PARTICIPANTS} participants × {SHEET_SESSIONS} sessions)", lambda name: Page(
            name, "trainer", get(sheet(t.sheet_workshop), sheet_of(SHEET_PARTICIPANTS, SHEET_SESSIONS)),
            f"{SHEET_PARTICIPANTS} participant rows, {SHEET_PARTICIPANTS * SHEET_SESSIONS} cell forms", PAGE,
            "small_trainer", get(sheet(t.small_sheet_workshop), sheet_of(10, 2)), "10 × 2 sheet")),
        ("Attendance sheet, its table rendered (one browser; the cache emptied before each request, as after "
         "a change)", lambda name: Page(
            name, "trainer", uncached(get(sheet(t.sheet_workshop), sheet_of(SHEET_PARTICIPANTS, SHEET_SESSIONS))),
            "the table read and rendered for this request", browsers=1, requests=30)),
        ("Attendance sheet: one cell save (htmx)", lambda name: Page(
            name, "trainer", cell_save(cells["sheet"]), "the cell comes back saved", FAST,
            "small_trainer", cell_save(cells["small_sheet"]), "10 × 2 sheet")),
        (f"Catalogue ({plural(facts.catalogue, 'workshop')} open)", lambda name: Page(
            name, "visitor", get(catalogue(), listed(CARD, facts.catalogue, "workshops")),
            all_or_page(facts.catalogue, "workshop card"), FAST,
            "visitor", get(catalogue(facts.catalogue_small_query), listed(CARD, facts.catalogue_small, "workshops")),
            f"{facts.catalogue_small_query[7:]} only: {plural(facts.catalogue_small, 'workshop')}")),
        (f"My certifications ({plural(facts.certifications, 'certification')})", lambda name: Page(
            name, "holder", get(reverse("certification:my_certifications"),
                                listed(CERTIFICATION, facts.certifications, "certifications")),
            plural(facts.certifications, "certification"), PAGE,
            "holder_one", get(reverse("certification:my_certifications"),
                              listed(CERTIFICATION, facts.certifications_small, "certifications")),
            plural(facts.certifications_small, "certification"))),
        (f"Trainer home ({plural(facts.trainer_workshops, 'workshop')})", lambda name: Page(
            name, "trainer", get(reverse("workshops:trainer_home"),
                                 listed(WORKSHOP_ROW, facts.trainer_workshops, "workshops")),
            all_or_page(facts.trainer_workshops, "workshop"), PAGE,
            "small_trainer", get(reverse("workshops:trainer_home"),
                                 listed(WORKSHOP_ROW, facts.small_trainer_workshops, "workshops")),
            plural(facts.small_trainer_workshops, "workshop"))),
        (f"SEU ledger ({facts.entries:,} entries)", lambda name: Page(
            name, "ledger_holder", get(reverse("renewals:ledger"), listed(ENTRY_ROW, facts.entries, "entries")),
            all_or_page(facts.entries, "entry", "entries"), PAGE,
            "holder_one", get(reverse("renewals:ledger"), listed(ENTRY_ROW, facts.entries_small, "entries")),
            f"{facts.entries_small} entries")),
        ("Public verification page", lambda name: Page(
            name, "visitor", verify, f"the verdict, for {len(numbers)} different numbers", FAST,
            "visitor", verify, "the same page")),
        (f"Expiry dashboard ({facts.expiring_90:,} expiring within 90 days)", lambda name: Page(
            name, "administrator", get(reverse("renewals:dashboard"), dashboard_rows(facts.expiring_90)),
            "the summary, and " + all_or_page(facts.expiring_90, "certification"), PAGE,
            "administrator", get(reverse("renewals:dashboard") + "?days=30", dashboard_rows(facts.expiring_30)),
            f"30 days: {facts.expiring_30:,} expiring")),
        ("Expiry dashboard, counts recounted (the cache emptied before each request)", lambda name: Page(
            name, "administrator", uncached(get(reverse("renewals:dashboard"), dashboard_rows(facts.expiring_90))),
            "the summary, counted for this request", browsers=1, requests=10)),
        ("Certificate PDF, stored", lambda name: Page(
            name, "holder", get(reverse("certification:certificate_pdf", args=[facts.pdf_certification]), pdf),
            "a PDF file", STORED_PDF)),
    ]  # fmt: skip
    measured = []
    for (name, build), key in zip(builders, KEYS, strict=True):
        try:
            page = build(name)
            page.key = key
            measured.append(page)
        except NoReverseMatch as missing:
            reason = f"not measured: its address does not exist ({missing})"
            measured.append(Page(name, "", None, "", not_measured=reason, key=key))
    return measured


def static_file_page(path: str) -> Page:
    """One collected static file, served by whitenoise: informative, no target."""

    def check(response: Response) -> None:
        expect(response, content_type="text/css")

    return Page("Static file (whitenoise, stylesheet)", "visitor", get(path, check), "the stylesheet")
