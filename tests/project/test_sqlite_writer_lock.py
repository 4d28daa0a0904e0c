"""Leadflow's SQLite backend: writers from many processes queue on a lock file and none is lost."""

from __future__ import annotations

import multiprocessing
import sqlite3
import threading
import time

import pytest
from django.db import OperationalError

from leadflow.lib.sqlite import base as sqlite_base
from leadflow.lib.sqlite.base import DatabaseWrapper, WriterLock

OPTIONS = {"transaction_mode": "IMMEDIATE", "timeout": 5, "init_command": "PRAGMA journal_mode=WAL;"}
DURABLE = "PRAGMA journal_mode=WAL;PRAGMA synchronous=FULL;"


def wrapper(path, timeout: float = 5, init_command: str = OPTIONS["init_command"]) -> DatabaseWrapper:
    options = {**OPTIONS, "timeout": timeout, "init_command": init_command}
    return DatabaseWrapper(
        {
            "NAME": str(path), "ENGINE": "leadflow.lib.sqlite", "OPTIONS": options,
            "TIME_ZONE": None, "CONN_MAX_AGE": 0, "CONN_HEALTH_CHECKS": False, "AUTOCOMMIT": True,
            "ATOMIC_REQUESTS": False, "USER": "", "PASSWORD": "", "HOST": "", "PORT": "", "TEST": {},
        },
        alias="lock-test",
    )  # fmt: skip


@pytest.fixture(autouse=True)
def own_connections(django_db_blocker):
    # These tests open their own connections to their own file, not the test database.
    with django_db_blocker.unblock():
        yield


@pytest.fixture
def database(tmp_path):
    path = tmp_path / "shop.sqlite3"
    raw = sqlite3.connect(path)
    raw.execute("PRAGMA journal_mode=WAL")
    raw.execute("CREATE TABLE posts (id INTEGER PRIMARY KEY AUTOINCREMENT, writer INTEGER, n INTEGER)")
    raw.close()
    return path


def _write_many(path, writer: int, count: int, start) -> None:
    start.wait()
    connection = wrapper(path)
    for n in range(count):
        if n % 2:
            with _atomic(connection):
                connection.cursor().execute("INSERT INTO posts (writer, n) VALUES (%s, %s)", [writer, n])
        else:
            cursor = connection.cursor()
            cursor.execute("INSERT INTO posts (writer, n) VALUES (%s, %s) RETURNING id", [writer, n])
            assert cursor.fetchone()[0] > 0
    connection.close()


class _atomic:
    """A transaction on one wrapper, as Django's atomic() opens and ends it."""

    def __init__(self, connection) -> None:
        self.connection = connection

    def __enter__(self):
        self.connection.set_autocommit(False, force_begin_transaction_with_broken_autocommit=True)

    def __exit__(self, kind, value, traceback):
        if kind is None:
            self.connection.commit()
        else:
            self.connection.rollback()
        self.connection.set_autocommit(True)


def test_writers_in_four_processes_all_land_without_a_locked_error(database):
    context = multiprocessing.get_context("fork")
    start = context.Event()
    workers = [context.Process(target=_write_many, args=(database, writer, 150, start)) for writer in range(4)]
    for worker in workers:
        worker.start()
    start.set()
    for worker in workers:
        worker.join(60)
    assert [worker.exitcode for worker in workers] == [0, 0, 0, 0]
    raw = sqlite3.connect(database)
    counts = dict(raw.execute("SELECT writer, COUNT(DISTINCT n) FROM posts GROUP BY writer").fetchall())
    assert counts == {0: 150, 1: 150, 2: 150, 3: 150}


def test_the_lock_is_held_from_begin_to_commit_or_rollback_only(database):
    connection = wrapper(database)
    probe = WriterLock(f"{database}-writer", timeout=0.05)
    with _atomic(connection):
        connection.cursor().execute("INSERT INTO posts (writer, n) VALUES (1, 1)")
        with pytest.raises(OperationalError, match="database is locked"):
            probe.take()
    probe.take()
    probe.release()
    with pytest.raises(ValueError), _atomic(connection):
        connection.cursor().execute("INSERT INTO posts (writer, n) VALUES (1, 2)")
        raise ValueError("the request failed halfway")
    probe.take()
    probe.release()
    assert sqlite3.connect(database).execute("SELECT n FROM posts").fetchall() == [(1,)]
    connection.close()


def test_a_writer_waits_its_timeout_then_gets_a_clear_error_and_nothing_is_written(database):
    holder = WriterLock(f"{database}-writer", timeout=1)
    holder.take()
    connection = wrapper(database, timeout=0.3)
    started = time.monotonic()
    locked = pytest.raises(OperationalError, match=r"another writer held .*shop.sqlite3-writer for 0.3 s")
    with locked, _atomic(connection):
        connection.cursor().execute("INSERT INTO posts (writer, n) VALUES (1, 1)")
    assert 0.3 <= time.monotonic() - started < 2
    holder.release()
    with _atomic(connection):
        connection.cursor().execute("INSERT INTO posts (writer, n) VALUES (1, 2)")
    assert sqlite3.connect(database).execute("SELECT n FROM posts").fetchall() == [(2,)]
    connection.close()


def test_rows_of_a_write_outside_a_transaction_are_all_read_back(database):
    connection = wrapper(database)
    cursor = connection.cursor()
    cursor.execute("INSERT INTO posts (writer, n) VALUES (1, 1), (1, 2), (1, 3) RETURNING n")
    assert cursor.fetchone() == (1,)
    assert cursor.fetchmany(1) == [(2,)]
    assert cursor.fetchall() == [(3,)]
    cursor.execute("SELECT n FROM posts ORDER BY n")
    assert [row for row in cursor] == [(1,), (2,), (3,)]
    connection.close()


def test_a_forked_child_closing_its_copy_does_not_free_the_parents_lock(database):
    connection = wrapper(database)
    probe = WriterLock(f"{database}-writer", timeout=0.05)
    with _atomic(connection):
        # A child forked mid-transaction (the import's cleaning process) lets go of its copy of the lock.
        child = multiprocessing.get_context("fork").Process(target=connection.writer.close)
        child.start()
        child.join(10)
        assert child.exitcode == 0
        with pytest.raises(OperationalError):
            probe.take()
    probe.take()
    probe.release()
    connection.close()


def _writes_in_threads(threads: int, each: int) -> list[BaseException]:
    from django.db import connection as thread_connection
    from django.db import transaction

    from leadflow.leads.models import Company

    start, errors = threading.Barrier(threads), []

    def write(n: int) -> None:
        try:
            start.wait()
            for k in range(each):
                with transaction.atomic():
                    Company.objects.create(name=f"Thread {n} company {k}", domain=f"t{n}-{k}.example")
        except BaseException as error:
            errors.append(error)
        finally:
            thread_connection.close()

    workers = [threading.Thread(target=write, args=(n,)) for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join(60)
    return errors


@pytest.mark.django_db(transaction=True)
def test_threads_writing_to_one_database_at_once_all_land(own_connections):
    from leadflow.leads.models import Company

    assert _writes_in_threads(4, 25) == []
    assert Company.objects.filter(name__startswith="Thread ").count() == 100


@pytest.fixture
def syncs(monkeypatch, database):
    """Record each sync of the WAL, and whether another writer could take the lock while it ran."""
    done: list[tuple[str, bool]] = []
    real_sync = sqlite_base.sync_file

    def sync(path: str) -> None:
        probe = WriterLock(f"{database}-writer", timeout=0)
        try:
            probe.take()
        except OperationalError:
            lock_free = False
        else:
            lock_free = True
            probe.release()
        done.append((path, lock_free))
        real_sync(path)

    monkeypatch.setattr(sqlite_base, "sync_file", sync)
    return done


def test_a_durable_commit_waits_for_the_disk_after_letting_the_next_writer_in(database, syncs):
    connection = wrapper(database, init_command=DURABLE)
    with _atomic(connection):
        connection.cursor().execute("INSERT INTO posts (writer, n) VALUES (1, 1)")
    assert syncs == [(f"{database}-wal", True)]
    # The commit itself did not wait for the disk under the lock: that is the sync above.
    assert connection.cursor().execute("PRAGMA synchronous").fetchone() == (1,)
    cursor = connection.cursor()
    cursor.execute("INSERT INTO posts (writer, n) VALUES (1, 2) RETURNING id")
    assert cursor.fetchone()[0] == 2
    assert len(syncs) == 2 and syncs[-1][1]
    with _atomic(connection):
        connection.cursor().execute("SELECT count(*) FROM posts").fetchone()
    assert len(syncs) == 2, "a transaction that changed nothing has nothing to wait for"
    connection.close()


def test_an_unsynced_transaction_and_a_database_asking_for_less_skip_the_sync(database, syncs):
    connection = wrapper(database, init_command=DURABLE)
    connection.unsynced = True
    with _atomic(connection):
        connection.cursor().execute("INSERT INTO posts (writer, n) VALUES (1, 1)")
    connection.unsynced = False
    assert syncs == []
    connection.close()
    relaxed = wrapper(database, init_command="PRAGMA journal_mode=WAL;PRAGMA synchronous=NORMAL;")
    with _atomic(relaxed):
        relaxed.cursor().execute("INSERT INTO posts (writer, n) VALUES (1, 2)")
    assert syncs == [] and relaxed.wal_path is None
    relaxed.close()
    assert sqlite3.connect(database).execute("SELECT n FROM posts").fetchall() == [(1,), (2,)]
