"""The settings page: every place where Leadflow is configured, as far as the user may change it."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import reverse

from leadflow.accounts.models import Role, User


@dataclass(frozen=True)
class Area:
    title: str
    url_name: str
    text: str
    roles: frozenset[str]


ADMIN, MANAGER, MARKETING = Role.ADMIN, Role.MANAGER, Role.MARKETING
AREAS = (
    ("Qualify", (
        Area("Qualification", "leads:qualification_settings",
             "Which of budget, authority, need and timeline must be known before a lead becomes an SQL; "
             "the reasons for disqualifying a lead.", frozenset({ADMIN})),
        Area("Scoring rules", "scoring:settings",
             "Fit and engagement rules, the half-life of engagement and the MQL threshold.",
             frozenset({ADMIN, MARKETING})),
        Area("Predictive score", "predictive:model",
             "The model learned from your own customers: its accuracy, what drives it, retraining.",
             frozenset({ADMIN, MARKETING})),
    )),
    ("Hand over", (
        Area("Assignment rules", "routing:rules",
             "Who gets which lead, by round robin or directly, and the first-touch deadline of each rule.",
             frozenset({ADMIN, MANAGER})),
        Area("Teams and availability", "routing:team",
             "Working hours and time zone per team, reps' capacity and time off, overdue first touches.",
             frozenset({ADMIN, MANAGER})),
    )),
    ("Capture", (
        Area("Web forms", "capture:forms", "Forms for your site, their fields, spam protection and submissions.",
             frozenset({ADMIN, MARKETING})),
        Area("Sources and webhooks", "integrations:sources",
             "Google Ads lead forms and signed webhooks from other tools.", frozenset({ADMIN, MARKETING})),
        Area("Imports", "imports:index", "CSV, XLSX and vCard files from other tools, and their saved mappings.",
             frozenset({ADMIN, MARKETING, MANAGER})),
    )),
    ("Nurture", (
        Area("Email templates", "nurture:templates", "Templates and snippets with merge fields.",
             frozenset({ADMIN, MARKETING})),
        Area("Form auto-replies", "nurture:auto_replies", "The email each form sends at once to whoever fills it in.",
             frozenset({ADMIN, MARKETING})),
        Area("Email delivery", "mail:dashboard", "The outbox, failed sends and the suppression list.",
             frozenset({ADMIN, MARKETING})),
    )),
)  # fmt: skip


def areas_for(user: User) -> list[tuple[str, list[dict]]]:
    """Return the settings sections the user may open, each with its links."""
    role = Role.ADMIN if user.is_superuser else user.role
    sections = []
    for title, areas in AREAS:
        links = [
            {"title": area.title, "url": reverse(area.url_name), "text": area.text}
            for area in areas
            if role in area.roles
        ]
        if links:
            sections.append((title, links))
    return sections


@login_required
def settings_hub(request: HttpRequest) -> HttpResponse:
    sections = areas_for(request.user)
    if not sections:
        raise PermissionDenied("There is nothing here you may change; ask an admin.")
    return render(request, "accounts/settings.html", {"sections": sections})
