"""Trained models, the fields they may learn from, training runs and each open lead's prediction."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class FeatureKind(models.TextChoices):
    CATEGORY = "category", "Category"
    NUMBER = "number", "Number"
    FLAG = "flag", "Yes / no"
    WORDS = "words", "Words"


class FeatureField(models.Model):
    """Whether one lead field (or custom field, or activity count) may be used to predict a purchase.

    A field is used when `include` is on and `after_contact` is off: a field sales fill in
    after contacting the lead is blank for the open leads being scored and full for the
    closed ones trained on, so the model would learn the answer from it.
    """

    name = models.CharField(max_length=80, unique=True, help_text="Lead field, custom.<key> or activity.<kind>.")
    label = models.CharField(max_length=120)
    kind = models.CharField(max_length=8, choices=FeatureKind.choices, default=FeatureKind.CATEGORY)
    include = models.BooleanField(default=True)
    after_contact = models.BooleanField(default=False, help_text="Set by sales after contacting the lead.")
    note = models.CharField(max_length=200, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def is_used(self) -> bool:
        return self.include and not self.after_contact


class ModelStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    PREVIOUS = "previous", "Previous"
    RETIRED = "retired", "Retired"


class Algorithm(models.TextChoices):
    LOGISTIC = "logistic_regression", "Logistic regression"
    BOOSTING = "gradient_boosting", "Gradient boosting"


class ScoreModel(models.Model):
    """One trained model. The active one scores leads; the previous one is kept to compare and fall back to."""

    version = models.PositiveIntegerField(unique=True)
    status = models.CharField(max_length=8, choices=ModelStatus.choices, default=ModelStatus.ACTIVE)
    created_at = models.DateTimeField(default=timezone.now)
    trained_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    trigger = models.CharField(max_length=16, default="manual")
    algorithm = models.CharField(max_length=24, choices=Algorithm.choices)
    auc = models.FloatField(help_text="Mean ROC AUC over 5 cross-validation folds.")
    auc_folds = models.JSONField(default=list)
    candidates = models.JSONField(default=dict, help_text="Cross-validated AUC of every algorithm tried.")
    positives = models.PositiveIntegerField()
    negatives = models.PositiveIntegerField()
    calibration = models.JSONField(default=list, help_text="[predicted, observed, count] per bin.")
    factors = models.JSONField(default=list, help_text="[{name, label, weight}] most important first.")
    spec = models.JSONField(default=dict, help_text="The features used, their kinds and baseline values.")
    pipeline = models.BinaryField(null=True, blank=True, help_text="The fitted scikit-learn pipeline (joblib).")
    seconds = models.FloatField(default=0)

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"Model v{self.version} ({self.get_algorithm_display()}, AUC {self.auc:.3f})"

    @property
    def examples(self) -> int:
        return self.positives + self.negatives


class RunStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Training"
    SCORING = "scoring", "Scoring open leads"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class TrainingRun(models.Model):
    """One request to train: from the page, the weekly schedule or the command line."""

    status = models.CharField(max_length=8, choices=RunStatus.choices, default=RunStatus.QUEUED)
    trigger = models.CharField(max_length=16, default="manual")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    model = models.ForeignKey(ScoreModel, null=True, blank=True, on_delete=models.SET_NULL, related_name="runs")
    scored = models.PositiveIntegerField(default=0)
    to_score = models.PositiveIntegerField(default=0)
    error = models.TextField(blank=True)
    error_code = models.CharField(max_length=32, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"Training run {self.pk} ({self.get_status_display()})"

    @property
    def is_finished(self) -> bool:
        return self.status in {RunStatus.DONE, RunStatus.FAILED}


class PredictiveState(models.Model):
    """The one row the periodic jobs claim work on: the weekly retrain's week and the scoring cursor."""

    weekly_claimed = models.CharField(max_length=10, blank=True, help_text="ISO week last claimed, e.g. 2026-W48.")
    event_cursor = models.BigIntegerField(default=0, help_text="Highest timeline event id already scored for.")

    def __str__(self) -> str:
        return f"predictive state (week {self.weekly_claimed or '—'}, event {self.event_cursor})"


class LeadPrediction(models.Model):
    """The active model's chance that an open lead becomes a customer, and what pushes it up or down."""

    lead = models.OneToOneField("leads.Lead", on_delete=models.CASCADE, related_name="prediction")
    model = models.ForeignKey(ScoreModel, on_delete=models.CASCADE, related_name="predictions")
    probability = models.FloatField()
    factors = models.JSONField(default=list, help_text="[{name, label, value, effect}] strongest first.")
    scored_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["probability"], name="prediction_probability")]

    def __str__(self) -> str:
        return f"{self.percent} % for lead {self.lead_id}"

    @property
    def percent(self) -> int:
        return round(self.probability * 100)
