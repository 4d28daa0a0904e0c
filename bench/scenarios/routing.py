"""routing: route new leads by round robin, read the inbox, sweep missed first touches, on a fresh database."""

from __future__ import annotations

import time
from collections import Counter
from datetime import timedelta

from bench.database import log
from bench.report import Result, Target, summary
from bench.scenarios.import_xeducation import fresh_database

NAME = "routing"
DESCRIPTION = "route_lead p95 <= 50 ms, inbox p95 <= 150 ms, SLA sweep <= 20 ms a lead, fair shares (team of 5)"
DATABASE = "routing"
DEFAULT_LEADS = 2000
ROUTE_P95_MS = 50.0
INBOX_P95_MS = 150.0
SWEEP_MS_PER_LEAD = 20.0


def _people():
    from leadflow.accounts.models import Role, Team
    from leadflow.accounts.services import create_user
    from leadflow.routing.models import AssignmentRule

    team = Team.objects.create(name="Bench team")
    manager = create_user(username="bench-manager", role=Role.MANAGER, team=team)
    team.managers.add(manager)
    reps = [create_user(username=f"bench-rep{n}", role=Role.REP, team=team) for n in range(5)]
    AssignmentRule.objects.create(name="Bench", target_team=team, touch_minutes=30, business_hours=False)
    return reps


def _leads(count: int) -> list[int]:
    from leadflow.leads.services import record_lead

    return [
        record_lead(data={"first_name": "Bench", "last_name": f"Lead{n}", "email": f"bench{n}@example.com"}).lead.pk
        for n in range(count)
    ]


def _route(ids: list[int]) -> list[float]:
    from leadflow.routing.services import route_lead

    timings = []
    for pk in ids:
        started = time.perf_counter()
        route_lead(lead_id=pk, trigger="created")
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def _inbox(reps, rounds: int) -> list[float]:
    from django.db import connections

    from leadflow.routing.queries import inbox_counts, inbox_for

    timings = []
    for _ in range(rounds):
        for rep in reps:
            connections.close_all()
            started = time.perf_counter()
            inbox_for(rep)
            inbox_counts(rep)
            timings.append((time.perf_counter() - started) * 1000)
    return timings


def _sweep() -> tuple[float, int]:
    from django.utils import timezone

    from leadflow.routing.services import sweep_deadlines

    handled, started = 0, time.perf_counter()
    later = timezone.now() + timedelta(hours=2)
    while True:
        done = sweep_deadlines(now=later, limit=500)
        handled += done
        if not done:
            break
    return (time.perf_counter() - started) * 1000, handled


def run(ctx) -> Result:
    count = min(ctx.args.leads, DEFAULT_LEADS)
    fresh_database(ctx.db)
    from leadflow.leads.models import Lead

    reps = _people()
    log(f"routing: creating {count} leads")
    ids = _leads(count)
    log("routing: routing them")
    route_ms = _route(ids)
    shares = Counter(Lead.objects.filter(pk__in=ids).values_list("owner", flat=True))
    inbox_ms = _inbox(reps, max(2, min(ctx.args.rounds, 20)))
    log("routing: sweeping missed first touches")
    sweep_ms, breached = _sweep()
    result = Result(NAME, ctx.db.vendor)
    result.figures = {
        "route_lead": summary(route_ms),
        "routed_per_s": round(len(route_ms) / (sum(route_ms) / 1000), 1) if route_ms else 0,
        "shares": sorted(shares.values()),
        "inbox": summary(inbox_ms),
        "sla_sweep": {"breached": breached, "total_ms": round(sweep_ms, 1)},
    }
    per_lead = sweep_ms / breached if breached else 0.0
    result.targets += [
        Target("p95 of route_lead", result.figures["route_lead"]["p95_ms"], ROUTE_P95_MS, unit=" ms"),
        Target("p95 of a rep's inbox", result.figures["inbox"]["p95_ms"], INBOX_P95_MS, unit=" ms"),
        Target("SLA sweep per overdue lead", round(per_lead, 2), SWEEP_MS_PER_LEAD, unit=" ms"),
        Target("largest minus smallest share", max(shares.values()) - min(shares.values()), 1, unit=" leads"),
    ]
    result.settings.update({"leads": count, "reps": len(reps), "inbox rounds": len(inbox_ms) // len(reps)})
    if breached != count:
        result.notes.append(f"the sweep breached {breached} of {count} deadlines")
    return result
