"""Periodic jobs of routing, run by every `leadflow worker`; each claims what it works on."""

from __future__ import annotations

from leadflow.lib.scheduler import every
from leadflow.routing import services


@every(seconds=5)
def route_new_leads() -> int:
    """Route leads that arrived without an owner, and new MQLs."""
    return services.route_new_leads()


@every(seconds=10)
def detect_first_touches() -> int:
    """Stop first-touch clocks answered by a call, a one-to-one email or a meeting."""
    return services.detect_first_touches()


@every(seconds=30)
def sweep_deadlines() -> int:
    """Escalate missed first-touch deadlines: rep, then managers, then reassignment."""
    return services.sweep_deadlines()


@every(seconds=30)
def send_task_reminders() -> int:
    """Remind assignees of tasks that fell due."""
    return services.send_task_reminders()


@every(seconds=10)
def send_notification_emails() -> int:
    """Email notifications, each once."""
    return services.send_emails()


@every(seconds=10)
def post_notification_webhooks() -> int:
    """Post notifications to the chat webhooks, each once."""
    return services.send_webhooks()
