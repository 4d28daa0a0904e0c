"""Give open leads the active model's probability and the factors behind it, in batches."""

from __future__ import annotations

from collections.abc import Callable, Iterable

import numpy as np
from django.db import transaction
from django.utils import timezone
from threadpoolctl import threadpool_limits

from leadflow.leads.models import TimelineEvent
from leadflow.predictive import features, modeling
from leadflow.predictive.models import LeadPrediction, ModelStatus, PredictiveState, ScoreModel
from leadflow.predictive.services.training import matrix

BATCH = 1000
TOP_FACTORS = 5
# A push smaller than this (in log-odds, about one percentage point near 50 %) is not worth showing.
MIN_EFFECT = 0.04
_PIPELINES: dict[int, object] = {}


def active_model() -> ScoreModel | None:
    return ScoreModel.objects.filter(status=ModelStatus.ACTIVE).defer("pipeline").first()


def _pipeline(model: ScoreModel):
    """Return the model's fitted pipeline, loaded once per process and version."""
    if model.version not in _PIPELINES:
        data = ScoreModel.objects.filter(pk=model.pk).values_list("pipeline", flat=True).first()
        if data is None:
            raise ValueError(f"Model v{model.version} has no fitted pipeline.")
        _PIPELINES.clear()
        _PIPELINES[model.version] = modeling.load(data)
    return _PIPELINES[model.version]


def predict_rows(model: ScoreModel, rows: list[dict]) -> list[LeadPrediction]:
    """Return unsaved predictions for lead rows: probability and strongest factors for each."""
    spec = model.spec["features"]
    X = matrix(rows, [(f["name"], f["label"], f["kind"]) for f in spec])
    with threadpool_limits(limits=1):
        probabilities, pushes = modeling.contributions(_pipeline(model), spec, X)
    now = timezone.now()
    predictions = []
    for i, row in enumerate(rows):
        order = np.argsort(-np.abs(pushes[i]))[:TOP_FACTORS]
        factors = [
            {
                "name": spec[j]["name"],
                "label": spec[j]["label"],
                "value": modeling.shown_value(spec[j], X[i, j]),
                "effect": round(float(pushes[i, j]), 3),
            }
            for j in order
            if abs(pushes[i, j]) >= MIN_EFFECT
        ]
        predictions.append(
            LeadPrediction(
                lead_id=row["id"], model=model, probability=float(probabilities[i]), factors=factors, scored_at=now
            )
        )
    return predictions


def score_leads(*, model: ScoreModel, lead_ids: Iterable[int]) -> int:
    """Score the open leads among `lead_ids`; drop the predictions of those no longer open. Return how many scored."""
    ids = sorted(set(lead_ids))
    scored = 0
    for start in range(0, len(ids), BATCH):
        chunk = ids[start : start + BATCH]
        for rows in features.load_rows(features.open_leads().filter(pk__in=chunk), batch=BATCH):
            _save(predict_rows(model, rows))
            scored += len(rows)
        still_open = features.open_leads().filter(pk__in=chunk).values("pk")
        LeadPrediction.objects.filter(lead_id__in=chunk).exclude(lead_id__in=still_open).delete()
    return scored


def _save(predictions: list[LeadPrediction]) -> None:
    LeadPrediction.objects.bulk_create(
        predictions,
        update_conflicts=True,
        unique_fields=["lead"],
        update_fields=["model", "probability", "factors", "scored_at"],
    )


def score_open_leads(*, model: ScoreModel, on_progress: Callable[[int], None] | None = None) -> int:
    """Score every open lead with `model`, a batch at a time; return how many were scored."""
    state = PredictiveState.objects.get_or_create(pk=1)[0]
    # New events from here on are picked up by the periodic job.
    top = TimelineEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    PredictiveState.objects.filter(pk=state.pk, event_cursor__lt=top).update(event_cursor=top)
    scored = 0
    for rows in features.load_rows(features.open_leads(), batch=BATCH):
        _save(predict_rows(model, rows))
        scored += len(rows)
        if on_progress is not None:
            on_progress(scored)
    LeadPrediction.objects.exclude(model=model).delete()
    return scored


def score_new_activity(*, batch: int = BATCH) -> int:
    """Score the leads with timeline events after the stored cursor; return how many events were taken.

    The cursor moves with a conditional update before the scoring starts, so two workers never
    take the same events; a worker stopped half-way leaves those leads to their next event.
    """
    model = active_model()
    state = PredictiveState.objects.get_or_create(pk=1)[0]
    if model is None:
        # Nothing to score with; the first training scores every open lead and moves the cursor itself.
        top = TimelineEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
        PredictiveState.objects.filter(pk=state.pk, event_cursor__lt=top).update(event_cursor=top)
        return 0
    events = list(
        TimelineEvent.objects.filter(pk__gt=state.event_cursor).order_by("pk").values_list("pk", "lead_id")[:batch]
    )
    if not events:
        return 0
    with transaction.atomic():
        claimed = PredictiveState.objects.filter(pk=state.pk, event_cursor=state.event_cursor).update(
            event_cursor=events[-1][0]
        )
    if not claimed:
        return 0
    score_leads(model=model, lead_ids={lead_id for _, lead_id in events})
    return len(events)
