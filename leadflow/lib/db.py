"""Database helpers shared by the apps."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from django.db import connection, transaction

_PLACEHOLDER = re.compile(r"%%|%s")


@contextmanager
def unsynced_transaction(*, relax: bool = True) -> Iterator[None]:
    """Open a transaction whose commit does not wait for the disk (when `relax` and not nested).

    For writes that come by the thousand a second and whose loss in a power cut is
    acceptable: a crash of the process loses nothing, a power cut can lose the last
    moments, and the database is never corrupted. PostgreSQL: `synchronous_commit = off`
    for this transaction; SQLite: `synchronous = NORMAL` around it (SQLite takes the
    level only outside a transaction, so it is put back afterwards).
    """
    if not relax or connection.in_atomic_block or connection.vendor not in {"sqlite", "postgresql"}:
        with transaction.atomic():
            yield
        return
    if connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit = off")
            yield
        return
    connection.ensure_connection()
    if getattr(connection, "wal_path", None) is not None:
        # Leadflow's SQLite backend already commits at NORMAL and syncs after the write lock; skip that sync.
        connection.unsynced = True
        try:
            with transaction.atomic():
                yield
        finally:
            connection.unsynced = False
        return
    raw = connection.connection
    (level,) = raw.execute("PRAGMA synchronous").fetchone()
    raw.execute("PRAGMA synchronous = NORMAL")
    try:
        with transaction.atomic():
            yield
    finally:
        raw.execute(f"PRAGMA synchronous = {int(level)}")


def may_skip_cursor_wrapper(connection) -> bool:
    """True when a hot statement may go straight to the SQLite driver.

    Django's SQLite cursor rewrites every `%s` of a statement with a regular
    expression on each call, which for a compiled look-up or a many-row INSERT costs
    more than the work itself. Only when no one records or wraps queries (debug
    logging, test assertions, the bench's timers), so they still see every statement.
    """
    return connection.vendor == "sqlite" and not connection.queries_logged and not connection.execute_wrappers


def fetch_on_driver(connection, sql: str, params: list[Any]) -> list[tuple]:
    """Run `sql` (written with `?` placeholders) on the SQLite driver; errors are raised as Django's."""
    connection.ensure_connection()
    connection.validate_no_broken_transaction()
    with connection.wrap_database_errors:
        return connection.connection.execute(sql, params).fetchall()


def fetch_rows(connection, sql: str, params: list[Any], *, prepare: bool = False) -> list[tuple]:
    """Run a statement (Django's text, `%s` placeholders) through the connection's cursor and return its rows.

    With `prepare`, on PostgreSQL, the statement is prepared on the connection the
    first time it runs, so the server parses and plans it once rather than on every
    call, and its values travel apart from the text. After five runs the server may
    keep one plan for every value, made with the statistics of that moment; the plan
    is made again when the statistics change (autovacuum's ANALYZE) or the connection
    is replaced (LEADFLOW_DB_CONN_MAX_AGE). Prepare only an INSERT of values or
    look-ups by equality on indexed columns, whose plan is an index look-up at any
    size; a plan made while a table is nearly empty may scan it until autovacuum next
    analyses it. Queries recorded or wrapped (debug logging, test assertions, the
    bench's timers) go the usual way, so they still see every statement.
    """
    with connection.cursor() as cursor:
        if not (prepare and _may_prepare(connection)):
            cursor.execute(sql, params)
            return cursor.fetchall()
        connection.validate_no_broken_transaction()
        with connection.wrap_database_errors, _prepared_cursor(connection) as prepared:
            prepared.execute(_numbered(sql), params, prepare=True)
            return prepared.fetchall()


def _may_prepare(connection) -> bool:
    """True on a PostgreSQL connection allowed to prepare statements (LEADFLOW_DB_PREPARED_STATEMENTS)."""
    return (
        connection.vendor == "postgresql"
        and connection.connection.prepare_threshold is not None
        and not connection.queries_logged
        and not connection.execute_wrappers
    )


def _prepared_cursor(connection):
    """A cursor sending values apart from the text, with `$1` placeholders, set up as Django sets its own."""
    import psycopg
    from django.db.backends.postgresql.base import TIMESTAMPTZ_OID
    from django.db.backends.postgresql.psycopg_any import register_tzloader
    from psycopg.pq import Format

    cursor = psycopg.RawCursor(connection.connection)
    loader = connection.connection.adapters.get_loader(TIMESTAMPTZ_OID, Format.TEXT)
    if connection.timezone != loader.timezone:
        register_tzloader(connection.timezone, cursor)
    return cursor


@cache
def _numbered(sql: str) -> str:
    """Django's statement text with PostgreSQL's own placeholders: `%s` as `$1`, `$2`..., `%%` as `%`."""
    numbers = itertools.count(1)
    return _PLACEHOLDER.sub(lambda match: "%" if match.group() == "%%" else f"${next(numbers)}", sql)
