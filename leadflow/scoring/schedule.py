"""Periodic scoring work: rescore after new timeline events, promote queued MQLs, the daily decay sweep."""

from __future__ import annotations

from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from leadflow.lib.scheduler import every
from leadflow.scoring.models import RescoreReason, ScoringState
from leadflow.scoring.services import bulk, refresh

SWEEP_EVERY = timedelta(days=1)


@every(seconds=2)
def rescore_from_events() -> int:
    """Rescore the leads of timeline events newer than the cursor."""
    return refresh.refresh_from_events()


@every(seconds=5)
def promote_crossed() -> int:
    """Move to MQL the leads a bulk rescore pushed over the threshold."""
    return refresh.promote_pending()


@every(seconds=300)
def start_daily_sweep() -> int:
    """Once a day, queue a rescore of every lead, so engagement decays without new events.

    The claim is a conditional UPDATE of the state row: one worker a day wins.
    """
    now = timezone.now()
    ScoringState.load()
    due = Q(sweep_claimed_at__isnull=True) | Q(sweep_claimed_at__lt=now - SWEEP_EVERY)
    if not ScoringState.objects.filter(due, pk=1).update(sweep_claimed_at=now):
        return 0
    bulk.start_rescore(actor=None, reason=RescoreReason.DECAY)
    return 0
