"""Write to a lead's timeline: the one way events are recorded."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from functools import cache
from typing import Any

from django.utils import timezone

from leadflow.leads.models import ActorType, Lead, TimelineEvent
from leadflow.lib.inserts import RowInserter


@cache
def event_inserter() -> RowInserter:
    """The compiled INSERT every timeline write goes through."""
    return RowInserter(TimelineEvent)


def insert_events(
    events: Sequence[TimelineEvent],
    *,
    values: Sequence[list[Any]] | None = None,
    leads: Sequence[Lead] | None = None,
) -> None:
    """Append many unsaved events (see `new_event`) with as few statements as fit, and set their ids.

    `values` holds the events' column values from `event_values`, worked out before
    their leads were inserted; `leads` (one per event, inserted since) gives each its
    lead's key now.
    """
    inserter = event_inserter()
    if leads is not None:
        for event, lead in zip(events, leads, strict=True):
            event.lead_id = lead.pk
        if values is not None:
            lead_key = inserter.attnames.index("lead_id")
            for row, event in zip(values, events, strict=True):
                row[lead_key] = event.lead_id
    inserter.insert(events, values=values)


def event_values(events: Sequence[TimelineEvent]) -> list[list[Any]]:
    """Return the events' column values for `insert_events`, ahead of the insert."""
    inserter = event_inserter()
    return [inserter.values(event) for event in events]


def new_event(
    lead: Lead,
    kind: str,
    *,
    actor=None,
    actor_type: str | None = None,
    data: dict[str, Any] | None = None,
    occurred_at: datetime | None = None,
) -> TimelineEvent:
    """Return an unsaved event for `lead`'s timeline, as `record` writes it."""
    if actor_type is None:
        actor_type = ActorType.USER if actor is not None else ActorType.SYSTEM
    return TimelineEvent(
        lead=lead,
        kind=kind,
        actor=actor,
        actor_type=actor_type,
        data=data or {},
        occurred_at=occurred_at or timezone.now(),
    )


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
    event = new_event(lead, kind, actor=actor, actor_type=actor_type, data=data, occurred_at=occurred_at)
    # One statement compiled once: events are written on every capture, note and call.
    insert_events([event])
    return event
