"""Delivery: every email leaves through an outbox row written in its cause's transaction."""

from __future__ import annotations


def queue_email(
    *,
    lead,
    key: str,
    kind: str,
    subject: str,
    html: str,
    text: str,
    to_email: str | None = None,
    sender=None,
    due_at=None,
    meta: dict | None = None,
):
    """Queue one email; return its outbox row, or None when `key` was queued before."""
    raise NotImplementedError
