"""Reads about email: counts for frequency caps, engagement, sequence stats, suppression."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from django.db.models import Count, Exists, OuterRef, Q
from django.db.models.fields.json import KeyTextTransform

from leadflow.leads.models import ErasedIdentity
from leadflow.mail.models import (
    EventType,
    Kind,
    MessageEvent,
    OutboxMessage,
    Status,
    Suppression,
    SuppressionReason,
)

SENT_STATUSES = (Status.SENT, Status.BOUNCED)
# Unsubscribing stops marketing only; a bounce, a complaint or an erasure stops everything.
MARKETING_ONLY = frozenset({SuppressionReason.UNSUBSCRIBED})


def marketing_sent_count(*, lead_id: int, since: datetime) -> int:
    """Return how many marketing emails the lead was sent since `since`, or has waiting to be sent."""
    return (
        OutboxMessage.objects.filter(lead_id=lead_id, kind=Kind.MARKETING)
        .filter(Q(status=Status.QUEUED) | Q(status__in=SENT_STATUSES, sent_at__gte=since))
        .count()
    )


def _human(message_ref, *types: str) -> Exists:
    return Exists(MessageEvent.objects.filter(message=message_ref, type__in=types, machine=False))


def engagement(*, key: str) -> dict[str, bool]:
    """Return whether the person opened, clicked or replied to the message queued as `key`.

    Only people count: opens and clicks made by scanners and privacy proxies do not.
    A click is also an open (images may be blocked).
    """
    row = (
        OutboxMessage.objects.filter(key=key)
        .annotate(
            opened=_human(OuterRef("pk"), EventType.OPEN, EventType.CLICK, EventType.REPLY),
            clicked=_human(OuterRef("pk"), EventType.CLICK),
            replied=_human(OuterRef("pk"), EventType.REPLY),
        )
        .values("opened", "clicked", "replied")
        .first()
    )
    if row is None:
        return {"opened": False, "clicked": False, "replied": False}
    return {name: bool(row[name]) for name in ("opened", "clicked", "replied")}


STAT_NAMES = ("sent", "opened", "clicked", "replied", "unsubscribed", "bounced")


def stats_by_step(*, sequence_id: int) -> dict[int, dict[str, int]]:
    """Return per step of the sequence how many of its emails were sent, opened, clicked, ..."""
    base = OutboxMessage.objects.filter(meta__sequence_id=sequence_id).annotate(
        step=KeyTextTransform("step_id", "meta")
    )
    ref = OuterRef("pk")
    filters = {
        "sent": Q(status__in=SENT_STATUSES),
        "opened": Q(_human(ref, EventType.OPEN, EventType.CLICK, EventType.REPLY)),
        "clicked": Q(_human(ref, EventType.CLICK)),
        "replied": Q(_human(ref, EventType.REPLY)),
        "unsubscribed": Q(_human(ref, EventType.UNSUBSCRIBE)),
        "bounced": Q(status=Status.BOUNCED),
    }
    counts = base.values("step").annotate(
        **{name: Count("pk", filter=condition) for name, condition in filters.items()}
    )
    result: dict[int, dict[str, int]] = {}
    for row in counts:
        if row["step"] in (None, ""):
            continue
        result[int(row["step"])] = {name: row[name] for name in STAT_NAMES}
    return result


def suppression_reason(email: str, *, kind: str) -> str | None:
    """Return why `email` must not get an email of `kind` now, or None when it may."""
    return suppression_reasons([email], kind=kind).get((email or "").strip().lower())


def suppression_reasons(emails: Iterable[str], *, kind: str) -> dict[str, str]:
    """Return {lowercased email: reason} for the addresses that must not get an email of `kind`."""
    from leadflow.leads.services.privacy import identity_digest

    keys = {(email or "").strip().lower() for email in emails if email}
    if not keys:
        return {}
    found: dict[str, str] = {}
    digests = {identity_digest(key): key for key in keys}
    for digest in ErasedIdentity.objects.filter(digest__in=list(digests)).values_list("digest", flat=True):
        found[digests[digest]] = "erased"
    rows = Suppression.objects.filter(email__in=list(keys - set(found))).values_list("email", "reason")
    for email, reason in rows:
        if reason in MARKETING_ONLY and kind != Kind.MARKETING:
            continue
        found[email] = reason
    return found


def outbox_counts() -> dict[str, int]:
    """Return how many outbox rows are in each status."""
    counts = dict(OutboxMessage.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    return {status: counts.get(status, 0) for status in Status.values}


def recent_failures(*, limit: int = 50) -> list[OutboxMessage]:
    """Return the latest messages that failed for good or wait for a retry after an error."""
    return list(
        OutboxMessage.objects.filter(Q(status=Status.FAILED) | Q(status=Status.QUEUED, attempts__gt=0))
        .select_related("lead")
        .order_by("-updated_at", "-id")[:limit]
    )


def suppression_list(*, search: str = "", limit: int = 200) -> list[Suppression]:
    """Return the suppression list, newest first, optionally filtered by part of the address."""
    rows = Suppression.objects.all()
    if search:
        rows = rows.filter(email__icontains=search.strip().lower())
    return list(rows[:limit])


def messages_for_lead(*, lead_id: int, limit: int = 20) -> list[dict[str, Any]]:
    """Return the lead's latest emails with what happened to each."""
    rows = OutboxMessage.objects.filter(lead_id=lead_id).order_by("-created_at", "-id")[:limit]
    return list(rows.values("id", "kind", "status", "subject", "sent_at", "created_at", "last_error"))
