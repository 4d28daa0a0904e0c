"""stage-moves: lifecycle moves by the rules at 1,000,000 leads, one by one and in bulk.

Every move runs in a transaction that is rolled back, so the shared data set stays as it was.
"""

from __future__ import annotations

import random
import time

from bench import dataset
from bench.report import Result, Target, summary
from bench.scenarios.list_page import dataset_figures

NAME = "stage-moves"
DESCRIPTION = "change_stage with the transition rules and the qualification gate, and a bulk move of 1,000 leads"
DATABASE = "dataset"
TARGET_MS = 30.0
BULK_SIZE = 1000
TARGET_BULK_PER_S = 150.0


class _Rollback(Exception):
    """Leave the transaction without keeping the move."""


def _timed(action) -> tuple[float, object]:
    from django.db import transaction

    started = time.perf_counter()
    outcome: object = None
    try:
        with transaction.atomic():
            try:
                outcome = action()
            except Exception as error:
                outcome = error
            elapsed = (time.perf_counter() - started) * 1000
            raise _Rollback
    except _Rollback:
        pass
    return elapsed, outcome


def run(ctx) -> Result:
    from leadflow.accounts.models import User
    from leadflow.leads.errors import LeadError
    from leadflow.leads.models import Lead, Stage
    from leadflow.leads.services import bulk_change_stage, change_stage

    meta, _ = dataset.ensure(ctx.db, leads=ctx.args.leads, events=ctx.args.events, seed=ctx.args.seed)
    rng = random.Random(ctx.args.seed)
    actor = User.objects.filter(role="admin").first() or User.objects.first()
    open_ids = list(Lead.objects.filter(stage__in=[Stage.LEAD, Stage.MQL]).values_list("pk", flat=True)[:5000])
    qualified = list(Lead.objects.filter(stage=Stage.SQL).values_list("pk", flat=True)[:2000])
    rng.shuffle(open_ids)
    rng.shuffle(qualified)
    # 150 of each kind at full size; a small data set splits what it has.
    each, pair = min(150, len(open_ids) // 3), min(150, len(qualified) // 2)
    moves = [
        ("allowed: lead or mql to recycled", open_ids[:each], Stage.RECYCLED, "No project this year"),
        ("gate refuses: to sql unqualified", open_ids[each : 2 * each], Stage.SQL, ""),
        ("allowed: sql to opportunity (gate passes)", qualified[:pair], Stage.OPPORTUNITY, ""),
        ("rule refuses: sql back to mql", qualified[pair : 2 * pair], Stage.MQL, ""),
    ]
    timings: dict[str, list[float]] = {}
    refused = 0
    for kind, ids, stage, reason in moves:
        for lead in Lead.objects.filter(pk__in=ids):
            elapsed, outcome = _timed(
                lambda lead=lead, stage=stage, reason=reason: change_stage(
                    lead=lead, stage=stage, actor=actor, reason=reason
                )
            )
            refused += isinstance(outcome, LeadError)
            timings.setdefault(kind, []).append(elapsed)
    bulk_ids = open_ids[2 * each : 2 * each + BULK_SIZE]
    bulk_ms, bulk = _timed(
        lambda: bulk_change_stage(lead_ids=bulk_ids, stage=Stage.RECYCLED, actor=actor, reason="Bench recycle")
    )
    everything = [value for values in timings.values() for value in values]
    result = Result(NAME, ctx.db.vendor, dataset=dataset_figures(meta))
    result.figures = {"one move": summary(everything), **{kind: summary(values) for kind, values in timings.items()}}
    per_second = len(bulk_ids) / (bulk_ms / 1000) if bulk_ms else 0.0
    result.figures["bulk"] = {
        "leads": len(bulk_ids),
        "moved": getattr(bulk, "changed", 0),
        "ms": round(bulk_ms, 1),
        "leads_per_s": round(per_second, 1),
    }
    result.targets.append(Target("p95 of one stage move", result.figures["one move"]["p95_ms"], TARGET_MS, unit=" ms"))
    result.targets.append(
        Target("bulk move rate", result.figures["bulk"]["leads_per_s"], TARGET_BULK_PER_S, True, " leads/s")
    )
    result.settings.update({"moves": len(everything), "refused": refused, "seed": ctx.args.seed})
    result.notes.append("Every move is rolled back: the data set is left as it was.")
    return result
