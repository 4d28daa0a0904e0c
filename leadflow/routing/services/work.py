"""A rep's work on a lead: handovers accepted or sent back, tasks, and calls logged from the inbox."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from leadflow.accounts.models import User
from leadflow.leads import timeline
from leadflow.leads.errors import FieldErrors, LeadError
from leadflow.leads.models import EventKind, Lead, Stage, TimelineEvent
from leadflow.leads.services.records import change_stage, log_call
from leadflow.routing.models import OPEN_STEPS, Handover, HandoverStatus, SlaStep, SlaTimer, Task, TaskKind
from leadflow.routing.services.notify import notify


def handover_note(lead: Lead) -> tuple[str, list[dict]]:
    """Return why the lead is handed over, as text, and the score breakdown it came from."""
    from leadflow.routing.queries import describe_activity, latest_activity
    from leadflow.scoring.queries import score_breakdown

    breakdown = [
        {
            "name": str(item.get("name") or item.get("rule") or ""),
            "kind": str(item.get("kind", "")),
            "points": item.get("points", 0),
        }
        for item in score_breakdown(lead) or []
        if isinstance(item, dict)
    ]
    lines = [f"Score {lead.score} (fit {lead.fit_score}, engagement {lead.engagement_score})."]
    top = sorted(breakdown, key=lambda item: -abs(_number(item["points"])))[:5]
    if top:
        lines.append("Why: " + ", ".join(f"{item['name']} ({_number(item['points']):+g})" for item in top) + ".")
    event = latest_activity([lead.pk]).get(lead.pk)
    if event is not None:
        lines.append(f"Latest: {describe_activity(event)}.")
    return " ".join(lines), breakdown


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def open_handover(*, lead: Lead, rep: User, rule=None) -> Handover:
    """Record that the MQL `lead` is handed to `rep`, with a note saying why."""
    note, reasons = handover_note(lead)
    Handover.objects.filter(lead=lead, status=HandoverStatus.PENDING).update(
        status=HandoverStatus.CANCELLED, decided_at=timezone.now()
    )
    return Handover.objects.create(lead=lead, rep=rep, rule=rule, note=note, reasons=reasons)


def _decide(handover: Handover, status: str, actor: User, reason: str = "") -> None:
    done = Handover.objects.filter(pk=handover.pk, status=HandoverStatus.PENDING).update(
        status=status, decided_at=timezone.now(), decided_by=actor, reason=reason
    )
    if not done:
        current = Handover.objects.select_related("decided_by").get(pk=handover.pk)
        who = current.decided_by or "Someone"
        raise LeadError("handover_decided", f"{who} already {current.get_status_display().lower()} this handover.")


def accept_handover(*, handover: Handover, actor: User) -> Handover:
    """Accept the lead: it becomes an SQL (the qualification gate may refuse, naming what is missing)."""
    with transaction.atomic():
        change_stage(lead=handover.lead, stage=Stage.SQL, actor=actor, reason="Handover accepted")
        _decide(handover, HandoverStatus.ACCEPTED, actor)
        timeline.record(
            handover.lead, EventKind.HANDOVER_ACCEPTED, actor=actor, data={"handover": handover.pk, "subject": "→ SQL"}
        )
    handover.refresh_from_db()
    return handover


def reject_handover(*, handover: Handover, actor: User, reason: str) -> Handover:
    """Send the lead back to nurture (stage Recycled) with the rep's reason."""
    reason = (reason or "").replace("\x00", "").strip()[:500]
    if not reason:
        raise FieldErrors({"reason": "Say why the lead is not ready, so marketing can nurture it."})
    with transaction.atomic():
        change_stage(lead=handover.lead, stage=Stage.RECYCLED, actor=actor, reason=reason)
        _decide(handover, HandoverStatus.REJECTED, actor, reason)
        timeline.record(
            handover.lead,
            EventKind.HANDOVER_REJECTED,
            actor=actor,
            data={"handover": handover.pk, "reason": reason, "subject": reason},
        )
        SlaTimer.objects.filter(lead=handover.lead, step__in=OPEN_STEPS).update(
            step=SlaStep.CLOSED, step_at=timezone.now()
        )
    handover.refresh_from_db()
    return handover


def create_task(
    *,
    lead: Lead,
    kind: str,
    title: str,
    due_at: datetime | None = None,
    assignee: User | None = None,
    actor: User | None = None,
) -> Task:
    """Create a sales task (kind: call, email, meeting or todo) on the lead for `assignee` (default: its owner)."""
    title = (title or "").replace("\x00", "").strip()
    errors = {}
    if kind not in TaskKind.values:
        errors["kind"] = f"must be one of {', '.join(TaskKind.values)}."
    if not title:
        errors["title"] = "Say what needs doing."
    elif len(title) > 200:
        errors["title"] = "Keep it under 200 characters."
    if errors:
        raise FieldErrors(errors)
    assignee = assignee or lead.owner or actor
    with transaction.atomic():
        task = Task.objects.create(
            lead=lead, kind=kind, title=title, due_at=due_at, assignee=assignee, created_by=actor
        )
        data = {
            "task": task.pk,
            "kind": kind,
            "due_at": due_at.isoformat() if due_at else None,
            "assignee": str(assignee) if assignee else "",
            "subject": f"{TaskKind(kind).label}: {title}"
            + (f" (due {timezone.localtime(due_at):%-d %b %H:%M})" if due_at else ""),
        }
        timeline.record(lead, EventKind.TASK_CREATED, actor=actor, data=data)
    return task


def complete_task(*, task: Task, actor: User | None) -> Task:
    """Mark the task done, once, on the lead's timeline."""
    with transaction.atomic():
        now = timezone.now()
        done = Task.objects.filter(pk=task.pk, completed_at__isnull=True).update(completed_at=now, completed_by=actor)
        task.refresh_from_db()
        if done:
            data = {"task": task.pk, "kind": task.kind, "subject": f"{task.get_kind_display()}: {task.title}"}
            timeline.record(task.lead, EventKind.TASK_COMPLETED, actor=actor, data=data)
    return task


def log_outcome(
    *,
    lead: Lead,
    outcome: str,
    actor: User,
    notes: str = "",
    next_kind: str = "",
    next_title: str = "",
    next_due_at: datetime | None = None,
) -> tuple[TimelineEvent, Task | None]:
    """Log a call from the inbox: its outcome, the first touch it makes, and the next step as a task."""
    from leadflow.routing.services.sla import record_first_touch

    with transaction.atomic():
        event = log_call(lead=lead, outcome=outcome, actor=actor, notes=notes)
        record_first_touch(lead_id=lead.pk, event=event)
        due_call = (
            Task.objects.open()
            .filter(lead=lead, assignee=actor, kind=TaskKind.CALL, due_at__lte=timezone.now())
            .order_by("due_at")
            .first()
        )
        if due_call is not None:
            complete_task(task=due_call, actor=actor)
        task = None
        if next_kind:
            title = next_title or f"{TaskKind(next_kind).label if next_kind in TaskKind.values else 'Follow up'}"
            task = create_task(lead=lead, kind=next_kind, title=title, due_at=next_due_at, assignee=actor, actor=actor)
    return event, task


def send_task_reminders(*, now: datetime | None = None, limit: int = 100) -> int:
    """Remind assignees of tasks that fell due; each task is claimed and reminded once."""
    now = now or timezone.now()
    due = Task.objects.open().filter(reminded_at__isnull=True, due_at__lte=now, assignee__isnull=False)
    handled = 0
    for pk in due.order_by("due_at", "id").values_list("pk", flat=True)[:limit]:
        with transaction.atomic():
            if not Task.objects.filter(pk=pk, reminded_at__isnull=True, completed_at__isnull=True).update(
                reminded_at=now
            ):
                continue
            task = Task.objects.select_related("lead", "assignee").get(pk=pk)
            body = f"{task.get_kind_display()} {task.lead.display_name}: {task.title}."
            if task.due_at:
                body += f" Due {timezone.localtime(task.due_at):%a %-d %b %H:%M}."
            notify(user=task.assignee, subject=f"Task due: {task.title}", body=body, lead=task.lead)
            handled += 1
    return handled
