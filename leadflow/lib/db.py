"""Database helpers shared by the apps."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection, transaction


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
