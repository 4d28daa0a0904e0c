"""generate: make (or find) the data set every other scenario reads, and say how long it took."""

from __future__ import annotations

from bench import dataset
from bench.report import Result

NAME = "generate"
DESCRIPTION = "generate 1,000,000 leads and 10,000,000 timeline events (sizes from --leads/--events); report the time"
DATABASE = "dataset"


def _counts() -> dict[str, object]:
    from django.db import connection

    from leadflow.accounts.models import Team, User
    from leadflow.leads.models import Company, Lead, TimelineEvent

    with connection.cursor() as cursor:
        cursor.execute("SELECT stage, count(*) FROM leads_lead GROUP BY stage ORDER BY count(*) DESC")
        stages = dict(cursor.fetchall())
    return {
        "leads": Lead.objects.count(),
        "events": TimelineEvent.objects.count(),
        "companies": Company.objects.count(),
        "users": User.objects.count(),
        "teams": Team.objects.count(),
        "stages": stages,
    }


def _size_mb(ctx) -> float:
    from django.db import connection

    if ctx.db.vendor == "sqlite":
        return round(sum(p.stat().st_size for p in ctx.db.path.parent.glob(f"{ctx.db.path.name}*")) / 1e6, 1)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        return round(cursor.fetchone()[0] / 1e6, 1)


def run(ctx) -> Result:
    if ctx.args.force:
        ctx.db.remove()
    meta, generated = dataset.ensure(ctx.db, leads=ctx.args.leads, events=ctx.args.events, seed=ctx.args.seed)
    total = float(meta.get("total_s", 0))
    rows = int(meta.get("written_leads", 0)) + int(meta.get("written_events", 0))
    result = Result(NAME, ctx.db.vendor)
    result.figures = {
        "generated_now": generated,
        "total_s": total,
        "phases_s": {key: float(meta.get(f"{key}_s", 0)) for key in ("schema", "load", "indexes", "analyze")},
        "rows_per_s": round(rows / load_s) if (load_s := float(meta.get("load_s") or 0)) else None,
        "size_mb": _size_mb(ctx),
        "counts": _counts(),
        "lead_page_lead": {"id": meta.get("lead_page_lead_id"), "events": meta.get("lead_page_events")},
    }
    result.dataset = {key: meta.get(key) for key in ("leads", "events", "seed", "version", "generated_at")}
    result.settings.update({"chunk_leads": dataset.CHUNK_LEADS, "path": str(ctx.db.path or ctx.db.url)})
    if not generated:
        result.notes.append("The data set already existed at this size; times are those recorded when it was made.")
    return result
