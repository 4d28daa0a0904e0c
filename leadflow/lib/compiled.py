"""SELECT statements compiled once from a queryset and run many times with new values.

Building a queryset and compiling it to SQL costs far more CPU than the database
spends running it: a filter on a wide model takes a few hundred microseconds of
Python before the statement is sent. A `CompiledSelect` builds its queryset once
with a marker in place of each value, finds where the markers land among the
statement's parameters, and from then on runs the same text with the new values in
those places, converting the columns as the queryset would (dates, JSON, decimals).
The ORM still writes the SQL; only the repeated compilation is saved.

A `CompiledLookUps` does the same for several such querysets at once and runs them as
one statement, so look-ups that do not depend on each other cost one round trip.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db import connections
from django.db.backends.sqlite3.base import FORMAT_QMARK_REGEX
from django.db.models import QuerySet

from leadflow.lib.db import fetch_on_driver, fetch_rows, may_skip_cursor_wrapper


@dataclass(frozen=True)
class _Statement:
    sql: str
    # The same text with the driver's own placeholders, on SQLite.
    driver_sql: str | None
    # Per parameter: the name of the value that goes there, or the constant itself in a 1-tuple.
    slots: tuple[str | tuple[Any], ...]
    converters: tuple[tuple[int, tuple, Any], ...]


def _marker(name: str) -> str:
    return f"\x00compiled:{name}\x00"


class CompiledSelect:
    """A values_list() queryset compiled once; `rows(**values)` runs it with new values.

    `build` takes one keyword argument per value and returns the queryset; each
    argument may only be compared as it is (exact or `in` lookups), since the value
    is put in the statement's parameters unchanged.
    """

    def __init__(self, build: Callable[..., QuerySet], *, using: str = "default", prepared: bool = False) -> None:
        self.build = build
        self.using = using
        self.prepared = prepared
        self._statement: _Statement | None = None

    def rows(self, **values: Any) -> list[tuple]:
        """Run the statement with `values` and return its rows, converted as the queryset would."""
        statement = self._statement or self._compile(sorted(values))
        params = [values[slot] if isinstance(slot, str) else slot[0] for slot in statement.slots]
        connection = connections[self.using]
        rows = self._fetch(connection, statement, params, prepared=self.prepared)
        if not statement.converters:
            return [tuple(row) for row in rows]
        return [self._convert(row, statement.converters, connection) for row in rows]

    @staticmethod
    def _fetch(connection, statement: _Statement, params: list[Any], *, prepared: bool = False) -> list:
        """Run the statement: on SQLite with its text rewritten for the driver once (see lib.db).

        With `prepared`, PostgreSQL runs it as a prepared statement (see lib.db.fetch_rows).
        """
        if statement.driver_sql is not None and may_skip_cursor_wrapper(connection):
            return fetch_on_driver(connection, statement.driver_sql, params)
        return fetch_rows(connection, statement.sql, params, prepare=prepared)

    @staticmethod
    def _convert(row, converters, connection) -> tuple:
        values = list(row)
        for pos, convs, expression in converters:
            value = values[pos]
            for converter in convs:
                value = converter(value, expression, connection)
            values[pos] = value
        return tuple(values)

    def _compile(self, names: list[str]) -> _Statement:
        part = _compile_part(self.build(**{name: _marker(name) for name in names}), names, self.using)
        driver_sql = _driver_sql(part.sql, self.using)
        self._statement = _Statement(part.sql, driver_sql, part.slots, part.converters)
        return self._statement


@dataclass(frozen=True)
class _Part:
    sql: str
    slots: tuple[str | tuple[Any], ...]
    converters: tuple[tuple[int, tuple, Any], ...]
    width: int


def _compile_part(queryset: QuerySet, names: list[str], using: str) -> _Part:
    """Compile `queryset` built with markers for `names`; find where each value goes among its parameters."""
    markers = {_marker(name): name for name in names}
    compiler = queryset.query.get_compiler(using=using)
    sql, params = compiler.as_sql()
    slots: list[str | tuple[Any]] = []
    for param in params:
        if isinstance(param, str) and param in markers:
            slots.append(markers[param])
        elif isinstance(param, str) and "\x00compiled:" in param:
            raise ValueError(f"CompiledSelect values must be compared as they are, not as {param!r}.")
        else:
            slots.append((param,))
    missing = set(names) - {slot for slot in slots if isinstance(slot, str)}
    if missing:
        raise ValueError(f"CompiledSelect values not found in the statement: {sorted(missing)}.")
    fields = [select[0] for select in compiler.select[: compiler.col_count]]
    converters = tuple((pos, tuple(convs), expr) for pos, (convs, expr) in compiler.get_converters(fields).items())
    return _Part(sql, tuple(slots), converters, compiler.col_count)


def _driver_sql(sql: str, using: str) -> str | None:
    if connections[using].vendor != "sqlite":
        return None
    return FORMAT_QMARK_REGEX.sub("?", sql).replace("%%", "%")


class CompiledLookUps:
    """Several values_list() querysets compiled once and run together as one statement.

    Each part is a derived table left-joined to a single row, so one round trip
    answers all of them; `rows(**values)` returns each part's rows by name. `parts`
    maps a name to a build function as CompiledSelect takes it; a value is passed to
    every part whose build function names it. A part's first column must never be
    NULL (select its key first): NULL there means the part found nothing. The
    statement's rows are the product of the parts' rows, so at most one part may
    return more than one row, and each part should be limited.
    """

    def __init__(
        self, parts: dict[str, Callable[..., QuerySet]], *, using: str = "default", prepared: bool = False
    ) -> None:
        self.parts = parts
        self.using = using
        self.prepared = prepared
        self._compiled: tuple[_Statement, tuple[tuple[str, int, int], ...]] | None = None

    def rows(self, **values: Any) -> dict[str, list[tuple]]:
        """Run the statement with `values`; return {part: its rows, converted as its queryset would}."""
        statement, spans = self._compiled or self._compile()
        params = [values[slot] if isinstance(slot, str) else slot[0] for slot in statement.slots]
        connection = connections[self.using]
        rows = CompiledSelect._fetch(connection, statement, params, prepared=self.prepared)
        found: dict[str, list[tuple]] = {name: [] for name, _, _ in spans}
        for row in rows:
            if statement.converters:
                row = CompiledSelect._convert(row, statement.converters, connection)
            for name, start, end in spans:
                part = tuple(row[start:end])
                if part[0] is not None and part not in found[name]:
                    found[name].append(part)
        return found

    def _compile(self) -> tuple[_Statement, tuple[tuple[str, int, int], ...]]:
        quote = connections[self.using].ops.quote_name
        joins, slots, converters, spans, start = [], [], [], [], 0
        for index, (name, build) in enumerate(self.parts.items()):
            names = list(inspect.signature(build).parameters)
            part = _compile_part(build(**{value: _marker(value) for value in names}), names, self.using)
            joins.append(f"LEFT JOIN ({part.sql}) AS {quote(f'part{index}')} ON 1 = 1")
            slots.extend(part.slots)
            converters.extend((start + pos, convs, expr) for pos, convs, expr in part.converters)
            spans.append((name, start, start + part.width))
            start += part.width
        columns = ", ".join(f"{quote(f'part{index}')}.*" for index in range(len(self.parts)))
        # Only the ORM's own statements and quoted aliases go into the text; values are parameters.
        sql = f"SELECT {columns} FROM (SELECT 1 AS {quote('one')}) AS {quote('single')} {' '.join(joins)}"  # noqa: S608
        statement = _Statement(sql, _driver_sql(sql, self.using), tuple(slots), tuple(converters))
        self._compiled = (statement, tuple(spans))
        return self._compiled
