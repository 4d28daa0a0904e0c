"""Scoring services: rule editing, the per-lead refresh and the bulk rescore."""

from leadflow.scoring.services.bulk import resume_rescore, run_rescore, run_rescore_job, start_rescore
from leadflow.scoring.services.refresh import (
    promote_pending,
    refresh_from_events,
    refresh_lead,
)
from leadflow.scoring.services.rules import may_edit, save_rules, update_settings

__all__ = [
    "may_edit",
    "promote_pending",
    "refresh_from_events",
    "refresh_lead",
    "resume_rescore",
    "run_rescore",
    "run_rescore_job",
    "save_rules",
    "start_rescore",
    "update_settings",
]
