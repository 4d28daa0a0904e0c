"""Records that make the API safe to retry, and the inbound sources leads are posted from."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone


class IdempotencyRecord(models.Model):
    """The first answer to a POST sent with an Idempotency-Key, replayed on a retry."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=500)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True)
    response_body = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key"),
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_created")]

    def __str__(self) -> str:
        return f"{self.method} {self.path} [{self.key}]"


def new_public_id() -> str:
    """Return the unguessable part of a source's webhook address."""
    return secrets.token_urlsafe(18)


def new_secret() -> str:
    """Return a fresh shared secret: the Google Ads key, or the HMAC key of a webhook."""
    return secrets.token_urlsafe(32)


class SourceKind(models.TextChoices):
    GOOGLE_ADS = "google_ads", "Google Ads lead form"
    WEBHOOK = "webhook", "Inbound webhook"


class InboundSource(models.Model):
    """A place leads are posted from: a Google Ads lead form or another tool's webhook."""

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=16, choices=SourceKind.choices)
    public_id = models.CharField(max_length=32, unique=True, default=new_public_id)
    secret = models.CharField(max_length=128, default=new_secret)
    field_map = models.JSONField(
        default=dict, blank=True, help_text="Where each lead field comes from: {path or column id: lead field}."
    )
    campaign_names = models.JSONField(default=dict, blank=True, help_text="Google Ads campaign id -> name.")
    lead_source = models.CharField(max_length=100, blank=True, help_text="Recorded as the lead's source.")
    lead_medium = models.CharField(max_length=100, blank=True, help_text="Recorded as the lead's medium.")
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return f"{self.name} ({self.get_kind_display()})"

    def get_absolute_url(self) -> str:
        return reverse("integrations:source", args=[self.pk])

    @property
    def hook_path(self) -> str:
        return reverse("integrations:hook", args=[self.public_id])


class DeliveryOutcome(models.TextChoices):
    ACCEPTED = "accepted", "Accepted"
    DUPLICATE = "duplicate", "Duplicate"
    TEST = "test", "Test"
    REJECTED = "rejected", "Rejected"


class InboundDelivery(models.Model):
    """One post to a source and what became of it. No personal data: field names, never values."""

    source = models.ForeignKey(InboundSource, on_delete=models.CASCADE, related_name="deliveries")
    external_id = models.CharField(max_length=255, blank=True)
    outcome = models.CharField(max_length=10, choices=DeliveryOutcome.choices)
    action = models.CharField(max_length=16, blank=True, help_text="created or updated; for a test, what would be.")
    status_code = models.PositiveSmallIntegerField(default=200)
    reason = models.CharField(max_length=500, blank=True)
    lead = models.ForeignKey("leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    fields = models.JSONField(default=list, blank=True, help_text="The lead fields the delivery set.")
    meta = models.JSONField(default=dict, blank=True, help_text="Ids of the form, campaign, ad group and creative.")
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            # One accepted delivery per external id: a redelivery is recorded as a duplicate.
            models.UniqueConstraint(
                fields=["source", "external_id"],
                condition=Q(outcome="accepted") & ~Q(external_id=""),
                name="inbound_delivery_once",
            ),
        ]
        indexes = [models.Index(fields=["source", "received_at", "id"], name="inbound_delivery_recent")]

    def __str__(self) -> str:
        return f"{self.get_outcome_display()} delivery to {self.source_id} at {self.received_at:%Y-%m-%d %H:%M}"

    @property
    def action_label(self) -> str:
        return ACTION_LABELS.get(self.action, self.action)


ACTION_LABELS = {
    "created": "new lead",
    "updated": "added to an existing lead",
    "would_create": "would create a lead",
    "would_update": "would update a lead",
}
