"""Keep each lead's rule score current: after new timeline events, and MQL promotion at the threshold."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from leadflow.leads import timeline
from leadflow.leads.errors import LeadError
from leadflow.leads.models import EventKind, Lead, LeadStatus, Stage, TimelineEvent
from leadflow.leads.services.records import change_stage
from leadflow.scoring import engine
from leadflow.scoring.models import PendingPromotion, ScoringRule, ScoringSettings, ScoringState

logger = logging.getLogger("leadflow.scoring")

LEAD_FIELDS = ("industry", "company_size", "country", "title", "phone", "source", "email", "custom")
PROMOTABLE_STAGES = frozenset({Stage.SUBSCRIBER, Stage.LEAD, Stage.RECYCLED})
EVENT_BATCH = 500
PROMOTION_BATCH = 100
# On PostgreSQL a transaction can commit a lower event id after a higher one is visible;
# events younger than this are left for the next run so the cursor never steps over one.
COMMIT_GRACE = timedelta(seconds=2)


@dataclass(frozen=True)
class Config:
    scorer: engine.Scorer
    threshold: int


@dataclass(frozen=True)
class ScoreChange:
    lead_id: int
    before: int
    after: int
    fit: int
    engagement: int
    promoted: bool = False


def load_config() -> Config:
    """Return the active rules compiled with the site's half-life, and the MQL threshold."""
    settings = ScoringSettings.load()
    rules = [rule.as_engine_rule() for rule in ScoringRule.objects.filter(active=True)]
    return Config(engine.Scorer(rules, half_life_days=settings.half_life_days), settings.mql_threshold)


def lead_values(lead: Lead) -> dict:
    """Return the fields rules read, as the plain mapping the engine takes."""
    return {name: getattr(lead, name) for name in LEAD_FIELDS}


def evaluate(lead: Lead, scorer: engine.Scorer, now: datetime) -> engine.Result:
    """Run the engine on the lead as stored now: its fields and the events the rules read."""
    events = TimelineEvent.objects.filter(lead_id=lead.pk, kind__in=scorer.event_kinds).values(
        "kind", "occurred_at", "data"
    )
    return scorer.score(lead_values(lead), events.iterator(chunk_size=2000), now)


def crossed(before: int, after: int, threshold: int) -> bool:
    return before < threshold <= after


def refresh_lead(*, lead_id: int, now: datetime | None = None, config: Config | None = None) -> ScoreChange | None:
    """Recompute one lead's score; on a change store it, record SCORE_CHANGED and promote at the threshold."""
    now = now or timezone.now()
    config = config or load_config()
    with transaction.atomic():
        lead = Lead.objects.select_for_update().filter(pk=lead_id, status=LeadStatus.ACTIVE).first()
        if lead is None:
            return None
        result = evaluate(lead, config.scorer, now)
        if (result.total, result.fit, result.engagement) == (lead.score, lead.fit_score, lead.engagement_score):
            return None
        before = lead.score
        Lead.objects.filter(pk=lead.pk).update(
            score=result.total, fit_score=result.fit, engagement_score=result.engagement, score_updated_at=now
        )
        _record_change(lead, before, result.total, result.fit, result.engagement)
        promoted = False
        if crossed(before, result.total, config.threshold) and lead.stage in PROMOTABLE_STAGES:
            promoted = promote(lead=lead, score=result.total, threshold=config.threshold)
    return ScoreChange(lead.pk, before, result.total, result.fit, result.engagement, promoted)


def _record_change(lead: Lead, before: int, after: int, fit: int, engagement: int, **extra) -> None:
    data = {"from": before, "to": after, "fit": fit, "engagement": engagement, **extra}
    timeline.record(lead, EventKind.SCORE_CHANGED, data=data)


def promote(*, lead: Lead, score: int, threshold: int) -> bool:
    """Move the lead to MQL because its score reached the threshold; False if the move is refused."""
    reason = f"Score {score} crossed the MQL threshold ({threshold})"
    try:
        with transaction.atomic():
            change_stage(lead=lead, stage=Stage.MQL, actor=None, reason=reason)
    except LeadError as error:
        logger.info("lead %s not moved to MQL: %s (%s)", lead.pk, error.message, error.code)
        return False
    return True


def _new_events(cursor: int, limit: int, now: datetime) -> list[tuple[int, int, str]]:
    rows = list(
        TimelineEvent.objects.filter(pk__gt=cursor)
        .order_by("pk")
        .values_list("pk", "lead_id", "kind", "created_at")[:limit]
    )
    if connection.vendor == "postgresql":
        fresh = next((i for i, row in enumerate(rows) if row[3] > now - COMMIT_GRACE), None)
        rows = rows if fresh is None else rows[:fresh]
    return [row[:3] for row in rows]


def refresh_from_events(*, now: datetime | None = None, limit: int = EVENT_BATCH) -> int:
    """Rescore the leads of the timeline events after the cursor; return how many events were read.

    Several workers run this at once: each reads the next events, then claims them by moving
    the cursor with a conditional UPDATE from the value it read; only the winner scores them.
    SCORE_CHANGED events are skipped, so a score change never triggers another rescore.
    """
    now = now or timezone.now()
    cursor = ScoringState.load().event_cursor
    rows = _new_events(cursor, limit, now)
    if not rows:
        return 0
    claimed = ScoringState.objects.filter(pk=1, event_cursor=cursor).update(event_cursor=rows[-1][0])
    if not claimed:
        return 0
    lead_ids = sorted({lead_id for _, lead_id, kind in rows if kind != EventKind.SCORE_CHANGED})
    config = load_config() if lead_ids else None
    for lead_id in lead_ids:
        try:
            refresh_lead(lead_id=lead_id, now=now, config=config)
        except Exception:
            # One broken lead must not stop the others; the daily sweep tries it again.
            logger.exception("rescoring lead %s failed", lead_id)
    return len(rows)


def promote_pending(*, limit: int = PROMOTION_BATCH) -> int:
    """Move the leads a bulk rescore pushed over the threshold to MQL; return how many were handled."""
    threshold = ScoringSettings.load().mql_threshold
    handled = 0
    for pending in list(PendingPromotion.objects.order_by("pk")[:limit]):
        with transaction.atomic():
            # The delete is the claim: another worker that got here first leaves nothing to delete.
            if not PendingPromotion.objects.filter(pk=pending.pk)._raw_delete(PendingPromotion.objects.db):
                continue
            handled += 1
            lead = Lead.objects.select_for_update().filter(pk=pending.lead_id, status=LeadStatus.ACTIVE).first()
            if lead is None or lead.score < threshold or lead.stage not in PROMOTABLE_STAGES:
                continue
            _record_change(lead, pending.from_score, lead.score, lead.fit_score, lead.engagement_score, rescore=True)
            promote(lead=lead, score=lead.score, threshold=threshold)
    return handled
