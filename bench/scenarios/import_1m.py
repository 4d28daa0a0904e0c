"""import-1m: `leadflow import` of a generated 1,000,000-row CSV while the lead list is timed on `leadflow run`."""

from __future__ import annotations

import collections
import csv
import itertools
import random
import time
from http.client import HTTPConnection
from pathlib import Path
from typing import Any

from bench.database import bench_dir, log
from bench.report import Result, Target, summary
from bench.scenarios.api_create import Server
from bench.scenarios.import_xeducation import accounted, fresh_database, import_file, profile_import

NAME = "import-1m"
DESCRIPTION = (
    "`leadflow import` of a generated CSV (--leads rows, default 1,000,000) beside `leadflow run`: "
    "<= 90 s, peak RSS <= 400 MB, lead list p95 while importing"
)
DATABASE = "import"
TARGET_S = 90.0
TARGET_RSS_MB = 400.0
TARGET_PAGE_P95_MS = 500.0
PROBE_EVERY_S = 0.5
GENERATOR_VERSION = "1"
HEADERS = ["First Name", "Last Name", "Email", "Phone Number", "Company", "Job Title", "Lead Source", "UTM Medium",
           "UTM Campaign", "Country", "Newsletter", "Score"]  # fmt: skip
COUNTRIES = ("United States", "India", "Germany", "France", "Brazil", "Nigeria", "Japan", "United Kingdom", "Select")
BAD_EVERY = 1000
REPEAT_EVERY = 5000
PROFILE_ROWS = 20_000


def csv_path(rows: int, seed: int) -> Path:
    return bench_dir() / f"import-{rows}-seed{seed}-v{GENERATOR_VERSION}.csv"


def generate_csv(path: Path, rows: int, seed: int) -> None:
    """Write an export of `rows` leads, a row at a time: one in 1,000 has a bad email, one in 5,000 repeats a person."""
    from leadflow.lib import fakedata

    rng = random.Random(seed)
    recent: collections.deque[str] = collections.deque(maxlen=REPEAT_EVERY)
    partial = path.with_suffix(".partial")
    with open(partial, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(HEADERS)
        for n in range(rows):
            first, last = rng.choice(fakedata.FIRST_NAMES), rng.choice(fakedata.LAST_NAMES)
            company = fakedata.company_name(rng)
            email = fakedata.email_for(rng, first, last, fakedata.company_domain(company), n)
            if n % REPEAT_EVERY == REPEAT_EVERY - 1:
                email = recent[len(recent) // 2]
            elif n % BAD_EVERY == BAD_EVERY - 1:
                email = f"{first}.{last} at {company}"
            recent.append(email)
            source, medium = rng.choice(fakedata.SOURCES)
            writer.writerow(
                [first, last, email, fakedata.phone_for(n) if n % 2 else "", company, rng.choice(fakedata.TITLES),
                 source, medium, rng.choice(fakedata.CAMPAIGNS), rng.choice(COUNTRIES), rng.choice(("Yes", "No")),
                 rng.randint(0, 100)]
            )  # fmt: skip
    partial.rename(path)


def ensure_csv(rows: int, seed: int) -> Path:
    path = csv_path(rows, seed)
    if not path.exists():
        log(f"bench: writing a {rows:,}-row CSV to {path}")
        generate_csv(path, rows, seed)
    return path


def session_cookie() -> str:
    """Create an admin and return a signed-in session cookie for the running server."""
    from django.db import connections
    from django.test import Client

    from leadflow.accounts.models import Role
    from leadflow.accounts.services import create_user

    user = create_user(username="bench-admin", role=Role.ADMIN)
    client = Client()
    client.force_login(user)
    cookie = client.cookies["sessionid"].value
    connections.close_all()
    return f"sessionid={cookie}"


class ListProbe:
    """GET the lead list every PROBE_EVERY_S seconds, as someone working in Leadflow during the import."""

    def __init__(self, port: int, cookie: str) -> None:
        self.port, self.cookie = port, cookie
        self.times_ms: list[float] = []
        self.failures: list[str] = []
        self.next_at = 0.0

    def fetch(self) -> None:
        started = time.perf_counter()
        connection = HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.request("GET", "/", headers={"Cookie": self.cookie})
            response = connection.getresponse()
            response.read()
            status = response.status
        except OSError as error:
            self.failures.append(str(error))
            return
        finally:
            connection.close()
        if status == 200:
            self.times_ms.append((time.perf_counter() - started) * 1000)
        else:
            self.failures.append(f"HTTP {status}")

    def __call__(self) -> None:
        now = time.monotonic()
        if now >= self.next_at:
            self.next_at = now + PROBE_EVERY_S
            self.fetch()
        else:
            time.sleep(0.02)


def profile_head(db, path: Path) -> dict[str, str]:
    """Profile importing the file's first PROFILE_ROWS rows into an empty database: where the time goes."""
    head = path.with_name(f"head-{PROFILE_ROWS}-{path.name}")
    with open(path, encoding="utf-8") as source, open(head, "w", encoding="utf-8") as target:
        target.writelines(itertools.islice(source, PROFILE_ROWS + 1))
    fresh_database(db)
    log(f"bench: profiling the import of the first {PROFILE_ROWS:,} rows")
    return profile_import(head)


def run(ctx) -> Result:
    rows = ctx.args.leads
    path = ensure_csv(rows, ctx.args.seed)
    profile = profile_head(ctx.db, path) if ctx.args.profile else None
    fresh_database(ctx.db)
    cookie = session_cookie()
    server = Server(ctx.db, ctx.args.workers)
    try:
        probe = ListProbe(server.port, cookie)
        for _ in range(5):
            probe.fetch()
        idle = summary(probe.times_ms)
        probe.times_ms.clear()
        log(f"bench: leadflow import {path.name} while timing GET / every {PROBE_EVERY_S} s")
        result_summary, done = import_file(ctx.db, path, on_wait=probe)
    finally:
        server.stop()
    pages = summary(probe.times_ms)
    result = Result(NAME, ctx.db.vendor)
    result.figures = {
        "import_s": result_summary["seconds"],
        "process_s": round(done.seconds, 2),
        "process_cpu_s": done.cpu_s,
        "rows_per_s": round(result_summary["rows"] / result_summary["seconds"]) if result_summary["seconds"] else 0,
        "peak_rss_mb": round(done.max_rss_mb, 1),
        "summary": {key: result_summary[key] for key in ("rows", "created", "updated", "duplicates", "errors")},
        "lead_list_during_import": {**pages, "failed": len(probe.failures)},
        "lead_list_before_import": idle,
        "csv_mb": round(path.stat().st_size / 1e6, 1),
    }
    result.targets = [
        Target("import seconds", result_summary["seconds"], TARGET_S, unit=" s"),
        Target("peak RSS of the importing process", round(done.max_rss_mb, 1), TARGET_RSS_MB, unit=" MB"),
        Target("rows not accounted for", result_summary["rows"] - accounted(result_summary), 0),
        Target("lead list p95 during the import", pages.get("p95_ms", 0.0), TARGET_PAGE_P95_MS, unit=" ms"),
        Target("lead list failures during the import", len(probe.failures), 0),
    ]
    if profile:
        result.figures["profile_first_rows"] = profile
    if probe.failures:
        result.notes.append(f"first failed lead list request: {probe.failures[0]}")
    result.dataset = _expected(rows)
    result.settings.update(
        {
            "command": f"leadflow import {path.name} --json (suggested mapping)",
            "server": "leadflow run --no-worker (granian) on the same database, GET / as an admin",
            "probe_every_s": PROBE_EVERY_S,
            "rss": "ru_maxrss of the importing process alone (wait4)",
        }
    )
    return result


def _expected(rows: int) -> dict[str, Any]:
    """Return what the generated file holds: a repeated person takes the place of a bad email where both fall."""
    repeated = rows // REPEAT_EVERY
    return {"rows": rows, "bad_emails": rows // BAD_EVERY - repeated, "repeated_people": repeated}
