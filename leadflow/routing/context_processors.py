"""What every page's header shows of routing: the signed-in user's unread notifications."""

from __future__ import annotations

from django.http import HttpRequest
from django.utils.functional import SimpleLazyObject

from leadflow.routing.queries import unread_count


def notifications(request: HttpRequest) -> dict:
    """Add `unread_notifications`, counted only when a template shows it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"unread_notifications": 0}
    return {"unread_notifications": SimpleLazyObject(lambda: unread_count(user))}
