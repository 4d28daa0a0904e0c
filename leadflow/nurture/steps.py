"""What each kind of step does when an enrollment reaches it, and what its `config` holds.

| kind | config |
|---|---|
| email | the step's `template` (a marketing EmailTemplate) |
| wait | {"mode": "days", "days": 2} or {"mode": "until", "weekday": 1, "time": "09:30"} (lead's time zone) |
| branch | {"condition": "opened", "value": "...", "field": "...", "then_step": 7}: true goes to `then_step` |

Branch conditions: opened, clicked, replied (the previous email, people only), score_at_least,
field_equals (`field` is a merge field name or custom.KEY), stage_is.
| task | {"title": "...", "task_kind": "call"/"email"/"meeting"/"todo", "due_days": 1} |
| stage | {"stage": "mql"} |
| enroll | {"sequence_id": 3} |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings

from leadflow.leads.errors import LeadError
from leadflow.leads.models import EventKind, Lead, Stage, TimelineEvent
from leadflow.nurture.errors import NurtureError
from leadflow.nurture.models import Enrollment, Sequence, Step, StepKind
from leadflow.nurture.rendering import TemplateError, render_template
from leadflow.nurture.windows import lead_zone, next_weekday_time, next_window

CONDITIONS = {
    "opened": "The previous email was opened",
    "clicked": "A link in the previous email was clicked",
    "replied": "The previous email was replied to",
    "score_at_least": "Score is at least",
    "field_equals": "A field equals",
    "stage_is": "Stage is",
}
TASK_KINDS = ("call", "email", "meeting", "todo")
CAP_RETRY = timedelta(hours=1)


@dataclass
class Outcome:
    """What happened: go on to `goto` (None: the next step) or wait until `wait_until`; `note` for history."""

    note: str
    wait_until: datetime | None = None
    goto: Step | None = None
    exit_reason: str = ""


def email_key(enrollment: Enrollment, step: Step) -> str:
    return f"nurture:{enrollment.pk}:{step.pk}"


def cap_free_at(lead: Lead, now: datetime) -> datetime | None:
    """Return when the frequency cap lets the lead get another marketing email, or None when it does now."""
    from leadflow.mail import queries as mail_queries
    from leadflow.mail.models import Kind, OutboxMessage, Status

    cap, days = settings.LEADFLOW_NURTURE_CAP, settings.LEADFLOW_NURTURE_CAP_DAYS
    if cap <= 0:
        return None
    since = now - timedelta(days=days)
    count = mail_queries.marketing_sent_count(lead_id=lead.pk, since=since)
    if count < cap:
        return None
    sent = list(
        OutboxMessage.objects.filter(
            lead_id=lead.pk, kind=Kind.MARKETING, status__in=(Status.SENT, Status.BOUNCED), sent_at__gte=since
        )
        .order_by("-sent_at")
        .values_list("sent_at", flat=True)[:count]
    )
    # The oldest sends leave the window first; once (count - cap + 1) of them have, one more is allowed.
    leaving = sorted(sent)[count - cap] if len(sent) > count - cap else None
    return leaving + timedelta(days=days, seconds=1) if leaving else now + CAP_RETRY


def _run_email(enrollment: Enrollment, step: Step, now: datetime) -> Outcome:
    from leadflow.mail import services as mail_services

    lead, sequence = enrollment.lead, enrollment.sequence
    zone = lead_zone(lead)
    window = dict(days=sequence.send_days, start_hour=sequence.send_start_hour, end_hour=sequence.send_end_hour)
    opens = next_window(now, zone, **window)
    if opens > now:
        return Outcome(f"waiting for the sending window ({opens.astimezone(zone):%a %H:%M})", wait_until=opens)
    free = cap_free_at(lead, now)
    if free is not None:
        return Outcome("frequency cap reached", wait_until=next_window(free, zone, **window))
    if step.template is None:
        return Outcome("skipped: the step has no template")
    try:
        rendered = render_template(step.template, lead)
    except TemplateError as error:
        return Outcome(f"skipped: {error.message}")
    key = email_key(enrollment, step)
    mail_services.queue_email(
        lead=lead,
        key=key,
        kind="marketing",
        subject=rendered.subject,
        html=rendered.html,
        text=rendered.text,
        meta={"sequence_id": sequence.pk, "step_id": step.pk, "enrollment_id": enrollment.pk},
    )
    enrollment.last_email_key = key
    return Outcome(f"email “{step.template.subject}” queued")


def wait_target(step: Step, lead: Lead, start: datetime) -> datetime:
    """Return when a wait step that started at `start` is over."""
    config = step.config or {}
    if config.get("mode") == "until":
        hour, _, minute = str(config.get("time") or "09:00").partition(":")
        at = time(int(hour or 9) % 24, int(minute or 0) % 60)
        return next_weekday_time(start, lead_zone(lead), weekday=int(config.get("weekday", 0)) % 7, at=at)
    return start + timedelta(days=float(config.get("days") or 0))


def _run_wait(enrollment: Enrollment, step: Step, now: datetime) -> Outcome:
    if enrollment.wait_until is None:
        enrollment.wait_until = wait_target(step, enrollment.lead, now)
    if enrollment.wait_until > now:
        return Outcome("waiting", wait_until=enrollment.wait_until)
    enrollment.wait_until = None
    return Outcome("wait over")


def field_value(lead: Lead, name: str) -> str:
    """Return a lead field (or custom.KEY) as text, for the "field equals" condition."""
    from leadflow.nurture.rendering import CUSTOM_PREFIX, FIELDS, lead_values

    if name.startswith(CUSTOM_PREFIX) or name in FIELDS:
        if name == "stage":
            return lead.stage
        return lead_values(lead, signature=lambda user: "")(name)
    return ""


def condition_holds(enrollment: Enrollment, config: dict[str, Any]) -> bool:
    """Evaluate a branch condition for the enrollment's lead."""
    from leadflow.mail import queries as mail_queries

    condition, value, lead = config.get("condition"), str(config.get("value") or ""), enrollment.lead
    if condition in {"opened", "clicked", "replied"}:
        if not enrollment.last_email_key:
            return False
        return bool(mail_queries.engagement(key=enrollment.last_email_key).get(condition))
    if condition == "score_at_least":
        try:
            return lead.score >= int(value)
        except ValueError:
            return False
    if condition == "field_equals":
        return field_value(lead, str(config.get("field") or "")).strip().lower() == value.strip().lower()
    if condition == "stage_is":
        return lead.stage == value
    return False


def _run_branch(enrollment: Enrollment, step: Step, now: datetime) -> Outcome:
    config = step.config or {}
    holds = condition_holds(enrollment, config)
    target = None
    if holds and config.get("then_step"):
        target = Step.objects.filter(sequence_id=step.sequence_id, pk=config["then_step"]).first()
    label = CONDITIONS.get(config.get("condition"), "condition")
    return Outcome(f"{label}: {'yes' if holds else 'no'}", goto=target)


def _run_task(enrollment: Enrollment, step: Step, now: datetime) -> Outcome:
    from leadflow.routing import services as routing_services

    config = step.config or {}
    title = str(config.get("title") or f"Follow up ({enrollment.sequence.name})")[:200]
    due = now + timedelta(days=float(config.get("due_days") or 0))
    kind = config.get("task_kind") if config.get("task_kind") in TASK_KINDS else "todo"
    try:
        routing_services.create_task(
            lead=enrollment.lead, kind=kind, title=title, due_at=due, assignee=None, actor=None
        )
    except LeadError as error:
        return Outcome(f"task not created ({error.code}): {error.message}")
    return Outcome(f"task “{title}” created")


def _run_stage(enrollment: Enrollment, step: Step, now: datetime) -> Outcome:
    from leadflow.leads.services.records import change_stage

    stage = (step.config or {}).get("stage", "")
    if stage not in Stage.values:
        return Outcome(f"skipped: unknown stage {stage!r}")
    try:
        enrollment.lead = change_stage(
            lead=enrollment.lead, stage=stage, actor=None, reason=f"Sequence “{enrollment.sequence.name}”"
        )
    except LeadError as error:
        return Outcome(f"stage not changed ({error.code}): {error.message}")
    return Outcome(f"stage changed to {Stage(stage).label}")


def _run_enroll(enrollment: Enrollment, step: Step, now: datetime) -> Outcome:
    from leadflow.nurture.enrollment import enroll

    other = Sequence.objects.filter(pk=(step.config or {}).get("sequence_id")).first()
    if other is None:
        return Outcome("skipped: the other sequence no longer exists")
    try:
        enroll(sequence=other, lead=enrollment.lead, actor=None, source="sequence")
    except NurtureError as error:
        return Outcome(f"not enrolled in “{other.name}” ({error.code})")
    return Outcome(f"enrolled in “{other.name}”")


RUNNERS = {
    StepKind.EMAIL: _run_email,
    StepKind.WAIT: _run_wait,
    StepKind.BRANCH: _run_branch,
    StepKind.TASK: _run_task,
    StepKind.STAGE: _run_stage,
    StepKind.ENROLL: _run_enroll,
}


def run_step(enrollment: Enrollment, step: Step, now: datetime) -> Outcome:
    """Run `step` for the enrollment and say what happened."""
    return RUNNERS[step.kind](enrollment, step, now)


EXIT_STAGES = {
    Stage.SQL: "became_sql",
    Stage.OPPORTUNITY: "became_opportunity",
    Stage.CUSTOMER: "became_customer",
    Stage.DISQUALIFIED: "disqualified",
}


def stage_exit(lead: Lead, sequence: Sequence, since: datetime) -> str:
    """Return why the lead's stage ends the enrollment ('goal_reached', 'became_sql', ...), or ''."""
    goal = sequence.goal_stage
    if goal and (lead.stage == goal or _entered_since(lead, goal, since)):
        return "goal_reached"
    return EXIT_STAGES.get(lead.stage, "")


def _entered_since(lead: Lead, stage: str, since: datetime) -> bool:
    from django.utils.dateparse import parse_datetime

    raw = (lead.stage_entered_at or {}).get(stage)
    entered = parse_datetime(raw) if isinstance(raw, str) else None
    return entered is not None and entered >= since


def send_exit(enrollment: Enrollment) -> str:
    """Return why no more email may go to the lead (replied, unsubscribed, bounced, suppressed...), or ''."""
    from leadflow.leads.models import ConsentStatus

    lead = enrollment.lead
    if lead.consent_status == ConsentStatus.WITHDRAWN:
        return "consent_withdrawn"
    kinds = {
        EventKind.EMAIL_REPLIED: "replied",
        EventKind.UNSUBSCRIBED: "unsubscribed",
        EventKind.EMAIL_BOUNCED: "bounced",
    }
    seen = (
        TimelineEvent.objects.filter(lead_id=lead.pk, kind__in=list(kinds), occurred_at__gte=enrollment.enrolled_at)
        .order_by("occurred_at", "id")
        .values_list("kind", flat=True)
        .first()
    )
    if seen:
        return kinds[seen]
    from leadflow.nurture.enrollment import suppression_of

    reason = suppression_of(lead)
    if reason:
        return {"unsubscribed": "unsubscribed", "bounced": "bounced"}.get(reason, "suppressed")
    return ""
