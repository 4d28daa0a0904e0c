"""Join a visitor to the lead they turned out to be, and put their sessions on its timeline."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from functools import partial

from django.db import transaction
from django.db.models import Count, Max, Min
from django.utils import timezone

from leadflow.leads import timeline
from leadflow.leads.models import ActorType, EventKind, Lead, LeadStatus
from leadflow.tracking.batch import UTM_NAMES, VISITOR_KEY
from leadflow.tracking.models import (
    SESSION_TIMEOUT_MINUTES,
    Identification,
    Outcome,
    PageView,
    RecordedSession,
    Visitor,
)
from leadflow.tracking.queries import source_of

logger = logging.getLogger("leadflow.tracking")

SESSION_TIMEOUT = timedelta(minutes=SESSION_TIMEOUT_MINUTES)
# A session is written to the timeline a little after it can no longer grow.
TIMELINE_DELAY = SESSION_TIMEOUT + timedelta(minutes=1)
PAGES_IN_EVENT = 20


def schedule_sessions(visitor_id: int, due: datetime) -> None:
    """Enqueue the recording of the visitor's sessions for `due`."""
    from leadflow.tracking import tasks

    tasks.record_visitor_sessions.using(run_after=due).enqueue(visitor_id=visitor_id)


def identify_visitor(*, visitor_id: str, lead: Lead, via: str) -> int:
    """Join the anonymous visitor's earlier and later visits to `lead`; return how many visits joined.

    `via` names what identified them ("form", "email_click"). A visitor already
    joined to another lead is never moved to this one: the attempt is recorded
    and nothing joins. The visitor's sessions reach the lead's timeline from a task.
    """
    if not isinstance(visitor_id, str) or not VISITOR_KEY.fullmatch(visitor_id):
        return 0
    target = live_lead(lead.pk)
    if target is None:
        return 0
    now = timezone.now()
    with transaction.atomic():
        visitor, _ = Visitor.objects.select_for_update().get_or_create(
            key=visitor_id, defaults={"first_seen_at": now, "last_seen_at": now}
        )
        joined = 0
        if visitor.lead_id is None:
            outcome = Outcome.JOINED
            joined = PageView.objects.filter(visitor=visitor).count()
            visitor.lead, visitor.identified_at, visitor.identified_via = target, now, via[:32]
            # Pending from now, so the collector leaves the scheduling to the task below.
            visitor.timeline_due_at = now
            visitor.save(update_fields=["lead", "identified_at", "identified_via", "timeline_due_at"])
            transaction.on_commit(partial(schedule_sessions, visitor.pk, now))
        elif _same_person(visitor.lead_id, target.pk):
            outcome = Outcome.ALREADY
        else:
            outcome = Outcome.REFUSED
            logger.warning(
                "visitor %s is joined to lead %s; not moved to lead %s", visitor.pk, visitor.lead_id, target.pk
            )
        Identification.objects.create(visitor=visitor, lead=target, via=via[:32], outcome=outcome, page_views=joined)
    return joined


def live_lead(lead_id: int) -> Lead | None:
    """Return the live lead `lead_id` is now (following merges), or None when it was erased."""
    for _ in range(20):
        lead = Lead.objects.filter(pk=lead_id).first()
        if lead is None or lead.status == LeadStatus.ERASED:
            return None
        if lead.status == LeadStatus.ACTIVE:
            return lead
        if lead.merged_into_id is None:
            return None
        lead_id = lead.merged_into_id
    return None


def _same_person(joined_lead_id: int, lead_id: int) -> bool:
    current = live_lead(joined_lead_id)
    return current is not None and current.pk == lead_id


def record_visitor_sessions(*, visitor_id: int, now: datetime | None = None) -> int:
    """Write each ended, unwritten session of an identified visitor to its lead's timeline; return how many.

    A session still open is scheduled again for when it can no longer grow.
    """
    now = now or timezone.now()
    with transaction.atomic():
        visitor = Visitor.objects.select_for_update().filter(pk=visitor_id).first()
        if visitor is None:
            return 0
        lead = live_lead(visitor.lead_id) if visitor.lead_id else None
        written, open_until = 0, None
        if lead is not None:
            for session in _unwritten_sessions(visitor):
                if session["ended_at"] > now - SESSION_TIMEOUT:
                    open_until = max(open_until or session["ended_at"], session["ended_at"])
                    continue
                _write_session(visitor, lead, session)
                written += 1
        visitor.timeline_due_at = open_until + TIMELINE_DELAY if open_until else None
        visitor.save(update_fields=["timeline_due_at"])
        if visitor.timeline_due_at:
            transaction.on_commit(partial(schedule_sessions, visitor.pk, visitor.timeline_due_at))
    return written


def _unwritten_sessions(visitor: Visitor) -> list[dict]:
    written = RecordedSession.objects.filter(visitor=visitor).values("session_key")
    return list(
        PageView.objects.filter(visitor=visitor)
        .exclude(session_key__in=written)
        .values("session_key")
        .annotate(started_at=Min("occurred_at"), ended_at=Max("occurred_at"), page_count=Count("*"))
        .order_by("started_at")
    )


def _write_session(visitor: Visitor, lead: Lead, session: dict) -> None:
    """Put one session on the timeline as one page-viewed event listing its pages."""
    views = list(
        PageView.objects.filter(visitor=visitor, session_key=session["session_key"]).order_by("occurred_at", "id")[
            :PAGES_IN_EVENT
        ]
    )
    first = views[0]
    utm = {name: getattr(first, name) for name in UTM_NAMES if getattr(first, name)}
    data = {
        "session": session["session_key"],
        "url": first.url,
        "title": first.title,
        "page_count": session["page_count"],
        "pages": [{"url": view.url, "title": view.title, "at": view.occurred_at.isoformat()} for view in views],
        "duration_seconds": int((session["ended_at"] - session["started_at"]).total_seconds()),
        "source": source_of(first.url, first.referrer, utm),
        "referrer": first.referrer,
        "utm": utm,
    }
    event = timeline.record(
        lead, EventKind.PAGE_VIEWED, actor_type=ActorType.LEAD, data=data, occurred_at=session["started_at"]
    )
    RecordedSession.objects.create(visitor=visitor, session_key=session["session_key"], lead=lead, event=event)


def erase_visits(*, lead_ids: list[int]) -> int:
    """Delete the visitors joined to these leads and every page view they made; return how many views went.

    For erasure: call it in the transaction that erases the leads.
    """
    visitors = Visitor.objects.filter(lead_id__in=lead_ids)
    deleted, _ = PageView.objects.filter(visitor__in=visitors).delete()
    RecordedSession.objects.filter(lead_id__in=lead_ids).delete()
    Identification.objects.filter(lead_id__in=lead_ids).delete()
    visitors.delete()
    return deleted
