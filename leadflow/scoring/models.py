"""Scoring rules, the site-wide settings, the event cursor and bulk rescore jobs."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone

from leadflow.scoring import engine

CONDITION_CHOICES = [(c.name, c.label) for c in engine.CONDITIONS.values()]


class ScoringRule(models.Model):
    """One rule: a condition on the lead's fields (fit) or on its timeline (engagement), worth points."""

    name = models.CharField(max_length=120)
    condition = models.CharField(max_length=32, choices=CONDITION_CHOICES)
    key = models.CharField(max_length=100, blank=True, help_text="The custom field, for custom field conditions.")
    value = models.CharField(max_length=500, blank=True, help_text="Comma-separated values, a number or a pattern.")
    points = models.IntegerField(help_text="May be negative.")
    cap = models.PositiveIntegerField(null=True, blank=True, help_text="Most points the rule gives in all.")
    active = models.BooleanField(default=True)
    position = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def kind(self) -> str:
        return engine.CONDITIONS[self.condition].kind

    def as_engine_rule(self) -> dict:
        return {
            "id": self.pk,
            "name": self.name,
            "condition": self.condition,
            "key": self.key,
            "value": self.value,
            "points": self.points,
            "cap": self.cap,
            "active": self.active,
        }


class ScoringSettings(models.Model):
    """The one row of site-wide scoring settings (pk 1)."""

    half_life_days = models.PositiveIntegerField(
        default=30, help_text="Engagement points halve every this many days; 0 for no decay."
    )
    mql_threshold = models.PositiveIntegerField(default=60, help_text="A lead reaching this score becomes an MQL.")
    rules_changed_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "scoring settings"

    def __str__(self) -> str:
        return f"half-life {self.half_life_days} d, MQL at {self.mql_threshold}"

    @classmethod
    def load(cls) -> ScoringSettings:
        return cls.objects.get_or_create(pk=1)[0]


class ScoringState(models.Model):
    """The one row the periodic jobs claim work on (pk 1): the timeline cursor and the daily sweep."""

    event_cursor = models.BigIntegerField(default=0, help_text="Timeline events up to this id are scored.")
    sweep_claimed_at = models.DateTimeField(null=True, blank=True)
    last_full_rescore_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"scored up to event {self.event_cursor}"

    @classmethod
    def load(cls) -> ScoringState:
        return cls.objects.get_or_create(pk=1)[0]


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class RescoreReason(models.TextChoices):
    RULES = "rules", "Rules changed"
    DECAY = "decay", "Daily decay sweep"
    COMMAND = "command", "leadflow rescore"


class RescoreJob(models.Model):
    """A recompute of every lead's rule score, worked through in batches of lead ids."""

    reason = models.CharField(max_length=16, choices=RescoreReason.choices, default=RescoreReason.RULES)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=8, choices=JobStatus.choices, default=JobStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    crossed = models.PositiveIntegerField(default=0, help_text="Leads queued to move to MQL.")
    last_lead_id = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Rescore ({self.get_reason_display()}, {self.get_status_display()}, {self.processed}/{self.total})"

    @property
    def percent(self) -> int:
        if self.status == JobStatus.DONE:
            return 100
        return min(99, self.processed * 100 // self.total) if self.total else 0

    @property
    def is_finished(self) -> bool:
        return self.status in {JobStatus.DONE, JobStatus.FAILED}


class PendingPromotion(models.Model):
    """A lead a bulk rescore pushed over the MQL threshold, waiting for the worker to move it."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="+")
    job = models.ForeignKey(RescoreJob, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    from_score = models.IntegerField()
    to_score = models.IntegerField()
    fit = models.IntegerField()
    engagement = models.IntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"lead {self.lead_id}: {self.from_score} → {self.to_score}"
