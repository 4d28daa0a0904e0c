"""Email templates, snippets, sequences of steps, enrollments, auto-replies and event cursors."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone


class TemplateKind(models.TextChoices):
    MARKETING = "marketing", "Marketing email"
    SNIPPET = "snippet", "Snippet for one-to-one email"


class EmailTemplate(models.Model):
    """A subject and a Markdown body with merge fields (see leadflow.nurture.rendering)."""

    name = models.CharField(max_length=120)
    kind = models.CharField(max_length=12, choices=TemplateKind.choices, default=TemplateKind.MARKETING)
    subject = models.CharField(max_length=300)
    body = models.TextField(help_text='Markdown with merge fields such as {{ first_name | "there" }}.')
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("nurture:template", args=[self.pk])


class Signature(models.Model):
    """A user's email signature, reachable in templates as {{ owner_signature }}."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="nurture_signature")
    text = models.TextField(blank=True)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"signature of {self.user}"


class SequenceStatus(models.TextChoices):
    DRAFT = "draft", "Draft"
    ACTIVE = "active", "Active"
    PAUSED = "paused", "Paused"


class Trigger(models.TextChoices):
    NONE = "", "Only by hand"
    FORM = "form", "A form was submitted"
    STAGE = "stage", "The lead entered a stage"
    SCORE = "score", "The score reached a value"


def default_days() -> list[int]:
    return [0, 1, 2, 3, 4]


class Sequence(models.Model):
    """An ordered list of steps a lead walks through, one due step at a time."""

    name = models.CharField(max_length=120)
    description = models.TextField(blank=True)
    status = models.CharField(max_length=8, choices=SequenceStatus.choices, default=SequenceStatus.DRAFT)
    send_days = models.JSONField(default=default_days, help_text="Weekdays emails may go out (0 = Monday).")
    send_start_hour = models.PositiveSmallIntegerField(default=9)
    send_end_hour = models.PositiveSmallIntegerField(default=17, help_text="Emails go out before this hour.")
    trigger = models.CharField(max_length=8, choices=Trigger.choices, default=Trigger.NONE, blank=True)
    trigger_form = models.ForeignKey("capture.Form", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    trigger_stage = models.CharField(max_length=16, blank=True)
    trigger_score = models.IntegerField(null=True, blank=True)
    goal_stage = models.CharField(max_length=16, blank=True, help_text="Reaching this stage ends the sequence.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("nurture:sequence", args=[self.pk])


class StepKind(models.TextChoices):
    EMAIL = "email", "Send an email"
    WAIT = "wait", "Wait"
    BRANCH = "branch", "Branch on a condition"
    TASK = "task", "Create a task for the owner"
    STAGE = "stage", "Change stage"
    ENROLL = "enroll", "Enroll in another sequence"


class Step(models.Model):
    """One step of a sequence; what it does is in `config` (see leadflow.nurture.steps)."""

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveIntegerField(default=0)
    kind = models.CharField(max_length=8, choices=StepKind.choices)
    config = models.JSONField(default=dict, blank=True)
    template = models.ForeignKey(EmailTemplate, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["sequence", "position", "id"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} (step {self.pk})"


class EnrollmentStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    COMPLETED = "completed", "Completed"
    EXITED = "exited", "Exited"


class ExitReason(models.TextChoices):
    COMPLETED = "completed", "Finished every step"
    GOAL = "goal_reached", "Goal reached"
    REPLIED = "replied", "Replied"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    BOUNCED = "bounced", "Email bounced"
    SQL = "became_sql", "Became SQL"
    OPPORTUNITY = "became_opportunity", "Became an opportunity"
    CUSTOMER = "became_customer", "Became a customer"
    DISQUALIFIED = "disqualified", "Disqualified"
    SUPPRESSED = "suppressed", "Address suppressed"
    CONSENT = "consent_withdrawn", "Consent withdrawn"
    REMOVED = "removed", "Removed by hand"
    LEAD_GONE = "lead_inactive", "Lead merged or erased"


class Enrollment(models.Model):
    """A lead walking through a sequence: which step it is on and when that step is due.

    A worker claims a due row by setting `claim_token` and `claimed_until`; a claim
    whose time ran out may be taken again.
    """

    sequence = models.ForeignKey(Sequence, on_delete=models.CASCADE, related_name="enrollments")
    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="enrollments")
    status = models.CharField(max_length=10, choices=EnrollmentStatus.choices, default=EnrollmentStatus.ACTIVE)
    step = models.ForeignKey(Step, null=True, blank=True, on_delete=models.SET_NULL, related_name="enrollments")
    next_due_at = models.DateTimeField(null=True, blank=True)
    wait_until = models.DateTimeField(null=True, blank=True, help_text="Set while a wait step is running.")
    last_email_key = models.CharField(max_length=200, blank=True)
    claim_token = models.CharField(max_length=32, blank=True)
    claimed_until = models.DateTimeField(null=True, blank=True)
    history = models.JSONField(default=list, blank=True, help_text="The latest steps run, newest last.")
    source = models.CharField(max_length=16, default="manual")
    enrolled_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    enrolled_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    exit_reason = models.CharField(max_length=20, choices=ExitReason.choices, blank=True)

    class Meta:
        ordering = ["-enrolled_at", "-id"]
        indexes = [models.Index(fields=["status", "next_due_at"], name="enrollment_due")]
        constraints = [
            models.UniqueConstraint(
                fields=["sequence", "lead"], condition=Q(status="active"), name="enrollment_one_active"
            )
        ]

    def __str__(self) -> str:
        return f"lead {self.lead_id} in {self.sequence_id} ({self.status})"


class AutoReply(models.Model):
    """An email sent to whoever submits `form`, seconds after they do."""

    form = models.OneToOneField("capture.Form", on_delete=models.CASCADE, related_name="auto_reply")
    template = models.ForeignKey(EmailTemplate, on_delete=models.PROTECT, related_name="+")
    enabled = models.BooleanField(default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["form__name"]

    def __str__(self) -> str:
        return f"auto-reply to {self.form}"


class EventCursor(models.Model):
    """The last timeline event a periodic job has read, so each run reads only newer ones."""

    name = models.CharField(max_length=40, unique=True)
    last_event_id = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} at {self.last_event_id}"
