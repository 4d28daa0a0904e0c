"""Demo of web forms: a contact form and a webinar sign-up, posts taken the public way, one held as spam."""

from __future__ import annotations

import random
import time
from typing import Any

from leadflow.accounts.models import User
from leadflow.capture import services, tokens
from leadflow.capture.models import Channel, Form
from leadflow.leads.models import Lead, LeadStatus

SITE_HOST = "127.0.0.1"
ORIGIN = "https://www.leadflow.example"
CONSENT = "Yes, email me helpful guides and event invitations. I can unsubscribe at any time."
CONTACT_FIELDS: list[dict[str, Any]] = [
    {"label": "First name", "maps_to": "first_name", "type": "text", "required": True},
    {"label": "Last name", "maps_to": "last_name", "type": "text"},
    {"label": "Work email", "maps_to": "email", "type": "email", "required": True},
    {"label": "Phone", "maps_to": "phone", "type": "tel"},
    {"label": "Company", "maps_to": "company_name", "type": "text"},
    {"label": "How can we help?", "maps_to": "custom", "name": "message", "type": "textarea"},
]
WEBINAR_FIELDS: list[dict[str, Any]] = [
    {"label": "Name", "maps_to": "first_name", "type": "text", "required": True},
    {"label": "Email", "maps_to": "email", "type": "email", "required": True},
    {"label": "Company", "maps_to": "company_name", "type": "text"},
    {
        "label": "Team size",
        "maps_to": "custom",
        "name": "team_size",
        "type": "select",
        "options": ["1-10", "11-50", "51+"],
    },
]
NEW_PEOPLE = [
    ("Lena", "Hoffmann", "lena.hoffmann@brightpath.example", "Brightpath"),
    ("Tomás", "Ruiz", "tomas@verdantfoods.example", "Verdant Foods"),
    ("Aisha", "Bello", "aisha.bello@northwind.example", "Northwind Traders"),
    ("Kenji", "Mori", "kenji.mori@kaizenlabs.example", "Kaizen Labs"),
    ("Olivia", "Grant", "olivia@harbourdental.example", "Harbour Dental"),
]
CAMPAIGNS = [("google", "cpc", "spring-launch"), ("linkedin", "paid_social", "brand"), ("newsletter", "email", "nov")]


def _settings(name: str, title: str, message: str) -> dict[str, Any]:
    return {
        "name": name,
        "slug": "",
        "status": "active",
        "title": title,
        "intro": "",
        "submit_label": "Send",
        "consent_mode": "optional",
        "consent_text": CONSENT,
        "success_action": "message",
        "success_message": message,
        "redirect_url": "",
        "allowed_origins": ORIGIN,
        "min_fill_seconds": 2,
        "ip_limit_per_hour": 30,
        "form_limit_per_minute": 600,
    }


def _post(form: Form, values: dict[str, Any], rng: random.Random, *, honeypot: str = "") -> None:
    source, medium, campaign = rng.choice(CAMPAIGNS)
    raw = {
        **values,
        "consent": "yes" if rng.random() < 0.7 else "",
        "utm_source": source,
        "utm_medium": medium,
        "utm_campaign": campaign,
        "page_url": f"{ORIGIN}/pricing?utm_source={source}",
        "referrer": "https://www.google.com/",
        "website": honeypot,
        "_lf_token": tokens.mint(
            form_id=form.pk, wording_id=form.consent_wording_id, issued_at=time.time() - rng.uniform(20, 300)
        ),
    }
    sender = services.Sender(ip=f"198.51.100.{rng.randint(1, 254)}", origin=ORIGIN, channel=Channel.JSON)
    services.take_submission(form=form, raw=raw, sender=sender, site_host=SITE_HOST)


def seed(*, rng: random.Random) -> None:
    """Build two forms as marketing, post to them as visitors would, and record the posts as leads."""
    marketing = User.objects.filter(username="mark").first()
    if marketing is None or Form.objects.exists():
        return
    contact = services.save_form(
        actor=marketing,
        form=None,
        values=_settings("Contact us", "Talk to our team", "Thanks, we will be in touch within a working day."),
        fields=CONTACT_FIELDS,
        notify=[marketing],
        site_host=SITE_HOST,
    )
    webinar = services.save_form(
        actor=marketing,
        form=None,
        values=_settings("Webinar: scoring leads", "Save your seat", "You are in. The link is on its way."),
        fields=WEBINAR_FIELDS,
        notify=[],
        site_host=SITE_HOST,
    )
    for first, last, email, company in NEW_PEOPLE:
        message = rng.choice(["Can we see a demo next week?", "What does it cost for 12 reps?", ""])
        _post(contact, {"first_name": first, "last_name": last, "email": email, "company_name": company,
                        "message": message}, rng)  # fmt: skip
    known = Lead.objects.filter(status=LeadStatus.ACTIVE).exclude(email="").order_by("pk")[:40]
    for lead in rng.sample(list(known), min(6, len(known))):
        values = {"first_name": lead.first_name, "email": lead.email, "company_name": lead.company_name}
        _post(webinar, {**values, "team_size": rng.choice(["1-10", "11-50", "51+"])}, rng)
    spam = {"first_name": "Cheap", "email": "offers@bulkseo.example", "message": "Buy backlinks now"}
    _post(contact, spam, rng, honeypot="https://bulkseo.example")
    while services.record_received_submissions():
        pass
