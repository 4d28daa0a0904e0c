"""Nurture: templates, sequences and enrollments."""

from __future__ import annotations


def exit_lead(*, lead_id: int, reason: str) -> int:
    """End every active enrollment of the lead for `reason`; return how many ended."""
    return 0
