"""Admin settings of qualification: the gate before SQL and the list of disqualify reasons."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.db.models import Max
from django.utils import timezone

from leadflow.leads.errors import FieldErrors, LeadError
from leadflow.leads.fields import clean_text
from leadflow.leads.lifecycle import BANT_FIELDS
from leadflow.leads.models import DisqualifyReason, QualificationGate


def _check_admin(actor) -> None:
    if actor is None or not actor.is_admin:
        raise LeadError("admin_only", "Only admins may change the qualification settings.")


def update_gate(*, required: set[str] | frozenset[str], actor) -> QualificationGate:
    """Set which BANT fields must be known before a lead of the default pipeline may become an SQL."""
    _check_admin(actor)
    unknown = set(required) - set(BANT_FIELDS)
    if unknown:
        raise FieldErrors({"required": f"{', '.join(sorted(unknown))} is not a BANT field."})
    with transaction.atomic():
        gate = QualificationGate.objects.select_for_update().order_by("pk").first()
        if gate is None:
            gate = QualificationGate(name=QualificationGate.DEFAULT_NAME)
        for name, flag in QualificationGate.FLAGS.items():
            setattr(gate, flag, name in required)
        gate.updated_at, gate.updated_by = timezone.now(), actor
        gate.save()
    return gate


def _clean_label(label: str) -> str:
    try:
        text = clean_text(label, limit=100)
    except ValueError as error:
        raise FieldErrors({"label": f"The reason {error}"}) from error
    if not text:
        raise FieldErrors({"label": "Write the reason, for example “Bought elsewhere”."})
    return text


def _taken(label: str, exclude: int | None = None) -> bool:
    return DisqualifyReason.objects.filter(label__iexact=label).exclude(pk=exclude).exists()


def add_disqualify_reason(*, label: str, actor) -> DisqualifyReason:
    """Add a reason people may pick when they disqualify a lead; it goes last in the list."""
    _check_admin(actor)
    label = _clean_label(label)
    if _taken(label):
        raise FieldErrors({"label": f"“{label}” is already a reason."})
    order = (DisqualifyReason.objects.aggregate(top=Max("order"))["top"] or 0) + 10
    try:
        with transaction.atomic():
            return DisqualifyReason.objects.create(label=label, order=order)
    except IntegrityError:
        raise FieldErrors({"label": f"“{label}” is already a reason."}) from None


def update_disqualify_reason(
    *, reason: DisqualifyReason, actor, label: str | None = None, active: bool | None = None, order: int | None = None
) -> DisqualifyReason:
    """Rename, deactivate or reactivate, or reorder a disqualify reason.

    Leads disqualified for it keep the words they were given; a deactivated reason is
    no longer offered.
    """
    _check_admin(actor)
    if label is not None:
        label = _clean_label(label)
        if _taken(label, exclude=reason.pk):
            raise FieldErrors({"label": f"“{label}” is already a reason."})
        reason.label = label
    if active is not None:
        reason.active = active
    if order is not None:
        if not 0 <= order <= 100_000:
            raise FieldErrors({"order": "must be a whole number from 0 to 100000."})
        reason.order = order
    try:
        with transaction.atomic():
            reason.save()
    except IntegrityError:
        raise FieldErrors({"label": f"“{label}” is already a reason."}) from None
    return reason
