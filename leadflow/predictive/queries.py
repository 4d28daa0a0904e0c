"""Reads for the model page and the lead card: versions, calibration plot, factors, a lead's prediction."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Q

from leadflow.leads.models import Lead, Stage
from leadflow.predictive import features
from leadflow.predictive.models import Algorithm, FeatureField, LeadPrediction, ModelStatus, ScoreModel, TrainingRun

PLOT = 280
MARGIN = 36
TICKS = (0.0, 0.25, 0.5, 0.75, 1.0)
VERSIONS_SHOWN = 12


def active_model() -> ScoreModel | None:
    return ScoreModel.objects.filter(status=ModelStatus.ACTIVE).defer("pipeline").select_related("trained_by").first()


def versions() -> list[ScoreModel]:
    return list(ScoreModel.objects.defer("pipeline").select_related("trained_by")[:VERSIONS_SHOWN])


def latest_run() -> TrainingRun | None:
    return TrainingRun.objects.select_related("requested_by", "model").first()


def outcome_counts() -> dict[str, int]:
    """Return how many customers and disqualified leads there are to learn from, and how many are needed."""
    closed = features.closed_leads()
    positives = closed.filter(Q(stage=Stage.CUSTOMER) | Q(stage_entered_at__has_key=Stage.CUSTOMER)).count()
    return {
        "positives": positives,
        "negatives": closed.count() - positives,
        "needed": settings.LEADFLOW_PREDICTIVE_MIN_PER_CLASS,
    }


def _x(value: float) -> float:
    return round(MARGIN + value * PLOT, 1)


def _y(value: float) -> float:
    return round(MARGIN + (1 - value) * PLOT, 1)


def calibration_plot(points: list[list[float]]) -> dict[str, Any]:
    """Return the geometry of the calibration plot: predicted (x) against observed (y) per bin, and the diagonal."""
    largest = max((count for _, _, count in points), default=1)
    dots = [
        {
            "cx": _x(predicted),
            "cy": _y(observed),
            "r": round(3 + 5 * (count / largest) ** 0.5, 1),
            "title": f"predicted {predicted:.0%}, observed {observed:.0%} of {count} leads",
        }
        for predicted, observed, count in points
    ]
    line = " ".join(f"{dot['cx']},{dot['cy']}" for dot in dots)
    ticks = [{"label": f"{tick:.0%}", "x": _x(tick), "y": _y(tick)} for tick in TICKS]
    return {
        "size": PLOT + 2 * MARGIN,
        "low": _x(0),
        "high": _x(1),
        "line": line,
        "dots": dots,
        "ticks": ticks,
        "axis_y": _y(0),
        "axis_x": _x(0),
    }


def candidates(model: ScoreModel) -> list[tuple[str, float]]:
    """Return each algorithm tried with its cross-validated ROC AUC, best first."""
    return sorted(((Algorithm(name).label, auc) for name, auc in model.candidates.items()), key=lambda pair: -pair[1])


def factor_bars(factors: list[dict[str, Any]], limit: int = 10) -> list[dict[str, Any]]:
    """Return the top factors with a bar width relative to the strongest."""
    top = factors[:limit]
    strongest = max((f["weight"] for f in top), default=0) or 1
    return [{**f, "width": round(100 * f["weight"] / strongest, 1)} for f in top]


def feature_rows(fields: list[FeatureField], model: ScoreModel | None) -> list[dict[str, Any]]:
    """Return each feature setting with whether the active model used it and why not, if not."""
    used = {f["name"] for f in (model.spec.get("features", []) if model else [])}
    skipped = {f["name"]: f["why"] for f in (model.spec.get("skipped", []) if model else [])}
    return [
        {"field": field, "in_model": field.name in used, "skipped": skipped.get(field.name, "")} for field in fields
    ]


@dataclass
class LeadCard:
    """What the lead page shows: a prediction, or why there is none."""

    lead: Lead
    prediction: LeadPrediction | None
    reason: str
    model: ScoreModel | None

    @property
    def factors(self) -> list[dict[str, Any]]:
        if self.prediction is None:
            return []
        strongest = max((abs(f["effect"]) for f in self.prediction.factors), default=0) or 1
        return [
            {**f, "up": f["effect"] > 0, "width": round(100 * abs(f["effect"]) / strongest, 1)}
            for f in self.prediction.factors
        ]


def lead_card(lead: Lead) -> LeadCard:
    """Return the prediction for `lead` under the active model, or the reason there is none."""
    model = active_model()
    prediction = LeadPrediction.objects.filter(lead=lead).select_related("model").first()
    if lead.stage == Stage.CUSTOMER or Stage.CUSTOMER in (lead.stage_entered_at or {}):
        return LeadCard(lead, None, "Already a customer: the model learns from this lead instead of scoring it.", model)
    if lead.stage == Stage.DISQUALIFIED:
        return LeadCard(lead, None, "Disqualified: the model learns from this lead instead of scoring it.", model)
    if model is None:
        return LeadCard(lead, None, "No model trained yet.", None)
    if prediction is None:
        return LeadCard(lead, None, "Not scored yet: new leads are scored within a minute.", model)
    return LeadCard(lead, prediction, "", model)
