"""Reads of scores for pages, routing and reports."""

from __future__ import annotations


def score_breakdown(lead) -> list[dict]:
    """Each rule's contribution to the lead's score: name, kind (fit or engagement), points, when."""
    return []
