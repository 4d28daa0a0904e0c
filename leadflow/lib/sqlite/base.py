"""Django's SQLite backend, with writers queued on a lock that hands over at once.

SQLite lets one connection write at a time. A connection that finds the write lock
taken waits in SQLite's busy handler, which sleeps 1, 2, 5, 10, ... up to 100 ms
between tries: with several processes writing (web workers, the worker's lanes),
a post that meets one other writer wakes up long after the lock came free, and
the disk and CPUs sit idle meanwhile.

Here every transaction first takes an advisory `flock` on a file beside the
database (`<database>-writer`), then BEGIN IMMEDIATE, and lets it go after COMMIT or
ROLLBACK; a write statement outside a transaction holds it for that statement.
Writers therefore queue on the lock file, and the next one goes on within a
millisecond of the last commit. SQLite's own locking is untouched and still
guarantees correctness: a program that does not use this backend simply waits in
SQLite's busy handler as before.

A database set to `synchronous = FULL` in WAL mode (Leadflow's) waits for the disk
on every commit, while it holds the write lock: a fifth of a millisecond here, most
of a form post's time under the lock. This backend keeps the same promise, that a
transaction is on disk when its commit returns, with the disk wait outside the lock:
the connection runs at `synchronous = NORMAL` (the WAL is written at commit and
synced at checkpoints) and, once the lock is let go, syncs the WAL file itself
before the commit returns. The WAL is appended in order, so the sync also covers
every commit before it; frames a checkpoint has already copied were synced to the
database file by that checkpoint. Other writers append and commit meanwhile, and
concurrent syncs of one file share the disk's flush.

The wait for the lock file is bounded by the same timeout as SQLite's (`timeout`).
An in-memory database (the tests') lives in one process, whose threads share it:
there SQLite refuses a second writer at once instead of waiting, so its writers
queue on a lock in memory instead of a file.
"""

from __future__ import annotations

import fcntl
import itertools
import os
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

from django.db import OperationalError
from django.db.backends.sqlite3 import base

# A waiting writer tries the lock file every 0.1 ms for its first 20 ms (a transaction
# of a web request takes well under a millisecond), then every millisecond.
SHORT_PAUSE_S, SHORT_WAIT_S, LONG_PAUSE_S = 0.0001, 0.02, 0.001


WRITES = ("INSERT", "UPDATE", "DELETE", "REPLAC")
FULL = 2
_MEMORY_LOCKS: dict[str, threading.Lock] = {}
_MEMORY_LOCKS_LOCK = threading.Lock()


def memory_lock(name: str) -> threading.Lock:
    """Return the lock the writers of in-memory database `name` queue on in this process."""
    with _MEMORY_LOCKS_LOCK:
        return _MEMORY_LOCKS.setdefault(name, threading.Lock())


def wal_to_sync(raw, database: str) -> str | None:
    """Return the WAL file to sync after each commit, switching `raw` to NORMAL; None to leave it as it is.

    Only a WAL database set to FULL (or EXTRA) is changed: one that asked for less
    durability keeps it.
    """
    (mode,) = raw.execute("PRAGMA journal_mode").fetchone()
    (level,) = raw.execute("PRAGMA synchronous").fetchone()
    if str(mode).lower() != "wal" or int(level) < FULL:
        return None
    raw.execute("PRAGMA synchronous = NORMAL")
    return f"{database}-wal"


def sync_file(path: str) -> None:
    """Wait until what was written to `path` is on disk; a file that is gone was checkpointed and removed."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        return
    try:
        os.fdatasync(fd)
    finally:
        os.close(fd)


class WriterLock:
    """The lock file one connection queues on before it writes; see the module's text."""

    def __init__(self, path: str | None, timeout: float) -> None:
        self.path, self.timeout = path, timeout
        self.in_memory: threading.Lock | None = None
        self._fd: int | None = None
        self._pid: int | None = None
        self._holding_in_memory = False

    def take(self) -> None:
        if self.in_memory is not None:
            if not self.in_memory.acquire(timeout=self.timeout):
                raise OperationalError(f"database is locked: another writer held it for {self.timeout:g} s")
            self._holding_in_memory = True
            return
        if self.path is None:
            return
        if self._fd is None:
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        started = time.monotonic()
        while True:
            try:
                fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError as busy:
                waited = time.monotonic() - started
                if waited >= self.timeout:
                    message = f"database is locked: another writer held {self.path} for {self.timeout:g} s"
                    raise OperationalError(message) from busy
                time.sleep(SHORT_PAUSE_S if waited < SHORT_WAIT_S else LONG_PAUSE_S)
                continue
            self._pid = os.getpid()
            return

    def release(self) -> None:
        if self._holding_in_memory:
            self._holding_in_memory = False
            self.in_memory.release()
        # A forked child inherits the parent's lock; only the process that took it lets it go.
        if self._pid is not None and self._pid == os.getpid() and self._fd is not None:
            fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._pid = None

    @contextmanager
    def held(self) -> Iterator[None]:
        self.take()
        try:
            yield
        finally:
            self.release()

    def close(self) -> None:
        self.release()
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


class LockingCursor(base.SQLiteCursorWrapper):
    """Django's SQLite cursor; a write outside a transaction queues on the writer lock first.

    Such a write's rows (INSERT ... RETURNING) are read before the lock is let go:
    SQLite holds its own write lock until the statement has returned every row, and
    the next writer would otherwise find it taken and sleep in the busy handler.
    """

    writer: WriterLock
    database: DatabaseWrapper
    _rows: Iterator | None = None

    def _writes_alone(self, query: str) -> bool:
        """True for a write statement outside a transaction, which must queue on the lock by itself."""
        return not self.connection.in_transaction and query.lstrip()[:6].upper() in WRITES

    def execute(self, query, params=None):
        self._rows = None
        if not self._writes_alone(query):
            return super().execute(query, params)
        with self.writer.held():
            super().execute(query, params)
            if self.description is not None:
                self._rows = iter(super().fetchall())
        self.database.sync_wal()
        return self

    def executemany(self, query, param_list):
        self._rows = None
        if not self._writes_alone(query):
            return super().executemany(query, param_list)
        with self.writer.held():
            super().executemany(query, param_list)
        self.database.sync_wal()
        return self

    def fetchone(self):
        if self._rows is None:
            return super().fetchone()
        return next(self._rows, None)

    def fetchmany(self, size=None):
        if self._rows is None:
            return super().fetchmany(self.arraysize if size is None else size)
        return list(itertools.islice(self._rows, self.arraysize if size is None else size))

    def fetchall(self):
        if self._rows is None:
            return super().fetchall()
        return list(self._rows)

    def __next__(self):
        if self._rows is None:
            return super().__next__()
        return next(self._rows)


class DatabaseWrapper(base.DatabaseWrapper):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.writer = WriterLock(None, float(self.settings_dict["OPTIONS"].get("timeout", 5)))
        self._cursor_class = type("LockingCursor", (LockingCursor,), {"writer": self.writer, "database": self})
        # The WAL file synced after each commit that changed something (see the module's text).
        self.wal_path: str | None = None
        # Set while committing transactions that may skip the sync (leadflow.lib.db.unsynced_transaction).
        self.unsynced = False
        self._synced_changes = 0

    def get_new_connection(self, conn_params):
        # The database may change after start-up (the test runner's): the lock file follows it.
        self.writer.close()
        in_memory = self.is_in_memory_db()
        self.writer.path = None if in_memory else f"{conn_params['database']}-writer"
        self.writer.in_memory = memory_lock(conn_params["database"]) if in_memory else None
        raw = super().get_new_connection(conn_params)
        self.wal_path = None if in_memory else wal_to_sync(raw, conn_params["database"])
        self._synced_changes = raw.total_changes
        return raw

    def sync_wal(self) -> None:
        """After a commit, outside the lock: wait for the disk if anything changed since the last sync."""
        if self.wal_path is None or self.connection is None:
            return
        changes = self.connection.total_changes
        if changes == self._synced_changes:
            return
        if not self.unsynced:
            with self.wrap_database_errors:
                sync_file(self.wal_path)
        self._synced_changes = changes

    def create_cursor(self, name=None):
        return self.connection.cursor(factory=self._cursor_class)

    def _start_transaction_under_autocommit(self) -> None:
        self.writer.take()
        try:
            super()._start_transaction_under_autocommit()
        except BaseException:
            self.writer.release()
            raise

    def _commit(self) -> None:
        try:
            super()._commit()
        finally:
            self.writer.release()
        self.sync_wal()

    def _rollback(self) -> None:
        try:
            return super()._rollback()
        finally:
            self.writer.release()

    def _close(self) -> None:
        try:
            return super()._close()
        finally:
            self.writer.close()
