"""Speed-to-lead: read new timeline events after a cursor, spot first touches, escalate missed deadlines."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from leadflow.accounts.models import Role, User
from leadflow.leads import timeline
from leadflow.leads.models import ActorType, EventKind, Lead, LeadStatus, Stage, TimelineEvent
from leadflow.leads.services.records import assign_owner
from leadflow.routing.models import OPEN_STEPS, AssignmentRule, JobCursor, SlaStep, SlaTimer
from leadflow.routing.services.notify import notify

# Events younger than this may sit behind a transaction that has not committed yet;
# the cursor waits for them so that no event with a smaller id is ever skipped.
SETTLE = timedelta(seconds=2)
# Leads created longer ago than this are not routed by the "created" job (an old backlog is assigned by people).
CREATED_MAX_AGE = timedelta(days=1)
TOUCH_KINDS = (EventKind.CALL, EventKind.EMAIL_SENT, EventKind.MEETING)


def touch_events() -> Q:
    """A first touch: a call, a one-to-one email or a meeting, by a person."""
    return Q(kind__in=TOUCH_KINDS, actor_type=ActorType.USER)


def read_after_cursor(
    name: str, kinds: Iterable[str], handle: Callable[[TimelineEvent], None], *, now: datetime, limit: int
) -> int:
    """Hand each new event of `kinds` after cursor `name` to `handle`, then advance; return how many.

    The cursor row is locked for the batch (skipped by other workers on PostgreSQL),
    so each event is handled once, in the same transaction as the cursor's move.
    """
    with contextlib.suppress(IntegrityError):
        JobCursor.objects.get_or_create(name=name)
    with transaction.atomic():
        cursor = JobCursor.objects.select_for_update(skip_locked=True).filter(name=name).first()
        if cursor is None:
            return 0
        events = list(
            TimelineEvent.objects.filter(pk__gt=cursor.position, kind__in=list(kinds))
            .select_related("lead")
            .order_by("pk")[:limit]
        )
        handled, last = 0, cursor.position
        for event in events:
            if event.created_at > now - SETTLE:
                break
            handle(event)
            handled, last = handled + 1, event.pk
        if last != cursor.position:
            JobCursor.objects.filter(pk=cursor.pk).update(position=last, updated_at=now)
    return handled


def route_new_leads(*, now: datetime | None = None, limit: int = 200) -> int:
    """Route leads that arrived without an owner, and leads that became MQLs (by the events)."""
    from leadflow.routing.services.route import route_lead

    now = now or timezone.now()

    def handle(event: TimelineEvent) -> None:
        if event.kind == EventKind.CREATED and event.occurred_at >= now - CREATED_MAX_AGE:
            if event.lead.owner_id is None:
                route_lead(lead_id=event.lead_id, trigger="created")
        elif event.kind == EventKind.STAGE_CHANGED and (event.data or {}).get("to") == Stage.MQL:
            route_lead(lead_id=event.lead_id, trigger="mql")

    return read_after_cursor(
        "routing.new_leads", (EventKind.CREATED, EventKind.STAGE_CHANGED), handle, now=now, limit=limit
    )


def record_first_touch(*, lead_id: int, event: TimelineEvent) -> bool:
    """Set the lead's first touch from `event` if it is the first since assignment; stop its timer."""
    if event.actor_type != ActorType.USER or event.kind not in TOUCH_KINDS:
        return False
    when = event.occurred_at
    touched = Lead.objects.filter(
        pk=lead_id, first_touched_at__isnull=True, assigned_at__isnull=False, assigned_at__lte=when
    ).update(first_touched_at=when)
    SlaTimer.objects.filter(
        lead_id=lead_id, step__in=(SlaStep.OPEN, SlaStep.REP_NOTIFIED, SlaStep.MANAGER_NOTIFIED), started_at__lte=when
    ).update(step=SlaStep.TOUCHED, touched_at=when, step_at=timezone.now())
    return bool(touched)


def detect_first_touches(*, now: datetime | None = None, limit: int = 500) -> int:
    """Read new calls, one-to-one emails and meetings and stop the first-touch clocks they answer."""

    def handle(event: TimelineEvent) -> None:
        record_first_touch(lead_id=event.lead_id, event=event)

    return read_after_cursor("routing.first_touch", TOUCH_KINDS, handle, now=now or timezone.now(), limit=limit)


def _touched_since(timer: SlaTimer) -> datetime | None:
    event = (
        TimelineEvent.objects.filter(touch_events(), lead_id=timer.lead_id, occurred_at__gte=timer.started_at)
        .order_by("occurred_at")
        .first()
    )
    if event is None:
        return None
    record_first_touch(lead_id=timer.lead_id, event=event)
    return event.occurred_at


def _no_longer_theirs(timer: SlaTimer, now: datetime) -> bool:
    """Close the timer when the lead changed hands by other means, or was merged or erased."""
    lead = timer.lead
    if lead.owner_id == timer.owner_id and lead.status == LeadStatus.ACTIVE:
        return False
    SlaTimer.objects.filter(pk=timer.pk, step__in=OPEN_STEPS).update(step=SlaStep.CLOSED, step_at=now)
    return True


def _claim_step(timer: SlaTimer, current: str, following: str, now: datetime) -> bool:
    return bool(
        SlaTimer.objects.filter(pk=timer.pk, step=current, touched_at__isnull=True).update(step=following, step_at=now)
    )


def team_managers(team_id: int | None) -> list[User]:
    if not team_id:
        return []
    return list(
        User.objects.filter(Q(managed_teams=team_id) | Q(team_id=team_id), role=Role.MANAGER, is_active=True)
        .distinct()
        .order_by("id")
    )


def sweep_deadlines(*, now: datetime | None = None, limit: int = 100) -> int:
    """Escalate missed first touches: the rep at once, then the managers, then reassign if the rule says so."""
    now = now or timezone.now()
    grace = timedelta(minutes=settings.LEADFLOW_SLA_GRACE_MINUTES)
    steps = (
        (SlaStep.OPEN, SlaStep.REP_NOTIFIED, Q(due_at__lte=now), _breached),
        (SlaStep.REP_NOTIFIED, SlaStep.MANAGER_NOTIFIED, Q(step_at__lte=now - grace), _tell_managers),
        (
            SlaStep.MANAGER_NOTIFIED,
            SlaStep.REASSIGNED,
            Q(step_at__lte=now - grace, rule__reassign_on_breach=True),
            _reassign,
        ),
    )
    handled = 0
    for current, following, due, act in steps:
        timers = SlaTimer.objects.filter(due, step=current, touched_at__isnull=True).order_by("due_at", "id")
        for timer in timers.select_related("lead", "owner", "rule")[:limit]:
            with transaction.atomic():
                if _no_longer_theirs(timer, now) or _touched_since(timer) is not None:
                    continue
                if not _claim_step(timer, current, following, now):
                    continue
                act(timer, now)
                handled += 1
    return handled


def _late_by(timer: SlaTimer, now: datetime) -> str:
    minutes = max(int((now - timer.due_at).total_seconds() // 60), 0)
    return f"{minutes // 60} h {minutes % 60} min" if minutes >= 60 else f"{minutes} min"


def when(moment: datetime) -> str:
    """Return a moment as people read it in notifications: 'Mon 23 Nov 09:30'."""
    return f"{timezone.localtime(moment):%a %-d %b %H:%M}"


def _breached(timer: SlaTimer, now: datetime) -> None:
    SlaTimer.objects.filter(pk=timer.pk).update(breached_at=now)
    lead = timer.lead
    data = {
        "owner": timer.owner_id,
        "owner_name": str(timer.owner) if timer.owner else "",
        "due_at": timer.due_at.isoformat(),
        "subject": f"{timer.owner or 'Nobody'} has not contacted the lead yet (due {when(timer.due_at)})",
    }
    timeline.record(lead, EventKind.SLA_BREACHED, data=data)
    notify(
        user=timer.owner,
        subject=f"First touch overdue: {lead.display_name}",
        body=f"Contact {lead.display_name} now: the first touch was due {when(timer.due_at)}.",
        lead=lead,
    )


def _tell_managers(timer: SlaTimer, now: datetime) -> None:
    lead = timer.lead
    for manager in team_managers(lead.team_id):
        notify(
            user=manager,
            subject=f"{timer.owner or 'A rep'} missed a first touch: {lead.display_name}",
            body=f"{lead.display_name} was due a first touch {_late_by(timer, now)} ago and is still untouched.",
            lead=lead,
        )


def _reassign(timer: SlaTimer, now: datetime) -> None:
    from leadflow.routing.services.route import start_timer
    from leadflow.routing.services.rules import choose_owner, deadline

    lead = Lead.objects.select_for_update().get(pk=timer.lead_id)
    rule = AssignmentRule.objects.select_for_update().get(pk=timer.rule_id)
    new_owner, skipped = choose_owner(rule, now, (timer.owner_id,) if timer.owner_id else ())
    if new_owner is None or new_owner.pk == timer.owner_id:
        subject = "could not reassign: nobody else is available"
        timeline.record(lead, EventKind.ROUTED, data={"outcome": "kept", "trigger": "reassign", "subject": subject})
        return
    rule.save(update_fields=["rotation"])
    lead = assign_owner(lead=lead, owner=new_owner, actor=None)
    due_at = deadline(rule, new_owner, now)
    start_timer(lead=lead, owner=new_owner, rule=rule, due_at=due_at, now=now)
    data = {
        "outcome": "reassigned",
        "trigger": "reassign",
        "rule": rule.name,
        "rule_id": rule.pk,
        "from_name": str(timer.owner) if timer.owner else "",
        "to": new_owner.pk,
        "to_name": str(new_owner),
        "skipped": [skip.as_dict() for skip in skipped],
        "subject": f"to {new_owner} after {timer.owner or 'the owner'} missed the first touch (rule “{rule.name}”)",
    }
    timeline.record(lead, EventKind.ROUTED, data=data)
    notify(
        user=new_owner,
        subject=f"Lead reassigned to you: {lead.display_name}",
        body=f"{timer.owner or 'The previous owner'} missed the first touch. First touch due {when(due_at)}.",
        lead=lead,
    )
    if timer.owner is not None:
        notify(
            user=timer.owner,
            subject=f"Lead reassigned: {lead.display_name}",
            body=f"{lead.display_name} went to {new_owner} because the first touch was missed.",
            lead=lead,
        )
