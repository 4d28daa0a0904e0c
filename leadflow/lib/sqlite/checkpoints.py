"""Copy a busy writer's WAL into the database on a second connection, while the writer goes on writing.

A checkpoint copies the pages the WAL holds into the database file. Run by the
writer (SQLite's automatic checkpoint, at the commit that crosses the limit), it
stops the writer for as long as the copy takes: a third of a second or more for a
few hundred megabytes. In WAL mode a PASSIVE checkpoint may run on another
connection beside the writer's transactions: it copies the frames committed when it
started and leaves the newer ones. The writer does not wait for it; it only has to
copy, itself, the frames it committed meanwhile, so that its next transaction finds
the whole WAL copied and starts the WAL over from its beginning.

`BackgroundCheckpoints.after_commit` is called by the writer between transactions:

- with no copy underway and the WAL past `threshold_bytes`: a copy starts in the
  background thread;
- with a copy finished: the writer copies what it wrote meanwhile (one or two
  transactions' frames), and its next transaction starts the WAL over.

Should a copy fall behind (the machine busy with other work), the writer waits for it
once the WAL reaches `WAIT_AT` times the threshold, so the WAL stays bounded. The WAL's
size tells how much it holds only when it is cut back when it starts over, so the
writer's connection is set to `journal_size_limit = 0` meanwhile (see
`checkpointing_in_background`), and its own automatic checkpoint to twice that bound.
"""

from __future__ import annotations

import concurrent.futures
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager

# The WAL size, in multiples of the threshold, at which the writer waits for a copy underway.
WAIT_AT = 4


class BackgroundCheckpoints:
    """Checkpoints of database `path` on a connection of their own, in a thread, started between transactions."""

    def __init__(self, path: str, threshold_bytes: int, *, timeout_s: float = 20.0) -> None:
        self.path, self.wal = path, f"{path}-wal"
        self.threshold_bytes, self.timeout_s = threshold_bytes, timeout_s
        self._pool = concurrent.futures.ThreadPoolExecutor(1, "leadflow-checkpoints")
        self._connection: sqlite3.Connection | None = None
        self._running: concurrent.futures.Future | None = None
        self.copies = 0

    def after_commit(self, writer: sqlite3.Connection) -> None:
        """Between the writer's transactions: start a copy, or finish one (waiting for it at the bound), or nothing."""
        if self._running is not None:
            if not self._running.done() and self._wal_bytes() < WAIT_AT * self.threshold_bytes:
                return
            running, self._running = self._running, None
            running.result()
            writer.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            self.copies += 1
            return
        if self._wal_bytes() >= self.threshold_bytes:
            self._running = self._pool.submit(self._copy)

    def close(self) -> None:
        """Wait for a copy underway, and close the connection it used."""
        running, self._running = self._running, None
        if running is not None:
            concurrent.futures.wait([running])
        self._pool.submit(self._close).result()
        self._pool.shutdown()

    def _wal_bytes(self) -> int:
        try:
            return os.path.getsize(self.wal)
        except FileNotFoundError:
            return 0

    def _copy(self) -> None:
        if self._connection is None:
            self._connection = sqlite3.connect(self.path, timeout=self.timeout_s, isolation_level=None)
        self._connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()

    def _close(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None


def database_file(raw: sqlite3.Connection) -> str:
    """Return the file of `raw`'s main database; '' for one in memory."""
    for _, name, file in raw.execute("PRAGMA database_list").fetchall():
        if name == "main":
            return file or ""
    return ""


@contextmanager
def checkpointing_in_background(
    raw: sqlite3.Connection, threshold_bytes: int
) -> Iterator[BackgroundCheckpoints | None]:
    """Set the writer `raw` (in WAL mode, between transactions) for background checkpoints; put it back after.

    Yields the BackgroundCheckpoints whose `after_commit` the writer calls after each
    transaction, or None for a database without a WAL file (in memory, or another mode).
    """
    (mode,) = raw.execute("PRAGMA journal_mode").fetchone()
    path = database_file(raw)
    if str(mode).lower() != "wal" or not path:
        yield None
        return
    (limit,) = raw.execute("PRAGMA journal_size_limit").fetchone()
    (pages,) = raw.execute("PRAGMA wal_autocheckpoint").fetchone()
    (page_size,) = raw.execute("PRAGMA page_size").fetchone()
    raw.execute("PRAGMA journal_size_limit = 0")
    raw.execute(f"PRAGMA wal_autocheckpoint = {2 * WAIT_AT * threshold_bytes // int(page_size)}")
    checkpoints = BackgroundCheckpoints(path, threshold_bytes)
    try:
        yield checkpoints
    finally:
        checkpoints.close()
        raw.execute(f"PRAGMA journal_size_limit = {int(limit)}")
        raw.execute(f"PRAGMA wal_autocheckpoint = {int(pages)}")
