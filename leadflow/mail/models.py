"""The outbox, what happened to each message, the suppression list and consent records."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Kind(models.TextChoices):
    MARKETING = "marketing", "Marketing"
    ONE_TO_ONE = "one_to_one", "One to one"
    TRANSACTIONAL = "transactional", "Transactional"


class Status(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SUPPRESSED = "suppressed", "Suppressed"
    BOUNCED = "bounced", "Bounced"


class OutboxMessage(models.Model):
    """One email to send, written in the transaction of what caused it; a worker sends it once.

    A worker claims a row by setting `claim_token` and `lease_until`; a row whose lease
    ran out is claimed again. `next_attempt_at` is when it may be tried next (its due
    time, then the retry backoff).
    """

    key = models.CharField(max_length=200, unique=True, help_text="Idempotency key given by the caller.")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    lead = models.ForeignKey("leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    to_email = models.CharField(max_length=254)
    from_email = models.CharField(max_length=320)
    reply_to = models.CharField(max_length=320, blank=True)
    subject = models.CharField(max_length=500)
    html = models.TextField(blank=True)
    text = models.TextField(blank=True)
    links = models.JSONField(default=list, blank=True, help_text="The links of the message, by position.")
    meta = models.JSONField(default=dict, blank=True)
    token = models.CharField(max_length=32, unique=True, help_text="Random; names the message in tracking URLs.")
    message_id = models.CharField(max_length=200, unique=True)

    due_at = models.DateTimeField(default=timezone.now)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    attempts = models.PositiveIntegerField(default=0)
    claim_token = models.CharField(max_length=32, blank=True)
    lease_until = models.DateTimeField(null=True, blank=True)
    last_error = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="outbox_due"),
            models.Index(fields=["lead", "kind", "created_at"], name="outbox_lead_kind"),
            models.Index(fields=["status", "updated_at"], name="outbox_status_updated"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} email {self.pk} ({self.status})"


class EventType(models.TextChoices):
    OPEN = "open", "Opened"
    CLICK = "click", "Clicked"
    REPLY = "reply", "Replied"
    AUTO_REPLY = "auto_reply", "Automatic reply"
    BOUNCE = "bounce", "Bounced"
    COMPLAINT = "complaint", "Complained"
    UNSUBSCRIBE = "unsubscribe", "Unsubscribed"


class MessageEvent(models.Model):
    """Something that happened to a sent message: an open, a click, a reply, a bounce."""

    message = models.ForeignKey(OutboxMessage, on_delete=models.CASCADE, related_name="events")
    type = models.CharField(max_length=12, choices=EventType.choices)
    machine = models.BooleanField(default=False, help_text="Made by a scanner or a privacy proxy, not the person.")
    data = models.JSONField(default=dict, blank=True)
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["message", "type"], name="mail_event_message_type")]

    def __str__(self) -> str:
        return f"{self.get_type_display()} of message {self.message_id}"


class SuppressionReason(models.TextChoices):
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    BOUNCED = "bounced", "Bounced"
    COMPLAINED = "complained", "Complained"
    MANUAL = "manual", "Added by hand"


class Suppression(models.Model):
    """An address Leadflow must not email (marketing only when unsubscribed)."""

    email = models.CharField(max_length=254, unique=True, help_text="Lowercased address.")
    reason = models.CharField(max_length=16, choices=SuppressionReason.choices)
    source = models.CharField(max_length=200, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.email} ({self.reason})"


class ConsentAction(models.TextChoices):
    GRANTED = "granted", "Granted"
    WITHDRAWN = "withdrawn", "Withdrawn"


class ConsentRecord(models.Model):
    """A consent given or withdrawn, with when and through what (proof for the regulator)."""

    lead = models.ForeignKey("leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    email = models.CharField(max_length=254, blank=True)
    action = models.CharField(max_length=12, choices=ConsentAction.choices)
    source = models.CharField(max_length=200, help_text="For example one-click header, unsubscribe page, mailto.")
    message = models.ForeignKey(OutboxMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    occurred_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-occurred_at", "-id"]

    def __str__(self) -> str:
        return f"consent {self.action} via {self.source}"


class MailboxCursor(models.Model):
    """The last IMAP UID handled per mailbox, so each poll reads only new mail."""

    mailbox = models.CharField(max_length=300, unique=True)
    uid_validity = models.BigIntegerField(default=0)
    last_uid = models.BigIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.mailbox} at {self.last_uid}"
