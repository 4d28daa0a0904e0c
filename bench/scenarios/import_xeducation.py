"""import-xeducation: `leadflow import` of the real X Education export (9,237 rows) into a fresh SQLite database."""

from __future__ import annotations

import cProfile
import io
import json
import os
import pstats
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.database import ROOT, bench_dir, log
from bench.report import Result, Target

NAME = "import-xeducation"
DESCRIPTION = "`leadflow import` of ../shared/datasets/xeducation_leads.csv into a fresh database: <= 5 s, every row"
DATABASE = "import"
TARGET_S = 5.0
DATASET = ROOT.parent / "shared" / "datasets" / "xeducation_leads.csv"
# Where an import spends its time: (label, the function whose cumulative time it is).
PHASES = (
    ("whole import", "run.py:_run"),
    ("read and parse the file", "text.py:_rows"),
    ("map rows to lead input", "mapping.py:map"),
    ("record_leads_batch", "batch.py:record_leads_batch"),
    ("  clean and validate each row", "batch.py:_clean"),
    ("  look up known people", "batch.py:_load_state"),
    ("  plan each row (new lead objects, fold)", "batch.py:_plan_row"),
    ("  write: leads, events, companies", "batch.py:_write"),
    ("    bulk_create (leads and events)", "query.py:bulk_create"),
    ("    save() per updated lead", "base.py:save"),
    ("import bookkeeping (counts, undo records)", "run.py:_account"),
)


@dataclass
class Finished:
    """A command that ran to its end: its output, wall time and peak memory."""

    returncode: int
    stdout: str
    stderr: str
    seconds: float
    max_rss_mb: float
    cpu_s: float


def leadflow_bin() -> str:
    return str(Path(sys.executable).with_name("leadflow"))


def run_measured(command: list[str], env: dict[str, str], logs: Path, on_wait=None) -> Finished:
    """Run `command`, calling `on_wait()` until it ends; return its output, wall time and its own peak RSS.

    The peak is the child's own ru_maxrss from wait4, not the largest of all children this process waited for.
    """
    with open(logs.with_suffix(".out"), "w+") as out, open(logs.with_suffix(".err"), "w+") as err:
        started = time.perf_counter()
        process = subprocess.Popen(command, env=env, cwd=ROOT, stdout=out, stderr=err)
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            if on_wait is not None:
                on_wait()
            else:
                time.sleep(0.05)
        seconds = time.perf_counter() - started
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        cpu = usage.ru_utime + usage.ru_stime
        return Finished(process.returncode, out.read(), err.read(), seconds, usage.ru_maxrss / 1024, round(cpu, 2))


def fresh_database(db) -> None:
    """Make the benchmark's database empty and migrated."""
    from django.core.management import call_command
    from django.db import connections

    connections.close_all()
    db.remove()
    db.create()
    call_command("migrate", interactive=False, verbosity=0)
    connections.close_all()


def import_file(db, path: Path, *extra: str, on_wait=None) -> tuple[dict[str, Any], Finished]:
    """Run `leadflow import PATH --json` against `db`; return its summary and how it ran."""
    logs = bench_dir() / f"import-{db.vendor}"
    done = run_measured([leadflow_bin(), "import", str(path), "--json", *extra], db.environ(), logs, on_wait=on_wait)
    if done.returncode != 0:
        raise RuntimeError(f"leadflow import exited with {done.returncode}: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1]), done


def _cumulative(stats: dict, where: str) -> float:
    place, _, name = where.partition(":")
    times = [row[3] for (file, _, function), row in stats.items() if file.endswith(place) and function == name]
    return max(times, default=0.0)


def profile_import(path: Path) -> dict[str, str]:
    """Import `path` again in this process under cProfile; return the time and share of each phase."""
    from django.core.management import call_command

    profiler = cProfile.Profile()
    profiler.enable()
    call_command("import", str(path), "--json", stdout=io.StringIO(), stderr=io.StringIO())
    profiler.disable()
    stats = pstats.Stats(profiler).stats
    times = {label: _cumulative(stats, where) for label, where in PHASES}
    whole = times["whole import"] or 1.0
    return {label: f"{seconds:7.2f} s {100 * seconds / whole:5.1f}%" for label, seconds in times.items()}


def accounted(summary: dict[str, Any]) -> int:
    return summary["created"] + summary["updated"] + summary["duplicates"] + summary["errors"]


def run(ctx) -> Result:
    if not DATASET.exists():
        raise SystemExit(f"{DATASET} is missing: the shared datasets sit beside the project")
    fresh_database(ctx.db)
    log(f"bench: leadflow import {DATASET.name}")
    summary, done = import_file(ctx.db, DATASET)
    result = Result(NAME, ctx.db.vendor)
    result.figures = {
        "import_s": summary["seconds"],
        "process_s": round(done.seconds, 2),
        "process_cpu_s": done.cpu_s,
        "rows_per_s": round(summary["rows"] / summary["seconds"]) if summary["seconds"] else 0,
        "peak_rss_mb": round(done.max_rss_mb, 1),
        "summary": {key: summary[key] for key in ("rows", "created", "updated", "duplicates", "errors")},
    }
    result.targets = [
        Target("import seconds", summary["seconds"], TARGET_S, unit=" s"),
        Target("rows not accounted for", summary["rows"] - accounted(summary), 0),
        Target("rows read", summary["rows"], 9237, higher_is_better=True),
    ]
    if ctx.args.profile:
        log("bench: importing again under cProfile: every row an update this time")
        result.figures["profile_reimport"] = profile_import(DATASET)
        fresh_database(ctx.db)
        log("bench: importing into an empty database under cProfile")
        result.figures["profile_first_import"] = profile_import(DATASET)
    result.settings.update(
        {
            "command": f"leadflow import {DATASET.name} --json (suggested mapping, keyed by Prospect ID)",
            "database": "fresh: migrated, empty",
            "import_s": "the job's time, file opened to last batch committed; process_s adds Django's start-up",
        }
    )
    return result
