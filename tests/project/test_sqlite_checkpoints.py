"""A bulk writer's WAL is copied into the database beside its transactions, and starts over, bounded."""

from __future__ import annotations

import itertools
import os
import sqlite3

import pytest

from leadflow.lib.sqlite.checkpoints import WAIT_AT, checkpointing_in_background

THRESHOLD = 512 * 1024
ROWS_PER_TRANSACTION = 200


@pytest.fixture
def writer(tmp_path):
    raw = sqlite3.connect(tmp_path / "shop.sqlite3", isolation_level=None, check_same_thread=False)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("PRAGMA synchronous=NORMAL")
    raw.execute("PRAGMA journal_size_limit=67108864")
    raw.execute("CREATE TABLE leads (id INTEGER PRIMARY KEY AUTOINCREMENT, email TEXT, notes TEXT)")
    raw.execute("CREATE INDEX leads_email ON leads (email)")
    yield raw
    raw.close()


def write_transaction(raw: sqlite3.Connection, n: int) -> None:
    raw.execute("BEGIN IMMEDIATE")
    raw.executemany(
        "INSERT INTO leads (email, notes) VALUES (?, ?)",
        [(f"{n:06}-{row:04}@example.com", "x" * 200) for row in range(ROWS_PER_TRANSACTION)],
    )
    raw.execute("COMMIT")


def wal_bytes(raw: sqlite3.Connection) -> int:
    (file,) = [row[2] for row in raw.execute("PRAGMA database_list") if row[1] == "main"]
    return os.path.getsize(f"{file}-wal")


def test_the_wal_is_copied_beside_the_writer_and_starts_over_without_losing_a_row(writer, tmp_path):
    reader = sqlite3.connect(tmp_path / "shop.sqlite3", isolation_level=None)
    sizes, counts = [], []
    transactions = 120
    with checkpointing_in_background(writer, THRESHOLD) as checkpoints:
        assert checkpoints is not None
        for n in range(transactions):
            write_transaction(writer, n)
            checkpoints.after_commit(writer)
            sizes.append(wal_bytes(writer))
            counts.append(reader.execute("SELECT count(*) FROM leads").fetchone()[0])
    assert checkpoints.copies >= 3
    # The WAL started over (cut back to one transaction's frames) again and again, and stayed bounded: past
    # the threshold it held the transactions written while a copy was underway, and the writer waited for
    # a copy that fell behind.
    steps = [after - before for before, after in itertools.pairwise(sizes)]
    assert sum(1 for step in steps if step < 0) >= 3
    assert max(sizes) <= WAIT_AT * THRESHOLD + max(steps)
    # Every committed row was there for a reader at once, and is in the database file after a final copy.
    assert counts == [ROWS_PER_TRANSACTION * (n + 1) for n in range(transactions)]
    writer.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert reader.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert reader.execute("SELECT count(*) FROM leads").fetchone() == (ROWS_PER_TRANSACTION * transactions,)
    reader.close()


def test_the_writer_settings_are_put_back_afterwards(writer):
    before = [writer.execute(f"PRAGMA {name}").fetchone() for name in ("journal_size_limit", "wal_autocheckpoint")]
    with checkpointing_in_background(writer, THRESHOLD) as checkpoints:
        assert writer.execute("PRAGMA journal_size_limit").fetchone() == (0,)
        write_transaction(writer, 0)
        checkpoints.after_commit(writer)
    after = [writer.execute(f"PRAGMA {name}").fetchone() for name in ("journal_size_limit", "wal_autocheckpoint")]
    assert after == before


def test_a_database_in_memory_has_no_wal_to_copy():
    raw = sqlite3.connect(":memory:", isolation_level=None)
    with checkpointing_in_background(raw, THRESHOLD) as checkpoints:
        assert checkpoints is None
    raw.close()
