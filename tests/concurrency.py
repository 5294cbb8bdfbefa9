"""Two people at the same moment, on PostgreSQL: a second connection's change, seen waiting."""

from __future__ import annotations

import time

from django.db import connection


def wait_until_another_connection_waits_for_a_lock() -> None:
    """pg_locks, not pg_stat_activity: the latter is read once per transaction and this one is open."""
    with connection.cursor() as cursor:
        for _ in range(400):
            cursor.execute("SELECT count(*) FROM pg_locks WHERE NOT granted")
            if cursor.fetchone()[0]:
                return
            time.sleep(0.025)
    raise AssertionError("the other change never waited for this one")
