"""Delivery: every email leaves through an outbox row written in its cause's transaction."""

from leadflow.mail.services.consent import add_suppression, remove_suppression, unsubscribe
from leadflow.mail.services.outbox import queue_email
from leadflow.mail.services.sending import send_due

__all__ = ["add_suppression", "queue_email", "remove_suppression", "send_due", "unsubscribe"]
