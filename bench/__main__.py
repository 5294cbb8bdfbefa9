"""``python -m bench``: generate the data, serve the app as in production, measure, write the report.

    python -m bench                 # full scale (make bench)
    python -m bench --scale 0.01    # a quick run (make bench SCALE=0.01)

It needs PostgreSQL and Redis (``--database-url``, ``--redis-url``; the defaults are the local
ones). The database is dropped and made again unless ``--keep-data`` finds one generated today at
the same scale. The exit status is 1 when a page did not show what it should (a broken page is
never reported as a fast one), 2 when something the benchmark needs is missing; a missed target
is reported, not an error.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time

from .environment import (
    BENCH_DIR,
    DATA_DIR,
    DEFAULT_DATABASE_URL,
    DEFAULT_REDIS_URL,
    BenchSetupError,
    check_redis,
    configure,
    data_stamp,
    recreate_database,
    stamp_of,
)

DATASET = DATA_DIR / "dataset.json"


def arguments(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__.split("\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="1 is the issue's sizes (default); 0.01 is quick")
    parser.add_argument("--requests", type=int, default=200, help="timed requests per page (default 200)")
    parser.add_argument("--concurrency", type=int, default=4, help="browsers at once (default 4)")
    parser.add_argument("--workers", type=int, default=3, help="gunicorn workers (default 3, as the Dockerfile)")
    parser.add_argument("--keep-data", action="store_true", help="reuse the data generated today at this scale")
    parser.add_argument("--report", help="where to write the report (default bench/RESULTS.md at scale 1, "
                                         "bench/data/RESULTS-<scale>.md otherwise)")  # fmt: skip
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DATABASE_URL))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS_URL))
    options = parser.parse_args(argv)
    if options.report is None:
        options.report = str(
            BENCH_DIR / "RESULTS.md" if options.scale == 1 else DATA_DIR / f"RESULTS-{options.scale:g}.md"
        )
    return options


def log(message: str) -> None:
    print(message, flush=True)


def prepare_data(options: argparse.Namespace):
    """A fresh database with the scale data, or the one kept from earlier today."""
    import django

    django.setup()  # opens no connection: the database can still be dropped below
    from django.core.management import call_command
    from django.utils import timezone

    from .generate import Targets, generate

    if options.keep_data and DATASET.exists():
        kept = Targets(**json.loads(DATASET.read_text()))
        if kept.scale != options.scale or kept.generated_on != timezone.localdate().isoformat():
            log("The kept data is of another day or scale: generating again.")
        elif data_stamp() != stamp_of(kept):
            log("The database holds other data than this checkout generated (another run used it): generating again.")
        else:
            log(f"Keeping the data generated today at scale {kept.scale:g} ({options.database_url}).")
            call_command("migrate", verbosity=0)  # and a migration of this checkout's added since, if any
            return kept
    log(f"Recreating {options.database_url} and migrating…")
    recreate_database(options.database_url)
    call_command("migrate", verbosity=0)
    log(f"Generating the data at scale {options.scale:g} (COPY)…")
    targets = generate(options.scale, log=log)
    log(f"  generated in {targets.seconds:.0f} s")
    DATASET.write_text(json.dumps(targets.__dict__, indent=2))
    data_stamp(stamp_of(targets))
    return targets


def main(argv: list[str] | None = None) -> int:
    options = arguments(argv)
    started = time.perf_counter()
    try:
        configure(database_url=options.database_url, redis_url=options.redis_url)
        check_redis(options.redis_url)
        targets = prepare_data(options)
    except BenchSetupError as problem:
        log(f"bench: {problem}")
        return 2
    from .measure import measure
    from .report import write_report

    try:
        results = measure(options, targets, log=log)
    except BenchSetupError as problem:
        log(f"bench: {problem}")
        return 2
    results.total_seconds = time.perf_counter() - started
    write_report(results, options.report)
    log(f"Report: {options.report} ({results.total_seconds / 60:.1f} min in all)")
    if results.broken:
        log("bench: these did not show what they should, so they were not measured:")
        for problem in results.broken:
            log(f"  - {problem}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
