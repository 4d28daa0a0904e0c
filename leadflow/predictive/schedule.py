"""Periodic predictive work: the weekly retrain and scoring leads with new activity."""

from __future__ import annotations

from leadflow.lib.scheduler import every
from leadflow.predictive import services


@every(seconds=600)
def weekly_retrain() -> int:
    """Queue this week's retrain once across all workers; return 1 when this worker queued it."""
    return 1 if services.claim_weekly_training() is not None else 0


@every(seconds=15)
def score_new_activity() -> int:
    """Score the leads with new timeline events since the last pass."""
    return services.score_new_activity()
