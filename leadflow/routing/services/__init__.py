"""Routing: who gets a lead, by which rule, and by when they must first touch it.

Other apps call `route_lead`, `notify` and `create_task` from here.
"""

from __future__ import annotations

from leadflow.routing.services.notify import mark_read, notify, send_emails, send_webhooks
from leadflow.routing.services.route import ClaimError, claim_lead, route_lead, start_timer
from leadflow.routing.services.rules import Decision, evaluate
from leadflow.routing.services.sla import (
    detect_first_touches,
    record_first_touch,
    route_new_leads,
    sweep_deadlines,
)
from leadflow.routing.services.work import (
    accept_handover,
    complete_task,
    create_task,
    log_outcome,
    reject_handover,
    send_task_reminders,
)

__all__ = [
    "ClaimError",
    "Decision",
    "accept_handover",
    "claim_lead",
    "complete_task",
    "create_task",
    "detect_first_touches",
    "evaluate",
    "log_outcome",
    "mark_read",
    "notify",
    "record_first_touch",
    "reject_handover",
    "route_lead",
    "route_new_leads",
    "send_emails",
    "send_task_reminders",
    "send_webhooks",
    "start_timer",
    "sweep_deadlines",
]
