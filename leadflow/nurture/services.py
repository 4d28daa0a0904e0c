"""Nurture: templates, sequences and their steps, enrollments, auto-replies, one-to-one email."""

from __future__ import annotations

import uuid
from typing import Any

from django.db import transaction
from django.db.models import F, Max
from django.utils import timezone

from leadflow.leads.models import Lead, Stage
from leadflow.nurture.enrollment import (  # noqa: F401
    enroll,
    enroll_many,
    exit_lead,
    remove_enrollment,
)
from leadflow.nurture.errors import NurtureError
from leadflow.nurture.models import (
    AutoReply,
    EmailTemplate,
    Enrollment,
    EnrollmentStatus,
    Sequence,
    SequenceStatus,
    Signature,
    Step,
    StepKind,
    TemplateKind,
    Trigger,
)
from leadflow.nurture.rendering import Rendered, TemplateError, render_source, render_template, validate
from leadflow.nurture.steps import CONDITIONS, TASK_KINDS


def may_manage(user) -> bool:
    """Admins and marketing write templates and sequences."""
    return bool(user and user.is_authenticated and user.sees_all_leads)


def _require_manager(actor) -> None:
    if not may_manage(actor):
        raise NurtureError("forbidden", "Only admins and marketing may change templates and sequences.")


def _checked(subject: str, body: str) -> None:
    try:
        validate(subject=subject, body=body)
    except TemplateError as error:
        raise NurtureError(error.code, error.message, field="body") from error


def save_template(
    *, template: EmailTemplate | None, name: str, kind: str, subject: str, body: str, actor
) -> EmailTemplate:
    """Create or change a template; raise NurtureError when a merge field is unknown."""
    _require_manager(actor)
    if kind not in TemplateKind.values:
        raise NurtureError("invalid", f"Unknown kind {kind!r}.", field="kind")
    _checked(subject, body)
    template = template or EmailTemplate(created_by=actor)
    template.name, template.kind, template.subject, template.body = name.strip(), kind, subject.strip(), body
    template.updated_at = timezone.now()
    template.save()
    return template


def delete_template(*, template: EmailTemplate, actor) -> None:
    _require_manager(actor)
    if Step.objects.filter(template=template).exists() or AutoReply.objects.filter(template=template).exists():
        raise NurtureError("in_use", "A sequence step or an auto-reply uses this template; change those first.")
    template.delete()


def save_signature(*, user, text: str) -> Signature:
    """Keep the user's signature, used as {{ owner_signature }} in their leads' emails."""
    signature, _ = Signature.objects.get_or_create(user=user)
    signature.text = text.strip()[:2000]
    signature.updated_at = timezone.now()
    signature.save()
    return signature


def send_test(*, template_subject: str, template_body: str, lead: Lead | None, actor) -> Rendered:
    """Send the rendered template to the actor's own address (transactional)."""
    from leadflow.mail import services as mail_services

    if not actor.email:
        raise NurtureError("no_address", "Your user has no email address to send the test to.")
    try:
        rendered = render_source(subject=template_subject, body=template_body, lead=lead)
    except TemplateError as error:
        raise NurtureError(error.code, error.message, field="body") from error
    with transaction.atomic():
        mail_services.queue_email(
            lead=None,
            key=f"nurture-test:{uuid.uuid4().hex}",
            kind="transactional",
            subject=f"[Test] {rendered.subject}",
            html=rendered.html,
            text=rendered.text,
            to_email=actor.email,
            sender=actor,
            meta={"test": True, "lead_id": lead.pk if lead else None},
        )
    return rendered


def send_one_to_one(*, lead: Lead, subject: str, body: str, actor, send_id: str = "") -> Rendered:
    """Queue a rep's email to the lead, written freely or from a snippet (merge fields allowed)."""
    from leadflow.mail import services as mail_services

    if not lead.email:
        raise NurtureError("no_email", "This lead has no email address.")
    if not subject.strip() or not body.strip():
        raise NurtureError("invalid", "Write a subject and a message.", field="subject")
    try:
        rendered = render_source(subject=subject, body=body, lead=lead)
    except TemplateError as error:
        raise NurtureError(error.code, error.message, field="body") from error
    key = f"one-to-one:{lead.pk}:{send_id or uuid.uuid4().hex}"
    with transaction.atomic():
        row = mail_services.queue_email(
            lead=lead, key=key, kind="one_to_one", subject=rendered.subject, html=rendered.html,
            text=rendered.text, sender=actor, meta={"composer": True},
        )  # fmt: skip
    if row is None:
        raise NurtureError("already_sent", "This email was already sent.")
    return rendered


SEQUENCE_FIELDS = (
    "name", "description", "send_days", "send_start_hour", "send_end_hour", "trigger", "trigger_form",
    "trigger_stage", "trigger_score", "goal_stage",
)  # fmt: skip


def save_sequence(*, sequence: Sequence | None, values: dict[str, Any], actor) -> Sequence:
    """Create or change a sequence's settings (not its steps or status)."""
    _require_manager(actor)
    if values.get("send_start_hour", 0) >= values.get("send_end_hour", 24):
        raise NurtureError("invalid", "The sending window must start before it ends.", field="send_end_hour")
    for name in ("trigger_stage", "goal_stage"):
        if values.get(name) and values[name] not in Stage.values:
            raise NurtureError("invalid", f"Unknown stage {values[name]!r}.", field=name)
    trigger = values.get("trigger", "")
    needs = {Trigger.FORM: "trigger_form", Trigger.STAGE: "trigger_stage", Trigger.SCORE: "trigger_score"}
    if trigger in needs and values.get(needs[trigger]) in (None, ""):
        raise NurtureError("invalid", "Say which form, stage or score starts the sequence.", field=needs[trigger])
    sequence = sequence or Sequence(created_by=actor)
    for name in SEQUENCE_FIELDS:
        if name in values:
            setattr(sequence, name, values[name])
    sequence.updated_at = timezone.now()
    sequence.save()
    return sequence


def set_status(*, sequence: Sequence, status: str, actor) -> Sequence:
    """Start, pause or resume a sequence; paused enrollments keep their place."""
    _require_manager(actor)
    if status not in SequenceStatus.values:
        raise NurtureError("invalid", f"Unknown status {status!r}.")
    if status == SequenceStatus.ACTIVE and not sequence.steps.exists():
        raise NurtureError("no_steps", "Add a step before starting the sequence.")
    sequence.status = status
    sequence.updated_at = timezone.now()
    sequence.save(update_fields=["status", "updated_at"])
    return sequence


def clean_step(*, sequence: Sequence, kind: str, config: dict[str, Any], template_id: int | None) -> tuple[dict, Any]:
    """Check a step's settings; return its config and template."""
    template = None
    if kind not in StepKind.values:
        raise NurtureError("invalid", f"Unknown kind of step {kind!r}.", field="kind")
    if kind == StepKind.EMAIL:
        template = EmailTemplate.objects.filter(pk=template_id, kind=TemplateKind.MARKETING).first()
        if template is None:
            raise NurtureError("invalid", "Pick a marketing template.", field="template")
        return {}, template
    if kind == StepKind.WAIT:
        return _clean_wait(config), None
    if kind == StepKind.BRANCH:
        if config.get("condition") not in CONDITIONS:
            raise NurtureError("invalid", "Pick a condition.", field="condition")
        then = config.get("then_step")
        if then and not Step.objects.filter(sequence=sequence, pk=then).exists():
            raise NurtureError("invalid", "Pick a step of this sequence to go to.", field="then_step")
        keep = ("condition", "value", "field")
        return {**{k: str(config.get(k) or "") for k in keep}, "then_step": int(then) if then else None}, None
    if kind == StepKind.TASK:
        title = str(config.get("title") or "").strip()
        if not title:
            raise NurtureError("invalid", "Give the task a title.", field="title")
        task_kind = config.get("task_kind") if config.get("task_kind") in TASK_KINDS else "todo"
        return {"title": title[:200], "task_kind": task_kind, "due_days": _number(config.get("due_days"), 0)}, None
    if kind == StepKind.STAGE:
        if config.get("stage") not in Stage.values:
            raise NurtureError("invalid", "Pick a stage.", field="stage")
        return {"stage": config["stage"]}, None
    other = Sequence.objects.filter(pk=config.get("sequence_id")).exclude(pk=sequence.pk).first()
    if other is None:
        raise NurtureError("invalid", "Pick another sequence.", field="sequence_id")
    return {"sequence_id": other.pk}, None


def _number(raw: Any, default: float) -> float:
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return default
    return value if 0 <= value <= 3650 else default


def _clean_wait(config: dict[str, Any]) -> dict[str, Any]:
    if config.get("mode") == "until":
        time_text = str(config.get("time") or "")
        hour, _, minute = time_text.partition(":")
        if not (hour.isdigit() and minute.isdigit() and int(hour) < 24 and int(minute) < 60):
            raise NurtureError("invalid", "Give a time such as 09:30.", field="time")
        weekday = int(config.get("weekday") or 0)
        return {"mode": "until", "weekday": weekday % 7, "time": f"{int(hour):02d}:{int(minute):02d}"}
    days = _number(config.get("days"), -1)
    if days <= 0:
        raise NurtureError("invalid", "Wait at least a fraction of a day.", field="days")
    return {"mode": "days", "days": days}


def add_step(*, sequence: Sequence, kind: str, config: dict, template_id: int | None, actor) -> Step:
    """Add a step at the end of the sequence."""
    _require_manager(actor)
    config, template = clean_step(sequence=sequence, kind=kind, config=config, template_id=template_id)
    with transaction.atomic():
        top = sequence.steps.aggregate(top=Max("position"))["top"]
        return Step.objects.create(
            sequence=sequence, kind=kind, config=config, template=template, position=(top or 0) + 1
        )


def edit_step(*, step: Step, config: dict, template_id: int | None, actor) -> Step:
    """Change a step's settings; enrollments on it keep their place."""
    _require_manager(actor)
    step.config, step.template = clean_step(
        sequence=step.sequence, kind=step.kind, config=config, template_id=template_id
    )
    step.save(update_fields=["config", "template"])
    return step


def move_step(*, step: Step, direction: int, actor) -> None:
    """Swap the step with its neighbour above (-1) or below (+1)."""
    _require_manager(actor)
    with transaction.atomic():
        steps = list(Step.objects.select_for_update().filter(sequence_id=step.sequence_id).order_by("position", "id"))
        index = next(i for i, s in enumerate(steps) if s.pk == step.pk)
        other = index + (1 if direction > 0 else -1)
        if 0 <= other < len(steps):
            steps[index], steps[other] = steps[other], steps[index]
        for position, item in enumerate(steps, start=1):
            if item.position != position:
                Step.objects.filter(pk=item.pk).update(position=position)


def remove_step(*, step: Step, actor) -> int:
    """Delete the step; the people on it move to the next step. Return how many moved."""
    from leadflow.nurture.engine import next_step

    _require_manager(actor)
    with transaction.atomic():
        following = next_step(step)
        now = timezone.now()
        moved = Enrollment.objects.filter(step=step, status=EnrollmentStatus.ACTIVE).update(
            step=following, wait_until=None, next_due_at=now
        )
        for branch in Step.objects.filter(sequence_id=step.sequence_id, kind=StepKind.BRANCH):
            if (branch.config or {}).get("then_step") == step.pk:
                branch.config = {**branch.config, "then_step": following.pk if following else None}
                branch.save(update_fields=["config"])
        step.delete()
        Step.objects.filter(sequence_id=step.sequence_id, position__gt=step.position).update(position=F("position") - 1)
    return moved


def save_auto_reply(*, form, template: EmailTemplate, enabled: bool, actor) -> AutoReply:
    """Send `template` to whoever submits `form`, seconds after they do (one per form)."""
    _require_manager(actor)
    reply, _ = AutoReply.objects.update_or_create(
        form=form, defaults={"template": template, "enabled": enabled, "created_by": actor}
    )
    return reply


def preview(*, template: EmailTemplate, lead: Lead | None) -> Rendered:
    return render_template(template, lead)


INLINE_ENROLL = 500


def enroll_from_list(
    *, sequence: Sequence, actor, lead_ids: list[int] | None = None, query: str = ""
) -> dict[str, int]:
    """Enroll the chosen leads, or every lead matching a leads-list `query`, in `sequence`.

    More than INLINE_ENROLL matching leads are enrolled by a background task; the answer then
    says how many were queued.
    """
    from leadflow.nurture import queries, tasks

    if lead_ids:
        leads = Lead.objects.visible_to(actor).filter(pk__in=lead_ids).order_by("pk")
        return enroll_many(sequence=sequence, leads=leads, actor=actor)
    matching = queries.matching_leads(user=actor, query=query)
    count = matching.count()
    if count > INLINE_ENROLL:
        transaction.on_commit(
            lambda: tasks.enroll_matching.enqueue(sequence_id=sequence.pk, user_id=actor.pk, query=query)
        )
        return {"queued": count}
    return enroll_many(sequence=sequence, leads=matching, actor=actor)
