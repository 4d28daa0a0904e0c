"""Scoring builders: a known rule set instead of the seeded defaults."""

from __future__ import annotations

from datetime import timedelta

import pytest

from leadflow.scoring.models import ScoringRule, ScoringSettings


def set_rules(*rules: dict, half_life_days: int = 0, threshold: int = 60) -> list[ScoringRule]:
    """Replace every rule with `rules` (dicts of ScoringRule fields) and set the settings."""
    ScoringRule.objects.all().delete()
    ScoringSettings.objects.update_or_create(
        pk=1, defaults={"half_life_days": half_life_days, "mql_threshold": threshold}
    )
    return [ScoringRule.objects.create(position=i, **values) for i, values in enumerate(rules, start=1)]


@pytest.fixture
def simple_rules(db) -> list[ScoringRule]:
    """Fit: software +20, phone +10. Engagement: pricing page +15 (cap 30), reply +40."""
    return set_rules(
        {"name": "Software company", "condition": "industry_in", "value": "software", "points": 20},
        {"name": "Has a phone", "condition": "has_phone", "points": 10},
        {"name": "Pricing page", "condition": "page_visited", "value": "/pricing", "points": 15, "cap": 30},
        {"name": "Replied", "condition": "email_replied", "points": 40},
    )


def run_event_job() -> int:
    """Run the periodic job as the worker would, without the PostgreSQL commit grace: every event is read."""
    from leadflow.scoring import schedule
    from leadflow.scoring.services import refresh

    grace, refresh.COMMIT_GRACE = refresh.COMMIT_GRACE, timedelta(0)
    try:
        return schedule.rescore_from_events()
    finally:
        refresh.COMMIT_GRACE = grace
