"""Move leads through the lifecycle: the transition rules, the qualification gate and the reasons."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from functools import partial

from django.db import transaction
from django.utils import timezone

from leadflow.leads import timeline
from leadflow.leads.errors import FieldErrors, LeadError
from leadflow.leads.fields import clean_text
from leadflow.leads.lifecycle import GATED_STAGES, REASON_STAGES, refusal
from leadflow.leads.models import DisqualifyReason, EventKind, Lead, QualificationGate, Stage

MAX_BULK = 1000
MAX_REASON = 200


class TransitionNotAllowed(LeadError):
    """The lifecycle rules do not allow this move."""

    def __init__(self, lead: Lead, stage: str) -> None:
        super().__init__("transition_not_allowed", refusal(lead.stage, stage), field="stage")


class QualificationIncomplete(LeadError):
    """The qualification gate asks for BANT fields the lead does not have yet."""

    def __init__(self, missing: list[str], stage: str) -> None:
        super().__init__("qualification_incomplete", QualificationGate.message(missing, stage), field="stage")
        self.missing = missing


def clean_reason(*, stage: str, reason: str, actor) -> str:
    """Return the reason for moving to `stage`, checked; raise FieldErrors when it does not fit.

    Disqualifying takes one of the active disqualify reasons (matched without regard to
    case) when a person does it; the system (actor None) may give its own wording.
    Recycling takes a short free text. Both need one; other moves may have one.
    """
    try:
        text = clean_text(reason, limit=MAX_REASON)
    except ValueError as error:
        raise FieldErrors({"reason": str(error)}) from error
    if stage not in REASON_STAGES:
        return text
    if not text:
        verb = "disqualifying" if stage == Stage.DISQUALIFIED else "recycling"
        raise FieldErrors({"reason": f"Give a reason for {verb} this lead."})
    if stage == Stage.DISQUALIFIED and actor is not None:
        labels = list(DisqualifyReason.objects.active().values_list("label", flat=True))
        match = next((label for label in labels if label.casefold() == text.casefold()), None)
        if match is None:
            listed = ", ".join(labels) or "none is set up; an admin adds them under Settings"
            raise FieldErrors({"reason": f"Pick one of the disqualify reasons: {listed}."})
        return match
    return text


def check_move(lead: Lead, stage: str, gate: QualificationGate) -> None:
    """Raise TransitionNotAllowed or QualificationIncomplete when `lead` may not move to `stage`."""
    if not lead.can_move_to(stage):
        raise TransitionNotAllowed(lead, stage)
    if stage in GATED_STAGES:
        missing = gate.missing(lead)
        if missing:
            raise QualificationIncomplete(missing, stage)


def change_stage(*, lead: Lead, stage: str, actor, reason: str = "") -> Lead:
    """Move the lead to `stage` by the lifecycle rules, keeping when it entered each stage.

    Raise TransitionNotAllowed (code transition_not_allowed), QualificationIncomplete
    (code qualification_incomplete) or FieldErrors for a missing or unknown reason. Moving
    to the current stage changes nothing. Entering MQL queues routing once committed.
    """
    if stage not in Stage.values:
        raise FieldErrors({"stage": f"must be one of {', '.join(Stage.values)}."})
    reason = clean_reason(stage=stage, reason=reason, actor=actor)
    return _move(lead=lead, stage=stage, actor=actor, reason=reason, gate=QualificationGate.current())


def _move(*, lead: Lead, stage: str, actor, reason: str, gate: QualificationGate) -> Lead:
    with transaction.atomic():
        current = Lead.objects.select_for_update().get(pk=lead.pk)
        if current.stage == stage:
            return current
        check_move(current, stage, gate)
        previous, now = current.stage, timezone.now()
        current.stage = stage
        current.stage_entered_at = {**current.stage_entered_at, stage: now.isoformat()}
        if stage in REASON_STAGES:
            current.stage_reason = reason
        current.updated_at = now
        current.version += 1
        current.save(update_fields=["stage", "stage_entered_at", "stage_reason", "updated_at", "version"])
        timeline.record(
            current, EventKind.STAGE_CHANGED, actor=actor, data={"from": previous, "to": stage, "reason": reason}
        )
        if stage == Stage.MQL:
            _route_on_commit(current.pk)
    return current


def _route_on_commit(lead_id: int) -> None:
    # Imported here: routing imports lead services.
    from leadflow.routing import tasks as routing_tasks

    transaction.on_commit(partial(routing_tasks.route_lead.enqueue, lead_id=lead_id, trigger="mql"))


def bulk_targets(lead_ids: list[int], actor) -> list[Lead]:
    if len(lead_ids) > MAX_BULK:
        raise LeadError("too_many", f"Pick at most {MAX_BULK} leads at a time.")
    return list(Lead.objects.visible_to(actor).filter(pk__in=lead_ids).order_by("pk"))


@dataclass
class BulkMoveResult:
    """How many leads moved, and how many were left where they were, counted by why."""

    changed: int = 0
    unchanged: int = 0
    skipped: Counter = field(default_factory=Counter)

    @property
    def skipped_total(self) -> int:
        return sum(self.skipped.values())

    def add(self, other: BulkMoveResult) -> None:
        self.changed += other.changed
        self.unchanged += other.unchanged
        self.skipped.update(other.skipped)


def bulk_change_stage(*, lead_ids: list[int], stage: str, actor, reason: str = "") -> BulkMoveResult:
    """Move every lead in `lead_ids` the actor may change to `stage`, by the same rules as change_stage.

    Leads the rules or the gate keep where they are are skipped and counted by why; a
    missing or unknown reason refuses the whole action.
    """
    if stage not in Stage.values:
        raise FieldErrors({"stage": f"must be one of {', '.join(Stage.values)}."})
    reason = clean_reason(stage=stage, reason=reason, actor=actor)
    gate = QualificationGate.current()
    result = BulkMoveResult()
    for lead in bulk_targets(lead_ids, actor):
        if lead.stage == stage:
            result.unchanged += 1
            continue
        try:
            _move(lead=lead, stage=stage, actor=actor, reason=reason, gate=gate)
        except (TransitionNotAllowed, QualificationIncomplete) as error:
            result.skipped[error.code] += 1
        else:
            result.changed += 1
    return result
