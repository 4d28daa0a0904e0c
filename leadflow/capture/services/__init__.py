"""Every change capture makes: forms built, submissions taken, held, released; views and tasks call these."""

from leadflow.capture.services.builder import may_build_forms, save_form
from leadflow.capture.services.recording import record_received_submissions
from leadflow.capture.services.review import (
    discard_submission,
    follow_up_submission,
    follow_up_submissions,
    forget_lead_submissions,
    mark_notices_read,
    release_submission,
    sweep_rate_counters,
)
from leadflow.capture.services.submissions import (
    FormClosed,
    RateLimited,
    Sender,
    SubmitOutcome,
    take_submission,
)

__all__ = [
    "FormClosed",
    "RateLimited",
    "Sender",
    "SubmitOutcome",
    "discard_submission",
    "follow_up_submission",
    "follow_up_submissions",
    "forget_lead_submissions",
    "mark_notices_read",
    "may_build_forms",
    "record_received_submissions",
    "release_submission",
    "save_form",
    "sweep_rate_counters",
    "take_submission",
]
