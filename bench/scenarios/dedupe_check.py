"""dedupe-check: the one-person-one-lead look-up at capture, at 1,000,000 leads."""

from __future__ import annotations

import random
import time

from bench import dataset
from bench.report import Result, Target, summary
from bench.scenarios.list_page import dataset_figures

NAME = "dedupe-check"
DESCRIPTION = "duplicate check by normalised email or phone at capture (find_match) at 1M leads: p95 <= 50 ms"
DATABASE = "dataset"
TARGET_MS = 50.0


def run(ctx) -> Result:
    from django.db import transaction

    from leadflow.leads.models import Lead
    from leadflow.leads.services.records import find_match

    meta, _ = dataset.ensure(ctx.db, leads=ctx.args.leads, events=ctx.args.events, seed=ctx.args.seed)
    rng = random.Random(ctx.args.seed)
    top = Lead.objects.order_by("-pk").values_list("pk", flat=True).first() or 1
    known = list(Lead.objects.filter(pk__in=[rng.randint(1, top) for _ in range(400)]).values_list("email", "phone"))
    probes = [("email", email, "") for email, _ in known if email]
    probes += [("phone", "", phone) for _, phone in known if phone]
    probes += [("new person", f"nobody{n}@nowhere.example", f"+1555{n:07d}") for n in range(200)]
    rng.shuffle(probes)
    timings: dict[str, list[float]] = {}
    for kind, email, phone in probes:
        with transaction.atomic():
            started = time.perf_counter()
            find_match(email=email, phone=phone)
            timings.setdefault(kind, []).append((time.perf_counter() - started) * 1000)
    everything = [value for values in timings.values() for value in values]
    result = Result(NAME, ctx.db.vendor, dataset=dataset_figures(meta))
    result.figures = {"overall": summary(everything), **{kind: summary(values) for kind, values in timings.items()}}
    result.targets.append(
        Target("p95 of the duplicate check", result.figures["overall"]["p95_ms"], TARGET_MS, unit=" ms")
    )
    result.settings.update({"look-ups": len(everything), "seed": ctx.args.seed})
    return result
