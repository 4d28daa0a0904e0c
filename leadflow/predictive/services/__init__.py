"""Every change the predictive score makes: training, versions, feature settings, predictions."""

from leadflow.predictive.services.runs import (
    claim_weekly_training,
    request_training,
    run_training,
    update_feature_settings,
)
from leadflow.predictive.services.scoring import score_leads, score_new_activity, score_open_leads
from leadflow.predictive.services.training import PredictiveError, discover_fields, train_model

__all__ = [
    "PredictiveError",
    "claim_weekly_training",
    "discover_fields",
    "request_training",
    "run_training",
    "score_leads",
    "score_new_activity",
    "score_open_leads",
    "train_model",
    "update_feature_settings",
]
