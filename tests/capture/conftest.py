"""Builders for form tests: a contact form made through the real builder service, and render tokens."""

from __future__ import annotations

import time
from typing import Any

import pytest

from leadflow.capture import queries, schedule, services, tokens
from leadflow.capture.models import Form

SITE = "testserver"
ORIGIN = "https://www.example.com"
CONSENT = "Yes, email me about products and events. I can unsubscribe at any time."

CONTACT_FIELDS: list[dict[str, Any]] = [
    {"label": "First name", "maps_to": "first_name", "type": "text", "required": True},
    {"label": "Last name", "maps_to": "last_name", "type": "text"},
    {"label": "Work email", "maps_to": "email", "type": "email", "required": True},
    {"label": "Phone", "maps_to": "phone", "type": "tel"},
    {"label": "Company", "maps_to": "company_name", "type": "text"},
    {"label": "Budget", "maps_to": "custom", "name": "budget", "type": "select", "options": ["< 10k", "10k+"]},
    {"label": "Message", "maps_to": "custom", "name": "message", "type": "textarea"},
]


def form_settings(**overrides: Any) -> dict[str, Any]:
    values = {
        "name": "Contact us",
        "slug": "",
        "status": "active",
        "title": "Talk to us",
        "intro": "",
        "submit_label": "Send",
        "consent_mode": "optional",
        "consent_text": CONSENT,
        "success_action": "message",
        "success_message": "Thanks, we will call you.",
        "redirect_url": "",
        "allowed_origins": ORIGIN,
        "min_fill_seconds": 2,
        "ip_limit_per_hour": 30,
        "form_limit_per_minute": 600,
    }
    values.update(overrides)
    return values


def make_form(actor, *, fields: list[dict[str, Any]] | None = None, notify=(), **overrides: Any) -> Form:
    """Build a form through the builder service, as the builder page does."""
    return services.save_form(
        actor=actor,
        form=None,
        values=form_settings(**overrides),
        fields=fields if fields is not None else CONTACT_FIELDS,
        notify=list(notify),
        site_host=SITE,
    )


def token_for(form: Form, *, age: float = 10.0) -> str:
    """Return a render token as if the form had been shown `age` seconds ago."""
    return tokens.mint(form_id=form.pk, wording_id=form.consent_wording_id, issued_at=time.time() - age)


def post_data(form: Form, **overrides: Any) -> dict[str, Any]:
    data = {
        "first_name": "Ana",
        "last_name": "Lopez",
        "email": "ana@acme.example",
        "company_name": "Acme",
        "consent": "yes",
        "utm_source": "newsletter",
        "utm_medium": "email",
        "utm_campaign": "spring",
        "page_url": "https://www.example.com/pricing?utm_source=newsletter",
        "referrer": "https://news.example.org/issue-4",
        "website": "",
        "_lf_token": token_for(form),
    }
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}


def submit_now(*, form: Form, raw: dict[str, Any], sender=None, site_host: str = SITE):
    """Post to `form` as the public endpoints do, then run the recording job: the outcome with its lead in hand."""
    outcome = services.take_submission(form=form, raw=raw, sender=sender or services.Sender(), site_host=site_host)
    if outcome.status == "received":
        services.record_received_submissions(limit=1000)
        outcome.submission.refresh_from_db()
        outcome.status = outcome.submission.status
    return outcome


def record_received() -> int:
    """Run the worker's job that makes leads of received posts, as `leadflow worker` does within a second."""
    return schedule.record_received_submissions()


@pytest.fixture(autouse=True)
def fresh_form_cache():
    """Each test sees the forms of its own database, not a copy kept from an earlier test."""
    queries.forget_public_forms()
    yield
    queries.forget_public_forms()


@pytest.fixture
def contact_form(admin) -> Form:
    return make_form(admin)
