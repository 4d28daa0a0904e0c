"""Periodic nurture jobs run by `leadflow worker`: due steps, triggers and exits, auto-replies."""

from __future__ import annotations

from leadflow.lib.scheduler import every
from leadflow.nurture import engine, events


@every(seconds=1, lane="fast")
def send_auto_replies() -> int:
    """Queue the auto-replies of forms submitted since the last run and hand them to SMTP at once.

    Sending here instead of waiting for the outbox job's next turn saves up to a second;
    the outbox's claims keep two senders from sending one message twice.
    """
    from leadflow.mail.services import sending

    queued = events.process_auto_replies()
    if queued:
        sending.send_due()
    return queued


@every(seconds=5)
def read_trigger_events() -> int:
    """Enroll by trigger and end enrollments on stage changes."""
    return events.process_triggers()


@every(seconds=10)
def run_due_steps() -> int:
    """Run one batch of due sequence steps."""
    return engine.run_due()
