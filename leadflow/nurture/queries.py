"""Reads for the nurture pages and the lead card."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.http import QueryDict

from leadflow.leads import queries as lead_queries
from leadflow.leads.models import Lead, Stage
from leadflow.nurture.models import Enrollment, EnrollmentStatus, Sequence, Step, StepKind
from leadflow.nurture.steps import CONDITIONS
from leadflow.nurture.windows import WEEKDAYS, lead_zone

STAT_NAMES = ("sent", "opened", "clicked", "replied", "unsubscribed", "bounced")


def matching_leads(*, user, query: str) -> QuerySet:
    """Return the leads `user` sees that match a leads-list filter query string (raises FilterError)."""
    filters = lead_queries.parse_filters(QueryDict(query or ""))
    return lead_queries.apply_filters(Lead.objects.visible_to(user), filters, user).order_by("pk")


def describe_step(step: Step, names: dict[int, str] | None = None) -> str:
    """Say in words what a step does."""
    config = step.config or {}
    if step.kind == StepKind.EMAIL:
        return f"Send “{step.template.name}”" if step.template else "Send an email (no template)"
    if step.kind == StepKind.WAIT:
        if config.get("mode") == "until":
            return f"Wait until {WEEKDAYS[int(config.get('weekday', 0)) % 7]} {config.get('time', '09:00')}"
        days = config.get("days", 0)
        shown = int(days) if float(days).is_integer() else days
        return f"Wait {shown} day{'s' if shown != 1 else ''}"
    if step.kind == StepKind.BRANCH:
        label = CONDITIONS.get(config.get("condition"), "?")
        if config.get("condition") == "field_equals":
            label = f"{config.get('field')} equals “{config.get('value')}”"
        elif config.get("condition") == "stage_is":
            label = f"Stage is {dict(Stage.choices).get(config.get('value'), config.get('value'))}"
        elif config.get("condition") == "score_at_least":
            label = f"Score is at least {config.get('value')}"
        then = config.get("then_step")
        if not then:
            return f"If {label[0].lower() + label[1:]}: (no step to go to yet) onwards"
        return f"If {label[0].lower() + label[1:]}: go to {(names or {}).get(then, f'step {then}')}, else onwards"
    if step.kind == StepKind.TASK:
        return f"Task for the owner: {config.get('title', '')}"
    if step.kind == StepKind.STAGE:
        return f"Change stage to {dict(Stage.choices).get(config.get('stage'), config.get('stage'))}"
    sequence = Sequence.objects.filter(pk=config.get("sequence_id")).first()
    return f"Enroll in “{sequence.name if sequence else '?'}”"


@dataclass
class StepRow:
    step: Step
    number: int
    label: str
    waiting: int
    stats: dict[str, int] = field(default_factory=dict)
    width: int = 0

    @property
    def reached(self) -> int:
        return self.waiting + (self.stats.get("sent") or 0)

    @property
    def bar(self) -> dict[str, int]:
        """Each count as a percentage of the step's sends (or of the widest row, for waiting)."""
        sent = self.stats.get("sent") or 0
        return {name: (round(100 * self.stats.get(name, 0) / sent) if sent else 0) for name in STAT_NAMES[1:]}


def steps_with_stats(sequence: Sequence) -> list[StepRow]:
    """Return the sequence's steps with how many wait on each and what their emails did."""
    from leadflow.mail import queries as mail_queries

    steps = list(sequence.steps.select_related("template").order_by("position", "id"))
    waiting = dict(
        Enrollment.objects.filter(sequence=sequence, status=EnrollmentStatus.ACTIVE)
        .values_list("step")
        .annotate(n=Count("pk"))
        .values_list("step", "n")
    )
    stats = mail_queries.stats_by_step(sequence_id=sequence.pk)
    names = {step.pk: f"step {number}" for number, step in enumerate(steps, start=1)}
    empty = dict.fromkeys(STAT_NAMES, 0)
    rows = [
        StepRow(step, number, describe_step(step, names), waiting.get(step.pk, 0), stats.get(step.pk, empty))
        for number, step in enumerate(steps, start=1)
    ]
    widest = max([row.reached for row in rows] or [0]) or 1
    for row in rows:
        row.width = round(100 * row.reached / widest)
    return rows


def sequence_counts(sequence: Sequence) -> dict[str, int]:
    counts = Enrollment.objects.filter(sequence=sequence).aggregate(
        active=Count("pk", filter=Q(status=EnrollmentStatus.ACTIVE)),
        completed=Count("pk", filter=Q(status=EnrollmentStatus.COMPLETED)),
        exited=Count("pk", filter=Q(status=EnrollmentStatus.EXITED)),
    )
    return counts


def enrollable_sequences() -> list[Sequence]:
    """Return the sequences leads may be put in by hand: running or paused, not drafts."""
    from leadflow.nurture.models import SequenceStatus

    return list(Sequence.objects.exclude(status=SequenceStatus.DRAFT).order_by("name", "id"))


def sequences_overview() -> list[Sequence]:
    return list(
        Sequence.objects.annotate(
            active_count=Count("enrollments", filter=Q(enrollments__status=EnrollmentStatus.ACTIVE), distinct=True),
            step_count=Count("steps", distinct=True),
        ).order_by("name", "id")
    )


@dataclass
class LeadEnrollment:
    enrollment: Enrollment
    current: str
    upcoming: str
    due_local: datetime | None
    zone: str
    history: list[dict[str, Any]]


def enrollments_for(lead: Lead, *, limit: int = 10) -> list[LeadEnrollment]:
    """Return the lead's enrollments, active first, with the current step and what comes next."""
    from leadflow.nurture.engine import next_step

    zone = lead_zone(lead)
    rows = (
        Enrollment.objects.filter(lead=lead)
        .select_related("sequence", "step", "step__template")
        .order_by("status", "-enrolled_at")[:limit]
    )
    result = []
    for enrollment in rows:
        step = enrollment.step
        current = describe_step(step) if step else "—"
        following = next_step(step) if step else None
        upcoming = describe_step(following) if following else "End of the sequence"
        due = enrollment.next_due_at.astimezone(zone) if enrollment.next_due_at else None
        history = list(reversed(enrollment.history or []))[:3]
        result.append(LeadEnrollment(enrollment, current, upcoming, due, str(zone), history))
    return sorted(result, key=lambda row: row.enrollment.status != EnrollmentStatus.ACTIVE)
