"""``bench/RESULTS.md``: the machine, the data, every figure and each page's latency as a multiple of
the baseline view measured in the same run. The last section is ``bench/findings.md``, written by
hand: what the figures led to, and what it gained."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from django.utils import timezone

from .environment import BASE_DIR, BENCH_DIR
from .measure import PageResult, Results

EXPORT_ROWS_PER_SECOND = 50_000
EXPORT_MEMORY_GROWTH_MIB = 50
REMINDER_SECONDS = 10
PDF_RENDER_SECONDS = 0.5


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f}"


def yes_no(met: bool) -> str:
    return "yes" if met else "**no**"


def _same(queries: list[int]) -> str:
    if not queries:
        return "—"
    low, high = min(queries), max(queries)
    return str(low) if low == high else f"{low}–{high}"


def _page_row(result: PageResult, baseline_p50: float, baseline_p95: float) -> tuple[str, bool | None]:
    page, stats = result.page, result.stats
    if stats is None or result.problem.startswith(("broken", "not measured")):
        reason = result.problem or page.not_measured
        return f"| {page.name} | {reason} | | | | | | | | {page.target or '—'} | — |", None
    p50_ratio, p95_ratio = stats.p50 / baseline_p50, stats.p95 / baseline_p95
    flat = ""
    if result.small_queries:
        same = set(result.small_queries) == set(stats.queries)
        flat = f"{_same(result.small_queries)} ({page.small_shows}){'' if same else ' **differs**'}"
    met = None if page.target is None else page.target.met(p50_ratio, p95_ratio) and not flat.endswith("**differs**")
    row = (
        f"| {page.name} | {ms(stats.p50)} | {ms(stats.p95)} | {ms(stats.server_p50)} | {stats.rps:.0f} "
        f"| {stats.query_counts} | {flat or '—'} "
        f"| {p50_ratio:.1f}× | {p95_ratio:.1f}× | {page.target or '—'} | {'—' if met is None else yes_no(met)} |"
    )
    return row, met


def pages_section(results: Results, missed: list[str]) -> list[str]:
    base = results.baseline
    lines = [
        "## Pages",
        "",
        f"{results.concurrency} browsers at once, {results.warmup} warm-up requests then {results.requests} timed "
        "ones per page. Latency: from sending the request to reading the last byte, in the client; “in Django” "
        "is the part inside Django's middleware stack (the rest is gunicorn, loopback and waiting for a free "
        "worker or core). "
        "The ratios divide by the baseline view's p50 and p95 of the same run. “Queries at the small size” is "
        "the same page showing less data (in brackets): equal counts mean the count does not follow the data.",
        "",
        "| Page | p50 ms | p95 ms | in Django, p50 ms | req/s | SQL queries | queries at the small size "
        "| p50 × baseline | p95 × baseline | target | met |",
        "|---|---:|---:|---:|---:|---:|---|---:|---:|---|---|",
    ]
    for result in results.pages:
        row, met = _page_row(result, base.p50, base.p95)
        lines.append(row)
        if met is False:
            base_p50, base_p95 = result.stats.p50 / base.p50, result.stats.p95 / base.p95
            missed.append(f"{result.page.name}: p50 {base_p50:.1f}×, p95 {base_p95:.1f}× the baseline "
                          f"(target {result.page.target}).")  # fmt: skip
        if result.problem and result.page.target is not None:
            missed.append(f"{result.page.name}: {result.problem}")
    if results.baseline_again is not None:
        again = results.baseline_again
        lines.append(
            f"| Baseline view again, at the end | {ms(again.p50)} | {ms(again.p95)} | {ms(again.server_p50)} "
            f"| {again.rps:.0f} | "
            f"{again.query_counts} | — | {again.p50 / base.p50:.1f}× | {again.p95 / base.p95:.1f}× | — | — |"
        )
    lines += _against_the_write_floor(results)
    lines += ["", "What each check proved on every response (status 200 and):", ""]
    lines += [f"- {r.page.name}: {r.page.shows}." for r in results.pages if r.page.shows]
    return lines


def _against_the_write_floor(results: Results) -> list[str]:
    """The cell save read against the least any signed-in save costs, measured in the same run."""
    measured = {r.page.key: r.stats for r in results.pages if r.stats is not None and not r.problem}
    floor, cell, base = measured.get("write_floor"), measured.get("cell"), results.baseline
    if floor is None or cell is None:
        return []
    return [
        "",
        f"**Against the write floor.** No signed-in save costs less than the write floor: "
        f"{floor.p50 / base.p50:.1f}× the baseline's p50 in this run, for reading the session and the person, "
        f"checking the CSRF token and committing one row. The cell save is {cell.p50 / floor.p50:.1f}× the write "
        f"floor's p50 and {cell.p95 / floor.p95:.1f}× its p95.",
    ]


def export_section(results: Results, missed: list[str]) -> list[str]:
    lines = [
        "## Eligibility export (CSV)",
        "",
        "`/exports/eligibility/?format=csv` by first-day range, as an administrator, read as it streams. "
        "Memory: the serving gunicorn worker's peak resident size (VmHWM in /proc, reset in every worker "
        "just before), and its size when the response started.",
        "",
        "| Rows | First days | Seconds | Rows/s | SQL queries | Worker RSS at start | Worker peak RSS |",
        "|---:|---|---:|---:|---:|---:|---:|",
    ]
    for run in results.exports:
        if run.problems:
            lines.append(f"| {run.wanted:,} wanted | {run.start} – {run.end} | not measured: {'; '.join(run.problems)} "
                         "| | | | |")  # fmt: skip
            continue
        lines.append(
            f"| {run.rows:,} | {run.start} – {run.end} | {run.seconds:.2f} | {run.rows_per_second:,.0f} | "
            f"{run.queries if run.queries is not None else '—'} | {_mib(run.rss_start_kib)} | {_mib(run.peak_kib)} |"
        )
    measured = [run for run in results.exports if not run.problems and run.rows]
    if measured:
        largest = max(measured, key=lambda run: run.rows)
        speed_met = largest.rows_per_second >= EXPORT_ROWS_PER_SECOND
        lines += ["", f"- Target ≥ {EXPORT_ROWS_PER_SECOND:,} rows/s at {largest.rows:,} rows: "
                      f"{largest.rows_per_second:,.0f} — met: {yes_no(speed_met)}."]  # fmt: skip
        if not speed_met:
            missed.append(f"Export: {largest.rows_per_second:,.0f} rows/s (target {EXPORT_ROWS_PER_SECOND:,}).")
    if len(measured) >= 2 and all(run.peak_kib for run in measured):
        small, large = sorted(measured, key=lambda run: run.rows)[:: len(measured) - 1]
        growth = (large.peak_kib - small.peak_kib) / 1024
        memory_met = growth <= EXPORT_MEMORY_GROWTH_MIB
        lines.append(
            f"- Target: peak at {large.rows:,} rows at most {EXPORT_MEMORY_GROWTH_MIB} MB above the peak at "
            f"{small.rows:,} rows: {growth:+.1f} MiB — met: {yes_no(memory_met)}."
        )
        if not memory_met:
            missed.append(f"Export memory: {growth:+.1f} MiB from {small.rows:,} to {large.rows:,} rows.")
    return lines


def _mib(kib: int | None) -> str:
    return "—" if kib is None else f"{kib / 1024:.0f} MiB"


def reminder_section(results: Results, missed: list[str]) -> list[str]:
    lines = [
        "## Daily reminder job",
        "",
        "`renewals.services.send_renewal_reminders(today=…)` in the benchmark's process, as a Celery worker "
        "runs it: it writes each reminder to the outbox and queues its sending (to the benchmark's Redis "
        "database, purged afterwards). Reminders already in the outbox are deleted before each run, so every "
        "run finds all of that day's reminders unsent.",
        "",
        "| Day | Certifications held | Due (queued) | Due / held | Seconds | ms per reminder | SQL queries |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for run in results.reminders:
        per = "—" if run.ms_per_due is None else f"{run.ms_per_due:.2f}"
        lines.append(f"| {run.day} ({run.label}) | {run.held:,} | {run.due:,} | {run.percent_due:.2f}% | "
                     f"{run.seconds:.2f} | {per} | {run.queries:,} |")  # fmt: skip
    if results.reminders:
        today = results.reminders[0]
        met = today.seconds < REMINDER_SECONDS
        lines += ["", f"- Target: under {REMINDER_SECONDS} s at {today.held:,} certifications with about 1% due: "
                      f"{today.seconds:.2f} s with {today.percent_due:.2f}% due — met: {yes_no(met)}."]  # fmt: skip
        if not met:
            missed.append(f"Reminder job: {today.seconds:.2f} s with {today.due:,} due.")
        none_due = results.reminders[-1]
        lines.append(
            f"- Its cost follows the number due: with none due it takes {none_due.seconds * 1000:.0f} ms and "
            f"{none_due.queries} queries for the same {none_due.held:,} certifications held; the time per "
            "reminder is about the same whatever the number due (table)."
        )
    lines += ["", "The query that finds a batch (EXPLAIN ANALYZE, today):", "", "```", results.reminder_plan, "```"]
    return lines


def pdf_section(results: Results, missed: list[str]) -> list[str]:
    render = results.pdf_render
    lines = ["## Certificate PDF", ""]
    if render is not None:
        met = render.p50 < PDF_RENDER_SECONDS
        lines.append(
            f"- Rendering and storing one certificate (`certificate_file`, in this process after one warm-up "
            f"render): p50 {ms(render.p50)} ms, slowest {ms(max(render.seconds))} ms of {len(render.seconds)}, "
            f"{render.size / 1024:.0f} KiB. Target under {PDF_RENDER_SECONDS * 1000:.0f} ms — met: {yes_no(met)}."
        )
        if not met:
            missed.append(f"Certificate render: p50 {ms(render.p50)} ms.")
    if results.pdf_first_download:
        timings = ", ".join(ms(s) for s in results.pdf_first_download)
        lines.append(
            f"- First download over HTTP, which renders and stores it (a worker imports weasyprint on its "
            f"first certificate): {timings} ms."
        )
    lines.append("- Serving it again once stored: the “Certificate PDF, stored” row of the pages table.")
    return lines


def before_section(results: Results) -> list[str]:
    """Each page's p50 in the run recorded in bench/before.json, and now."""
    recorded = BENCH_DIR / "before.json"
    if not recorded.exists():
        return []
    before = json.loads(recorded.read_text())
    if before["scale"] != results.scale:
        return [f"(The figures before the changes below are of scale {before['scale']:g}: not compared here.)", ""]
    lines = [
        f"Before is {before['label']}; now is this run.",
        "",
        "| Page | p50 before, ms | p50 now, ms | before ÷ now | × baseline before | × baseline now |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for result in results.pages:
        then = before["pages"].get(result.page.key)
        if then is None or result.stats is None or result.problem:
            continue
        now = result.stats.p50 * 1000
        lines.append(
            f"| {result.page.name} | {then['p50_ms']:.1f} | {now:.1f} | {then['p50_ms'] / now:.1f} | "
            f"{then['p50_ms'] / before['baseline_p50_ms']:.1f}× | {result.stats.p50 / results.baseline.p50:.1f}× |"
        )
    measured = sorted((run for run in results.exports if run.rows and not run.problems), key=lambda run: run.rows)
    if measured:
        lines.append(f"\nExport: {before['export_rows_per_second']:,} → {measured[-1].rows_per_second:,.0f} rows/s")
        if len(measured) >= 2 and measured[0].peak_kib and measured[-1].peak_kib:
            growth = (measured[-1].peak_kib - measured[0].peak_kib) / 1024
            lines[-1] += f"; memory growth {before['export_peak_growth_mib']:+.1f} → {growth:+.1f} MiB"
        lines[-1] += "."
    if results.reminders:
        lines.append(f"Reminder job: {before['reminder_seconds']:.2f} → {results.reminders[0].seconds:.2f} s.")
    return [*lines, ""]


def code_version() -> str:
    """The commit measured, and the application files changed since it (the benchmark's own excluded)."""

    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=BASE_DIR, capture_output=True, text=True, check=False)
        return done.stdout.rstrip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short", "HEAD").strip()
    if not commit:
        return "The application's version is unknown (not a git checkout)."
    changed = [line[3:] for line in git("status", "--porcelain", "--", ".", ":!bench").splitlines()]
    if not changed:
        return f"The application as committed in `{commit}`."
    return f"The application at `{commit}` with uncommitted changes to: {', '.join(f'`{name}`' for name in changed)}."


def write_report(results: Results, path: str) -> None:
    missed: list[str] = []
    t = results.targets
    minutes, seconds = divmod(round(results.total_seconds), 60)
    body = [
        "# Benchmark results",
        "",
        f"Written by `python -m bench --scale {results.scale:g}` on {timezone.localdate()} "
        f"({'`make bench`' if results.scale == 1 else f'`make bench SCALE={results.scale:g}`'}), "
        f"in {minutes} min {seconds} s in all, {t.seconds:.0f} s of which generating the data. "
        "Do not edit: the command writes this file again; the last section is `bench/findings.md`.",
        "",
        code_version(),
        "",
        "The app ran as in production: gunicorn (`cspo.wsgi`, "
        f"{results.workers} sync workers, as the Dockerfile), `DJANGO_DEBUG=0`, PostgreSQL, Redis as cache and "
        "broker, static files by whitenoise after `collectstatic`. `bench/settings.py` adds only a middleware "
        "that counts each request's SQL queries (a counter on Django's execute hook). The client is a second "
        f"process on the same machine: {results.concurrency} concurrent browsers per role, each logged in through "
        "the login form with its own session, on loopback, sending `X-Forwarded-Proto: https` as the TLS proxy "
        "does. Both share the machine's cores with PostgreSQL.",
        "",
        "## Machine",
        "",
        "| | |",
        "|---|---|",
        *[f"| {name} | {value} |" for name, value in results.machine],
        "",
        f"## Data (scale {results.scale:g}, generated on {t.generated_on})",
        "",
        "| Rows | Count |",
        "|---|---:|",
        *[f"| {name} | {count:,} |" for name, count in results.data],
        "",
        *pages_section(results, missed),
        "",
        *export_section(results, missed),
        "",
        *reminder_section(results, missed),
        "",
        *pdf_section(results, missed),
        "",
        "## Targets missed",
        "",
    ]
    body += [f"- {line}" for line in missed] or ["None."]
    findings = BENCH_DIR / "findings.md"
    body += ["", "## What was changed and what it gained", "", *before_section(results)]
    body += [findings.read_text().strip()] if findings.exists() else ["Nothing yet."]
    body.append("")
    Path(path).write_text("\n".join(body), encoding="utf-8")
