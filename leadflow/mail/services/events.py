"""What happens to a message after it leaves: bounces, complaints, opens, clicks."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from leadflow.leads import timeline
from leadflow.leads.models import ActorType, EventKind
from leadflow.mail.models import EventType, MessageEvent, OutboxMessage, Status, Suppression, SuppressionReason

logger = logging.getLogger("leadflow.mail")

# A person opens an email at most this often on the timeline; the rest are counted in the message's events.
TIMELINE_REPEAT = timedelta(hours=1)


def exit_sequences(*, lead_id: int | None, reason: str) -> None:
    """Stop the lead's sequences; a failure there never undoes what mail recorded."""
    if lead_id is None:
        return
    from leadflow.nurture.services import exit_lead

    try:
        with transaction.atomic():
            exit_lead(lead_id=lead_id, reason=reason)
    except Exception:
        logger.exception("mail: could not stop the sequences of lead %s (%s)", lead_id, reason)


def suppress(*, email: str, reason: str, source: str, actor=None) -> Suppression:
    """Put `email` on the suppression list (kept as it is when already there)."""
    key = email.strip().lower()
    existing = Suppression.objects.filter(email=key).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Suppression.objects.create(email=key, reason=reason, source=source[:200], created_by=actor)
    except IntegrityError:
        return Suppression.objects.get(email=key)


def record_bounce(
    *, message: OutboxMessage, error: str, token: str | None = None, now: datetime | None = None, source: str = "smtp"
) -> bool:
    """Mark the message bounced, suppress its address, note it and stop the lead's sequences.

    With `token` only a row this worker still claims is changed. Return False when
    the message was already bounced or taken over.
    """
    now = now or timezone.now()
    with transaction.atomic():
        rows = OutboxMessage.objects.filter(pk=message.pk).exclude(status=Status.BOUNCED)
        if token is not None:
            rows = rows.filter(claim_token=token)
        changed = rows.update(
            status=Status.BOUNCED, claim_token="", lease_until=None, last_error=error[:2000], updated_at=now
        )
        if not changed:
            return False
        suppress(email=message.to_email, reason=SuppressionReason.BOUNCED, source=f"{source}: {error}"[:200])
        MessageEvent.objects.create(
            message=message, type=EventType.BOUNCE, data={"error": error[:500]}, occurred_at=now
        )
        if message.lead_id is not None:
            timeline.record(
                message.lead,
                EventKind.EMAIL_BOUNCED,
                data={"outbox_id": message.pk, "subject": message.subject, "error": error[:500], "source": source},
                occurred_at=now,
            )
        exit_sequences(lead_id=message.lead_id, reason="bounced")
    return True


def record_complaint(*, message: OutboxMessage, source: str) -> None:
    """A spam complaint: suppress the address for every kind of email and stop the sequences."""
    with transaction.atomic():
        suppress(email=message.to_email, reason=SuppressionReason.COMPLAINED, source=source)
        MessageEvent.objects.create(message=message, type=EventType.COMPLAINT, data={"source": source})
        exit_sequences(lead_id=message.lead_id, reason="unsubscribed")


def record_engagement(
    *, message: OutboxMessage, type: str, machine: bool, data: dict[str, Any], now: datetime | None = None
) -> MessageEvent:
    """Record an open or click on the message and the lead's timeline, flagged `"machine": true` when not a person.

    Repeated opens of one message within an hour reach the timeline once.
    """
    now = now or timezone.now()
    kind = EventKind.EMAIL_OPENED if type == EventType.OPEN else EventKind.EMAIL_CLICKED
    with transaction.atomic():
        repeat = (
            type == EventType.OPEN
            and MessageEvent.objects.filter(
                message=message, type=type, machine=machine, occurred_at__gte=now - TIMELINE_REPEAT
            ).exists()
        )
        event = MessageEvent.objects.create(
            message=message, type=type, machine=machine, data={**data, "machine": machine}, occurred_at=now
        )
        if message.lead_id is not None and not repeat:
            timeline.record(
                message.lead,
                kind,
                actor_type=ActorType.SYSTEM if machine else ActorType.LEAD,
                data={"outbox_id": message.pk, "subject": message.subject, **data, "machine": machine},
                occurred_at=now,
            )
    return event
