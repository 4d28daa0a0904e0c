"""Leads, companies and the append-only timeline of everything that happens to a lead."""

from __future__ import annotations

from django.conf import settings
from django.db import connections, models
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, Lower
from django.urls import reverse
from django.utils import timezone

from leadflow.leads.lifecycle import (
    BANT_FIELDS,
    UNKNOWN_VALUES,
    Authority,
    Budget,
    Need,
    PurchaseTimeline,
    Stage,
    allowed_moves,
    skip_summary,
)
from leadflow.leads.normalise import format_phone


class Company(models.Model):
    name = models.CharField(max_length=200)
    domain = models.CharField(max_length=253, null=True, blank=True, unique=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "companies"
        indexes = [models.Index(Lower("name"), name="company_name_lower")]

    def __str__(self) -> str:
        return self.name or self.domain or f"Company {self.pk}"

    def get_absolute_url(self) -> str:
        return reverse("leads:company", args=[self.pk])


class ConsentStatus(models.TextChoices):
    UNKNOWN = "unknown", "Unknown"
    GRANTED = "granted", "Granted"
    WITHDRAWN = "withdrawn", "Withdrawn"


class LeadStatus(models.TextChoices):
    ACTIVE = "active", "Active"
    MERGED = "merged", "Merged into another lead"
    ERASED = "erased", "Erased"


class LeadQuerySet(models.QuerySet):
    def visible_to(self, user, *, include_inactive: bool = False, sorted_walk: bool = False) -> LeadQuerySet:
        """Return the leads `user` may see and change: the one place this rule lives.

        Admins and marketing see every lead. A sales manager sees the leads of the
        teams they manage, owned or queued. A rep sees the leads they own and their
        team's unassigned queue. Anyone else sees nothing. A lead belongs to the team
        of its owner: assigning an owner moves the lead to the owner's team.

        With `sorted_walk` the rule is written for a page read in the order of a sort
        index, such as the leads list. SQLite has no statistics to weigh the owner and
        team indexes against that index, so for it the rule is then checked on each lead
        while the sort index is walked, rather than every visible lead read and sorted.
        PostgreSQL always gets the rule plainly and weighs and combines the indexes itself.
        """
        qs = self if include_inactive else self.filter(status=LeadStatus.ACTIVE)
        if user is None or not user.is_authenticated or not user.is_active:
            return qs.none()
        if user.sees_all_leads:
            return qs
        team_ids = user.managed_team_ids()
        walk = sorted_walk and connections[qs.db].vendor == "sqlite"
        if team_ids:
            if walk:
                # As an expression no index serves.
                return qs.alias(team_or_none=Coalesce("team_id", Value(0))).filter(team_or_none__in=team_ids)
            return qs.filter(team_id__in=team_ids)
        own = Q(owner_id=user.pk)
        queue = Q(owner__isnull=True, team_id=user.team_id) if user.team_id else None
        if not walk:
            return qs.filter(own | queue if queue else own)
        # A rep sees a few leads in a hundred. Their ids, read from the owner and team
        # indexes alone, are checked on each lead passed: checking each lead's owner and
        # team instead reads every lead passed on the way.
        ids = self.model.objects.filter(own).values("id")
        if queue:
            ids = ids.union(self.model.objects.filter(queue).values("id"), all=True)
        return qs.alias(visible_id=F("id") + 0).filter(visible_id__in=ids)

    def active(self) -> LeadQuerySet:
        return self.filter(status=LeadStatus.ACTIVE)


SOURCE_FIELDS = ("source", "medium", "campaign", "referrer", "landing_page")


class Lead(models.Model):
    first_name = models.CharField(max_length=150, blank=True)
    last_name = models.CharField(max_length=150, blank=True)
    email = models.CharField(max_length=254, blank=True)
    # The lowercased address leads are matched on; NULL when there is none or the
    # lead is merged or erased, so the unique index holds only live addresses.
    email_key = models.CharField(max_length=254, null=True, blank=True, unique=True)
    phone = models.CharField(max_length=32, blank=True, db_index=True)
    title = models.CharField(max_length=200, blank=True)
    company = models.ForeignKey(Company, null=True, blank=True, on_delete=models.SET_NULL, related_name="leads")
    company_name = models.CharField(max_length=200, blank=True)
    # Owner and team are looked up through the (owner, ...) and (team, owner) indexes below: an index of
    # their own would be one more to write with every lead and serve nothing those do not.
    owner = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="owned_leads",
        db_index=False,
    )
    team = models.ForeignKey(
        "accounts.Team", null=True, blank=True, on_delete=models.SET_NULL, related_name="leads", db_index=False
    )
    stage = models.CharField(max_length=16, choices=Stage.choices, default=Stage.LEAD)
    stage_entered_at = models.JSONField(default=dict, blank=True)

    source = models.CharField(max_length=100, blank=True)
    medium = models.CharField(max_length=100, blank=True)
    campaign = models.CharField(max_length=200, blank=True)
    referrer = models.CharField(max_length=2000, blank=True)
    landing_page = models.CharField(max_length=2000, blank=True)
    latest_source = models.CharField(max_length=100, blank=True)
    latest_medium = models.CharField(max_length=100, blank=True)
    latest_campaign = models.CharField(max_length=200, blank=True)
    latest_referrer = models.CharField(max_length=2000, blank=True)
    latest_landing_page = models.CharField(max_length=2000, blank=True)

    consent_status = models.CharField(max_length=16, choices=ConsentStatus.choices, default=ConsentStatus.UNKNOWN)
    consent_at = models.DateTimeField(null=True, blank=True)
    consent_source = models.CharField(max_length=200, blank=True)

    country = models.CharField(max_length=2, blank=True, help_text="ISO 3166-1 alpha-2 code.")
    industry = models.CharField(max_length=100, blank=True)
    company_size = models.PositiveIntegerField(null=True, blank=True, help_text="Number of employees.")
    time_zone = models.CharField(max_length=64, blank=True, help_text="IANA name, for example Europe/Berlin.")

    budget = models.CharField(max_length=16, choices=Budget.choices, default=Budget.UNKNOWN)
    budget_amount = models.DecimalField(max_digits=14, decimal_places=2, null=True, blank=True)
    authority = models.CharField(max_length=16, choices=Authority.choices, default=Authority.UNKNOWN)
    need = models.CharField(max_length=16, choices=Need.choices, default=Need.UNKNOWN)
    need_notes = models.TextField(blank=True)
    purchase_timeline = models.CharField(
        max_length=16, choices=PurchaseTimeline.choices, default=PurchaseTimeline.UNKNOWN
    )
    stage_reason = models.CharField(max_length=200, blank=True, help_text="Why the lead was disqualified or recycled.")

    custom = models.JSONField(default=dict, blank=True)
    # score = fit_score + engagement_score, kept as one column so lists sort and filter on it.
    score = models.IntegerField(default=0)
    fit_score = models.IntegerField(default=0)
    engagement_score = models.IntegerField(default=0)
    score_updated_at = models.DateTimeField(null=True, blank=True)

    assigned_at = models.DateTimeField(null=True, blank=True)
    first_touched_at = models.DateTimeField(null=True, blank=True)
    touch_due_at = models.DateTimeField(null=True, blank=True, help_text="When the first touch is due (SLA).")

    status = models.CharField(max_length=8, choices=LeadStatus.choices, default=LeadStatus.ACTIVE)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="merged_leads", db_index=False
    )
    erased_at = models.DateTimeField(null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    last_activity_at = models.DateTimeField(default=timezone.now)

    objects = LeadQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["created_at", "id"], name="lead_created"),
            models.Index(fields=["updated_at", "id"], name="lead_updated"),
            models.Index(fields=["last_activity_at", "id"], name="lead_activity"),
            models.Index(fields=["score", "id"], name="lead_score"),
            models.Index(fields=["stage", "created_at"], name="lead_stage_created"),
            models.Index(fields=["owner", "created_at"], name="lead_owner_created"),
            models.Index(fields=["team", "owner"], name="lead_team_owner"),
            models.Index(fields=["source", "created_at"], name="lead_source_created"),
            models.Index(fields=["owner", "touch_due_at"], name="lead_owner_touch_due"),
            # Only merged leads point somewhere: the others are not in this index at all.
            models.Index(fields=["merged_into"], name="lead_merged_into", condition=Q(merged_into__isnull=False)),
            models.Index(Lower("first_name"), name="lead_first_name_lower"),
            models.Index(Lower("last_name"), name="lead_last_name_lower"),
            models.Index(Lower("company_name"), name="lead_company_name_lower"),
        ]

    def __str__(self) -> str:
        return self.display_name

    def get_absolute_url(self) -> str:
        return reverse("leads:detail", args=[self.pk])

    @property
    def full_name(self) -> str:
        return " ".join(part for part in (self.first_name, self.last_name) if part)

    @property
    def display_name(self) -> str:
        if self.status == LeadStatus.ERASED:
            return f"Erased lead #{self.pk}"
        return self.full_name or self.email or self.phone_display or f"Lead #{self.pk}"

    @property
    def phone_display(self) -> str:
        return format_phone(self.phone)

    @property
    def is_active(self) -> bool:
        return self.status == LeadStatus.ACTIVE

    def can_move_to(self, stage: str) -> bool:
        """Return True when the lifecycle rules let this lead move to `stage` (see leads.lifecycle).

        The qualification gate, kept in the database, is checked by change_stage on top of this.
        """
        return stage in allowed_moves(self.stage)

    @property
    def allowed_moves(self) -> tuple[str, ...]:
        return allowed_moves(self.stage)

    def unknown_qualification(self, required: tuple[str, ...] = BANT_FIELDS) -> list[str]:
        """Return which of the `required` BANT fields are not known yet, in BANT order."""
        return [name for name in BANT_FIELDS if name in required and getattr(self, name) in UNKNOWN_VALUES[name]]


class EventKind(models.TextChoices):
    CREATED = "created", "Created"
    UPDATED = "updated", "Details changed"
    CAPTURED = "captured", "Captured again"
    NOTE = "note", "Note"
    CALL = "call", "Call"
    MEETING = "meeting", "Meeting"
    STAGE_CHANGED = "stage_changed", "Stage changed"
    OWNER_CHANGED = "owner_changed", "Owner changed"
    SCORE_CHANGED = "score_changed", "Score changed"
    CONSENT_CHANGED = "consent_changed", "Consent changed"
    FORM_SUBMITTED = "form_submitted", "Form submitted"
    PAGE_VIEWED = "page_viewed", "Page viewed"
    EMAIL_SENT = "email_sent", "Email sent"
    EMAIL_OPENED = "email_opened", "Email opened"
    EMAIL_CLICKED = "email_clicked", "Email clicked"
    EMAIL_REPLIED = "email_replied", "Email replied"
    MERGED = "merged", "Merged"
    MERGE_UNDONE = "merge_undone", "Merge undone"
    EXPORTED = "exported", "Data exported"
    ERASED = "erased", "Erased"
    QUALIFICATION_CHANGED = "qualification", "Qualification changed"
    ROUTED = "routed", "Routed"
    HANDOVER_ACCEPTED = "handover_accepted", "Handover accepted"
    HANDOVER_REJECTED = "handover_rejected", "Handover sent back"
    SLA_BREACHED = "sla_breached", "First-touch deadline missed"
    TASK_CREATED = "task_created", "Task created"
    TASK_COMPLETED = "task_completed", "Task completed"
    EMAIL_BOUNCED = "email_bounced", "Email bounced"
    UNSUBSCRIBED = "unsubscribed", "Unsubscribed"
    SEQUENCE_ENROLLED = "sequence_enrolled", "Enrolled in a sequence"
    SEQUENCE_EXITED = "sequence_exited", "Left a sequence"


class ActorType(models.TextChoices):
    USER = "user", "User"
    SYSTEM = "system", "System"
    LEAD = "lead", "The lead"


class TimelineEventQuerySet(models.QuerySet):
    def newest_first(self) -> TimelineEventQuerySet:
        return self.order_by("-occurred_at", "-id")


class TimelineEvent(models.Model):
    """One thing that happened to a lead. Rows are written once and never edited."""

    # Found through the (lead, time) index below.
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="events", db_index=False)
    kind = models.CharField(max_length=24, choices=EventKind.choices)
    occurred_at = models.DateTimeField(default=timezone.now)
    actor_type = models.CharField(max_length=8, choices=ActorType.choices, default=ActorType.SYSTEM)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    objects = TimelineEventQuerySet.as_manager()

    class Meta:
        indexes = [
            models.Index(fields=["lead", "occurred_at", "id"], name="event_lead_time"),
            models.Index(fields=["kind", "occurred_at"], name="event_kind_time"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} on lead {self.lead_id} at {self.occurred_at:%Y-%m-%d %H:%M}"

    def save(self, *args, **kwargs) -> None:
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValueError("Timeline events are append-only; record a new event instead.")
        super().save(*args, **kwargs)


class LeadMerge(models.Model):
    """A merge of `loser` into `winner`, with what is needed to undo it."""

    winner = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="merges_won")
    loser = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="merges_lost")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    winner_before = models.JSONField(default=dict)
    winner_after = models.JSONField(default=dict)
    loser_before = models.JSONField(default=dict)
    moved_event_ids = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    undone_at = models.DateTimeField(null=True, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"Lead {self.loser_id} merged into {self.winner_id}"


class ErasedIdentity(models.Model):
    """A keyed hash of an erased person's email or phone; the person cannot be read back."""

    digest = models.CharField(max_length=64, unique=True)
    erased_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"erased identity {self.digest[:8]}…"


class SavedView(models.Model):
    """A named set of list filters a user can come back to."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="saved_views")
    name = models.CharField(max_length=80)
    query = models.CharField(max_length=2000)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["user", "name"], name="saved_view_unique_name")]

    def __str__(self) -> str:
        return self.name


class CallOutcome(models.TextChoices):
    CONNECTED = "connected", "Connected"
    VOICEMAIL = "voicemail", "Left voicemail"
    NO_ANSWER = "no_answer", "No answer"
    BUSY = "busy", "Busy"
    WRONG_NUMBER = "wrong_number", "Wrong number"


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class BulkAction(models.TextChoices):
    ASSIGN = "assign", "Assign owner"
    STAGE = "stage", "Change stage"


class BulkJob(models.Model):
    """A bulk action over every lead matching a filter, run by a worker in batches."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="bulk_jobs")
    action = models.CharField(max_length=16, choices=BulkAction.choices)
    query = models.CharField(max_length=2000, blank=True, help_text="The list filters, as a query string.")
    value = models.CharField(max_length=64, help_text="The owner id ('' for nobody) or the stage.")
    status = models.CharField(max_length=8, choices=JobStatus.choices, default=JobStatus.QUEUED)
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    changed = models.PositiveIntegerField(default=0)
    reason = models.CharField(max_length=200, blank=True, help_text="Why, when moving to disqualified or recycled.")
    skipped = models.JSONField(default=dict, blank=True, help_text="Leads left as they were, counted by why.")
    last_lead_id = models.BigIntegerField(default=0)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.get_action_display()} ({self.get_status_display()}, {self.processed}/{self.total})"

    @property
    def percent(self) -> int:
        if self.status == JobStatus.DONE:
            return 100
        return min(99, self.processed * 100 // self.total) if self.total else 0

    @property
    def is_finished(self) -> bool:
        return self.status in {JobStatus.DONE, JobStatus.FAILED}

    @property
    def skipped_summary(self) -> str:
        """Return how many leads the job left where they were, and why."""
        return skip_summary(self.skipped)


from leadflow.leads.models_duplicates import DuplicatePair, DuplicateScan, PairStatus  # noqa: E402, F401
from leadflow.leads.models_qualification import DisqualifyReason, QualificationGate  # noqa: E402, F401
