"""Compiled INSERT statements for hot write paths: one statement text per model, reused for every row.

`Model.save()` and `bulk_create()` compile their SQL and run every field's full
preparation chain on each call, and Django caps SQLite statements at 999 parameters
(24 rows of a 40-column table). A `RowInserter` works out once per model which fields
need a database conversion (dates, JSON, decimals) and which go in as they are, builds
the statement text once per row count, and inserts many rows per statement up to the
real parameter limit of the connection, reading the new primary keys back with
RETURNING (SQLite 3.35+, PostgreSQL) in the order the rows were given, as
`bulk_create` does. Model `save()` signals are not sent, as with `bulk_create`.

On SQLite a value that every row of a big statement shares (a NULL, a default, the
moment of the batch) is bound once and named by its number in every row: the driver
binds parameters one by one while holding the GIL, and most columns of a batch of new
rows are such values.

`InstanceBuilder` makes the unsaved instances such a path writes: every field's
value set at once, with each field's default where a value is not given, the way
Django makes an instance it unpickles (no keyword matching, no `__init__`).
"""

from __future__ import annotations

import concurrent.futures
import os
import sqlite3
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from itertools import chain
from operator import attrgetter, itemgetter
from typing import Any

from django.db import connections, models
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init

from leadflow.lib.db import fetch_on_driver, may_skip_cursor_wrapper

# Field classes whose Python value is what the database adapters take, on both backends.
PLAIN_FIELDS = (
    models.AutoField,
    models.BigAutoField,
    models.BigIntegerField,
    models.BooleanField,
    models.CharField,
    models.IntegerField,
    models.PositiveIntegerField,
    models.PositiveSmallIntegerField,
    models.SmallIntegerField,
    models.TextField,
)
PLAIN_EXCEPTIONS = (models.GenericIPAddressField,)
MAX_ROWS_PER_STATEMENT = 1000
# Row counts below a full statement go in whole hundreds, then powers of two (see statement_sizes).
ROUND_ROWS = 100
# How long a thread waits for the GIL before asking for it while inserts overlap Python work (default 5 ms).
OVERLAP_SWITCH_S = 0.0005
# Statements of at least this many rows bind the values all their rows share once (see driver_statement).
SHARED_FROM_ROWS = ROUND_ROWS
# Sets of shared columns kept per row count; a batch with yet another set binds every value.
MAX_SHARED_SHAPES = 2


class RowInserter:
    """Insert instances of one model with one compiled statement per batch size.

    `fields` names the concrete fields to write (default: every concrete field but an
    auto primary key); the primary key of each inserted instance is set from RETURNING.
    """

    def __init__(self, model: type[models.Model], *, fields: Sequence[str] | None = None, using: str = "default"):
        self.model = model
        self.using = using
        meta = model._meta
        chosen = (
            [meta.get_field(name) for name in fields]
            if fields
            else [
                field
                for field in meta.concrete_fields
                if not (field.primary_key and isinstance(field, models.AutoField))
            ]
        )
        self.fields = chosen
        self.attnames = [field.attname for field in chosen]
        self._statements: dict[tuple[int, str], str] = {}
        self._shared_statements: dict[tuple[int, tuple[int, ...]], str] = {}
        self._converters: list[Callable[[Any], Any] | None] | None = None
        self._conversions: list[tuple[int, Callable[[Any], Any]]] | None = None
        self._read = attrgetter(*self.attnames) if len(self.attnames) > 1 else _one_of(self.attnames)
        self._pre_save = [
            field for field in chosen if getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False)
        ]

    @property
    def connection(self):
        return connections[self.using]

    def insert(self, objs: Sequence[models.Model], *, values: Sequence[list[Any]] | None = None) -> None:
        """Insert `objs` (unsaved instances) and set their primary keys, in as few statements as fit.

        `values`, when given, holds each object's `values()` worked out earlier.
        """
        with self.inserting(objs, values=values):
            pass

    @contextmanager
    def inserting(self, objs: Sequence[models.Model], *, values: Sequence[list[Any]] | None = None) -> Iterator[None]:
        """Insert `objs` while the with-block runs; their primary keys are set when it ends.

        On SQLite, inside a transaction, a batch of several statements runs on the
        statement thread: the driver lets go of the GIL while SQLite executes a
        statement, so converting the next rows, and then the block's own Python work,
        run on the other core meanwhile. The statements run one at a time, in order.
        The block must not use the database connection: it is busy until the block ends.
        Elsewhere the rows are inserted before the block runs.
        """
        if not objs:
            yield
            return
        sizes = statement_sizes(len(objs), self.rows_per_statement())
        if len(sizes) == 1 or not self._on_driver():
            with self.connection.cursor() as cursor:
                for chunk, rows in self._chunks(objs, sizes, values):
                    self._set_keys(chunk, self._execute(cursor, rows))
            yield
            return
        connection = self.connection
        connection.ensure_connection()
        connection.validate_no_broken_transaction()
        raw, pool = connection.connection, statement_thread()
        running: list[tuple[Sequence[models.Model], concurrent.futures.Future]] = []
        # Each statement needs the GIL briefly to bind its values and to return; by default a thread waits
        # up to 5 ms for a busy GIL, longer than the work it would overlap.
        switch = sys.getswitchinterval()
        sys.setswitchinterval(OVERLAP_SWITCH_S)
        try:
            for chunk, rows in self._chunks(objs, sizes, values):
                sql, params = self.driver_statement(rows)
                running.append((chunk, pool.submit(_fetch_all, raw, sql, params)))
            yield
            for statement in running:
                self._set_keys(*_result(connection, statement))
        finally:
            sys.setswitchinterval(switch)
            # After an error, the statements underway end before anything else uses the connection.
            concurrent.futures.wait([future for _, future in running])

    def _on_driver(self) -> bool:
        # Outside a transaction the insert commits by itself: it goes through the cursor, which queues it
        # on the writer lock and waits for the disk.
        return self.connection.in_atomic_block and may_skip_cursor_wrapper(self.connection)

    def _chunks(
        self, objs: Sequence[models.Model], sizes: list[int], values: Sequence[list[Any]] | None
    ) -> Iterator[tuple[Sequence[models.Model], Sequence[list[Any]]]]:
        """Yield each statement's objects and their rows of values, `sizes` rows at a time."""
        start = 0
        for size in sizes:
            chunk = objs[start : start + size]
            rows = values[start : start + size] if values is not None else [self.values(obj) for obj in chunk]
            start += size
            yield chunk, rows

    def _set_keys(self, chunk: Sequence[models.Model], keys: list[tuple]) -> None:
        for obj, (pk,) in zip(chunk, keys, strict=True):
            obj.pk = pk
            obj._state.adding = False
            obj._state.db = self.using

    def _execute(self, cursor, rows: Sequence[list[Any]]) -> list[tuple]:
        """Insert `rows` (each object's values) with one statement and return the keys it read back."""
        if self._on_driver():
            return fetch_on_driver(self.connection, *self.driver_statement(rows))
        cursor.execute(self.statement(len(rows)), _flat(rows))
        return cursor.fetchall()

    def driver_statement(self, rows: Sequence[list[Any]]) -> tuple[str, list[Any]]:
        """Return the statement (`?` placeholders) that inserts `rows`, and its parameters.

        In a statement of SHARED_FROM_ROWS rows or more, a column whose value every row
        shares is bound once, as a numbered parameter (`?3`) that each row names.
        """
        count = len(rows)
        shared = self._shared_columns(rows) if count >= SHARED_FROM_ROWS else ()
        if not shared:
            return self.statement(count, placeholder="?"), _flat(rows)
        first = rows[0]
        params = [first[index] for index in shared]
        varying = [index for index in range(len(self.fields)) if index not in shared]
        if len(varying) == 1:
            params.extend(row[varying[0]] for row in rows)
        elif varying:
            params.extend(chain.from_iterable(map(itemgetter(*varying), rows)))
        return self._shared_statement(count, shared), params

    def _shared_columns(self, rows: Sequence[list[Any]]) -> tuple[int, ...]:
        """The positions of the columns whose value is the same in every row, unless the statement would be one
        text too many: MAX_SHARED_SHAPES sets of shared columns are kept per row count."""
        count = len(rows)
        shared = tuple(index for index, column in enumerate(zip(*rows, strict=True)) if _one_value(column, count))
        if (count, shared) in self._shared_statements:
            return shared
        if sum(1 for rows_of, _ in self._shared_statements if rows_of == count) >= MAX_SHARED_SHAPES:
            return ()
        return shared

    def _shared_statement(self, rows: int, shared: tuple[int, ...]) -> str:
        """The INSERT text for `rows` rows in which the `shared` columns name one parameter each."""
        sql = self._shared_statements.get((rows, shared))
        if sql is None:
            number = {index: position for position, index in enumerate(shared, 1)}
            width, next_number = len(self.fields), len(shared) + 1
            marks: list[str] = []
            for _ in range(rows):
                row = []
                for index in range(width):
                    if index in number:
                        row.append(f"?{number[index]}")
                    else:
                        row.append(f"?{next_number}")
                        next_number += 1
                marks.append("(" + ", ".join(row) + ")")
            sql = self._insert_text(", ".join(marks))
            self._shared_statements[rows, shared] = sql
        return sql

    def values(self, obj: models.Model) -> list[Any]:
        """Return `obj`'s column values, converted for this connection, in statement order."""
        for field in self._pre_save:
            field.pre_save(obj, add=True)
        row = list(self._read(obj))
        for index, convert in self.conversions():
            row[index] = convert(row[index])
        return row

    def conversions(self) -> list[tuple[int, Callable[[Any], Any]]]:
        """The position and conversion of each field whose value the database takes converted."""
        if self._conversions is None:
            self._conversions = [
                (index, convert) for index, convert in enumerate(self.converters()) if convert is not None
            ]
        return self._conversions

    def converters(self) -> list[Callable[[Any], Any] | None]:
        """Per field, None when the value goes in unchanged, else the field's conversion for this database."""
        if self._converters is None:
            connection = self.connection
            self._converters = [
                None
                if field.is_relation or (isinstance(field, PLAIN_FIELDS) and not isinstance(field, PLAIN_EXCEPTIONS))
                else _converter(field, connection)
                for field in self.fields
            ]
        return self._converters

    def rows_per_statement(self) -> int:
        """As many rows as the connection's parameter limit allows, at most MAX_ROWS_PER_STATEMENT."""
        return max(1, min(MAX_ROWS_PER_STATEMENT, parameter_limit(self.connection) // len(self.fields)))

    def statement(self, rows: int, *, placeholder: str = "%s") -> str:
        """The INSERT text for `rows` rows, built once per row count and placeholder style."""
        sql = self._statements.get((rows, placeholder))
        if sql is None:
            row = "(" + ", ".join([placeholder] * len(self.fields)) + ")"
            sql = self._statements[rows, placeholder] = self._insert_text(", ".join([row] * rows))
        return sql

    def _insert_text(self, values: str) -> str:
        """The INSERT of the rows `values` (their placeholders), reading back the new keys."""
        quote = self.connection.ops.quote_name
        columns = ", ".join(quote(field.column) for field in self.fields)
        table = quote(self.model._meta.db_table)
        returning = quote(self.model._meta.pk.column)
        # Only quoted model metadata and placeholders go into the text; values are parameters.
        return f"INSERT INTO {table} ({columns}) VALUES {values} RETURNING {returning}"  # noqa: S608


class InstanceBuilder:
    """Build unsaved instances of one model from attribute values, all fields set at once.

    Keyword construction matches each keyword against the model's fields and looks up
    each missing field's default, for every instance; this works out the fields and
    their defaults once. A field missing from the values gets its default (a callable
    default is called for each instance), as with keyword construction. When anything
    listens to the model's pre_init or post_init signal, instances go through
    `__init__` (by position) so the receivers run.
    """

    def __init__(self, model: type[models.Model]) -> None:
        self.model = model
        fields = model._meta.concrete_fields
        self._names = frozenset(field.attname for field in fields)
        self._fields = [
            (field.attname, field.get_default, True) if _default_per_instance(field) else
            (field.attname, field.get_default(), False)
            for field in fields
        ]  # fmt: skip
        # Every field's default in field order, a per-instance default's place held until it is made.
        self._defaults = {name: None if per_instance else default for name, default, per_instance in self._fields}
        self._per_instance = [(name, default) for name, default, per_instance in self._fields if per_instance]

    def build(self, values: Mapping[str, Any]) -> models.Model:
        """Return an unsaved instance with `values` (by attribute name: `owner_id`, not `owner`)."""
        model = self.model
        if not self._names.issuperset(values):
            unknown = ", ".join(sorted(set(values) - self._names))
            raise TypeError(f"{model.__name__} has no field with the attribute name {unknown}")
        if _listened(pre_init, model) or _listened(post_init, model):
            return model(
                *[
                    values[name] if name in values else default() if per_instance else default
                    for name, default, per_instance in self._fields
                ]
            )
        attributes = self._defaults.copy()
        attributes.update(values)
        for name, default in self._per_instance:
            if name not in values:
                attributes[name] = default()
        attributes["_state"] = ModelState()
        instance = model.__new__(model)
        instance.__dict__ = attributes
        return instance


_statement_threads: dict[int, concurrent.futures.ThreadPoolExecutor] = {}


def statement_thread() -> concurrent.futures.ThreadPoolExecutor:
    """Return this process's one thread for running SQLite statements beside Python work (a fork makes its own)."""
    pid = os.getpid()
    pool = _statement_threads.get(pid)
    if pool is None:
        _statement_threads.clear()
        pool = _statement_threads[pid] = concurrent.futures.ThreadPoolExecutor(1, "leadflow-statements")
    return pool


def _one_value(column: tuple, count: int) -> bool:
    """True when the `count` values of `column` all bind as the same value: equal and of one type."""
    first = column[0]
    if column.count(first) != count:
        return False
    # Text equals only text, None only None; numbers of different types can be equal (1 == 1.0 == True).
    return first is None or type(first) is str or len(set(map(type, column))) == 1


def _flat(rows: Sequence[list[Any]]) -> list[Any]:
    params: list[Any] = []
    for row in rows:
        params.extend(row)
    return params


def _fetch_all(raw, sql: str, params: list[Any]) -> list[tuple]:
    return raw.execute(sql, params).fetchall()


def _result(connection, running: tuple) -> tuple:
    chunk, future = running
    with connection.wrap_database_errors:
        return chunk, future.result()


def _listened(signal, model: type[models.Model]) -> bool:
    # An empty list of receivers answers at once; has_listeners() looks the model up in a weak cache.
    return bool(signal.receivers) and signal.has_listeners(model)


def _default_per_instance(field: models.Field) -> bool:
    """True when each instance needs its own default: a callable's, or the database's."""
    return (field.has_default() and callable(field.default)) or field.has_db_default()


def _one_of(attnames: list[str]) -> Callable[[Any], tuple]:
    (name,) = attnames

    def read(obj: Any) -> tuple:
        return (getattr(obj, name),)

    return read


def statement_sizes(rows: int, per_statement: int) -> list[int]:
    """Split `rows` into full statements, then whole hundreds, then powers of two.

    1,270 rows, 1,000 to a statement, go as 1,000, 200, 64, 4 and 2.

    The driver keeps each statement text it compiles (SQLite's 128 most recent), and a
    compiled statement of hundreds of rows of a wide table takes megabytes: a text for
    every row count would fill that cache with hundreds of megabytes. These sizes need
    at most 17 texts per model, and sizes of SHARED_FROM_ROWS rows or more up to
    MAX_SHARED_SHAPES more each (see driver_statement).
    """
    sizes = [per_statement] * (rows // per_statement)
    rest = rows % per_statement
    if rest >= ROUND_ROWS:
        sizes.append(rest - rest % ROUND_ROWS)
        rest %= ROUND_ROWS
    while rest:
        size = 1 << (rest.bit_length() - 1)
        sizes.append(size)
        rest -= size
    return sizes


def _converter(field: models.Field, connection) -> Callable[[Any], Any]:
    """Return the field's conversion for this database, taking the adapter's path for the usual values.

    NULL stays NULL. An aware datetime and a dict or list for JSON go straight to the
    backend's adapter, as the field's own chain would send them; any other value takes
    that whole chain.
    """
    if isinstance(field, models.DateTimeField):
        adapt_datetime = connection.ops.adapt_datetimefield_value
        # Rows written together mostly carry the same moment: the last one converted is kept.
        last: list[Any] = [None, None]

        def convert_datetime(value: Any) -> Any:
            if value is None:
                return None
            if value is last[0]:
                return last[1]
            if isinstance(value, datetime) and value.utcoffset() is not None:
                last[:] = value, adapt_datetime(value)
                return last[1]
            return field.get_db_prep_save(value, connection)

        return convert_datetime
    if isinstance(field, models.JSONField):
        adapt_json, encoder = connection.ops.adapt_json_value, field.encoder
        # Most rows leave their custom fields and the like empty: those are converted once.
        empty = {dict: adapt_json({}, encoder), list: adapt_json([], encoder)}

        def convert_json(value: Any) -> Any:
            if value is None:
                return None
            kind = type(value)
            if kind is dict or kind is list:
                return adapt_json(value, encoder) if value else empty[kind]
            return field.get_db_prep_save(value, connection)

        return convert_json

    def convert(value: Any) -> Any:
        return field.get_db_prep_save(value, connection)

    return convert


def parameter_limit(connection) -> int:
    """How many parameters one statement may carry on `connection`."""
    if connection.vendor == "sqlite":
        connection.ensure_connection()
        return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    if connection.vendor == "postgresql":
        return 65_535
    return connection.features.max_query_params or 999
