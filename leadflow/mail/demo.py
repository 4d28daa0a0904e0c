"""Demo data for delivery: a month of sent emails with opens, clicks and replies, failures and suppressions."""

from __future__ import annotations

import random
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from leadflow.accounts.models import User
from leadflow.leads import timeline
from leadflow.leads.models import ActorType, EventKind, Lead, LeadStatus
from leadflow.mail.models import EventType, MessageEvent, OutboxMessage, Status, SuppressionReason
from leadflow.mail.services import consent, queue_email
from leadflow.mail.services.events import suppress

SUBJECTS = (
    "Welcome: three things to try first",
    "How teams like yours cut reporting time in half",
    "Your guide to lead scoring",
    "Quick question about your pipeline",
)
HTML = (
    '<p>Hi {name},</p><p>{subject}. <a href="https://example.com/guide">Read the guide</a> '
    'or <a href="https://example.com/pricing">see pricing</a>.</p>'
)
REPLY = "Thanks, could we talk next week?"
BROWSER = {"user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_1) AppleWebKit/605.1.15 Safari/605.1.15"}


def seed(*, rng: random.Random) -> None:
    """Record a month of marketing and one-to-one email on demo leads, with engagement, failures and suppressions."""
    if OutboxMessage.objects.filter(key__startswith="demo-mail-").exists():
        return
    leads = list(Lead.objects.filter(status=LeadStatus.ACTIVE).exclude(email="").order_by("pk")[:40])
    if not leads:
        return
    alice = User.objects.filter(username="alice").first()
    with transaction.atomic():
        for index, lead in enumerate(leads):
            _history(lead, index, rng, alice)
        _failures(leads, rng)
        _suppressions(leads)


def _history(lead: Lead, index: int, rng: random.Random, rep: User | None) -> None:
    now = timezone.now()
    for step, subject in enumerate(SUBJECTS[: rng.randint(1, len(SUBJECTS))]):
        sent_at = now - timedelta(days=28 - step * 7, hours=rng.randint(0, 12))
        one_to_one = step == 3 and rep is not None and lead.owner_id == rep.pk
        row = queue_email(
            lead=lead,
            key=f"demo-mail-{lead.pk}-{step}",
            kind="one_to_one" if one_to_one else "marketing",
            subject=subject,
            html=HTML.format(name=lead.first_name or "there", subject=subject),
            text=f"Hi {lead.first_name or 'there'}, {subject}. https://example.com/guide",
            sender=rep if one_to_one else None,
            meta={} if one_to_one else {"demo": True, "step": step + 1},
        )
        OutboxMessage.objects.filter(pk=row.pk).update(status=Status.SENT, sent_at=sent_at, due_at=sent_at)
        timeline.record(
            lead,
            EventKind.EMAIL_SENT,
            actor=rep if one_to_one else None,
            data={"outbox_id": row.pk, "subject": subject, "kind": row.kind, "message_id": row.message_id},
            occurred_at=sent_at,
        )
        _engagement(row, lead, sent_at, rng)


def _engagement(row: OutboxMessage, lead: Lead, sent_at, rng: random.Random) -> None:
    if rng.random() < 0.25:
        # Apple Mail Privacy Protection fetches the pixel at once, whether or not anyone reads.
        _event(
            row, lead, EventType.OPEN, sent_at + timedelta(minutes=1), machine=True, data={"reason": "known_network"}
        )
    if rng.random() < 0.55:
        opened = sent_at + timedelta(hours=rng.randint(1, 30))
        _event(row, lead, EventType.OPEN, opened, machine=False, data=BROWSER)
        if rng.random() < 0.4:
            _event(row, lead, EventType.CLICK, opened + timedelta(minutes=2), machine=False,
                   data={"url": rng.choice(row.links)})  # fmt: skip
        if rng.random() < 0.1:
            MessageEvent.objects.create(
                message=row, type=EventType.REPLY, occurred_at=opened + timedelta(hours=3),
                data={"subject": f"Re: {row.subject}", "snippet": REPLY},
            )  # fmt: skip
            timeline.record(
                lead, EventKind.EMAIL_REPLIED, actor_type=ActorType.LEAD, occurred_at=opened + timedelta(hours=3),
                data={"outbox_id": row.pk, "subject": f"Re: {row.subject}", "snippet": REPLY,
                      "auto_reply": False, "machine": False},
            )  # fmt: skip


def _event(row: OutboxMessage, lead: Lead, type: str, when, *, machine: bool, data: dict) -> None:
    MessageEvent.objects.create(
        message=row, type=type, machine=machine, data={**data, "machine": machine}, occurred_at=when
    )
    kind = EventKind.EMAIL_OPENED if type == EventType.OPEN else EventKind.EMAIL_CLICKED
    timeline.record(
        lead, kind, actor_type=ActorType.SYSTEM if machine else ActorType.LEAD, occurred_at=when,
        data={"outbox_id": row.pk, "subject": row.subject, **data, "machine": machine},
    )  # fmt: skip


def _failures(leads: list[Lead], rng: random.Random) -> None:
    now = timezone.now()
    for n, lead in enumerate(rng.sample(leads, min(2, len(leads)))):
        row = queue_email(
            lead=lead, key=f"demo-mail-failed-{lead.pk}", kind="marketing", subject="Webinar invitation: scoring 101",
            html="<p>Join us on Thursday.</p>", text="Join us on Thursday.",
        )  # fmt: skip
        if n == 0:
            OutboxMessage.objects.filter(pk=row.pk).update(
                status=Status.FAILED, attempts=8, updated_at=now - timedelta(hours=2),
                last_error="Gave up after 8 attempts. The server answered 451 4.7.1 Greylisted, please try again later",
            )  # fmt: skip
        else:
            OutboxMessage.objects.filter(pk=row.pk).update(
                attempts=2, next_attempt_at=now + timedelta(minutes=2), updated_at=now,
                last_error="The server answered 421 4.7.0 Too many connections, slow down",
            )  # fmt: skip


def _suppressions(leads: list[Lead]) -> None:
    if len(leads) >= 3:
        sent = OutboxMessage.objects.filter(lead=leads[-1], status=Status.SENT).first()
        consent.unsubscribe(email=leads[-1].email, message=sent, source="one-click (RFC 8058)")
    suppress(email="bounced.address@example.net", reason=SuppressionReason.BOUNCED,
             source="smtp: The server refused the recipient: 550 5.1.1 User unknown")  # fmt: skip
    suppress(email="no-contact@competitor.example", reason=SuppressionReason.MANUAL,
             source="Competitor: never email", actor=User.objects.filter(username="mark").first())  # fmt: skip
