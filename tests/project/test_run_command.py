"""`leadflow run` as a person uses it: it serves, says when email cannot go out, and Ctrl-C stops all of it."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests.smtp import free_port

ROOT = Path(__file__).resolve().parents[2]


def _descendants(pid: int) -> set[int]:
    """Return every living process started, directly or not, by `pid`."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
            except OSError:
                continue
            parents[int(entry.name)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _serves(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/accounts/login/", timeout=2) as response:
            return response.status == 200
    except OSError:
        return False


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def test_ctrl_c_at_the_terminal_stops_the_server_its_workers_and_the_task_worker(tmp_path):
    port, smtp_port = free_port(), free_port()
    env = {
        **os.environ,
        "LEADFLOW_SQLITE_PATH": str(tmp_path / "leadflow.sqlite3"),
        "LEADFLOW_VAR_DIR": str(tmp_path),
        "LEADFLOW_SMTP_HOST": "127.0.0.1",
        "LEADFLOW_SMTP_PORT": str(smtp_port),
        "LEADFLOW_WEB_WORKERS": "2",
    }
    env.pop("DATABASE_URL", None)
    log = (tmp_path / "run.log").open("w+")
    # A session of its own stands for the terminal: Ctrl-C signals every process in its foreground group.
    leader = subprocess.Popen(
        [sys.executable, "-m", "leadflow.cli", "run", "--port", str(port)],
        env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )  # fmt: skip
    started: set[int] = set()
    try:
        deadline = time.monotonic() + 120
        while not _serves(port):
            assert leader.poll() is None, Path(log.name).read_text()
            assert time.monotonic() < deadline, Path(log.name).read_text()
            time.sleep(0.5)
        started = _descendants(leader.pid)
        assert len(started) >= 6  # granian and its two workers; the worker, its task runner and two lanes

        os.killpg(leader.pid, signal.SIGINT)
        assert leader.wait(timeout=30) == 0
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in started) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in started if _alive(pid)]
        assert _port_free(port)
    finally:
        if leader.poll() is None:
            os.killpg(leader.pid, signal.SIGKILL)
        for pid in started | _descendants(leader.pid):
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
    output = Path(log.name).read_text()
    assert f"Leadflow is serving on http://127.0.0.1:{port}/" in output
    assert f"Email: The SMTP server 127.0.0.1:{smtp_port} refused the connection." in output
