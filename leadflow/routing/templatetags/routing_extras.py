"""Template filters of the routing pages."""

from __future__ import annotations

from datetime import datetime

from django import template

from leadflow.routing.queries import ago as _ago

register = template.Library()


@register.filter
def ago(moment: datetime | None) -> str:
    """Return '3 min ago', or 'just now'."""
    return _ago(moment) if moment else ""
