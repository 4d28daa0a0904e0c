"""Bulk loading: executemany in big transactions on SQLite, COPY on PostgreSQL, indexes built afterwards."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable, Sequence

from bench.database import Database, log

BULK_TABLES = ("leads_lead", "leads_timelineevent")


class SqliteLoader:
    """Load with durability relaxed (synchronous=OFF, no journal); WAL and statistics restored at the end."""

    def __init__(self, db: Database) -> None:
        self.conn = sqlite3.connect(db.path, isolation_level=None)
        self.indexes: list[tuple[str, str]] = []

    def begin(self) -> None:
        c = self.conn
        for pragma in (
            "journal_mode=OFF",
            "synchronous=OFF",
            "cache_size=-1048576",
            "temp_store=MEMORY",
            "locking_mode=EXCLUSIVE",
            "foreign_keys=OFF",
        ):
            c.execute(f"PRAGMA {pragma}")
        tables = ",".join(f"'{table}'" for table in BULK_TABLES)
        self.indexes = c.execute(
            f"SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ({tables})"
        ).fetchall()
        for name, _ in self.indexes:
            c.execute(f'DROP INDEX "{name}"')
        c.execute("BEGIN")

    def write(self, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
        marks = ",".join("?" * len(columns))
        self.conn.executemany(f'INSERT INTO "{table}" ({",".join(columns)}) VALUES ({marks})', rows)

    def commit(self) -> None:
        self.conn.execute("COMMIT")
        self.conn.execute("BEGIN")

    def finish(self) -> dict[str, float]:
        """Build the dropped indexes, restore WAL and gather statistics; return seconds per step."""
        c, timings = self.conn, {}
        c.execute("COMMIT")
        started = time.perf_counter()
        for name, sql in self.indexes:
            log(f"bench: building index {name}")
            c.execute(sql)
        timings["indexes_s"] = time.perf_counter() - started
        started = time.perf_counter()
        c.execute("PRAGMA locking_mode=NORMAL")
        c.execute("PRAGMA journal_mode=WAL")
        log("bench: ANALYZE")
        c.execute("ANALYZE")
        timings["analyze_s"] = time.perf_counter() - started
        c.close()
        return timings


class PostgresLoader:
    """Load with COPY, foreign-key triggers off for the session, indexes and statistics built afterwards."""

    def __init__(self, db: Database) -> None:
        import psycopg

        self.conn = psycopg.connect(db.url)
        self.indexes: list[tuple[str, str]] = []

    def begin(self) -> None:
        c = self.conn
        # The rows reference only rows loaded before them, so skipping the per-row FK triggers loses no check.
        c.execute("SET session_replication_role = replica")
        c.execute("SET maintenance_work_mem = '1GB'")
        c.execute("SET synchronous_commit = off")
        c.execute("SET TIME ZONE 'UTC'")
        self.indexes = c.execute(
            """
            SELECT i.relname, pg_get_indexdef(i.oid)
            FROM pg_index x
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_class t ON t.oid = x.indrelid
            WHERE t.relname = ANY(%s)
              AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid)
            """,
            [list(BULK_TABLES)],
        ).fetchall()
        for name, _ in self.indexes:
            c.execute(f'DROP INDEX "{name}"')

    def write(self, table: str, columns: Sequence[str], rows: Iterable[tuple]) -> None:
        with self.conn.cursor() as cur, cur.copy(f'COPY "{table}" ({",".join(columns)}) FROM STDIN') as copy:
            for row in rows:
                copy.write_row(row)

    def commit(self) -> None:
        self.conn.commit()

    def finish(self) -> dict[str, float]:
        c, timings = self.conn, {}
        c.commit()
        started = time.perf_counter()
        c.execute("SET max_parallel_maintenance_workers = 2")
        for name, sql in self.indexes:
            log(f"bench: building index {name}")
            c.execute(sql)
        for table in ("leads_lead", "leads_company"):
            c.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT max(id) FROM {table}))")
        c.commit()
        timings["indexes_s"] = time.perf_counter() - started
        started = time.perf_counter()
        c.autocommit = True
        log("bench: VACUUM ANALYZE")
        c.execute("VACUUM ANALYZE")
        timings["analyze_s"] = time.perf_counter() - started
        c.close()
        return timings


def loader_for(db: Database) -> SqliteLoader | PostgresLoader:
    return PostgresLoader(db) if db.vendor == "postgres" else SqliteLoader(db)
