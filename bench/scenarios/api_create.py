"""api-create: POST /api/v1/leads under wrk against `leadflow run`, beside a bare one-row insert endpoint."""

from __future__ import annotations

import collections
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

from bench.database import ROOT, bench_dir, log
from bench.report import Result, Target

NAME = "api-create"
DESCRIPTION = "API lead create under wrk against `leadflow run` (granian), beside a bare insert: >= 800 leads/s"
DATABASE = "api"
TARGET_RATE = 800.0
API_PATH = "/api/v1/leads"
BARE_PATH = "/bench/insert"
LUA = Path(__file__).resolve().parent.parent / "lua" / "create.lua"
WARMUP_S = 3
# Leads (and their events) already in the database before the API adds more.
SEED_LEADS = 100_000
SEED_EVENTS = 400_000
# wrk connections unless --connections says otherwise: with few, granian's workers can take them unevenly
# (three to one, or all four) and one worker idles between its requests.
CONNECTIONS = 16
USERNAME = "bench-api"


def _bin(name: str) -> str:
    return str(Path(sys.executable).with_name(name))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def prepare(db) -> str:
    """Make the database afresh with SEED_LEADS leads in it, create the API user and return a new write token.

    New leads go into a CRM in use: tables with rows and the statistics the database
    gathers on them, as a live database has within a minute. Into empty tables, the
    first plans are made for a few rows and kept while thousands arrive.
    """
    from django.db import connections

    from bench import dataset
    from leadflow.accounts.models import Role
    from leadflow.accounts.services import create_user

    connections.close_all()
    dataset.generate(db, leads=SEED_LEADS, events=SEED_EVENTS, seed=1)
    create_user(username=USERNAME, role=Role.ADMIN)
    connections.close_all()
    out = subprocess.run(
        [_bin("leadflow"), "token", "create", USERNAME, "--scopes", "read,write", "--name", "bench"],
        env=db.environ(),
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip().splitlines()[-1]


def stop_process(process: subprocess.Popen, *, whole_group: bool = False) -> None:
    """Ask `process` to stop (SIGTERM); kill it, or its whole process group, after 20 s."""
    if process.poll() is not None:
        return
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        if whole_group:
            os.killpg(process.pid, signal.SIGKILL)
        else:
            process.kill()
        process.wait()


class Server:
    """`leadflow run --no-worker` on a free port, with the bench endpoints mounted."""

    def __init__(self, db, workers: int) -> None:
        self.port = _free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        command = [_bin("leadflow"), "run", "--no-worker", "--port", str(self.port)]
        if workers:
            command += ["--workers", str(workers)]
        env = {**db.environ(), "LEADFLOW_BENCH_ENDPOINTS": "1", "LEADFLOW_LOG_LEVEL": "WARNING"}
        self.log_path = bench_dir() / f"server-{db.vendor}.log"
        self.log_file = self.log_path.open("w")
        self.process = subprocess.Popen(
            command, env=env, cwd=ROOT, stdout=self.log_file, stderr=subprocess.STDOUT, start_new_session=True
        )
        self._wait_ready()

    def _wait_ready(self) -> None:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"leadflow run exited with {self.process.returncode}; see {self.log_path}")
            if request(self.port, "GET", "/healthz")[0] == 200:
                return
            time.sleep(0.3)
        raise RuntimeError(f"leadflow run did not answer /healthz within 60 s; see {self.log_path}")

    def web_pids(self) -> list[int]:
        """Return the granian process and its workers."""
        pids, queue = [], [self.process.pid]
        while queue:
            pid = queue.pop()
            try:
                children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
            except OSError:
                children = []
            pids.extend(int(child) for child in children)
            queue.extend(int(child) for child in children)
        return pids

    def stop(self) -> None:
        stop_process(self.process, whole_group=True)
        self.log_file.close()


def request(port: int, method: str, path: str, body: str = "", token: str = "") -> tuple[int, str]:
    """Send one request; return (status, the start of the body), or (0, the error) when nothing answered."""
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    connection = HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, body=body or None, headers=headers)
        response = connection.getresponse()
        return response.status, response.read(300).decode(errors="replace")
    except OSError as error:
        return 0, str(error)
    finally:
        connection.close()


def post_once(port: int, path: str, token: str) -> tuple[int, str]:
    """Send one lead like wrk's, to fail early with the server's own words."""
    body = json.dumps({"first_name": "Probe", "last_name": "Request", "email": "probe.request@probe.example"})
    return request(port, "POST", path, body, token)


def wrk(base: str, path: str, token: str, offset: int, duration: int, args) -> dict[str, Any]:
    """Run wrk with the lead-making script and return its figures."""
    command = [
        "wrk", "-t", str(args.threads), "-c", str(args.connections or CONNECTIONS), "-d", f"{duration}s",
        "--timeout", "10s", "-s", str(LUA), f"{base}{path}", "--", path, token or "-", str(offset),
    ]  # fmt: skip
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    line = next(line for line in out.splitlines() if line.startswith("WRKJSON "))
    raw = json.loads(line.removeprefix("WRKJSON "))
    seconds = raw["duration_us"] / 1e6
    ok = raw["requests"] - raw["non2xx"]
    latency = {key: round(value / 1000, 2) for key, value in raw["latency_us"].items()}
    return {
        "requests": raw["requests"],
        "ok_2xx": ok,
        "non_2xx": raw["non2xx"],
        "socket_errors": sum(raw["socket_errors"].values()),
        "seconds": round(seconds, 2),
        "per_s": round(ok / seconds, 1) if seconds else 0.0,
        "latency_ms": {name.removesuffix("_us"): value for name, value in latency.items()},
        "first_non_2xx": raw["first_non2xx"],
    }


def _offsets():
    """Numbers for each wrk run, apart enough that no email or phone is sent twice, nor one of the seeded leads'."""
    yield from range(1_000_000, 11_000_000, 2_000_000)


def profile(server: Server, token: str, offset: int, args) -> dict[str, Any]:
    """Run the API load again under py-spy and return where the web workers spend their time."""
    py_spy = shutil.which("py-spy") or _bin("py-spy")
    if not Path(py_spy).exists():
        return {"error": "py-spy is not installed: .venv/bin/pip install py-spy"}
    raw = bench_dir() / f"profile-api-{args.db}.txt"
    granian = server.web_pids()[0]
    recorder = subprocess.Popen(
        [py_spy, "record", "--pid", str(granian), "--subprocesses", "--rate", "250", "--format", "raw",
         "--output", str(raw), "--duration", str(args.duration), "--nonblocking"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    time.sleep(1)
    figures = wrk(server.base, API_PATH, token, offset, args.duration - 2, args)
    recorder.wait(timeout=args.duration + 30)
    return {"rate_under_profiler_per_s": figures["per_s"], "collapsed_stacks": str(raw), **summarise_stacks(raw)}


def _frame_name(frame: str) -> str:
    """Return 'function (file.py)' from py-spy's 'function (path/file.py:line)'."""
    function, _, where = frame.partition(" (")
    return f"{function} ({where.rsplit(':', 1)[0].rsplit('/', 1)[-1]})"


def summarise_stacks(path: Path, top: int = 25) -> dict[str, Any]:
    """Return the share of samples each function is on the stack for (inclusive) and on top of (self)."""
    inclusive: collections.Counter = collections.Counter()
    own: collections.Counter = collections.Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        frames = [_frame_name(frame) for frame in stack.split(";") if frame]
        n = int(count)
        total += n
        for frame in set(frames):
            inclusive[frame] += n
        if frames:
            own[frames[-1]] += n
    share = lambda counter: [f"{100 * n / total:5.1f}%  {frame}" for frame, n in counter.most_common(top)]  # noqa: E731
    return {"samples": total, "inclusive": share(inclusive), "self": share(own)} if total else {"samples": 0}


def run(ctx) -> Result:
    from django.db import connection

    args = ctx.args
    if not shutil.which("wrk"):
        raise SystemExit("api-create needs wrk on PATH (apt-get install wrk)")
    token = prepare(ctx.db)
    offsets = _offsets()
    server = Server(ctx.db, args.workers)
    result = Result(NAME, ctx.db.vendor)
    try:
        probes = {path: post_once(server.port, path, token) for path in (API_PATH, BARE_PATH)}
        for path, (status, body) in probes.items():
            if not 200 <= status < 300:
                result.notes.append(f"probe POST {path} answered {status}: {body}")
        log(f"bench: warming up for {WARMUP_S} s per endpoint")
        wrk(server.base, API_PATH, token, next(offsets), WARMUP_S, args)
        wrk(server.base, BARE_PATH, "", next(offsets), WARMUP_S, args)
        log(f"bench: wrk {args.duration} s on {API_PATH}")
        api = wrk(server.base, API_PATH, token, next(offsets), args.duration, args)
        log(f"bench: wrk {args.duration} s on {BARE_PATH}")
        bare = wrk(server.base, BARE_PATH, "", next(offsets), args.duration, args)
        if args.profile:
            log("bench: profiling the API run with py-spy")
            result.figures["profile"] = profile(server, token, next(offsets), args)
        workers = len(server.web_pids()) - 1
    finally:
        server.stop()
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM leads_lead")
        stored = cursor.fetchone()[0]
    result.figures.update(
        {
            "api_create": api,
            "bare_insert": bare,
            "ratio_api_to_bare": round(api["per_s"] / bare["per_s"], 3) if bare["per_s"] else None,
            "leads_stored": stored,
        }
    )
    result.targets = [
        Target("API leads/s", api["per_s"], TARGET_RATE, higher_is_better=True, unit="/s"),
        Target("API non-2xx", api["non_2xx"] + api["socket_errors"], 0),
        Target("bare non-2xx", bare["non_2xx"] + bare["socket_errors"], 0),
    ]
    result.settings.update(
        {
            "server": "leadflow run --no-worker (granian WSGI, --blocking-threads 1, --backpressure 64)",
            "web_workers": workers,
            "wrk": (
                f"-t{args.threads} -c{args.connections or CONNECTIONS} -d{args.duration}s,"
                f" {WARMUP_S} s warm-up per endpoint"
            ),
            "body": "JSON: names, unique email and phone, company, title, source/medium/campaign, landing page",
            "database": (
                f"made afresh: {SEED_LEADS:,} generated leads with {SEED_EVENTS:,} events, analysed;"
                " one admin user and its token"
            ),
        }
    )
    result.notes.append("wrk runs on the same 2 cores as the server and takes some of their time.")
    return result
