"""Reads whose SQL Django compiles once per process, then runs with each request's arguments.

Turning a queryset into SQL (joins, columns, lookups) costs Django 0.2–0.7 ms a query, often more
than the database takes to answer it: 0.75 ms of the public verification page's 1.5 ms was compiling
one ``get()`` that PostgreSQL answers in 0.1 ms (bench/findings.md). A hot read whose shape never
changes, only its arguments, is written as an ordinary queryset with placeholders for them;
``CompiledRead`` compiles it the first time it runs on a database, keeps the SQL, its parameters and
the converters of its columns (so dates are dates on SQLite too), and afterwards only swaps the
arguments in. The SQL is the ORM's own: no table or column name is written by hand.

Only ``values_list()`` querysets: rows come back as tuples, the columns in the order named. Every
value in the queryset other than a placeholder is fixed at its first run, for the life of the process:
a time (``timezone.now()``, today's date) must be a placeholder, or be compared in Python afterwards
(``cspo.sessions`` checks a session's expiry so).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.models import QuerySet


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    positions: tuple[int, ...]  # where each argument goes among the parameters
    compiler: Any  # the SQLCompiler, for its converters
    converters: dict


class CompiledRead:
    """``build(*placeholders)`` returns the ``values_list()`` queryset; ``rows(*arguments)`` runs it
    with the arguments in the placeholders' places. Each placeholder is a value of the column's type
    that the compiled parameters hold exactly once: an unlikely string (``"\\x00number\\x00"``) or
    number (``-7_314_159``). An argument is passed to the database as it is, so it must have the
    column's type already (an ``int`` for a key)."""

    def __init__(self, build: Callable[..., QuerySet], *placeholders: str | int):
        self.build = build
        self.placeholders = placeholders
        self._by_database: dict[str, _Compiled] = {}

    def _compile(self, alias: str) -> _Compiled:
        queryset = self.build(*self.placeholders)
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        positions = []
        for placeholder in self.placeholders:
            found = [index for index, param in enumerate(params) if param == placeholder]
            if len(found) != 1:
                raise ImproperlyConfigured(
                    f"The placeholder {placeholder!r} is {len(found)} times among the parameters of {sql!r}: "
                    "it must be there once."
                )
            positions.append(found[0])
        columns = [expression for expression, _, _ in compiler.select[: compiler.col_count]]
        return _Compiled(sql, tuple(params), tuple(positions), compiler, compiler.get_converters(columns))

    def rows(self, *arguments, using: str = "default") -> list[tuple]:
        if len(arguments) != len(self.placeholders):
            raise TypeError(f"{len(self.placeholders)} arguments expected, {len(arguments)} given")
        compiled = self._by_database.get(using)
        if compiled is None:
            compiled = self._by_database[using] = self._compile(using)
        params = list(compiled.params)
        for position, argument in zip(compiled.positions, arguments, strict=True):
            params[position] = argument
        with connections[using].cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if not compiled.converters:
            return rows
        return [tuple(row) for row in compiled.compiler.apply_converters(rows, compiled.converters)]
