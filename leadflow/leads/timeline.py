"""Write to a lead's timeline: the one way events are recorded."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.utils import timezone

from leadflow.leads.models import ActorType, Lead, TimelineEvent


def record(
    lead: Lead,
    kind: str,
    *,
    actor=None,
    actor_type: str | None = None,
    data: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> TimelineEvent:
    """Append one event to `lead`'s timeline and return it."""
    if actor_type is None:
        actor_type = ActorType.USER if actor is not None else ActorType.SYSTEM
    return TimelineEvent.objects.create(
        lead=lead,
        kind=kind,
        actor=actor,
        actor_type=actor_type,
        data=data or {},
        occurred_at=occurred_at or timezone.now(),
    )
