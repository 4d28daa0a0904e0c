"""lead-page: the page of the lead with 1,000 timeline events."""

from __future__ import annotations

import random

from bench import dataset
from bench.measure import PageTimer, Probe, report_pages
from bench.report import Result
from bench.scenarios.list_page import dataset_figures

NAME = "lead-page"
DESCRIPTION = "lead page of the lead with 1,000 timeline events, as admin, manager and its owner: p95 <= 80 ms"
DATABASE = "dataset"
TARGET_MS = 80.0


def run(ctx) -> Result:
    from django.urls import reverse

    from leadflow.accounts.models import User
    from leadflow.leads.models import Lead, TimelineEvent

    meta, _ = dataset.ensure(ctx.db, leads=ctx.args.leads, events=ctx.args.events, seed=ctx.args.seed)
    lead = Lead.objects.select_related("owner").get(pk=int(meta["lead_page_lead_id"]))
    users = {
        "admin": User.objects.get(username="bench-admin"),
        "manager": User.objects.filter(role="manager", team_id=lead.owner.team_id).first(),
        "owner": lead.owner,
    }
    path = reverse("leads:detail", args=[lead.pk])
    probes = [Probe(f"lead-page as {persona}", persona, path) for persona in users for _ in range(ctx.args.rounds * 5)]
    random.Random(ctx.args.seed).shuffle(probes)
    timer = PageTimer(users)
    wall = timer.run(probes, warmup=probes[:10])
    result = Result(NAME, ctx.db.vendor, dataset=dataset_figures(meta))
    kinds = [f"lead-page as {persona}" for persona in users]
    report_pages(result, timer, kinds, limit_ms=TARGET_MS, explain_all=ctx.args.explain)
    result.figures["lead"] = {"id": lead.pk, "events": TimelineEvent.objects.filter(lead=lead).count()}
    result.figures["requests_per_s"] = round(len(probes) / wall, 1) if wall else 0
    result.settings.update({"requests": len(probes), "warmup_requests": 10, "seed": ctx.args.seed})
    return result
