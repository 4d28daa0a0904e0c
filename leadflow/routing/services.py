"""Routing: who gets a lead, by which rule, and by when they must first touch it."""

from __future__ import annotations


def route_lead(*, lead_id: int, trigger: str) -> None:
    """Assign the lead by the first assignment rule that matches it."""
    return None


def notify(*, user, subject: str, body: str, lead=None, url: str = "") -> None:
    """Tell `user` something in the app, by email and by the outgoing webhook where configured."""
    return None


def create_task(*, lead, kind: str, title: str, due_at=None, assignee=None, actor=None):
    """Create a sales task (kind: call, email, meeting or todo) on the lead for `assignee` (default: its owner)."""
    return None
