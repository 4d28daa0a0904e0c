"""Web forms, their submissions with consent evidence, the spam quarantine and shared rate counters."""

from __future__ import annotations

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone


class FormStatus(models.TextChoices):
    ACTIVE = "active", "Taking submissions"
    PAUSED = "paused", "Paused"


class ConsentMode(models.TextChoices):
    NONE = "none", "No consent checkbox"
    OPTIONAL = "optional", "Optional checkbox"
    REQUIRED = "required", "Required checkbox"


class SuccessAction(models.TextChoices):
    MESSAGE = "message", "Show a thank-you message"
    REDIRECT = "redirect", "Send them to a page"


class FormQuerySet(models.QuerySet):
    def visible_to(self, user) -> FormQuerySet:
        """Return the forms `user` may build and review: admins and marketing see every form."""
        if user is None or not user.is_authenticated or not user.is_active or not user.sees_all_leads:
            return self.none()
        return self


class Form(models.Model):
    """A web form: its fields (mapped to lead fields or custom fields), consent, answer and spam settings.

    `fields` is a list of {name, label, type, maps_to, required, options, placeholder}:
    `maps_to` is a lead field or "custom" (the value goes into the lead's custom
    fields under `name`). See capture/definition.py for the rules.
    """

    name = models.CharField(max_length=120, help_text="For your team; visitors see the heading.")
    slug = models.SlugField(max_length=80, unique=True)
    status = models.CharField(max_length=8, choices=FormStatus.choices, default=FormStatus.ACTIVE)
    title = models.CharField(max_length=200, blank=True)
    intro = models.TextField(blank=True)
    submit_label = models.CharField(max_length=60, default="Send")
    fields = models.JSONField(default=list)
    consent_mode = models.CharField(max_length=8, choices=ConsentMode.choices, default=ConsentMode.NONE)
    consent_wording = models.ForeignKey(
        "capture.ConsentWording", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    success_action = models.CharField(max_length=8, choices=SuccessAction.choices, default=SuccessAction.MESSAGE)
    success_message = models.TextField(default="Thank you! We will be in touch soon.")
    redirect_url = models.CharField(max_length=2000, blank=True)
    allowed_origins = models.JSONField(default=list, blank=True)
    notify = models.ManyToManyField(settings.AUTH_USER_MODEL, blank=True, related_name="notified_forms")
    min_fill_seconds = models.PositiveSmallIntegerField(default=2)
    ip_limit_per_hour = models.PositiveIntegerField(default=30)
    form_limit_per_minute = models.PositiveIntegerField(default=600)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Raised by every change the builder saves: web processes keep a form while its version is current.
    version = models.PositiveIntegerField(default=1)

    objects = FormQuerySet.as_manager()

    class Meta:
        ordering = ["name", "id"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("capture:form_edit", args=[self.pk])

    @property
    def is_active(self) -> bool:
        return self.status == FormStatus.ACTIVE

    @property
    def heading(self) -> str:
        return self.title or self.name

    @property
    def consent_text(self) -> str:
        if self.consent_mode == ConsentMode.NONE or self.consent_wording is None:
            return ""
        return self.consent_wording.text


def wording_digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


class ConsentWording(models.Model):
    """One exact consent wording a form has shown; never edited, so a submission can point to what was seen."""

    form = models.ForeignKey(Form, on_delete=models.CASCADE, related_name="consent_wordings")
    text = models.TextField()
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["form", "digest"], name="consent_wording_unique")]

    def __str__(self) -> str:
        return self.text[:60]


class SubmissionStatus(models.TextChoices):
    RECEIVED = "received", "Received, becoming a lead"
    ACCEPTED = "accepted", "Accepted"
    QUARANTINED = "quarantined", "In quarantine"
    RELEASED = "released", "Released from quarantine"


class Channel(models.TextChoices):
    HOSTED = "hosted", "Hosted page"
    EMBED = "embed", "Embedded form"
    HTML = "html", "Plain HTML form"
    JSON = "json", "JSON endpoint"


class SpamReason(models.TextChoices):
    HONEYPOT = "honeypot", "Filled the hidden field only robots see"
    TOO_FAST = "too_fast", "Sent faster than a person can fill the form"
    NO_TOKEN = "no_token", "Sent without the form's render token"
    BAD_TOKEN = "bad_token", "Render token forged or for another form"
    STALE_TOKEN = "stale_token", "Render token older than a week"
    ORIGIN = "origin", "Posted from a website not on the allowed list"
    ERASED_PERSON = "erased_person", "A person whose data was erased (an admin may add them again)"
    NOT_RECORDED = "not_recorded", "Could not be made into a lead (an admin may look and release it)"


class Submission(models.Model):
    """One form post that passed validation: received, accepted (with its lead) or held in quarantine.

    A public post is stored as received in one short write; the fast-lane job
    `record_received_submissions` makes or updates its lead within a second and
    marks it accepted.

    `fields` lists what the person sent as [{name, label, maps_to, value}], in
    the form's order and with the labels they saw. The consent columns are the
    evidence: the exact wording, whether it was checked, when, from which IP
    address and browser.
    """

    # Every index below is one more page written per post: form and lead are looked up through
    # the (form, created_at) and (lead, created_at) indexes, so they have none of their own.
    form = models.ForeignKey(Form, on_delete=models.PROTECT, related_name="submissions", db_index=False)
    lead = models.ForeignKey(
        "leads.Lead",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="form_submissions",
        db_index=False,
    )
    status = models.CharField(max_length=12, choices=SubmissionStatus.choices)
    spam_reason = models.CharField(max_length=16, choices=SpamReason.choices, blank=True)
    channel = models.CharField(max_length=8, choices=Channel.choices)
    # The render token's nonce, or a digest of a token-less post: one submission per key.
    dedupe_key = models.CharField(max_length=80)
    fields = models.JSONField(default=list)
    source = models.JSONField(default=dict, blank=True)
    page_url = models.CharField(max_length=2000, blank=True)
    visitor_id = models.CharField(max_length=64, blank=True)
    consent_wording = models.ForeignKey(
        ConsentWording, null=True, blank=True, on_delete=models.PROTECT, related_name="submissions"
    )
    consent_text = models.TextField(blank=True)
    consent_given = models.BooleanField(null=True)
    ip = models.GenericIPAddressField(null=True, blank=True)
    user_agent = models.CharField(max_length=500, blank=True)
    fill_seconds = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["form", "created_at", "id"], name="submission_form_time"),
            models.Index(fields=["status", "form", "id"], name="submission_status_form"),
            models.Index(fields=["lead", "created_at"], name="submission_lead_time"),
            # Only reviewed posts are in it: a new post adds nothing to this index.
            models.Index(fields=["reviewed_by"], name="submission_reviewer", condition=Q(reviewed_by__isnull=False)),
        ]
        constraints = [
            # A constraint rather than unique=True: PostgreSQL then builds no LIKE index beside it.
            models.UniqueConstraint(fields=["dedupe_key"], name="submission_dedupe_key"),
        ]

    def __str__(self) -> str:
        return f"{self.form} submission #{self.pk} ({self.get_status_display()})"

    def value_of(self, maps_to: str) -> str:
        """Return the value sent for the first field mapped to `maps_to`, as text."""
        for field in self.fields if isinstance(self.fields, list) else []:
            if isinstance(field, dict) and field.get("maps_to") == maps_to:
                return str(field.get("value") or "")
        return ""

    @property
    def person(self) -> str:
        """Return who sent it, as well as the fields tell: a name, else an email or phone."""
        name = " ".join(part for part in (self.value_of("first_name"), self.value_of("last_name")) if part)
        return name or self.value_of("email") or self.value_of("phone") or f"Submission #{self.pk}"


class SubmissionNotice(models.Model):
    """An in-app note to a user that a form they follow was submitted."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="form_notices")
    submission = models.ForeignKey(Submission, on_delete=models.CASCADE, related_name="notices")
    created_at = models.DateTimeField(default=timezone.now)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "submission"], name="notice_once_per_user")]
        indexes = [models.Index(fields=["user", "created_at"], name="notice_user_time")]

    def __str__(self) -> str:
        return f"{self.submission} for {self.user}"


class RateCounter(models.Model):
    """Hits for one key in one fixed time window, shared by every web process through the database."""

    key = models.CharField(max_length=120)
    window_start = models.BigIntegerField(help_text="Seconds since the epoch at the window's start.")
    hits = models.PositiveIntegerField(default=0)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["key", "window_start"], name="rate_counter_unique")]

    def __str__(self) -> str:
        return f"{self.key} @ {self.window_start}: {self.hits}"
