"""Queue an email: one outbox row, written in the caller's transaction."""

from __future__ import annotations

import re
import secrets
from datetime import datetime
from email.utils import formataddr, parseaddr
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from leadflow.mail.errors import MailError
from leadflow.mail.models import Kind, OutboxMessage, Status

_HREF = re.compile(r"""<a\b[^>]*?\bhref\s*=\s*(["'])(https?://[^"']+)\1""", re.IGNORECASE)


def message_domain() -> str:
    """Return the domain of generated Message-IDs: the configured one, else the sender's."""
    configured = getattr(settings, "LEADFLOW_MAIL_DOMAIN", "")
    if configured:
        return configured
    address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    return address.rsplit("@", 1)[-1] if "@" in address else "leadflow.local"


def extract_links(html: str) -> list[str]:
    """Return the distinct http(s) links of `html`, in order of first appearance."""
    seen: dict[str, None] = {}
    for match in _HREF.finditer(html or ""):
        seen.setdefault(match.group(2).replace("&amp;", "&"), None)
    return list(seen)


def _addresses(kind: str, sender) -> tuple[str, str]:
    """Return (From, Reply-To): a rep's email comes from the rep's name and is answered to the rep."""
    default_address = parseaddr(settings.DEFAULT_FROM_EMAIL)[1]
    inbox = getattr(settings, "LEADFLOW_MAIL_REPLY_TO", "")
    if kind == Kind.ONE_TO_ONE and sender is not None:
        name = sender.get_full_name() or sender.username
        reply_to = ", ".join(address for address in (sender.email, inbox) if address)
        return formataddr((name, default_address)), reply_to
    return settings.DEFAULT_FROM_EMAIL, inbox


def queue_email(
    *,
    lead,
    key: str,
    kind: str,
    subject: str,
    html: str,
    text: str,
    to_email: str | None = None,
    sender=None,
    due_at: datetime | None = None,
    meta: dict[str, Any] | None = None,
) -> OutboxMessage | None:
    """Queue one email; return its outbox row, or None when `key` was queued before.

    Call it inside the transaction of what caused the email: the row commits or rolls
    back with it. Suppression is checked when the message is sent, not here.
    """
    if kind not in Kind.values:
        raise MailError("invalid_kind", f"Unknown kind of email {kind!r}; use one of {', '.join(Kind.values)}.")
    to_email = (to_email or (lead.email if lead is not None else "") or "").strip()
    if not to_email:
        raise MailError("no_address", "This email has no recipient address.")
    if not key:
        raise MailError("no_key", "An email needs an idempotency key.")
    now = timezone.now()
    from_email, reply_to = _addresses(kind, sender)
    token = secrets.token_hex(16)
    row = OutboxMessage(
        key=key[:200],
        kind=kind,
        lead=lead,
        sender=sender,
        to_email=to_email,
        from_email=from_email,
        reply_to=reply_to,
        subject=" ".join((subject or "").split())[:500],
        html=html or "",
        text=text or "",
        links=extract_links(html),
        meta=meta or {},
        token=token,
        message_id=f"<{token}@{message_domain()}>",
        due_at=due_at or now,
        next_attempt_at=due_at or now,
        created_at=now,
        updated_at=now,
    )
    if OutboxMessage.objects.filter(key=row.key).exists():
        return None
    try:
        with transaction.atomic():
            row.save(force_insert=True)
    except IntegrityError:
        if OutboxMessage.objects.filter(key=row.key).exists():
            return None
        raise
    return row


def retry_message(*, message_id: int, actor) -> OutboxMessage:
    """Send a failed message again now (or one waiting for a retry, without waiting)."""
    row = OutboxMessage.objects.filter(pk=message_id).first()
    if row is None:
        raise MailError("not_found", "This message no longer exists.")
    if row.status not in (Status.FAILED, Status.QUEUED) or (row.status == Status.QUEUED and row.claim_token):
        raise MailError(
            "not_retryable",
            f"This message is {row.get_status_display().lower()}; only failed messages can be sent again.",
        )
    now = timezone.now()
    OutboxMessage.objects.filter(pk=row.pk, status=row.status, claim_token="").update(
        status=Status.QUEUED, attempts=0, next_attempt_at=now, last_error="", updated_at=now
    )
    row.refresh_from_db()
    return row
