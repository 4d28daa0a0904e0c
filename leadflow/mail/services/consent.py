"""Unsubscribe, consent records and the suppression list an admin keeps by hand."""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from leadflow.leads import timeline
from leadflow.leads.models import ActorType, ConsentStatus, EventKind, Lead
from leadflow.leads.normalise import NormaliseError, normalise_email
from leadflow.mail.errors import MailError
from leadflow.mail.models import (
    ConsentAction,
    ConsentRecord,
    EventType,
    MessageEvent,
    OutboxMessage,
    Suppression,
    SuppressionReason,
)
from leadflow.mail.services.events import exit_sequences, suppress


def unsubscribe(*, email: str, source: str, message: OutboxMessage | None = None, now: datetime | None = None) -> bool:
    """Stop marketing email to `email` and withdraw the lead's consent; return False when nothing changed.

    Safe to repeat: a second call records nothing new.
    """
    now = now or timezone.now()
    key = (email or "").strip().lower()
    if not key:
        return False
    lead_id = message.lead_id if message is not None else None
    with transaction.atomic():
        before = Suppression.objects.filter(email=key).first()
        suppress(email=key, reason=SuppressionReason.UNSUBSCRIBED, source=source)
        lead = _lead_for(lead_id, key)
        withdrawn = lead is not None and lead.consent_status != ConsentStatus.WITHDRAWN
        if before is not None and not withdrawn:
            return False
        ConsentRecord.objects.create(
            lead=lead, email=key, action=ConsentAction.WITHDRAWN, source=source[:200], message=message, occurred_at=now
        )
        if message is not None:
            MessageEvent.objects.create(message=message, type=EventType.UNSUBSCRIBE, data={"source": source})
        if lead is not None:
            _withdraw(lead, source=source, message=message, now=now)
            exit_sequences(lead_id=lead.pk, reason="unsubscribed")
    return True


def _lead_for(lead_id: int | None, key: str) -> Lead | None:
    leads = Lead.objects.select_for_update().active()
    if lead_id is not None:
        lead = leads.filter(pk=lead_id).first()
        if lead is not None:
            return lead
    return leads.filter(email_key=key).first()


def _withdraw(lead: Lead, *, source: str, message: OutboxMessage | None, now: datetime) -> None:
    previous = lead.consent_status
    if previous != ConsentStatus.WITHDRAWN:
        Lead.objects.filter(pk=lead.pk).update(
            consent_status=ConsentStatus.WITHDRAWN, consent_at=now, consent_source=source[:200], updated_at=now
        )
        timeline.record(
            lead,
            EventKind.CONSENT_CHANGED,
            actor_type=ActorType.LEAD,
            data={"from": previous, "to": ConsentStatus.WITHDRAWN, "source": source},
            occurred_at=now,
        )
    timeline.record(
        lead,
        EventKind.UNSUBSCRIBED,
        actor_type=ActorType.LEAD,
        data={
            "source": source,
            "outbox_id": message.pk if message else None,
            "subject": message.subject if message else "",
        },
        occurred_at=now,
    )


def add_suppression(*, email: str, actor, note: str = "") -> Suppression:
    """Add an address to the suppression list by hand: it gets no email of any kind."""
    try:
        address = normalise_email(email)
    except NormaliseError as error:
        raise MailError("invalid_email", f"The address {error}") from error
    if not address:
        raise MailError("invalid_email", "Enter an email address.")
    if Suppression.objects.filter(email=address.lower()).exists():
        raise MailError("already_suppressed", f"{address} is already on the suppression list.")
    return suppress(email=address, reason=SuppressionReason.MANUAL, source=note or f"added by {actor}", actor=actor)


def remove_suppression(*, suppression_id: int, actor) -> None:
    """Take an address added by hand off the suppression list; the other reasons stay."""
    row = Suppression.objects.filter(pk=suppression_id).first()
    if row is None:
        raise MailError("not_found", "This address is no longer on the suppression list.")
    if row.reason != SuppressionReason.MANUAL:
        raise MailError(
            "not_manual",
            f"{row.email} is suppressed because it {row.get_reason_display().lower()}; only addresses added by hand "
            "can be removed here.",
        )
    row.delete()
