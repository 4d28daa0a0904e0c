"""Database helpers shared by the apps."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

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
    raw = connection.connection
    (level,) = raw.execute("PRAGMA synchronous").fetchone()
    raw.execute("PRAGMA synchronous = NORMAL")
    try:
        with transaction.atomic():
            yield
    finally:
        raw.execute(f"PRAGMA synchronous = {int(level)}")
