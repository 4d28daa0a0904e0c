"""Pages of routing: the inbox, tasks, notifications, the rules page, the team view and the lead card."""

from leadflow.routing.views.inbox import (
    handover_accept,
    handover_reject,
    inbox,
    inbox_call,
    notifications,
    tasks_page,
)
from leadflow.routing.views.lead import lead_claim, lead_panel, lead_task_add, task_complete
from leadflow.routing.views.rules import (
    availability_edit,
    dry_run,
    rule_delete,
    rule_edit,
    rule_move,
    rules_page,
    schedule_edit,
    team_view,
)

__all__ = [
    "availability_edit",
    "dry_run",
    "handover_accept",
    "handover_reject",
    "inbox",
    "inbox_call",
    "lead_claim",
    "lead_panel",
    "lead_task_add",
    "notifications",
    "rule_delete",
    "rule_edit",
    "rule_move",
    "rules_page",
    "schedule_edit",
    "task_complete",
    "tasks_page",
    "team_view",
]
