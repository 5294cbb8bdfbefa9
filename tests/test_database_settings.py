"""How the app talks to PostgreSQL: settings that change what a query costs (bench/findings.md)."""

from __future__ import annotations

import pytest
from django.db import connection

from participants.models import User

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL's own settings"),
]


def _prepared_statements() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements")
        return cursor.fetchone()[0]


def test_a_query_run_again_and_again_on_a_connection_is_planned_once():
    before = _prepared_statements()

    for _ in range(6):
        list(User.objects.filter(email="nobody@example.org"))

    assert _prepared_statements() == before + 1


def test_postgresql_compiles_no_plan_with_jit():
    with connection.cursor() as cursor:
        cursor.execute("SHOW jit")
        assert cursor.fetchone()[0] == "off"
