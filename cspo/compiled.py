"""Reads whose SQL Django compiles once per process, then runs with each request's arguments.

Turning a queryset into SQL (joins, columns, lookups) costs Django 0.2–0.7 ms a query, often more
than the database takes to answer it: 0.75 ms of the public verification page's 1.5 ms was compiling
one ``get()`` that PostgreSQL answers in 0.1 ms (bench/findings.md). A hot read whose shape never
changes, only its arguments, is written as an ordinary queryset with placeholders for them;
``CompiledRead`` compiles it the first time it runs on a database, keeps the SQL, its parameters and
the converters of its columns (so dates are dates on SQLite too), and afterwards only swaps the
arguments in. The SQL is the ORM's own: no table or column name is written by hand.

A ``values_list()`` queryset is read by ``rows()``, as tuples with the columns in the order named; a
model queryset (``select_related()`` and ``only()`` welcome, no ``prefetch_related()``) by
``objects()``, as model instances built as the ORM builds them. Every value in the queryset other than
a placeholder is fixed at its first run, for the life of the process: a time (``timezone.now()``,
today's date) must be a placeholder, or be compared in Python afterwards (``cspo.sessions`` checks a
session's expiry so).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, ValuesListIterable, get_related_populators
from django.db.transaction import TransactionManagementError


@dataclass(frozen=True)
class _Instances:
    """How ``ModelIterable`` makes a row into a model instance, worked out once."""

    model: type[Model]
    attnames: list[str]  # the model's own columns, in the row from ``start`` to ``end``
    start: int
    end: int
    related: list  # Django's RelatedPopulator of each select_related() relation
    annotations: dict[str, int]

    def build(self, alias: str, row: tuple) -> Model:
        instance = self.model.from_db(alias, self.attnames, row[self.start : self.end])
        for populator in self.related:
            populator.populate(row, instance)
        for name, position in self.annotations.items():
            setattr(instance, name, row[position])
        return instance


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    positions: tuple[int, ...]  # where each argument goes among the parameters
    adapters: tuple  # how the database takes each argument (a date on SQLite: text), or None
    converters: list[tuple[int, tuple[list, Any]]]  # each column's converters, with its expression
    instances: _Instances | None  # for a model queryset
    locks: bool  # select_for_update(): only inside a transaction, on every database


# A number no column holds (beyond 64 bits) matches no row, as with the ORM's lookups; a driver
# would refuse it (SQLite's raises OverflowError), so such a read answers without asking.
_LARGEST = 2**63 - 1


def _adapter(connection, placeholder) -> Callable | None:
    """How the ORM hands a date or a time to this database (as it is to PostgreSQL, as text to
    SQLite); None for a string or a number, handed as they are."""
    if isinstance(placeholder, datetime):
        return connection.ops.adapt_datetimefield_value
    if isinstance(placeholder, date):
        return connection.ops.adapt_datefield_value
    return None


class CompiledRead:
    """``build(*placeholders)`` returns the queryset; ``rows(*arguments)`` (``values_list()``) or
    ``objects(*arguments)`` (models) runs it with the arguments in the placeholders' places. Each
    placeholder is a value of the column's type that the compiled parameters hold exactly once: an
    unlikely string (``"\\x00number\\x00"``), number or date (``numbers()``, ``dates()``).
    An argument is passed to the database as the ORM would pass a value of the placeholder's type, so
    it must have that type already (an ``int`` for a key, a ``date`` for a date)."""

    def __init__(self, build: Callable[..., QuerySet], *placeholders: str | int | date, shares: tuple = ()):
        """``shares``: models joined in a ``select_for_update(of=...)`` read whose rows it holds shared
        (``FOR SHARE``) until the transaction ends, where the database locks rows: the ORM has no
        shared lock. A change that locks such a row for update waits for them, and the read waits
        for such a change, then answers the row as that change left it."""
        self.build = build
        self.placeholders = placeholders
        self.shares = shares
        self._by_database: dict[str, _Compiled] = {}

    def _compile(self, alias: str) -> _Compiled:
        queryset = self.build(*self.placeholders)
        locks = bool(queryset.query.select_for_update)
        lock_clauses = self._lock_clauses(queryset, alias)
        if lock_clauses:  # written here: the ORM's own would lock every joined row for update
            queryset = queryset.all()
            queryset.query.select_for_update = False
        if queryset._iterable_class not in (ModelIterable, ValuesListIterable):
            raise ImproperlyConfigured("A compiled read is a values_list() or a model queryset.")
        if queryset._prefetch_related_lookups or queryset._known_related_objects:
            raise ImproperlyConfigured("A compiled read makes one query: no prefetch_related(), no related manager.")
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        if compiler.has_extra_select:
            raise ImproperlyConfigured("A compiled read reads the columns it names: no extra() or distinct() columns.")
        positions, adapters = [], []
        where: dict[tuple, list[int]] = {}  # each parameter's places, by type and value
        for index, param in enumerate(params):
            if isinstance(param, Hashable):
                where.setdefault((type(param), param), []).append(index)
        for placeholder in self.placeholders:
            adapter = _adapter(connections[alias], placeholder)
            taken = placeholder if adapter is None else adapter(placeholder)
            adapters.append(adapter)
            found = where.get((type(taken), taken), [])
            if len(found) != 1:
                raise ImproperlyConfigured(
                    f"The placeholder {placeholder!r} is {len(found)} times among the parameters of {sql!r}: "
                    "it must be there once."
                )
            positions.append(found[0])
        columns = [expression for expression, _, _ in compiler.select[: compiler.col_count]]
        instances = None
        if queryset._iterable_class is ModelIterable:
            klass_info, select = compiler.klass_info, compiler.select
            start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
            instances = _Instances(
                model=klass_info["model"],
                attnames=[column[0].target.attname for column in select[start:end]],
                start=start,
                end=end,
                related=get_related_populators(klass_info, select, alias),
                annotations=dict(compiler.annotation_col_map or {}),
            )
        converters = list(compiler.get_converters(columns).items())
        sql += lock_clauses
        return _Compiled(sql, tuple(params), tuple(positions), tuple(adapters), converters, instances, locks)

    def _lock_clauses(self, queryset: QuerySet, alias: str) -> str:
        """With ``shares``: the read's own rows locked as its ``select_for_update(of=("self",))`` asks,
        and the shared models' rows held ``FOR SHARE``; nothing where the database locks no rows."""
        if not self.shares:
            return ""
        query, connection = queryset.query, connections[alias]
        if tuple(query.select_for_update_of) != ("self",):
            raise ImproperlyConfigured(
                'A read that holds rows shared locks its own with select_for_update(of=("self",)).'
            )
        tables = [model._meta.db_table for model in self.shares]
        for table in tables:
            if table not in query.alias_map:
                raise ImproperlyConfigured(f"The read holds rows of {table} shared, so it joins that table.")
        if not connection.features.has_select_for_update_of:
            return ""
        quote = connection.ops.quote_name
        own = connection.ops.for_update_sql(
            nowait=query.select_for_update_nowait, skip_locked=query.select_for_update_skip_locked,
            of=(quote(queryset.model._meta.db_table),), no_key=query.select_for_no_key_update,
        )  # fmt: skip
        # The shared rows first: PostgreSQL locks in the clauses' order, and a change that holds such a row
        # for update and then writes the read's own row (a workshop and its enrolment) must not meet
        # this read holding its own row while it waits for theirs: a deadlock.
        return "".join(f" FOR SHARE OF {quote(table)}" for table in tables) + f" {own}"

    def _compiled(self, arguments: tuple, using: str) -> _Compiled:
        if len(arguments) != len(self.placeholders):
            raise TypeError(f"{len(self.placeholders)} arguments expected, {len(arguments)} given")
        compiled = self._by_database.get(using)
        if compiled is None:
            compiled = self._by_database[using] = self._compile(using)
        return compiled

    def rows(self, *arguments, using: str = "default") -> list[tuple]:
        """The rows of a ``values_list()`` queryset."""
        compiled = self._compiled(arguments, using)
        if compiled.instances is not None:
            raise ImproperlyConfigured("A model queryset's read gives objects(), not rows().")
        return self._rows(compiled, arguments, using)

    def objects(self, *arguments, using: str = "default") -> list[Model]:
        """The model instances of a model queryset, their select_related() relations filled in."""
        compiled = self._compiled(arguments, using)
        if compiled.instances is None:
            raise ImproperlyConfigured("A values_list() queryset's read gives rows(), not objects().")
        return [compiled.instances.build(using, row) for row in self._rows(compiled, arguments, using)]

    @staticmethod
    def _rows(compiled: _Compiled, arguments: tuple, using: str) -> list[tuple]:
        connection = connections[using]
        if compiled.locks and connection.get_autocommit():  # as the ORM checks when it compiles
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        if any(type(argument) is int and not -_LARGEST <= argument <= _LARGEST for argument in arguments):
            return []
        params = list(compiled.params)
        for position, adapter, argument in zip(compiled.positions, compiled.adapters, arguments, strict=True):
            params[position] = argument if adapter is None else adapter(argument)
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows = cursor.fetchall()
        if not compiled.converters:
            return rows
        return [_converted(row, compiled.converters, connection) for row in rows]


def _converted(row: tuple, converters: list, connection) -> tuple:
    """The row with each column's converters applied, as ``SQLCompiler.apply_converters`` does."""
    row = list(row)
    for position, (functions, expression) in converters:
        value = row[position]
        for function in functions:
            value = function(value, expression, connection)
        row[position] = value
    return tuple(row)


def numbers(count: int) -> tuple[int, ...]:
    """``count`` distinct number placeholders: keys no row has."""
    return tuple(-7_314_159 - n for n in range(count))


def dates(count: int) -> tuple[date, ...]:
    """``count`` distinct date placeholders: days no row has."""
    return tuple(date(1, 1, 3 + n) for n in range(count))


class CompiledReads:
    """Compiled reads of one shape that differ by a key the SQL holds as text, not as a parameter:
    a page's offset (``LIMIT``/``OFFSET``), a list's length (``IN (%s, %s)``). ``make(key)`` returns the
    ``CompiledRead`` of that key, compiled the first time it is asked for. At most ``keep`` are kept,
    the least recently asked for going first (a page far down a long list is compiled again)."""

    def __init__(self, make: Callable[[Hashable], CompiledRead], *, keep: int = 32):
        self.make = make
        self.keep = keep
        self._by_key: OrderedDict[Hashable, CompiledRead] = OrderedDict()

    def __getitem__(self, key: Hashable) -> CompiledRead:
        read = self._by_key.get(key)
        if read is None:
            read = self._by_key[key] = self.make(key)
            if len(self._by_key) > self.keep:
                self._by_key.popitem(last=False)
        else:
            self._by_key.move_to_end(key)
        return read


def padded(keys) -> tuple[int, ...]:
    """The keys, then 0 (no row's key: keys count from 1) up to the next power of two: a list of any
    length is read by one of a dozen compiled reads (``IN`` of 1, 2, 4 … keys), not one a length."""
    keys = tuple(keys)
    size = 1 << max(len(keys) - 1, 0).bit_length()
    return keys + (0,) * (size - len(keys))
