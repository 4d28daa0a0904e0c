"""Real sending processes killed with SIGKILL, and two at once: each message reaches the server exactly once."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import pytest
from django.db import connection

from tests.smtp import SmtpSink

ROOT = Path(__file__).resolve().parents[2]
LEASE = 2
# On PostgreSQL the sending processes use the test database, so what the tests write must be committed.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="session")
def migrated_sqlite(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("mail-crash") / "template.sqlite3"
    env = {**os.environ, "LEADFLOW_SQLITE_PATH": str(path)}
    env.pop("DATABASE_URL", None)
    subprocess.run(
        [sys.executable, "-m", "django", "migrate", "-v0", "--settings=leadflow.settings"],
        cwd=ROOT,
        env=env,
        check=True,
        timeout=300,
    )
    return path


@pytest.fixture
def worker_env(tmp_path, migrated_sqlite):
    """The environment of a sending process: the test database on PostgreSQL, a file of its own on SQLite."""
    if connection.vendor == "postgresql":
        db = connection.settings_dict
        url = f"postgres://{db['USER']}:{db['PASSWORD']}@{db['HOST']}:{db['PORT']}/{db['NAME']}"
        env = {**os.environ, "DATABASE_URL": url}
    else:
        path = tmp_path / "mail.sqlite3"
        shutil.copy(migrated_sqlite, path)
        env = {**os.environ, "LEADFLOW_SQLITE_PATH": str(path)}
        env.pop("DATABASE_URL", None)
    sink = SmtpSink().start()
    env.update(
        LEADFLOW_SMTP_HOST="127.0.0.1",
        LEADFLOW_SMTP_PORT=str(sink.port),
        LEADFLOW_SMTP_STARTTLS="false",
        LEADFLOW_EMAIL_BACKEND="django.core.mail.backends.smtp.EmailBackend",
        LEADFLOW_MAIL_LEASE_SECONDS=str(LEASE),
        LEADFLOW_MAIL_BATCH="40",
        LEADFLOW_MAIL_CONNECTIONS="5",
        DJANGO_SETTINGS_MODULE="leadflow.settings",
    )
    env["sink"] = sink  # type: ignore[assignment]
    yield env
    sink.stop()


def _run(env: dict, *args: str) -> str:
    clean = {k: v for k, v in env.items() if isinstance(v, str)}
    done = subprocess.run(
        [sys.executable, "-m", "tests.mail.worker_proc", *args],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done.stdout


def _start(env: dict, *args: str) -> subprocess.Popen:
    clean = {k: v for k, v in env.items() if isinstance(v, str)}
    return subprocess.Popen(
        [sys.executable, "-m", "tests.mail.worker_proc", *args],
        cwd=ROOT,
        env=clean,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _wait_for(process: subprocess.Popen, word: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = process.stdout.readline()
        if word in line:
            return
        if process.poll() is not None:
            raise AssertionError(f"worker exited early: {process.stderr.read()[-3000:]}")
    raise AssertionError(f"worker never printed {word}")


def _received(env: dict) -> Counter:
    return Counter(str(item.message["Message-ID"]).strip() for item in env["sink"].received)


def _status(env: dict) -> dict[str, str]:
    return json.loads(_run(env, "status"))


def _kill(process: subprocess.Popen) -> None:
    os.kill(process.pid, signal.SIGKILL)
    process.wait(timeout=30)


def _assert_each_once(env: dict, expected: int) -> None:
    statuses = _status(env)
    received = _received(env)
    assert len(statuses) == expected
    assert set(received) == set(statuses), "a message never reached the server"
    assert max(received.values()) == 1, f"sent twice: {[m for m, n in received.items() if n > 1][:5]}"
    assert set(statuses.values()) == {"sent"}


def test_a_worker_killed_before_its_commit_has_sent_nothing_and_the_next_sends_it_once(worker_env):
    _run(worker_env, "seed", "12")
    worker = _start(worker_env, "send", "--pause-at", "before_commit")
    _wait_for(worker, "PAUSED")
    # Every message of the first group is on the wire, all but its final dot.
    _kill(worker)
    assert _received(worker_env) == Counter()
    assert set(_status(worker_env).values()) == {"queued"}
    time.sleep(LEASE + 0.5)
    _run(worker_env, "send")
    _assert_each_once(worker_env, 12)


def test_a_worker_killed_after_the_dots_is_not_sent_again(worker_env):
    _run(worker_env, "seed", "12")
    worker = _start(worker_env, "send", "--pause-at", "after_dots")
    _wait_for(worker, "PAUSED")
    _kill(worker)
    first = _received(worker_env)
    assert len(first) == 5
    time.sleep(LEASE + 0.5)
    _run(worker_env, "send")
    _assert_each_once(worker_env, 12)


def test_a_worker_killed_at_a_random_moment_loses_nothing_and_repeats_nothing(worker_env):
    _run(worker_env, "seed", "400")
    worker = _start(worker_env, "send")
    _wait_for(worker, "STARTED")
    deadline = time.monotonic() + 60
    while len(worker_env["sink"].received) < 120 and time.monotonic() < deadline:
        time.sleep(0.01)
    _kill(worker)
    assert 0 < len(_received(worker_env)) < 400
    time.sleep(LEASE + 0.5)
    _run(worker_env, "send")
    _assert_each_once(worker_env, 400)


def test_two_workers_at_once_send_each_message_once(worker_env):
    _run(worker_env, "seed", "400")
    workers = [_start(worker_env, "send") for _ in range(2)]
    for worker in workers:
        assert worker.wait(timeout=240) == 0, worker.stderr.read()[-3000:]
    _assert_each_once(worker_env, 400)
