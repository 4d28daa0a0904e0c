"""A person's rights over their data: a copy of it, and its erasure."""

from __future__ import annotations

import hashlib
import hmac
from decimal import Decimal
from functools import cache
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from leadflow.capture.services import review as capture
from leadflow.leads import timeline
from leadflow.leads.errors import FieldErrors, LeadError
from leadflow.leads.fields import clean_text
from leadflow.leads.models import (
    ErasedIdentity,
    EventKind,
    Lead,
    LeadMerge,
    LeadStatus,
    TimelineEvent,
)
from leadflow.leads.normalise import email_key
from leadflow.lib.compiled import CompiledSelect
from leadflow.mail.services import privacy as mail_privacy
from leadflow.tracking.services import stitching as tracking

EXPORT_FIELDS = (
    "id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "title",
    "company_name",
    "stage",
    "stage_entered_at",
    "source",
    "medium",
    "campaign",
    "referrer",
    "landing_page",
    "latest_source",
    "latest_medium",
    "latest_campaign",
    "latest_referrer",
    "latest_landing_page",
    "consent_status",
    "consent_at",
    "consent_source",
    "country",
    "industry",
    "company_size",
    "time_zone",
    "budget",
    "budget_amount",
    "authority",
    "need",
    "need_notes",
    "purchase_timeline",
    "stage_reason",
    "custom",
    "score",
    "created_at",
    "updated_at",
    "last_activity_at",
)
ERASED_FIELDS = {
    "first_name": "",
    "last_name": "",
    "email": "",
    "email_key": None,
    "phone": "",
    "title": "",
    "company_name": "",
    "referrer": "",
    "landing_page": "",
    "latest_referrer": "",
    "latest_landing_page": "",
    "custom": {},
    "consent_source": "",
    "company": None,
    "need_notes": "",
    "stage_reason": "",
    "time_zone": "",
    "country": "",
}


def identity_digest(value: str) -> str:
    """Return a keyed hash of an email or phone: it matches again, but cannot be read back."""
    key = settings.LEADFLOW_ERASURE_KEY.encode()
    return hmac.new(key, value.strip().lower().encode(), hashlib.sha256).hexdigest()


@cache
def _erased_lookup() -> CompiledSelect:
    return CompiledSelect(
        lambda first, second: ErasedIdentity.objects.filter(digest__in=[first, second]).values_list("pk")[:1]
    )


def is_erased_identity(*, email: str = "", phone: str = "") -> bool:
    """Return True when this email or phone belongs to a person whose data was erased."""
    digests = [identity_digest(v) for v in (email_key(email) or "", phone) if v]
    if not digests:
        return False
    return bool(_erased_lookup().rows(first=digests[0], second=digests[-1]))


def ensure_not_erased(*, email: str, phone: str) -> None:
    if is_erased_identity(email=email, phone=phone):
        raise LeadError(
            "erased_person",
            "This person asked for their data to be erased; they are not added again "
            "unless they give their details anew and an admin allows it.",
            field="email" if email else "phone",
        )


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    return value.isoformat() if hasattr(value, "isoformat") else value


def export_lead_data(*, lead: Lead, actor) -> dict[str, Any]:
    """Return everything stored about the lead as plain JSON values, and note the export."""
    events = TimelineEvent.objects.filter(lead=lead).order_by("occurred_at", "id")
    data = {
        "lead": {name: _jsonable(getattr(lead, name)) for name in EXPORT_FIELDS},
        "company": {"name": lead.company.name, "domain": lead.company.domain} if lead.company else None,
        "owner": str(lead.owner) if lead.owner else None,
        "timeline": [
            {
                "kind": event.kind,
                "occurred_at": event.occurred_at.isoformat(),
                "actor": event.actor_type,
                "data": event.data,
            }
            for event in events.iterator()
        ],
        "merged_from": list(
            LeadMerge.objects.filter(winner=lead, undone_at__isnull=True).values_list("loser_id", flat=True)
        ),
        "exported_at": timezone.now().isoformat(),
    }
    timeline.record(lead, EventKind.EXPORTED, actor=actor)
    return data


def erase_lead(*, lead: Lead, actor, reason: str = "") -> Lead:
    """Erase the person's data: keep an anonymous tombstone so counts stay right.

    The email and phone are kept only as keyed hashes, so a later import or form
    does not silently bring the person back. Leads merged into this one are the
    same person and are erased with it.
    """
    try:
        reason = clean_text(reason, limit=200)
    except ValueError as error:
        raise FieldErrors({"reason": str(error)}) from error
    with transaction.atomic():
        current = Lead.objects.select_for_update().get(pk=lead.pk)
        if current.status == LeadStatus.ERASED:
            raise LeadError("already_erased", "This lead was already erased.")
        targets = [current, *_merged_into(current)]
        mail_privacy.forget_leads(leads=targets)
        for target in targets:
            _erase_one(target)
        ids = [target.pk for target in targets]
        merges = LeadMerge.objects.filter(Q(winner_id__in=ids) | Q(loser_id__in=ids))
        merges.update(winner_before={}, winner_after={}, loser_before={})
        _forget_on_other_timelines(ids)
        tracking.erase_visits(lead_ids=ids)
        capture.forget_lead_submissions(lead_ids=ids)
        timeline.record(current, EventKind.ERASED, actor=actor, data={"reason": reason})
    return current


def _merged_into(lead: Lead) -> list[Lead]:
    """Return every lead merged into `lead`, directly or through earlier merges."""
    found: list[Lead] = []
    frontier = [lead.pk]
    while frontier:
        batch = list(Lead.objects.select_for_update().filter(merged_into_id__in=frontier))
        found.extend(batch)
        frontier = [item.pk for item in batch]
    return found


def _erase_one(lead: Lead) -> None:
    for value in (email_key(lead.email) or "", lead.phone):
        if value:
            ErasedIdentity.objects.get_or_create(digest=identity_digest(value))
    for name, value in ERASED_FIELDS.items():
        setattr(lead, name, value)
    lead.status = LeadStatus.ERASED
    lead.erased_at = timezone.now()
    lead.version += 1
    lead.save()
    # The timeline keeps what happened and when, for counts, but not what was said.
    TimelineEvent.objects.filter(lead=lead).update(data={})


def _forget_on_other_timelines(ids: list[int]) -> None:
    """Drop the erased person's name from merge events on leads they were once merged with."""
    events = TimelineEvent.objects.filter(kind=EventKind.MERGED, data__other_lead__in=ids).exclude(lead_id__in=ids)
    for event in events:
        data = {**event.data, "other_name": f"Erased lead #{event.data['other_lead']}"}
        TimelineEvent.objects.filter(pk=event.pk).update(data=data)
