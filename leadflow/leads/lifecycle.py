"""Lifecycle stages, the moves allowed between them, and the BANT qualification values.

The funnel runs subscriber → lead → mql → sql → opportunity → customer. The rules
(`TRANSITIONS` is the table; `Lead.can_move_to` and the stage control read it):

- An open stage (subscriber to opportunity) moves forward to any later funnel stage,
  skipping steps if need be. Moving back down the funnel is refused: a lead sales
  does not want goes back by being recycled.
- SQL, opportunity and customer are behind the qualification gate: the BANT fields the
  gate requires must be known first (see `QualificationGate`). The gate is checked by
  `services.records.change_stage`, as it lives in the database.
- Any open stage may be disqualified (a reason from the configurable list of
  `DisqualifyReason` is required) or recycled (a short free-text reason is required;
  a recycled lead goes back to marketing's nurture).
- A disqualified lead may come back as a lead or an MQL. A recycled lead may come back
  as a lead or an MQL, or be disqualified after all.
- A customer may only be disqualified (a fraudulent or cancelled deal): a customer is
  not sent back to nurture or down the funnel.

A lead is created or imported at whatever stage it is given: the rules guard moves.
"""

from __future__ import annotations

from django.db import models


class Stage(models.TextChoices):
    SUBSCRIBER = "subscriber", "Subscriber"
    LEAD = "lead", "Lead"
    MQL = "mql", "MQL"
    SQL = "sql", "SQL"
    OPPORTUNITY = "opportunity", "Opportunity"
    CUSTOMER = "customer", "Customer"
    DISQUALIFIED = "disqualified", "Disqualified"
    RECYCLED = "recycled", "Recycled"


class Budget(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    NONE = "none", "No budget"
    PLANNED = "planned", "Being planned"
    APPROVED = "approved", "Approved"


class Authority(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    NONE = "none", "No say in the decision"
    INFLUENCER = "influencer", "Influences the decision"
    DECISION_MAKER = "decision_maker", "Makes the decision"


class Need(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    NONE = "none", "No need"
    LOW = "low", "Nice to have"
    HIGH = "high", "Clear need"


class PurchaseTimeline(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    MONTH = "month", "Within a month"
    QUARTER = "quarter", "Within three months"
    YEAR = "year", "Within a year"
    LATER = "later", "Later, or no plan"


FUNNEL = (Stage.SUBSCRIBER, Stage.LEAD, Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER)
OPEN_STAGES = frozenset(FUNNEL[:-1])
# Entering one of these needs the qualification gate to pass.
GATED_STAGES = frozenset({Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER})
# Entering one of these needs a reason, kept in Lead.stage_reason.
REASON_STAGES = frozenset({Stage.DISQUALIFIED, Stage.RECYCLED})
CLOSED = (Stage.DISQUALIFIED, Stage.RECYCLED)


def _forward(stage: str) -> tuple[str, ...]:
    return FUNNEL[FUNNEL.index(stage) + 1 :]


TRANSITIONS: dict[str, tuple[str, ...]] = {
    **{stage: (*_forward(stage), *CLOSED) for stage in FUNNEL[:-1]},
    Stage.CUSTOMER: (Stage.DISQUALIFIED,),
    Stage.DISQUALIFIED: (Stage.LEAD, Stage.MQL),
    Stage.RECYCLED: (Stage.LEAD, Stage.MQL, Stage.DISQUALIFIED),
}


def allowed_moves(stage: str) -> tuple[str, ...]:
    """Return the stages a lead at `stage` may move to, in funnel order."""
    return TRANSITIONS.get(stage, ())


def stage_label(stage: str) -> str:
    return str(Stage(stage).label) if stage in Stage.values else stage


def refusal(stage: str, target: str) -> str:
    """Return why a lead at `stage` may not move to `target`, and what it may do instead."""
    moves = [stage_label(move) for move in allowed_moves(stage)]
    options = f"{', '.join(moves[:-1])} or {moves[-1]}" if len(moves) > 1 else "".join(moves)
    return (
        f"A lead at {stage_label(stage)} cannot move to {stage_label(target)}; "
        f"from {stage_label(stage)} it can move to {options}."
    )


# How leads a bulk move skipped are summed up, by the code of the error that kept them.
SKIP_LABELS = {
    "transition_not_allowed": "may not move there from their stage",
    "qualification_incomplete": "do not pass the qualification gate yet",
}


def skip_summary(skipped: dict[str, int]) -> str:
    """Return '3 skipped: 2 do not pass the qualification gate yet; 1 may not move there from their stage.'"""
    total = sum(skipped.values())
    if not total:
        return ""
    parts = [
        f"{count:,} {SKIP_LABELS.get(code, code)}" for code, count in sorted(skipped.items(), reverse=True) if count
    ]
    return f"{total:,} skipped: {'; '.join(parts)}."


# BANT: the qualification fields, with the values that count as not known.
BANT_FIELDS = ("budget", "authority", "need", "purchase_timeline")
QUALIFICATION_FIELDS = ("budget", "budget_amount", "authority", "need", "need_notes", "purchase_timeline")
QUALIFICATION_CHOICES = {
    "budget": Budget,
    "authority": Authority,
    "need": Need,
    "purchase_timeline": PurchaseTimeline,
}
UNKNOWN_VALUES = {
    "budget": frozenset({Budget.UNKNOWN}),
    "authority": frozenset({Authority.UNKNOWN}),
    "need": frozenset({Need.UNKNOWN, Need.NONE}),
    "purchase_timeline": frozenset({PurchaseTimeline.UNKNOWN}),
}
BANT_LABELS = {"budget": "Budget", "authority": "Authority", "need": "Need", "purchase_timeline": "Timeline"}
