"""Website visits: anonymous visitors, their page views, and joining them to a lead."""

from __future__ import annotations


def identify_visitor(*, visitor_id: str, lead, via: str) -> int:
    """Join the anonymous visitor's earlier and later visits to `lead`; return how many visits joined.

    `via` names what identified them ("form", "email_click"). A visitor already
    joined to another lead is never moved to this one.
    """
    return 0
