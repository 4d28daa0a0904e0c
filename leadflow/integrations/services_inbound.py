"""Inbound sources: set them up, and turn each delivery into a lead, once, with a record of what happened."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.text import slugify

from leadflow.integrations.inbound import Mapped, check_field_map
from leadflow.integrations.models import (
    DeliveryOutcome,
    InboundDelivery,
    InboundSource,
    SourceKind,
    new_secret,
)
from leadflow.leads import duplicates
from leadflow.leads.errors import FieldErrors, LeadError
from leadflow.leads.fields import TEXT_LIMITS, clean_text
from leadflow.leads.models import ActorType
from leadflow.leads.services.batch import BatchOutcome, record_leads_batch

CHANNELS = {SourceKind.GOOGLE_ADS: "google_ads", SourceKind.WEBHOOK: "webhook"}
DEFAULT_ATTRIBUTION = {SourceKind.GOOGLE_ADS: ("google", "cpc")}
# Text fields whose unusable value is kept as a custom field rather than losing the lead.
SALVAGEABLE = frozenset({"first_name", "last_name", "email", "phone", "title", "company_name", *TEXT_LIMITS})


class SourceError(LeadError):
    """Settings of a source that cannot be saved."""

    status = 422


def create_source(*, name: str, kind: str, actor) -> InboundSource:
    """Create a source with a fresh address and secret; Google Ads sources record source=google, medium=cpc."""
    name = _clean_name(name)
    if kind not in SourceKind.values:
        raise SourceError("invalid_kind", f"Pick one of: {', '.join(SourceKind.labels)}.", field="kind")
    lead_source, lead_medium = DEFAULT_ATTRIBUTION.get(kind, (slugify(name)[:100] or "webhook", ""))
    return InboundSource.objects.create(
        name=name, kind=kind, lead_source=lead_source, lead_medium=lead_medium, created_by=actor
    )


def _clean_name(name: str) -> str:
    try:
        name = clean_text(name, limit=120)
    except ValueError as error:
        raise SourceError("invalid_name", f"The name {error}", field="name") from error
    if not name:
        raise SourceError("invalid_name", "Give the source a name.", field="name")
    return name


def update_source(
    *,
    source: InboundSource,
    name: str,
    field_map: dict[str, Any],
    campaign_names: dict[str, Any],
    lead_source: str,
    lead_medium: str,
    is_active: bool,
    actor,
) -> InboundSource:
    """Change a source's name, field map, campaign names, attribution or whether it accepts deliveries."""
    errors = check_field_map(field_map)
    if not isinstance(campaign_names, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and len(v) <= TEXT_LIMITS["campaign"]
        for k, v in campaign_names.items()
    ):
        errors["campaign_names"] = 'must map campaign ids to names: {"123456": "Spring promo"}.'
    try:
        lead_source = clean_text(lead_source, limit=TEXT_LIMITS["source"])
        lead_medium = clean_text(lead_medium, limit=TEXT_LIMITS["medium"])
    except ValueError as error:
        errors["lead_source"] = str(error)
    if errors:
        raise FieldErrors(errors)
    source.name = _clean_name(name)
    source.field_map, source.campaign_names = field_map, campaign_names
    source.lead_source, source.lead_medium, source.is_active = lead_source, lead_medium, is_active
    source.updated_at = timezone.now()
    source.save()
    return source


def rotate_secret(*, source: InboundSource, actor) -> InboundSource:
    """Give the source a new secret; posts signed with the old one are refused from now on."""
    source.secret = new_secret()
    source.updated_at = timezone.now()
    source.save(update_fields=["secret", "updated_at"])
    return source


def reject(
    *, source: InboundSource, code: str, reason: str, status: int, external_id: str = "", meta: dict | None = None
) -> InboundDelivery:
    """Record a refused delivery: the reason only, nothing the sender sent."""
    return InboundDelivery.objects.create(
        source=source,
        external_id=external_id[:255],
        outcome=DeliveryOutcome.REJECTED,
        status_code=status,
        reason=f"{code}: {reason}"[:500],
        meta=meta or {},
    )


def receive(*, source: InboundSource, mapped: Mapped) -> InboundDelivery:
    """Turn a mapped delivery into a lead (or a capture on the person's lead) and record the delivery.

    A delivery whose external id was accepted before is recorded as a duplicate
    and changes nothing. A test delivery changes nothing either: it records what
    would have happened.
    """
    row = _with_attribution(source, mapped.row)
    facts = {"external_id": mapped.external_id, "meta": mapped.meta, "fields": mapped.field_names}
    if mapped.is_test:
        outcome, note = _capture(row, CHANNELS[source.kind], dry_run=True)
        return _record_test(source, outcome, note, facts)
    if mapped.external_id and _accepted(source, mapped.external_id) is not None:
        return _record_duplicate(source, facts)
    try:
        with transaction.atomic():
            outcome, note = _capture(row, CHANNELS[source.kind], dry_run=False)
            if outcome.action == "error":
                return _record_refusal(source, outcome.error, facts)
            delivery = InboundDelivery.objects.create(
                source=source,
                outcome=DeliveryOutcome.ACCEPTED,
                action=outcome.action,
                lead=outcome.lead,
                reason=note[:500],
                **facts,
            )
            duplicates.schedule_detection([outcome.lead.pk])
    except IntegrityError:
        # The same lead_id arrived twice at once: the other delivery won, this one changed nothing.
        return _record_duplicate(source, facts)
    return delivery


def _with_attribution(source: InboundSource, row: dict[str, Any]) -> dict[str, Any]:
    row = dict(row)
    if source.lead_source and not row.get("source"):
        row["source"] = source.lead_source
    if source.lead_medium and not row.get("medium"):
        row["medium"] = source.lead_medium
    return {name: value for name, value in row.items() if value not in ("", None)}


def _accepted(source: InboundSource, external_id: str) -> InboundDelivery | None:
    return InboundDelivery.objects.filter(
        source=source, external_id=external_id, outcome=DeliveryOutcome.ACCEPTED
    ).first()


def _capture(row: dict[str, Any], channel: str, *, dry_run: bool) -> tuple[BatchOutcome, str]:
    """Record the row; when some text fields are unusable, keep them as custom fields and record the rest."""
    run = {"actor": None, "actor_type": ActorType.SYSTEM, "channel": channel, "dry_run": dry_run}
    outcome = record_leads_batch(rows=[row], **run)[0]
    if outcome.action != "error" or not isinstance(outcome.error, FieldErrors):
        return outcome, ""
    salvaged = _salvage(row, outcome.error.errors)
    if salvaged is None:
        return outcome, ""
    retried = record_leads_batch(rows=[salvaged], **run)[0]
    note = "Kept as custom fields, not usable as sent: " + "; ".join(
        f"{name} {message}" for name, message in outcome.error.errors.items()
    )
    return retried, note if retried.action != "error" else ""


def _salvage(row: dict[str, Any], errors: dict[str, str]) -> dict[str, Any] | None:
    if not errors or any(name not in SALVAGEABLE or name not in row for name in errors):
        return None
    salvaged = {name: value for name, value in row.items() if name not in errors}
    custom = dict(salvaged.get("custom", {}))
    for name in errors:
        custom[f"{name}_as_sent"] = str(row[name])[:2000]
    salvaged["custom"] = custom
    return salvaged


def _record_test(source: InboundSource, outcome: BatchOutcome, note: str, facts: dict) -> InboundDelivery:
    if outcome.action == "error":
        reason = f"Test delivery; a real one would be refused: {outcome.error.message}"
        action = ""
    else:
        action = "would_create" if outcome.action == "created" else "would_update"
        reason = "Test delivery: no lead was created or changed." + (f" {note}" if note else "")
    lead = outcome.lead if outcome.lead is not None and outcome.lead.pk and action == "would_update" else None
    return InboundDelivery.objects.create(
        source=source, outcome=DeliveryOutcome.TEST, action=action, lead=lead, reason=reason[:500], **facts
    )


def _record_duplicate(source: InboundSource, facts: dict) -> InboundDelivery:
    first = _accepted(source, facts["external_id"])
    return InboundDelivery.objects.create(
        source=source,
        outcome=DeliveryOutcome.DUPLICATE,
        lead=first.lead if first else None,
        reason="Delivered before with this id; nothing was changed.",
        **facts,
    )


def _record_refusal(source: InboundSource, error: LeadError, facts: dict) -> InboundDelivery:
    return InboundDelivery.objects.create(
        source=source,
        outcome=DeliveryOutcome.REJECTED,
        status_code=error.status,
        reason=f"{error.code}: {error.message}"[:500],
        **facts,
    )
