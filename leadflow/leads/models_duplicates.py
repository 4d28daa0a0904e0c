"""Pairs of leads that are likely the same person, waiting for someone to merge or dismiss them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone


class PairStatus(models.TextChoices):
    OPEN = "open", "Open"
    DISMISSED = "dismissed", "Not duplicates"
    CLOSED = "closed", "A lead was merged or erased"


class DuplicatePair(models.Model):
    """Two live leads that look like one person; `lead_a` is always the older (lower id).

    A pair is found once and kept: re-detection updates an open pair's score but
    never reopens a dismissed or closed one.
    """

    lead_a = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="+")
    lead_b = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="+")
    score = models.PositiveSmallIntegerField(help_text="0 to 100: how sure we are these are one person.")
    reasons = models.JSONField(default=list, help_text='Why, as [{"code": ..., "similarity": ...}]: no personal data.')
    status = models.CharField(max_length=10, choices=PairStatus.choices, default=PairStatus.OPEN)
    found_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["lead_a", "lead_b"], name="duplicate_pair_once"),
            models.CheckConstraint(condition=Q(lead_a__lt=F("lead_b")), name="duplicate_pair_ordered"),
        ]
        indexes = [
            models.Index(fields=["status", "score", "id"], name="duplicate_pair_status_score"),
            models.Index(fields=["lead_b", "status"], name="duplicate_pair_lead_b"),
        ]

    def __str__(self) -> str:
        return f"Leads {self.lead_a_id} and {self.lead_b_id} ({self.score}%, {self.get_status_display()})"


class DuplicateScan(models.Model):
    """How far the incremental `leadflow find-duplicates` scan got: the last lead seen by update time."""

    name = models.CharField(max_length=32, unique=True)
    last_updated_at = models.DateTimeField(null=True, blank=True)
    last_lead_id = models.BigIntegerField(default=0)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Duplicate scan {self.name} at lead {self.last_lead_id}"
