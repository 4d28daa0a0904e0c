"""Merge two leads that are the same person, and undo a merge."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from leadflow.leads import timeline
from leadflow.leads.errors import FieldErrors, LeadError
from leadflow.leads.fields import FIRMOGRAPHIC_FIELDS, PROFILE_FIELDS, TOUCH_FIELDS
from leadflow.leads.lifecycle import QUALIFICATION_CHOICES, QUALIFICATION_FIELDS
from leadflow.leads.models import EventKind, Lead, LeadMerge, LeadStatus, TimelineEvent
from leadflow.leads.normalise import email_key
from leadflow.leads.services.companies import resolve_company

MERGE_FIELDS = (
    *PROFILE_FIELDS,
    *FIRMOGRAPHIC_FIELDS,
    *QUALIFICATION_FIELDS,
    *TOUCH_FIELDS,
    "owner_id",
    "stage",
    "consent_status",
)
SNAPSHOT_FIELDS = (
    *MERGE_FIELDS,
    "email_key",
    "company_id",
    "team_id",
    "custom",
    "stage_entered_at",
    "stage_reason",
    "consent_at",
    "consent_source",
    "status",
    "merged_into_id",
    "last_activity_at",
)


def _snapshot(lead: Lead) -> dict[str, Any]:
    return {name: _plain(getattr(lead, name)) for name in SNAPSHOT_FIELDS}


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return value.isoformat() if hasattr(value, "isoformat") else value


def _restore(lead: Lead, snapshot: dict[str, Any], names) -> None:
    for name in names:
        if name not in snapshot:
            # A merge recorded before this field existed: leave the field as it is.
            continue
        value = snapshot[name]
        field = Lead._meta.get_field(name.removesuffix("_id") if name.endswith("_id") else name)
        if value is not None and field.get_internal_type() == "DateTimeField":
            value = field.to_python(value)
        setattr(lead, name, value)


def _empty(lead: Lead, name: str) -> bool:
    value = getattr(lead, name)
    if name in QUALIFICATION_CHOICES:
        return value == QUALIFICATION_CHOICES[name].UNKNOWN
    return value in ("", None)


def default_choices(winner: Lead, loser: Lead) -> dict[str, str]:
    """Keep the winner's values, except where the winner has none (or an unknown answer) and the loser has one."""
    return {name: "loser" if _empty(winner, name) and not _empty(loser, name) else "winner" for name in MERGE_FIELDS}


def merge_leads(*, winner: Lead, loser: Lead, actor, choices: dict[str, str] | None = None) -> LeadMerge:
    """Merge `loser` into `winner`: values picked field by field, both timelines kept."""
    if winner.pk == loser.pk:
        raise LeadError("same_lead", "A lead cannot be merged with itself.")
    bad = {
        k: "must be 'winner' or 'loser'."
        for k, v in (choices or {}).items()
        if k not in MERGE_FIELDS or v not in {"winner", "loser"}
    }
    if bad:
        raise FieldErrors(bad)
    with transaction.atomic():
        pair = {lead.pk: lead for lead in Lead.objects.select_for_update().filter(pk__in=[winner.pk, loser.pk])}
        winner, loser = pair[winner.pk], pair[loser.pk]
        if not (winner.is_active and loser.is_active):
            raise LeadError("not_active", "Both leads must be live (not merged or erased) to merge them.")
        picked = {**default_choices(winner, loser), **(choices or {})}
        merge = LeadMerge(
            winner=winner, loser=loser, actor=actor, winner_before=_snapshot(winner), loser_before=_snapshot(loser)
        )
        taken = _take_values(winner, loser, picked)
        loser.status, loser.merged_into, loser.email_key = LeadStatus.MERGED, winner, None
        loser.version += 1
        loser.save()
        winner.save()
        merge.winner_after = _snapshot(winner)
        merge.moved_event_ids = list(TimelineEvent.objects.filter(lead=loser).values_list("id", flat=True))
        TimelineEvent.objects.filter(id__in=merge.moved_event_ids).update(lead=winner)
        merge.save()
        timeline.record(
            winner,
            EventKind.MERGED,
            actor=actor,
            data={
                "merge_id": merge.pk,
                "other_lead": loser.pk,
                "other_name": loser.display_name,
                "taken": taken,
                "role": "kept",
            },
        )
        timeline.record(
            loser,
            EventKind.MERGED,
            actor=actor,
            data={
                "merge_id": merge.pk,
                "other_lead": winner.pk,
                "role": "merged_into",
            },
        )
    return merge


def _take_values(winner: Lead, loser: Lead, picked: dict[str, str]) -> list[str]:
    taken = [name for name in MERGE_FIELDS if picked[name] == "loser" and getattr(winner, name) != getattr(loser, name)]
    for name in taken:
        setattr(winner, name, getattr(loser, name))
    if "stage" in taken:
        winner.stage_entered_at = {**winner.stage_entered_at, winner.stage: timezone.now().isoformat()}
    winner.custom = {**loser.custom, **winner.custom}
    winner.email_key = email_key(winner.email)
    if "email" in taken or "company_name" in taken:
        winner.company = resolve_company(email=winner.email, company_name=winner.company_name)
    if "owner_id" in taken and winner.owner_id:
        winner.team_id = loser.team_id
    winner.last_activity_at = max(winner.last_activity_at, loser.last_activity_at)
    winner.updated_at = timezone.now()
    winner.version += 1
    return taken


def undo_merge(*, merge: LeadMerge, actor) -> LeadMerge:
    """Split a merge: the other lead comes back with its values and its own timeline."""
    with transaction.atomic():
        merge = LeadMerge.objects.select_for_update().get(pk=merge.pk)
        if merge.undone_at is not None:
            raise LeadError("already_undone", "This merge was already undone.")
        later = LeadMerge.objects.filter(winner_id=merge.winner_id, undone_at__isnull=True, pk__gt=merge.pk)
        if later.exists():
            raise LeadError("later_merge", "Another lead was merged into this one since; undo that merge first.")
        winner = Lead.objects.select_for_update().get(pk=merge.winner_id)
        loser = Lead.objects.select_for_update().get(pk=merge.loser_id)
        if winner.status != LeadStatus.ACTIVE or loser.status != LeadStatus.MERGED:
            raise LeadError("cannot_undo", "This merge can no longer be undone (a lead was erased or changed).")
        kept = _restore_winner(winner, merge)
        _restore_loser(loser, merge)
        TimelineEvent.objects.filter(id__in=merge.moved_event_ids, lead=winner).update(lead=loser)
        merge.undone_at, merge.undone_by = timezone.now(), actor
        merge.save(update_fields=["undone_at", "undone_by"])
        timeline.record(
            winner,
            EventKind.MERGE_UNDONE,
            actor=actor,
            data={"merge_id": merge.pk, "other_lead": loser.pk, "kept_since": kept},
        )
        timeline.record(
            loser, EventKind.MERGE_UNDONE, actor=actor, data={"merge_id": merge.pk, "other_lead": winner.pk}
        )
    return merge


def _restore_winner(winner: Lead, merge: LeadMerge) -> list[str]:
    """Put back the winner's own values, except those someone changed after the merge."""
    current = _snapshot(winner)
    names = [n for n in SNAPSHOT_FIELDS if n not in {"status", "merged_into_id", "last_activity_at"}]
    restorable = [n for n in names if current[n] == merge.winner_after.get(n)]
    kept = [n for n in names if n not in restorable and merge.winner_before.get(n) != merge.winner_after.get(n)]
    _restore(winner, merge.winner_before, restorable)
    winner.email_key = email_key(winner.email)
    _ensure_email_free(winner)
    winner.version += 1
    winner.updated_at = timezone.now()
    winner.save()
    return kept


def _restore_loser(loser: Lead, merge: LeadMerge) -> None:
    _restore(loser, merge.loser_before, SNAPSHOT_FIELDS)
    _ensure_email_free(loser)
    loser.version += 1
    loser.updated_at = timezone.now()
    loser.save()


def _ensure_email_free(lead: Lead) -> None:
    """Refuse the undo when another lead took this lead's address while the two were merged."""
    if lead.email_key and Lead.objects.filter(email_key=lead.email_key).exclude(pk=lead.pk).exists():
        raise LeadError(
            "undo_conflict",
            f"Another lead now has the email {lead.email}; change it before undoing this merge.",
        )
