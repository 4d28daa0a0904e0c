"""Show website visits readably: session lengths and short page addresses."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import template

register = template.Library()


@register.filter
def visit_length(seconds: Any) -> str:
    """Return a session's length as '45 s', '12 min' or '1 h 5 min'."""
    try:
        total = max(int(seconds), 0)
    except (TypeError, ValueError):
        return ""
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    return f"{minutes} min" if minutes else f"{secs} s"


@register.filter
def page_path(url: str) -> str:
    """Return the path and query of a URL, the part that tells pages of one site apart."""
    parts = urlsplit(url)
    return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
