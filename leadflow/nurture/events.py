"""Read new timeline events after a stored cursor: triggers, exits and form auto-replies.

Each job locks its cursor row for the batch (skipping it when another worker holds it,
on PostgreSQL; SQLite's write lock serialises them), handles the events after it in id
order and moves it on in the same transaction, so an event is handled once. A new
cursor starts at the newest event: history is not replayed. On PostgreSQL, ids can
commit out of order, so events younger than LEADFLOW_NURTURE_EVENT_LAG_MS are left for
the next run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Max
from django.utils import timezone

from leadflow.leads.models import EventKind, Lead, TimelineEvent
from leadflow.nurture.enrollment import end_enrollment, enroll, exit_lead
from leadflow.nurture.errors import NurtureError
from leadflow.nurture.models import (
    AutoReply,
    Enrollment,
    EnrollmentStatus,
    EventCursor,
    Sequence,
    SequenceStatus,
    Trigger,
)
from leadflow.nurture.rendering import TemplateError, render_template
from leadflow.nurture.steps import EXIT_STAGES

logger = logging.getLogger("leadflow.nurture")
TRIGGER_KINDS = (EventKind.FORM_SUBMITTED, EventKind.STAGE_CHANGED, EventKind.SCORE_CHANGED)


def _cursor_id(name: str) -> int:
    row = EventCursor.objects.filter(name=name).values_list("pk", flat=True).first()
    if row is not None:
        return row
    start = TimelineEvent.objects.aggregate(top=Max("pk"))["top"] or 0
    try:
        with transaction.atomic():
            return EventCursor.objects.create(name=name, last_event_id=start).pk
    except IntegrityError:
        return EventCursor.objects.get(name=name).pk


def _events_after(last_id: int, kinds: tuple[str, ...], limit: int) -> list[TimelineEvent]:
    events = TimelineEvent.objects.filter(pk__gt=last_id, kind__in=kinds)
    lag = settings.LEADFLOW_NURTURE_EVENT_LAG_MS
    if lag and connection.vendor == "postgresql":
        events = events.filter(created_at__lte=timezone.now() - timedelta(milliseconds=lag))
    return list(events.order_by("pk")[:limit])


def read_after_cursor(
    name: str, kinds: tuple[str, ...], handle: Callable[[list[TimelineEvent]], None], *, limit: int = 500
) -> int:
    """Hand the events of `kinds` after cursor `name` to `handle` in one transaction; return how many.

    On SQLite the transaction holds the database's one write lock, which every form post
    waits for, so the events are read before it: SQLite gives ids in commit order, so no
    event can later appear before the newest one read. Under the lock the batch is kept
    when the cursor has not moved meanwhile, and read again when another worker moved it.
    """
    cursor_id = _cursor_id(name)
    last = EventCursor.objects.filter(pk=cursor_id).values_list("last_event_id", flat=True).first() or 0
    read_early = not connection.features.has_select_for_update_skip_locked
    if read_early:
        early = _events_after(last, kinds, limit)
        if not early:
            return 0
    elif not TimelineEvent.objects.filter(pk__gt=last, kind__in=kinds).exists():
        return 0
    with transaction.atomic():
        rows = EventCursor.objects.filter(pk=cursor_id)
        if connection.features.has_select_for_update_skip_locked:
            rows = rows.select_for_update(skip_locked=True)
        else:
            rows = rows.select_for_update()
        cursor = rows.first()
        if cursor is None:
            return 0
        same = read_early and cursor.last_event_id == last
        batch = early if same else _events_after(cursor.last_event_id, kinds, limit)
        if not batch:
            return 0
        handle(batch)
        cursor.last_event_id = batch[-1].pk
        cursor.updated_at = timezone.now()
        cursor.save(update_fields=["last_event_id", "updated_at"])
    return len(batch)


def _leads(events: list[TimelineEvent]) -> dict[int, Lead]:
    return Lead.objects.select_related("owner").in_bulk({event.lead_id for event in events})


def _try_enroll(sequence: Sequence, lead: Lead | None) -> None:
    if lead is None:
        return
    try:
        with transaction.atomic():
            enroll(sequence=sequence, lead=lead, actor=None, source="trigger")
    except NurtureError:
        pass


def _score_crossed(data: dict, value: int) -> bool:
    try:
        before, after = int(data.get("from", 0) or 0), int(data.get("to", 0) or 0)
    except (TypeError, ValueError):
        return False
    return before < value <= after


def _goal_exits(lead_id: int, stage: str) -> None:
    rows = Enrollment.objects.select_for_update().filter(
        lead_id=lead_id, status=EnrollmentStatus.ACTIVE, sequence__goal_stage=stage
    )
    for enrollment in rows.select_related("sequence", "lead"):
        end_enrollment(enrollment, reason="goal_reached")


def handle_trigger_events(events: list[TimelineEvent]) -> None:
    """Exit on stage changes (goal first), then enroll by the sequences' triggers."""
    sequences = list(Sequence.objects.filter(status=SequenceStatus.ACTIVE).exclude(trigger=Trigger.NONE))
    leads = _leads(events)
    for event in events:
        data = event.data or {}
        if event.kind == EventKind.STAGE_CHANGED:
            to = data.get("to", "")
            _goal_exits(event.lead_id, to)
            if to in EXIT_STAGES:
                exit_lead(lead_id=event.lead_id, reason=EXIT_STAGES[to])
        for sequence in sequences:
            if _fires(sequence, event, data):
                _try_enroll(sequence, leads.get(event.lead_id))


def _fires(sequence: Sequence, event: TimelineEvent, data: dict) -> bool:
    if sequence.trigger == Trigger.FORM and event.kind == EventKind.FORM_SUBMITTED:
        return sequence.trigger_form_id is not None and data.get("form_id") == sequence.trigger_form_id
    if sequence.trigger == Trigger.STAGE and event.kind == EventKind.STAGE_CHANGED:
        return bool(sequence.trigger_stage) and data.get("to") == sequence.trigger_stage
    if sequence.trigger == Trigger.SCORE and event.kind == EventKind.SCORE_CHANGED:
        return sequence.trigger_score is not None and _score_crossed(data, sequence.trigger_score)
    return False


def process_triggers(*, limit: int = 500) -> int:
    """Handle new form, stage and score events: exits, goals and trigger enrollments."""
    return read_after_cursor("nurture.triggers", TRIGGER_KINDS, handle_trigger_events, limit=limit)


def handle_form_events(events: list[TimelineEvent]) -> None:
    """Queue each enabled auto-reply for the forms submitted."""
    from leadflow.mail import services as mail_services

    replies = {reply.form_id: reply for reply in AutoReply.objects.filter(enabled=True).select_related("template")}
    wanted = [event for event in events if (event.data or {}).get("form_id") in replies]
    if not wanted:
        return
    leads = _leads(wanted)
    for event in wanted:
        lead = leads.get(event.lead_id)
        if lead is None or not lead.email:
            continue
        reply = replies[event.data["form_id"]]
        try:
            rendered = render_template(reply.template, lead)
        except TemplateError as error:
            logger.warning("auto-reply of form %s not sent: %s", reply.form_id, error.message)
            continue
        mail_services.queue_email(
            lead=lead,
            key=f"autoreply:{event.pk}",
            kind="transactional",
            subject=rendered.subject,
            html=rendered.html,
            text=rendered.text,
            meta={"auto_reply": reply.pk, "form_id": reply.form_id, "event_id": event.pk},
        )


def process_auto_replies(*, limit: int = 500) -> int:
    """Queue auto-replies for forms submitted since the last run; return how many submissions were read.

    With no auto-reply switched on there is nothing to read the submissions for: the
    cursor moves past them with one statement. The newest event is looked up before
    the switches, so a submission that follows an auto-reply switched on is read.
    """
    name = "nurture.auto_replies"
    newest = TimelineEvent.objects.aggregate(top=Max("pk"))["top"] or 0
    if not AutoReply.objects.filter(enabled=True).exists():
        EventCursor.objects.filter(pk=_cursor_id(name), last_event_id__lt=newest).update(
            last_event_id=newest, updated_at=timezone.now()
        )
        return 0
    return read_after_cursor(name, (EventKind.FORM_SUBMITTED,), handle_form_events, limit=limit)
