"""Periodic work run by `leadflow worker`: SLA sweeps, due sequence steps, the outbox, mailbox polls.

Each app lists its periodic jobs in a `schedule.py` module with the `every` decorator:

    from leadflow.lib.scheduler import every

    @every(seconds=30)
    def sweep_deadlines() -> int:
        ...

Jobs run one after another in a loop, so a slow job delays the others of its lane. A job
whose delay a person notices (the outbox, form auto-replies) registers in the "fast" lane,
which `leadflow worker` runs in a process of its own beside the "main" lane:

    @every(seconds=1, lane="fast")
    def send_outbox() -> int:
        ...

A job does a bounded amount of work and returns how many things it handled; when it
handled any, it runs again at once instead of waiting its interval, so a backlog
drains as fast as the worker can go. A job given `batch` runs again at once only
when it handled a whole batch: under a steady stream it then takes what arrived
over its interval in one go, rather than a row or two each time round. Any number of worker processes run the same
jobs at the same time, so a job must claim the rows it works on (a conditional
UPDATE, or `select_for_update(skip_locked=True)` on PostgreSQL) and never assume it
runs alone.
"""

from __future__ import annotations

import logging
import signal
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import close_old_connections
from django.utils.module_loading import autodiscover_modules

logger = logging.getLogger("leadflow.scheduler")


LANES = ("main", "fast")


@dataclass
class PeriodicJob:
    name: str
    seconds: float
    function: Callable[[], int | None]
    lane: str = "main"
    batch: int | None = None
    next_run: float = field(default=0.0)

    def backlog(self, done: int) -> bool:
        """True when the last run suggests more is waiting, so the job runs again at once."""
        return done >= self.batch if self.batch else done > 0


JOBS: dict[str, PeriodicJob] = {}


def every(
    *, seconds: float, lane: str = "main", batch: int | None = None
) -> Callable[[Callable[[], int | None]], Callable[[], int | None]]:
    """Register the decorated function to run every `seconds` in each worker's `lane`; see `batch` above."""
    if lane not in LANES:
        raise ValueError(f"lane must be one of {', '.join(LANES)}, not {lane!r}")

    def register(function: Callable[[], int | None]) -> Callable[[], int | None]:
        name = f"{function.__module__}.{function.__qualname__}"
        JOBS[name] = PeriodicJob(name=name, seconds=seconds, function=function, lane=lane, batch=batch)
        return function

    return register


def discover() -> dict[str, PeriodicJob]:
    """Import every app's `schedule` module and return the registered jobs."""
    autodiscover_modules("schedule")
    return JOBS


def run_due(now: float | None = None, *, lane: str | None = None) -> int:
    """Run each job (of `lane`, or every lane) whose time has come once; return how much they handled."""
    now = time.monotonic() if now is None else now
    handled = 0
    for job in list(JOBS.values()):
        if job.next_run > now or (lane is not None and job.lane != lane):
            continue
        close_old_connections()
        try:
            done = job.function() or 0
        except Exception:
            logger.exception("periodic job %s failed; it runs again in %ss", job.name, job.seconds)
            done = 0
        handled += done
        job.next_run = now if job.backlog(done) else now + job.seconds
    return handled


def loop(*, lane: str | None = None, idle_sleep: float = 0.2) -> None:
    """Run the periodic jobs of `lane` (default: every lane) until SIGTERM or SIGINT."""
    discover()
    stopping = False

    def stop(signum, frame) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    count = sum(1 for job in JOBS.values() if lane is None or job.lane == lane)
    logger.info("scheduler running %d periodic jobs (lane %s)", count, lane or "all")
    while not stopping:
        if not run_due(lane=lane):
            time.sleep(idle_sleep)
