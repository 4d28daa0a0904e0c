"""Assignment rules, availability, team schedules, SLA timers, handovers, tasks and notifications."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.urls import reverse
from django.utils import timezone

WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def default_hours() -> list:
    """Monday to Friday, 09:00 to 18:00; the weekend off."""
    return [["09:00", "18:00"]] * 5 + [None, None]


class TeamSchedule(models.Model):
    """A team's working hours (in its time zone), for business-hour deadlines, and its chat webhook."""

    team = models.OneToOneField("accounts.Team", on_delete=models.CASCADE, related_name="schedule")
    time_zone = models.CharField(max_length=64, default="UTC", help_text="IANA name, for example Europe/Berlin.")
    # Seven entries, Monday first: ["09:00", "18:00"], or null for a day off.
    hours = models.JSONField(default=default_hours)
    webhook_url = models.URLField(
        max_length=500, blank=True, help_text="Slack-compatible incoming webhook for this team's notifications."
    )

    def __str__(self) -> str:
        return f"{self.team} ({self.time_zone})"


class Availability(models.Model):
    """Whether a rep takes new leads: out of office, how many open leads at most, their share."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="availability")
    out_from = models.DateTimeField(null=True, blank=True)
    out_until = models.DateTimeField(null=True, blank=True)
    capacity = models.PositiveIntegerField(null=True, blank=True, help_text="Most open leads; empty for no limit.")
    weight = models.PositiveSmallIntegerField(default=1, help_text="Share in weighted round robin.")

    class Meta:
        verbose_name_plural = "availabilities"

    def __str__(self) -> str:
        return f"Availability of {self.user}"

    def is_out(self, when) -> bool:
        """Return True when the user is out of office at `when`."""
        if self.out_from is None and self.out_until is None:
            return False
        started = self.out_from is None or self.out_from <= when
        ended = self.out_until is not None and self.out_until <= when
        return started and not ended


class AssignmentRuleQuerySet(models.QuerySet):
    def in_order(self) -> AssignmentRuleQuerySet:
        return self.filter(is_active=True).order_by("position", "id")


class AssignmentRule(models.Model):
    """If a lead matches every condition given, it goes to the target; the first matching rule wins."""

    name = models.CharField(max_length=120)
    position = models.PositiveIntegerField(default=0)
    is_active = models.BooleanField(default=True)

    min_score = models.IntegerField(null=True, blank=True)
    sources = models.JSONField(default=list, blank=True)
    countries = models.JSONField(default=list, blank=True)
    min_company_size = models.PositiveIntegerField(null=True, blank=True)
    form = models.ForeignKey("capture.Form", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    stages = models.JSONField(default=list, blank=True)

    target_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    target_team = models.ForeignKey("accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    weighted = models.BooleanField(default=False, help_text="Share leads by each rep's weight.")
    # Smooth weighted round robin: {user id: current weight}; changed only under the rule's row lock.
    rotation = models.JSONField(default=dict, blank=True)
    assigned_count = models.PositiveIntegerField(default=0)

    touch_minutes = models.PositiveIntegerField(default=60, help_text="Minutes to the first touch.")
    business_hours = models.BooleanField(default=True, help_text="Count only the team's working hours.")
    reassign_on_breach = models.BooleanField(default=False)

    created_at = models.DateTimeField(default=timezone.now)

    objects = AssignmentRuleQuerySet.as_manager()

    class Meta:
        ordering = ["position", "id"]

    def __str__(self) -> str:
        return self.name

    @property
    def condition_labels(self) -> list[str]:
        """Return each condition as a short phrase; an empty list matches every lead."""
        labels = []
        if self.min_score is not None:
            labels.append(f"score ≥ {self.min_score}")
        if self.sources:
            labels.append("source: " + ", ".join(self.sources))
        if self.countries:
            labels.append("country: " + ", ".join(self.countries))
        if self.min_company_size is not None:
            labels.append(f"company size ≥ {self.min_company_size}")
        if self.form_id:
            labels.append(f"sent form {self.form}")
        if self.stages:
            labels.append("stage: " + ", ".join(self.stages))
        return labels

    @property
    def target_label(self) -> str:
        if self.target_user_id:
            return str(self.target_user)
        if self.target_team_id:
            return f"{self.target_team} (round robin{', weighted' if self.weighted else ''})"
        return "nobody"


class JobCursor(models.Model):
    """How far a periodic job has read the timeline (a TimelineEvent id)."""

    name = models.CharField(max_length=64, unique=True)
    position = models.BigIntegerField(default=0)
    updated_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.name} at {self.position}"


class UnroutedLead(models.Model):
    """A lead no rule matched, waiting for a person to assign it."""

    lead = models.OneToOneField("leads.Lead", on_delete=models.CASCADE, related_name="unrouted")
    trigger = models.CharField(max_length=32)
    reason = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at", "id"]

    def __str__(self) -> str:
        return f"Unrouted lead {self.lead_id}"


class SlaStep(models.TextChoices):
    OPEN = "open", "Running"
    REP_NOTIFIED = "rep", "Rep reminded"
    MANAGER_NOTIFIED = "manager", "Manager told"
    REASSIGNED = "reassigned", "Reassigned"
    TOUCHED = "touched", "Touched"
    CLOSED = "closed", "Closed"


OPEN_STEPS = (SlaStep.OPEN, SlaStep.REP_NOTIFIED, SlaStep.MANAGER_NOTIFIED)


class SlaTimer(models.Model):
    """The first-touch deadline of one assignment; escalation steps are claimed one at a time."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="sla_timers")
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    rule = models.ForeignKey(AssignmentRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    started_at = models.DateTimeField(default=timezone.now)
    due_at = models.DateTimeField()
    step = models.CharField(max_length=12, choices=SlaStep.choices, default=SlaStep.OPEN)
    step_at = models.DateTimeField(null=True, blank=True)
    breached_at = models.DateTimeField(null=True, blank=True)
    touched_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["step", "due_at"], name="sla_step_due")]

    def __str__(self) -> str:
        return f"First touch of lead {self.lead_id} due {self.due_at:%Y-%m-%d %H:%M}"


class HandoverStatus(models.TextChoices):
    PENDING = "pending", "Waiting"
    ACCEPTED = "accepted", "Accepted"
    REJECTED = "rejected", "Sent back to nurture"
    CANCELLED = "cancelled", "Cancelled"


class Handover(models.Model):
    """Marketing hands an MQL to a rep, saying why; the rep accepts it or sends it back."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="handovers")
    rep = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="handovers")
    rule = models.ForeignKey(AssignmentRule, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    status = models.CharField(max_length=10, choices=HandoverStatus.choices, default=HandoverStatus.PENDING)
    note = models.TextField(blank=True)
    reasons = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.CharField(max_length=500, blank=True, help_text="Why it was sent back.")

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["rep", "status"], name="handover_rep_status")]

    def __str__(self) -> str:
        return f"Handover of lead {self.lead_id} to {self.rep} ({self.get_status_display()})"


class TaskKind(models.TextChoices):
    CALL = "call", "Call"
    EMAIL = "email", "Email"
    MEETING = "meeting", "Meeting"
    TODO = "todo", "To-do"


class TaskQuerySet(models.QuerySet):
    def open(self) -> TaskQuerySet:
        return self.filter(completed_at__isnull=True)


class Task(models.Model):
    """Something a rep must do about a lead, by a due time."""

    lead = models.ForeignKey("leads.Lead", on_delete=models.CASCADE, related_name="tasks")
    assignee = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="tasks")
    kind = models.CharField(max_length=8, choices=TaskKind.choices, default=TaskKind.TODO)
    title = models.CharField(max_length=200)
    due_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    completed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reminded_at = models.DateTimeField(null=True, blank=True)

    objects = TaskQuerySet.as_manager()

    class Meta:
        ordering = ["due_at", "id"]
        indexes = [
            models.Index(fields=["assignee", "completed_at", "due_at"], name="task_assignee_due"),
            models.Index(fields=["reminded_at", "due_at"], name="task_reminder_due"),
        ]

    def __str__(self) -> str:
        return self.title

    @property
    def is_done(self) -> bool:
        return self.completed_at is not None

    def is_overdue(self, now=None) -> bool:
        now = now or timezone.now()
        return self.completed_at is None and self.due_at is not None and self.due_at < now


class Delivery(models.TextChoices):
    PENDING = "pending", "Waiting"
    SENDING = "sending", "Being sent"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"
    SKIPPED = "skipped", "Not sent (no address)"


class Notification(models.Model):
    """One message to one user: listed in the app, emailed and posted to the chat webhook by the worker.

    Each channel is claimed by one worker (pending -> sending with claimed_at), then
    marked sent, or back to pending after a failure until it runs out of attempts.
    """

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    subject = models.CharField(max_length=200)
    body = models.TextField(blank=True)
    lead = models.ForeignKey("leads.Lead", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    url = models.CharField(max_length=500, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)
    email_status = models.CharField(max_length=8, choices=Delivery.choices, default=Delivery.PENDING)
    email_claimed_at = models.DateTimeField(null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)
    email_attempts = models.PositiveSmallIntegerField(default=0)
    email_error = models.CharField(max_length=300, blank=True)
    webhook_status = models.CharField(max_length=8, choices=Delivery.choices, default=Delivery.PENDING)
    webhook_claimed_at = models.DateTimeField(null=True, blank=True)
    webhook_sent_at = models.DateTimeField(null=True, blank=True)
    webhook_attempts = models.PositiveSmallIntegerField(default=0)
    webhook_error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user", "read_at"], name="notification_user_unread"),
            models.Index(fields=["email_status", "id"], name="notification_email_status"),
            models.Index(fields=["webhook_status", "id"], name="notification_webhook_status"),
        ]

    def __str__(self) -> str:
        return self.subject

    def get_absolute_url(self) -> str:
        if self.url:
            return self.url
        if self.lead_id:
            return reverse("leads:detail", args=[self.lead_id])
        return reverse("routing:notifications")
