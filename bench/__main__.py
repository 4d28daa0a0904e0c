"""python -m bench SCENARIO [--db sqlite|postgres] [--json]: run one benchmark scenario and report it."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import time
from dataclasses import dataclass

from bench.database import Database, PostgresServer, configure_django, database
from bench.report import django_db_settings, machine
from bench.scenarios import SCENARIOS


@dataclass
class Context:
    args: argparse.Namespace
    db: Database
    server: PostgresServer | None


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("scenario", nargs="?", choices=sorted(SCENARIOS), help="see --list")
    p.add_argument("--list", action="store_true", help="name the scenarios and stop")
    p.add_argument("--db", choices=("sqlite", "postgres"), default="sqlite")
    p.add_argument("--json", action="store_true", help="print exactly one JSON object on stdout")
    p.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    p.add_argument(
        "--wait-idle",
        type=int,
        default=0,
        metavar="S",
        help="wait up to S seconds for the load average to fall below the cores",
    )
    data = p.add_argument_group("data set")
    data.add_argument("--leads", type=int, default=1_000_000)
    data.add_argument("--events", type=int, default=10_000_000)
    data.add_argument("--seed", type=int, default=1)
    data.add_argument("--force", action="store_true", help="generate: make the data set again even if it exists")
    pages = p.add_argument_group("list-page, lead-page")
    pages.add_argument("--rounds", type=int, default=20, help="requests per kind and persona")
    pages.add_argument("--explain", action="store_true", help="show the slowest statement's plan for every kind")
    load = p.add_argument_group("api-create")
    load.add_argument("--duration", type=int, default=20, help="seconds of wrk per endpoint")
    load.add_argument("--connections", type=int, default=None, help="wrk connections (default: the scenario's)")
    load.add_argument("--threads", type=int, default=2)
    load.add_argument("--workers", type=int, default=0, help="granian workers (default: one per core)")
    load.add_argument("--profile", action="store_true", help="record the API run with py-spy, if installed")
    return p


def wait_idle(seconds: int) -> None:
    """Wait until other work leaves the cores free, at most `seconds`."""
    deadline = time.monotonic() + seconds
    while os.getloadavg()[0] >= (os.cpu_count() or 1) and time.monotonic() < deadline:
        time.sleep(5)


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    if args.list:
        for name in sorted(SCENARIOS):
            print(f"{name:12} {SCENARIOS[name].DESCRIPTION}")
        return 0
    if not args.scenario:
        parser().error("name a scenario (see --list)")
    scenario = SCENARIOS[args.scenario]
    server = PostgresServer() if args.db == "postgres" else contextlib.nullcontext()
    with server:
        db = database(args.db, scenario.DATABASE, server if args.db == "postgres" else None)
        configure_django(db)
        wait_idle(args.wait_idle)
        load_before = os.getloadavg()[0]
        try:
            result = scenario.run(Context(args, db, server if args.db == "postgres" else None))
            version, config = django_db_settings()
        finally:
            from django.db import connections

            connections.close_all()
    result.machine = machine(db.vendor, version)
    # Other work on the machine skews every figure: say how busy it was.
    result.machine["load_avg_1m"] = {"before": round(load_before, 2), "after": round(os.getloadavg()[0], 2)}
    result.settings = {**config, **result.settings}
    print(result.as_json() if args.json else result.as_text())
    return 1 if args.check and not result.passed else 0


if __name__ == "__main__":
    sys.exit(main())
