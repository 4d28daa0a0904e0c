"""Train a model on the site's own closed leads, compare algorithms by cross-validation, keep versions."""

from __future__ import annotations

import time
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone
from threadpoolctl import threadpool_limits

from leadflow.predictive import features, modeling
from leadflow.predictive.models import FeatureField, ModelStatus, PredictiveState, ScoreModel


class PredictiveError(Exception):
    """Training or scoring that cannot go ahead. `code` is stable, `message` is for a person."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Examples:
    """The closed leads as a feature matrix (one column per field used), with their outcomes."""

    X: np.ndarray
    y: np.ndarray
    fields: list[FeatureField]

    @property
    def positives(self) -> int:
        return int(self.y.sum())

    @property
    def negatives(self) -> int:
        return len(self.y) - self.positives


def min_per_class() -> int:
    return settings.LEADFLOW_PREDICTIVE_MIN_PER_CLASS


def collect_examples() -> Examples:
    """Read the newest closed leads (at most LEADFLOW_PREDICTIVE_MAX_EXAMPLES) batch by batch into a feature matrix."""
    used = [field for field in discover_fields() if field.is_used]
    spec = [(f.name, f.label, f.kind) for f in used]
    queryset = features.closed_leads()
    limit = settings.LEADFLOW_PREDICTIVE_MAX_EXAMPLES
    oldest = queryset.order_by("-pk").values_list("pk", flat=True)[limit - 1 : limit].first()
    if oldest is not None:
        queryset = queryset.filter(pk__gte=oldest)
    blocks, labels = [], []
    for rows in features.load_rows(queryset):
        blocks.append(matrix(rows, spec))
        labels.extend(features.outcome(row) for row in rows)
    X = np.vstack(blocks) if blocks else np.empty((0, len(spec)), dtype=object)
    return Examples(X, np.array(labels, dtype=int), used)


def discover_fields(*, sample: int = 5000) -> list[FeatureField]:
    """Make sure every built-in feature and every custom field of recent leads has a setting; return them in order."""
    rows = list(features.closed_leads().order_by("-pk").values("custom")[:sample])
    rows += features.open_leads().order_by("-pk").values("custom")[:sample]
    return sorted(features.ensure_fields(rows), key=features.field_order)


def check_enough(examples: Examples) -> None:
    """Raise PredictiveError when there are too few customers or disqualified leads to learn from."""
    needed = min_per_class()
    if examples.positives < needed or examples.negatives < needed:
        raise PredictiveError(
            "not_enough_data",
            f"Training needs at least {needed} customers and {needed} disqualified leads; "
            f"there are {examples.positives} and {examples.negatives}.",
        )


def matrix(rows: list[dict], spec: list[tuple[str, str, str]]) -> np.ndarray:
    """Return the rows' feature values as an object array, one column per (name, label, kind)."""
    X = np.empty((len(rows), len(spec)), dtype=object)
    for i, row in enumerate(rows):
        for j, (name, _, kind) in enumerate(spec):
            X[i, j] = features.raw_value(row, name, kind)
    return X


def train_model(*, actor=None, trigger: str = "manual") -> ScoreModel:
    """Train on every closed lead, keep the better of the algorithms the data supports, and make it active."""
    started = time.monotonic()
    model = fit_model(collect_examples())
    model.trained_by, model.trigger = actor, trigger
    model.seconds = round(time.monotonic() - started, 2)
    return activate(model)


def fit_model(examples: Examples) -> ScoreModel:
    """Cross-validate each algorithm the data supports, fit the better one on everything; return it unsaved."""
    check_enough(examples)
    spec = [(f.name, f.label, f.kind) for f in examples.fields]
    prepared, X = modeling.prepare(spec, examples.X)
    if not prepared.features:
        raise PredictiveError(
            "no_features", "No switched-on feature differs between leads; check the feature settings."
        )
    y = examples.y
    # One thread: the worker shares its cores with web processes, and oversubscribed
    # OpenMP threads make boosting many times slower, not faster.
    with threadpool_limits(limits=1):
        evaluations = [modeling.cross_validate(prepared.features, X, y, name) for name in modeling.candidates_for(y)]
        best = max(evaluations, key=lambda evaluation: evaluation.auc)
        pipeline = modeling.build_pipeline(prepared.features, best.algorithm, len(y)).fit(X, y)
        factors = modeling.importance(pipeline, prepared.features, X)
    return ScoreModel(
        algorithm=best.algorithm,
        auc=round(best.auc, 4),
        auc_folds=[round(auc, 4) for auc in best.fold_aucs],
        candidates={evaluation.algorithm: round(evaluation.auc, 4) for evaluation in evaluations},
        positives=examples.positives,
        negatives=examples.negatives,
        calibration=modeling.calibration(y, best.out_of_fold),
        factors=factors,
        spec={
            "features": prepared.features,
            "skipped": prepared.skipped,
            "suspects": modeling.suspects(prepared.features, X, y),
        },
        pipeline=modeling.dump(pipeline),
    )


def activate(model: ScoreModel) -> ScoreModel:
    """Save `model` as the next version and make it active; the last active becomes previous, older ones retire.

    Retired versions keep their figures for the history but lose their fitted pipeline.
    """
    with transaction.atomic():
        PredictiveState.objects.get_or_create(pk=1)
        PredictiveState.objects.select_for_update().get(pk=1)
        model.version = (ScoreModel.objects.aggregate(top=Max("version"))["top"] or 0) + 1
        model.created_at = timezone.now()
        ScoreModel.objects.filter(status=ModelStatus.PREVIOUS).update(status=ModelStatus.RETIRED, pipeline=None)
        ScoreModel.objects.filter(status=ModelStatus.ACTIVE).update(status=ModelStatus.PREVIOUS)
        model.status = ModelStatus.ACTIVE
        model.save()
    return model
