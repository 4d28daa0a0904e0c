"""Mail that comes back: replies, out-of-office answers, bounce reports, complaints, unsubscribe mail."""

from __future__ import annotations

import email
import email.policy
import logging
import re
from email.message import Message
from email.utils import getaddresses, parseaddr

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from leadflow.leads import timeline
from leadflow.leads.models import ActorType, EventKind
from leadflow.mail.models import EventType, MessageEvent, OutboxMessage
from leadflow.mail.services import consent
from leadflow.mail.services.compose import unsign, unsubscribe_address
from leadflow.mail.services.events import exit_sequences, record_bounce, record_complaint

logger = logging.getLogger("leadflow.mail")

MESSAGE_ID = re.compile(r"<[^<>\s]+@[^<>\s]+>")
UNSUBSCRIBE_TOKEN = re.compile(r"unsubscribe\s+([0-9a-f]{32}\.[A-Za-z0-9_-]+)", re.IGNORECASE)
AUTO_SUBJECT = re.compile(
    r"^\s*(auto(matic)?[ -]?(reply|response|antwort)|out of (the )?office|ooo\b|auto:|away from|on vacation|"
    r"abwesenheitsnotiz|r[ée]ponse automatique|respuesta autom[áa]tica|risposta automatica|"
    r"i am (currently )?(out|away)|i'm (currently )?(out|away))",
    re.IGNORECASE,
)
BOUNCE_SENDER = re.compile(r"^(mailer-daemon|postmaster)@", re.IGNORECASE)
BOUNCE_SUBJECT = re.compile(
    r"undeliver|delivery (status notification|failure|has failed)|returned mail|failure notice", re.IGNORECASE
)
SNIPPET = 500


def process_raw(raw: bytes, *, source: str) -> str:
    """Handle one incoming email given as raw MIME; return what it was (see `process_message`)."""
    return process_message(email.message_from_bytes(raw, policy=email.policy.default), source=source)


def process_message(message: Message, *, source: str) -> str:
    """Handle one incoming email; return "bounce", "complaint", "unsubscribe", "reply", "auto_reply",
    "duplicate" or "unmatched"."""
    report = _report_type(message)
    if report == "feedback-report":
        return _complaint(message, source)
    if report == "delivery-status" or _looks_like_bounce(message):
        return _bounce(message, source)
    if _is_unsubscribe(message):
        return _unsubscribe(message, source)
    original = _original_of(message)
    if original is None:
        return "unmatched"
    return _reply(message, original, source)


def _report_type(message: Message) -> str:
    if message.get_content_type() != "multipart/report":
        return ""
    return (message.get_param("report-type") or "").lower()


def _looks_like_bounce(message: Message) -> bool:
    sender = parseaddr(str(message.get("From", "")))[1]
    return bool(BOUNCE_SENDER.match(sender)) and bool(BOUNCE_SUBJECT.search(str(message.get("Subject", ""))))


def _ids_in(text: str) -> list[str]:
    return MESSAGE_ID.findall(text or "")


def _find_sent(ids: list[str]) -> OutboxMessage | None:
    if not ids:
        return None
    return (
        OutboxMessage.objects.filter(message_id__in=ids[-50:]).select_related("lead", "sender").order_by("-pk").first()
    )


def _original_of(message: Message) -> OutboxMessage | None:
    """Return our message this one answers, by In-Reply-To, then References."""
    found = _find_sent(_ids_in(str(message.get("In-Reply-To", ""))))
    return found or _find_sent(_ids_in(str(message.get("References", ""))))


def _bounce(message: Message, source: str) -> str:
    """A delivery report: a permanent failure bounces our message; a delay changes nothing."""
    status, diagnostic = _delivery_status(message)
    original = _find_sent(_ids_in(_returned_headers(message))) or _original_of(message)
    if original is None:
        return "unmatched"
    if status.startswith("4") or status.lower().startswith("delayed"):
        return "delay"
    error = f"Bounce report: {status or 'failed'} {diagnostic}".strip()
    record_bounce(message=original, error=error[:2000], source=source)
    return "bounce"


def _delivery_status(message: Message) -> tuple[str, str]:
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        for block in part.get_payload() if part.is_multipart() else []:
            action = str(block.get("Action", "")).strip().lower()
            status = str(block.get("Status", "")).strip()
            if block.get("Final-Recipient") or action:
                diagnostic = " ".join(str(block.get("Diagnostic-Code", "")).split())
                return ("delayed" if action == "delayed" else status or "5.0.0"), diagnostic
    return "5.0.0", ""


def _returned_headers(message: Message) -> str:
    """Return the headers of the returned original in a report (message/rfc822 or text/rfc822-headers)."""
    texts = []
    for part in message.walk():
        kind = part.get_content_type()
        if kind == "message/rfc822":
            inner = part.get_payload(0) if part.is_multipart() else None
            if inner is not None:
                texts.append(str(inner.get("Message-ID", "")))
        elif kind in ("text/rfc822-headers", "message/rfc822-headers"):
            payload = part.get_payload(decode=True) or b""
            headers = email.message_from_bytes(payload, policy=email.policy.default)
            texts.append(str(headers.get("Message-ID", "")))
    return " ".join(texts)


def _complaint(message: Message, source: str) -> str:
    original = _find_sent(_ids_in(_returned_headers(message)))
    if original is None:
        return "unmatched"
    record_complaint(message=original, source=source)
    return "complaint"


def _recipients(message: Message) -> set[str]:
    values = [str(message.get(name, "")) for name in ("To", "Cc", "Delivered-To", "X-Original-To")]
    return {address.lower() for _, address in getaddresses(values) if address}


def _is_unsubscribe(message: Message) -> bool:
    subject = str(message.get("Subject", ""))
    if UNSUBSCRIBE_TOKEN.search(subject):
        return True
    return unsubscribe_address().lower() in _recipients(message) and subject.strip().lower().startswith("unsubscribe")


def _unsubscribe(message: Message, source: str) -> str:
    """Mail to the unsubscribe address: by the signed token in the subject, else by the sender's address."""
    match = UNSUBSCRIBE_TOKEN.search(str(message.get("Subject", "")))
    token = unsign("unsubscribe", match.group(1)) if match else None
    original = OutboxMessage.objects.filter(token=token).first() if token else None
    if original is not None:
        consent.unsubscribe(email=original.to_email, message=original, source=f"mailto ({source})")
        return "unsubscribe"
    sender = parseaddr(str(message.get("From", "")))[1]
    if not sender:
        return "unmatched"
    consent.unsubscribe(email=sender, source=f"mailto ({source})")
    return "unsubscribe"


def is_auto_reply(message: Message) -> bool:
    """Return True for out-of-office and other automatic answers (RFC 3834 and common habits)."""
    auto = str(message.get("Auto-Submitted", "")).strip().lower()
    if auto and auto != "no":
        return True
    if any(message.get(name) for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder")):
        return True
    if str(message.get("Precedence", "")).strip().lower() in {"auto_reply", "bulk", "junk", "list"}:
        return True
    return bool(AUTO_SUBJECT.search(str(message.get("Subject", ""))))


def _snippet(message: Message) -> str:
    body = message.get_body(preferencelist=("plain", "html"))
    try:
        text = body.get_content() if body is not None else ""
    except (LookupError, KeyError):
        text = ""
    lines = []
    for line in text.splitlines():
        if line.startswith(">") or re.match(r"^On .+ wrote:\s*$", line):
            break
        lines.append(line)
    return " ".join(" ".join(lines).split())[:SNIPPET]


def _reply(message: Message, original: OutboxMessage, source: str) -> str:
    """Record a reply to `original`; a person's reply stops the lead's sequences and tells the owner."""
    auto = is_auto_reply(message)
    reply_id = str(message.get("Message-ID", "")).strip()[:300]
    kind = EventType.AUTO_REPLY if auto else EventType.REPLY
    data = {
        "message_id": reply_id,
        "subject": str(message.get("Subject", ""))[:300],
        "snippet": _snippet(message),
        "source": source,
    }
    with transaction.atomic():
        seen = MessageEvent.objects.filter(Q(type=EventType.REPLY) | Q(type=EventType.AUTO_REPLY), message=original)
        if reply_id and seen.filter(data__message_id=reply_id).exists():
            return "duplicate"
        MessageEvent.objects.create(message=original, type=kind, machine=auto, data=data)
        if original.lead_id is not None:
            timeline.record(
                original.lead,
                EventKind.EMAIL_REPLIED,
                actor_type=ActorType.SYSTEM if auto else ActorType.LEAD,
                data={"outbox_id": original.pk, **data, "auto_reply": auto, "machine": auto},
                occurred_at=timezone.now(),
            )
        if not auto:
            exit_sequences(lead_id=original.lead_id, reason="replied")
            transaction.on_commit(lambda: _tell_owner(original, data))
    return "auto_reply" if auto else "reply"


def _tell_owner(original: OutboxMessage, data: dict) -> None:
    from leadflow.routing.services import notify

    lead = original.lead
    user = original.sender if original.sender_id else (lead.owner if lead is not None else None)
    if user is None:
        return
    name = lead.display_name if lead is not None else original.to_email
    try:
        notify(
            user=user,
            subject=f"{name} replied: {original.subject}"[:200],
            body=data["snippet"] or "(no text)",
            lead=lead,
            url=lead.get_absolute_url() if lead is not None else "",
        )
    except Exception:
        logger.exception("mail: could not tell %s about the reply to message %s", user, original.pk)
