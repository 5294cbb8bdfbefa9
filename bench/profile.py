"""Where a page spends its time: the page run in this process (Django's test client, production
settings, the benchmark's data), its SQL queries with their times, and a cProfile of the view.

    python -m bench.profile sheet            # after a run of the benchmark (its data is kept)
    python -m bench.profile dashboard --requests 20 --explain
    python -m bench.profile ledger --html /tmp/ledger.html   # the page, to compare markup before and after

Pages: see PAGES. The profile is written to bench/data/profile-<page>.txt and its top printed.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import itertools
import json
import os
import pstats
import statistics
import sys
import time

from .environment import DATA_DIR, DEFAULT_DATABASE_URL, DEFAULT_REDIS_URL, configure, data_stamp, stamp_of

# page → (role, how to find its address)
PAGES = {
    "baseline": ("anonymous", "baseline"),
    "write": ("trainer", "write"),
    "sheet": ("trainer", "sheet"),
    "cell": ("trainer", "cell"),
    "catalogue": ("anonymous", "catalogue"),
    "certifications": ("holder", "certifications"),
    "trainer-home": ("trainer", "trainer_home"),
    "ledger": ("ledger_holder", "ledger"),
    "verify": ("anonymous", "verify"),
    "dashboard": ("administrator", "dashboard"),
    "export": ("administrator", "export"),
    "pdf": ("holder", "pdf"),
}


TRANSACTION = {"BEGIN", "COMMIT", "ROLLBACK"}
_CELL: dict = {}  # the cell's address, found once
_SAVES = itertools.count(1)  # each save's own note, so that each one writes (as bench.pages)


def _request(page: str, targets, facts):
    """(method, path, data, headers) of one request of ``page``."""
    from django.urls import reverse

    from .jobs import export_ranges

    if page == "cell":
        from workshops.models import Enrolment

        if "path" not in _CELL:
            enrolment = Enrolment.objects.filter(workshop_id=targets.sheet_workshop).order_by("pk").first()
            session = enrolment.workshop.sessions.order_by("starts_at").last()
            _CELL["path"] = reverse("participants:save_mark", args=[targets.sheet_workshop, enrolment.pk, session.pk])
        save = next(_SAVES)
        data = {"presence": "late", "minutes": str(save % 30 + 1), "participated": "on",
                "note": f"profile {os.getpid()}-{save}"}  # fmt: skip
        return "POST", _CELL["path"], data, {"HTTP_HX_REQUEST": "true"}
    if page == "write":
        return "POST", reverse("bench_write_floor"), {}, {}
    if page == "export":
        run = export_ranges([100_000])[0]
        query = f"?format=csv&start={run.start}&end={run.end}"
        return "GET", reverse("certification:eligibility_export") + query, None, {}
    paths = {
        "baseline": lambda: reverse("bench_baseline"),
        "sheet": lambda: reverse("participants:sheet", args=[targets.sheet_workshop]),
        "catalogue": lambda: reverse("workshops:catalogue"),
        "certifications": lambda: reverse("certification:my_certifications"),
        "trainer_home": lambda: reverse("workshops:trainer_home"),
        "ledger": lambda: reverse("renewals:ledger"),
        "verify": lambda: reverse("certification:verify", args=[facts.numbers[0]]),
        "dashboard": lambda: reverse("renewals:dashboard"),
        "pdf": lambda: reverse("certification:certificate_pdf", args=[facts.pdf_certification]),
    }
    return "GET", paths[PAGES[page][1]](), None, {}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.profile", description="One page in this process: its SQL queries and a cProfile."
    )
    parser.add_argument("page", choices=sorted(PAGES))
    parser.add_argument("--requests", type=int, default=10, help="profiled requests (after one warm-up)")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE the slowest read (SELECT)")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--html", metavar="PATH", help="write the page's response to PATH (to compare markup)")
    options = parser.parse_args(argv)
    configure(
        database_url=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL),
        redis_url=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL),
    )
    import django

    django.setup()
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from .generate import Targets
    from .pages import VISITOR_TIME_ZONE, read_facts

    targets = Targets(**json.loads((DATA_DIR / "dataset.json").read_text()))
    if data_stamp() != stamp_of(targets):
        raise SystemExit(
            "The benchmark's database holds other data than this checkout generated (another run used it): "
            "run `python -m bench` first."
        )
    facts = read_facts(targets)
    role = PAGES[options.page][0]
    client = Client(HTTP_HOST="127.0.0.1")
    client.cookies["tz"] = VISITOR_TIME_ZONE
    if role != "anonymous":
        client.force_login(facts.users[role])

    def once() -> tuple[str, int]:
        """One request: its address and the bytes of its response."""
        method, path, data, headers = _request(options.page, targets, facts)
        call = client.post if method == "POST" else client.get
        response = call(path, data or {}, secure=True, **headers)
        if response.status_code != 200:
            raise SystemExit(f"{path} answered {response.status_code}")
        if response.streaming:
            return path, sum(len(chunk) for chunk in response.streaming_content)
        if options.html:
            with open(options.html, "wb") as out:
                out.write(response.content)
        return path, len(response.content)

    once()  # warm-up: imports, template cache, connection
    spent: list[float] = []  # each query's own time, to the microsecond (Django's log rounds to the millisecond)

    def timed(execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            spent.append(time.perf_counter() - started)

    timings, in_database = [], []
    with connection.execute_wrapper(timed):
        for _ in range(options.requests):  # one request is noisy: the median of as many as are profiled
            spent.clear()
            started = time.perf_counter()
            once()
            timings.append(time.perf_counter() - started)
            in_database.append(sum(spent))
        # The median time of each query over as many requests again, with its text from Django's log;
        # of the requests that ran the usual number of queries (a first cell save inserts, the next update).
        runs = []
        for _ in range(options.requests):
            spent.clear()
            with CaptureQueriesContext(connection) as captured:
                path, size = once()
            runs.append(([logged["sql"] for logged in captured.captured_queries], list(spent)))
    usual = statistics.mode(len(times) for _, times in runs)
    alike = [times for _, times in runs if len(times) == usual]
    texts = next(texts for texts, times in runs if len(times) == usual)
    medians = iter([statistics.median(column) for column in zip(*alike, strict=True)])
    # Django's log also names the transaction's BEGIN and COMMIT, which run outside the execute wrapper.
    queries = [{"sql": sql, "time": None if sql in TRANSACTION else next(medians)} for sql in texts]
    single = statistics.median(timings)
    profiler = cProfile.Profile()
    started = time.perf_counter()
    profiler.enable()
    for _ in range(options.requests):
        once()
    profiler.disable()
    profiler.dump_stats(DATA_DIR / f"profile-{options.page}.prof")  # for pstats' callers and callees
    each = (time.perf_counter() - started) / options.requests
    out = io.StringIO()
    out.write(f"{options.page}: {path}\n{single * 1000:.1f} ms unprofiled (median), {each * 1000:.1f} ms profiled, ")
    out.write(
        f"{size / 1024:.1f} KiB, {len(queries)} queries, in the database {statistics.median(in_database) * 1000:.2f} ms"
    )
    out.write(" (median); each query's median:\n")
    for query in queries:
        took = "" if query["time"] is None else f"{query['time'] * 1000:.2f} ms"
        out.write(f"  {took:>10}  {query['sql'][:300]}\n")
    if options.explain and any(q["sql"].startswith("SELECT") for q in queries):
        # Reads only: EXPLAIN ANALYZE runs the statement, and would write a second time.
        reads = [q for q in queries if q["time"] is not None and q["sql"].startswith("SELECT")]
        slowest = max(reads, key=lambda q: q["time"])["sql"]
        with connection.cursor() as cursor:
            cursor.execute("EXPLAIN ANALYZE " + slowest)
            out.write("\nEXPLAIN ANALYZE of the slowest:\n" + "\n".join(row[0] for row in cursor.fetchall()) + "\n")
    for order in ("cumulative", "tottime"):
        out.write(f"\n--- by {order} time, {options.requests} requests ---\n")
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(order).print_stats(options.top)
    text = out.getvalue()
    target = DATA_DIR / f"profile-{options.page}.txt"
    target.write_text(text)
    print(text[:6000])
    print(f"… the whole profile: {target}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
