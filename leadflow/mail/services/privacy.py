"""Erasure: what mail keeps about a person is forgotten with them."""

from __future__ import annotations

from django.utils import timezone

from leadflow.mail.models import ConsentRecord, MessageEvent, OutboxMessage, Status, Suppression


def forget_leads(*, leads: list) -> int:
    """Forget the outbox content, events and plain-text suppressions of erased leads; return messages forgotten.

    Their addresses stay suppressed through the erased-identity hash the erasure
    keeps, so no address is stored in the clear. Messages not sent yet are cancelled.
    """
    ids = [lead.pk for lead in leads]
    addresses = {lead.email.strip().lower() for lead in leads if lead.email}
    messages = OutboxMessage.objects.filter(lead_id__in=ids)
    addresses |= {address.lower() for address in messages.values_list("to_email", flat=True) if address}
    now = timezone.now()
    messages.filter(status=Status.QUEUED).update(
        status=Status.SUPPRESSED, claim_token="", lease_until=None, last_error="Not sent: the person was erased."
    )
    forgotten = messages.update(to_email="", subject="", html="", text="", links=[], reply_to="", updated_at=now)
    MessageEvent.objects.filter(message__lead_id__in=ids).update(data={})
    ConsentRecord.objects.filter(lead_id__in=ids).update(email="")
    Suppression.objects.filter(email__in=addresses).delete()
    return forgotten
