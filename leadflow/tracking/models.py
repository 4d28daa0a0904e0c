"""Tracked websites, their anonymous visitors, page views, and the joining of visitors to leads."""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.db import models
from django.utils import timezone

from leadflow.leads.models import Lead, TimelineEvent
from leadflow.tracking.origins import normalise_origin, origin_lines

SESSION_TIMEOUT_MINUTES = 30


def new_site_key() -> str:
    return secrets.token_urlsafe(12)


class Site(models.Model):
    """A website that carries the tracking snippet; `key` is public (it is in the page's HTML)."""

    key = models.CharField(max_length=32, unique=True, default=new_site_key)
    name = models.CharField(max_length=200)
    origins = models.TextField(help_text="The site's origins, one per line: https://www.example.com")
    require_consent = models.BooleanField(
        default=True,
        help_text="Set no cookie and send nothing until the page calls leadflow('consent', true).",
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        lines = origin_lines(self.origins)
        bad = [line for line in lines if not normalise_origin(line)]
        if bad or not lines:
            raise ValidationError({"origins": f"Give origins like https://www.example.com (not {', '.join(bad)})."})
        self.origins = "\n".join(dict.fromkeys(normalise_origin(line) for line in lines))

    @property
    def origin_list(self) -> list[str]:
        return [origin for origin in (normalise_origin(line) for line in origin_lines(self.origins)) if origin]

    def snippet(self, base_url: str) -> str:
        """Return the one line the site puts in its pages."""
        consent = "" if self.require_consent else ' data-consent="not-required"'
        return f'<script src="{base_url.rstrip("/")}/t.js" data-site="{self.key}"{consent} async></script>'


class Visitor(models.Model):
    """One browser on a tracked site, known by the random id in its `lf_vid` cookie."""

    key = models.CharField(max_length=64, unique=True)
    lead = models.ForeignKey(Lead, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    identified_at = models.DateTimeField(null=True, blank=True)
    identified_via = models.CharField(max_length=32, blank=True)
    first_seen_at = models.DateTimeField(default=timezone.now)
    last_seen_at = models.DateTimeField(default=timezone.now)
    # When the sessions of an identified visitor are next due on the lead's timeline; NULL when nothing waits.
    timeline_due_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"Visitor {self.key}"


class PageView(models.Model):
    """One page seen by a visitor: the largest table, written in bulk by the collector only."""

    id = models.BigAutoField(primary_key=True)
    site = models.ForeignKey(Site, on_delete=models.PROTECT, related_name="+", db_index=False)
    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="page_views", db_index=False)
    session_key = models.CharField(max_length=64)
    occurred_at = models.DateTimeField()
    url = models.CharField(max_length=2000)
    title = models.CharField(max_length=300, blank=True)
    referrer = models.CharField(max_length=2000, blank=True)
    utm_source = models.CharField(max_length=200, blank=True)
    utm_medium = models.CharField(max_length=200, blank=True)
    utm_campaign = models.CharField(max_length=200, blank=True)
    utm_term = models.CharField(max_length=200, blank=True)
    utm_content = models.CharField(max_length=200, blank=True)

    class Meta:
        indexes = [
            # A lead's visits and the stitching read a visitor's views session by session.
            models.Index(fields=["visitor", "session_key", "occurred_at"], name="pageview_visitor_session"),
            # Reports per site over time, and removing old views.
            models.Index(fields=["site", "occurred_at"], name="pageview_site_time"),
        ]

    def __str__(self) -> str:
        return f"{self.url} at {self.occurred_at:%Y-%m-%d %H:%M}"


class Outcome(models.TextChoices):
    JOINED = "joined", "Joined to the lead"
    ALREADY = "already", "Already joined to this lead"
    REFUSED = "refused", "Refused: joined to another lead"


class Identification(models.Model):
    """A moment a visitor said who they are (a form, an email click), and what came of it."""

    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="identifications")
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    via = models.CharField(max_length=32)
    outcome = models.CharField(max_length=8, choices=Outcome.choices)
    page_views = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["lead", "created_at"], name="identification_lead")]

    def __str__(self) -> str:
        return f"{self.visitor} {self.get_outcome_display().lower()} (lead {self.lead_id}, via {self.via})"


class RecordedSession(models.Model):
    """A visitor's session written to a lead's timeline as one page-viewed event, so it is written once."""

    visitor = models.ForeignKey(Visitor, on_delete=models.CASCADE, related_name="+")
    session_key = models.CharField(max_length=64)
    lead = models.ForeignKey(Lead, on_delete=models.CASCADE, related_name="+")
    event = models.ForeignKey(TimelineEvent, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    recorded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["visitor", "session_key"], name="recorded_session_once"),
        ]

    def __str__(self) -> str:
        return f"Session {self.session_key} of {self.visitor} on lead {self.lead_id}"
