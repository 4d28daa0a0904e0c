"""Training runs: asked for from the page, the weekly schedule or the command line; each claimed by one worker."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from leadflow.predictive.models import FeatureField, PredictiveState, RunStatus, TrainingRun
from leadflow.predictive.services.scoring import score_open_leads
from leadflow.predictive.services.training import PredictiveError, train_model

logger = logging.getLogger("leadflow.predictive")
PENDING = (RunStatus.QUEUED, RunStatus.RUNNING, RunStatus.SCORING)
# A run unfinished after this long lost its worker; it no longer blocks a new one.
STALE_AFTER = timedelta(hours=6)


def request_training(*, actor, trigger: str = "manual", enqueue: bool = True) -> TrainingRun:
    """Queue a training run, or return the one already queued or running so a double click trains once."""
    now = timezone.now()
    TrainingRun.objects.filter(status__in=PENDING, created_at__lt=now - STALE_AFTER).update(
        status=RunStatus.FAILED,
        error="The worker running this training stopped.",
        error_code="stalled",
        finished_at=now,
    )
    with transaction.atomic():
        current = TrainingRun.objects.filter(status__in=PENDING).select_for_update().first()
        if current is not None:
            return current
        run = TrainingRun.objects.create(trigger=trigger, requested_by=actor)
        if enqueue:
            transaction.on_commit(partial(_enqueue, run.pk))
    return run


def _enqueue(run_id: int) -> None:
    from leadflow.predictive import tasks

    tasks.train.enqueue(run_id=run_id)


def run_training(*, run_id: int) -> TrainingRun | None:
    """Claim a queued run, train, score every open lead, and record how it went; None if another worker has it."""
    now = timezone.now()
    claimed = TrainingRun.objects.filter(pk=run_id, status=RunStatus.QUEUED).update(
        status=RunStatus.RUNNING, started_at=now
    )
    if not claimed:
        return None
    run = TrainingRun.objects.select_related("requested_by").get(pk=run_id)
    try:
        model = train_model(actor=run.requested_by, trigger=run.trigger)
        run.model, run.status = model, RunStatus.SCORING
        run.save(update_fields=["model", "status"])

        def progress(scored: int) -> None:
            TrainingRun.objects.filter(pk=run.pk).update(scored=scored)

        run.scored = score_open_leads(model=model, on_progress=progress)
        run.status = RunStatus.DONE
    except PredictiveError as error:
        run.status, run.error, run.error_code = RunStatus.FAILED, error.message, error.code
    except Exception as error:
        logger.exception("training run %s failed", run.pk)
        run.status, run.error, run.error_code = RunStatus.FAILED, f"Stopped by an unexpected error: {error}", "error"
    run.finished_at = timezone.now()
    run.save(update_fields=["status", "scored", "error", "error_code", "finished_at"])
    return run


def iso_week(when: datetime) -> str:
    year, week, _ = timezone.localtime(when).isocalendar()
    return f"{year}-W{week:02d}"


def claim_weekly_training(*, now: datetime | None = None) -> TrainingRun | None:
    """Queue this week's retrain unless a worker already has; the week is claimed with a conditional update."""
    if not settings.LEADFLOW_PREDICTIVE_WEEKLY:
        return None
    week = iso_week(now or timezone.now())
    state = PredictiveState.objects.get_or_create(pk=1)[0]
    if state.weekly_claimed == week:
        return None
    with transaction.atomic():
        claimed = PredictiveState.objects.filter(pk=state.pk).exclude(weekly_claimed=week).update(weekly_claimed=week)
        if not claimed:
            return None
        return request_training(actor=None, trigger="weekly")


def update_feature_settings(*, changes: dict[str, tuple[bool, bool]], actor) -> int:
    """Set (include, after_contact) of each named feature; return how many changed. Used from the next training."""
    changed = 0
    now = timezone.now()
    with transaction.atomic():
        for field in FeatureField.objects.select_for_update().filter(name__in=list(changes)):
            include, after_contact = changes[field.name]
            if (field.include, field.after_contact) == (include, after_contact):
                continue
            field.include, field.after_contact = include, after_contact
            field.updated_at, field.updated_by = now, actor
            field.save(update_fields=["include", "after_contact", "updated_at", "updated_by"])
            changed += 1
    return changed
