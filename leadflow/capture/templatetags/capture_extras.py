"""Show what forms collected readably: short page addresses, values of any type."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import template

from leadflow.capture.models import SpamReason

register = template.Library()


@register.filter
def short_url(value: Any) -> str:
    """Return 'host/path' of a web address, for a narrow column."""
    if not isinstance(value, str) or not value:
        return ""
    try:
        parts = urlsplit(value)
    except ValueError:
        return value[:80]
    return f"{parts.netloc}{parts.path}"[:80] or value[:80]


@register.filter
def shown(value: Any) -> str:
    """Return a submitted value as text: ticked boxes as yes/no, empty as an em dash."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value in (None, ""):
        return "—"
    return str(value)


@register.filter
def reason_label(value: str) -> str:
    return str(SpamReason(value).label) if value in SpamReason.values else value
