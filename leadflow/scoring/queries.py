"""Reads of scores for pages, routing and reports."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.utils import timezone

from leadflow.scoring import engine
from leadflow.scoring.models import RescoreJob, ScoringRule, ScoringSettings, ScoringState
from leadflow.scoring.services.refresh import evaluate, load_config


@dataclass
class ScoreCard:
    """What the lead page's scoring card shows."""

    result: engine.Result
    stored_total: int
    computed_at: datetime | None
    threshold: int
    contributions: list[engine.Contribution]

    @property
    def is_current(self) -> bool:
        return self.stored_total == self.result.total

    @property
    def fit_rules(self) -> list[engine.Contribution]:
        return [c for c in self.contributions if c.kind == engine.FIT]

    @property
    def engagement_rules(self) -> list[engine.Contribution]:
        return [c for c in self.contributions if c.kind == engine.ENGAGEMENT]


def _newest_first(contributions: list[engine.Contribution]) -> list[engine.Contribution]:
    dated = sorted((c for c in contributions if c.when), key=lambda c: c.when, reverse=True)
    return dated + [c for c in contributions if not c.when]


def score_breakdown(lead) -> list[dict]:
    """Each rule's contribution to the lead's score: name, kind (fit or engagement), points, when.

    Computed now by the engine from the current rules, most recent first; fit rules
    (which have no time) come last.
    """
    config = load_config()
    result = evaluate(lead, config.scorer, timezone.now())
    return [
        {"rule": c.name, "kind": c.kind, "points": c.points, "when": c.when, "events": c.events}
        for c in _newest_first(result.contributions)
    ]


def last_computed(lead) -> datetime | None:
    """When the lead's score was last computed: its own change, or the last full rescore after it."""
    full = ScoringState.objects.filter(pk=1).values_list("last_full_rescore_at", flat=True).first()
    times = [t for t in (lead.score_updated_at, full) if t]
    return max(times) if times else None


def score_card(lead) -> ScoreCard:
    """Return the card: the score as computed now, each rule's part, and when it was last stored."""
    config = load_config()
    result = evaluate(lead, config.scorer, timezone.now())
    return ScoreCard(
        result=result,
        stored_total=lead.score,
        computed_at=last_computed(lead),
        threshold=config.threshold,
        contributions=_newest_first(result.contributions),
    )


def rules_page() -> dict:
    """Return what the settings page lists: settings, rules by kind, the latest rescore."""
    settings = ScoringSettings.load()
    state = ScoringState.load()
    changed, rescored = settings.rules_changed_at, state.last_full_rescore_at
    return {
        "settings": settings,
        "rules": list(ScoringRule.objects.all()),
        "rescore_needed": bool(changed and (rescored is None or rescored < changed)),
        "job": RescoreJob.objects.select_related("started_by").exclude(reason="decay").first(),
    }
