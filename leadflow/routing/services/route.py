"""Route a lead: apply the decision, start the first-touch timer, hand MQLs over, let reps claim leads."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from leadflow.accounts.models import User
from leadflow.leads import timeline
from leadflow.leads.errors import LeadError
from leadflow.leads.models import EventKind, Lead, LeadStatus, Stage
from leadflow.leads.services.records import assign_owner
from leadflow.routing.models import OPEN_STEPS, Handover, HandoverStatus, SlaStep, SlaTimer, UnroutedLead
from leadflow.routing.services.notify import notify
from leadflow.routing.services.rules import Decision, evaluate

TRIGGERS = ("created", "mql", "manual", "reassign")


class ClaimError(LeadError):
    """Someone else took the lead first."""

    def __init__(self, message: str) -> None:
        super().__init__("already_claimed", message)


def route_lead(*, lead_id: int, trigger: str) -> Decision | None:
    """Assign the lead by the first assignment rule that matches it.

    "created" routes a new lead only while it has no owner; "mql" routes a lead that
    is an MQL and has no pending handover (an active owner keeps it), then hands it
    over. A lead no rule places waits in the Unrouted queue. Return the decision, or
    None when there was nothing to do.
    """
    with transaction.atomic():
        lead = Lead.objects.select_for_update().filter(pk=lead_id, status=LeadStatus.ACTIVE).first()
        if lead is None or not _wants_routing(lead, trigger):
            return None
        now = timezone.now()
        keep = lead.owner if trigger == "mql" and lead.owner_id and lead.owner.is_active else None
        decision = evaluate(lead, now=now, lock=keep is None)
        if keep is not None:
            decision = _keep_owner(decision, keep, now)
        if decision.owner is None:
            _leave_unrouted(lead, decision, trigger)
            return decision
        _apply(lead, decision, trigger, now)
    return decision


def _wants_routing(lead: Lead, trigger: str) -> bool:
    if trigger == "mql":
        pending = Handover.objects.filter(lead=lead, status=HandoverStatus.PENDING).exists()
        return lead.stage == Stage.MQL and not pending
    if trigger in ("created", "reassign"):
        return lead.owner_id is None
    return True


def _keep_owner(decision: Decision, owner: User, now: datetime) -> Decision:
    """An MQL with an active owner stays theirs; the matching rule (if any) still sets the deadline."""
    from leadflow.routing.services.rules import deadline

    kept = Decision(rule=decision.rule, owner=owner, reasons=["already owned by " + str(owner)])
    kept.due_at = deadline(decision.rule, owner, now) if decision.rule else None
    return kept


def _leave_unrouted(lead: Lead, decision: Decision, trigger: str) -> None:
    reason = "No rule matched."
    if decision.passed_over:
        reason = "Rules matched but nobody was available: " + ", ".join(decision.passed_over) + "."
    UnroutedLead.objects.update_or_create(lead=lead, defaults={"trigger": trigger, "reason": reason})
    data = {
        "outcome": "unrouted",
        "trigger": trigger,
        "skipped": [skip.as_dict() for skip in decision.skipped],
        "subject": f"no owner found ({reason}) The lead waits in the Unrouted queue",
    }
    timeline.record(lead, EventKind.ROUTED, data=data)


def _apply(lead: Lead, decision: Decision, trigger: str, now: datetime) -> None:
    owner, rule = decision.owner, decision.rule
    if lead.owner_id != owner.pk:
        lead = assign_owner(lead=lead, owner=owner, actor=None)
    start_timer(lead=lead, owner=owner, rule=rule, due_at=decision.due_at, now=now)
    UnroutedLead.objects.filter(lead=lead).delete()
    timeline.record(
        lead,
        EventKind.ROUTED,
        data={
            "outcome": "assigned",
            "trigger": trigger,
            "rule": rule.name if rule else "",
            "rule_id": rule.pk if rule else None,
            "reasons": decision.reasons,
            "to": owner.pk,
            "to_name": str(owner),
            "skipped": [skip.as_dict() for skip in decision.skipped],
            "due_at": decision.due_at.isoformat() if decision.due_at else None,
            "subject": _subject(decision),
        },
    )
    if trigger == "mql":
        from leadflow.routing.services.work import open_handover

        open_handover(lead=lead, rep=owner, rule=rule)
    due = f" First touch due {timezone.localtime(decision.due_at):%a %-d %b %H:%M}." if decision.due_at else ""
    kind = "MQL handed over" if trigger == "mql" else "New lead assigned"
    notify(user=owner, subject=f"{kind}: {lead.display_name}", body=decision.summary + "." + due, lead=lead)


def _subject(decision: Decision) -> str:
    text = f"to {decision.owner}"
    if decision.rule is not None:
        text += f" by rule “{decision.rule.name}”"
    if decision.reasons:
        text += f" ({'; '.join(decision.reasons)})"
    if decision.skipped:
        text += "; skipped " + ", ".join(f"{skip.name}: {skip.reason}" for skip in decision.skipped)
    return text


def start_timer(*, lead: Lead, owner: User, rule, due_at: datetime | None, now: datetime) -> SlaTimer | None:
    """Close the lead's running timers and start the first-touch clock for `owner`."""
    SlaTimer.objects.filter(lead=lead, step__in=OPEN_STEPS).update(step=SlaStep.CLOSED, step_at=now)
    Lead.objects.filter(pk=lead.pk).update(assigned_at=now, touch_due_at=due_at, first_touched_at=None)
    if due_at is None:
        return None
    return SlaTimer.objects.create(lead=lead, owner=owner, rule=rule, started_at=now, due_at=due_at)


def claim_lead(*, lead: Lead, actor: User) -> Lead:
    """Take an unassigned lead: exactly one of several reps claiming at once gets it.

    The owner is set by one conditional UPDATE (… WHERE owner_id IS NULL); whoever
    finds the row already taken is told who has it.
    """
    if not actor.is_active:
        raise LeadError("inactive_owner", "Your account is deactivated.")
    with transaction.atomic():
        now = timezone.now()
        taken = Lead.objects.filter(pk=lead.pk, owner__isnull=True, status=LeadStatus.ACTIVE).update(
            owner=actor,
            team_id=actor.team_id or lead.team_id,
            assigned_at=now,
            first_touched_at=None,
            touch_due_at=None,
            updated_at=now,
            version=F("version") + 1,
        )
        if not taken:
            holder = Lead.objects.filter(pk=lead.pk).values_list("owner", flat=True).first()
            who = User.objects.filter(pk=holder).first() if holder else None
            name = "You" if who == actor else (str(who) if who else "Someone")
            raise ClaimError(f"{name} claimed this lead a moment ago.")
        current = Lead.objects.get(pk=lead.pk)
        data = {"from": None, "from_name": "", "to": actor.pk, "to_name": str(actor), "claimed": True}
        timeline.record(current, EventKind.OWNER_CHANGED, actor=actor, data=data)
        UnroutedLead.objects.filter(lead=current).delete()
        SlaTimer.objects.filter(lead=current, step__in=OPEN_STEPS).update(step=SlaStep.CLOSED, step_at=now)
    return current
