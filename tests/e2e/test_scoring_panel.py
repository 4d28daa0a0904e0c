"""Scoring in a real browser: the lead page's "why this score" card, and rules edited then rescored."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from leadflow.leads import timeline
from leadflow.leads.models import EventKind, Lead
from leadflow.scoring.models import RescoreJob, ScoringRule
from leadflow.scoring.services import bulk
from tests.conftest import make_lead
from tests.scoring.conftest import run_event_job, set_rules

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def rules(db):
    return set_rules(
        {"name": "Software company", "condition": "industry_in", "value": "software", "points": 20},
        {"name": "Decision-maker title", "condition": "title_contains", "value": "head, vp", "points": 15},
        {"name": "Pricing page", "condition": "page_visited", "value": "/pricing", "points": 10, "cap": 30},
        {"name": "Replied to an email", "condition": "email_replied", "points": 20},
        {"name": "Student", "condition": "title_contains", "value": "student", "points": -15},
        half_life_days=30,
    )


def test_the_lead_page_explains_the_score(page, live_server, sign_in, screenshot, alice, rules):
    lead = make_lead(owner=alice, first_name="Ines", last_name="Duarte", industry="software", title="Head of Sales")
    now = timezone.now()
    for days in (40, 12):
        timeline.record(
            lead,
            EventKind.PAGE_VIEWED,
            occurred_at=now - timedelta(days=days),
            data={"url": "https://a.example/pricing"},
        )
    timeline.record(lead, EventKind.EMAIL_REPLIED, occurred_at=now - timedelta(hours=3), data={"subject": "Re: demo"})
    run_event_job()
    lead.refresh_from_db()
    assert lead.fit_score == 35
    sign_in(alice)
    page.goto(f"{live_server.url}{lead.get_absolute_url()}")
    card = page.locator(".score-card")
    expect(card.get_by_test_id("score-total")).to_have_text(str(lead.score))
    expect(card.get_by_test_id("score-fit")).to_have_text("35")
    expect(card.get_by_test_id("score-engagement")).to_have_text(str(lead.engagement_score))
    rows = card.locator(".score-rules li")
    expect(rows).to_have_count(4)
    expect(rows.nth(0)).to_contain_text("Replied to an email")
    expect(rows.nth(0)).to_contain_text("3 hours ago")
    expect(rows.nth(1)).to_contain_text("Pricing page")
    expect(rows.nth(1)).to_contain_text("×2")
    expect(card).to_contain_text("Last computed")
    expect(card).not_to_contain_text("updating shortly")
    screenshot("score-card")


def test_marketing_changes_a_rule_and_rescores_everyone(page, live_server, sign_in, screenshot, marketing, rules):
    leads = [make_lead(industry="software") for _ in range(3)]
    sign_in(marketing)
    page.goto(f"{live_server.url}/scoring/")
    row = page.locator("tr", has=page.locator("input[value='Software company']"))
    row.locator("input[name$='-points']").fill("25")
    page.get_by_role("button", name="Save rules").click()
    expect(page.get_by_text("Rules saved.")).to_be_visible()
    assert ScoringRule.objects.get(name="Software company").points == 25
    expect(page.get_by_text("The rules changed since the last full rescore")).to_be_visible()
    page.get_by_role("button", name="Rescore all leads now").click()
    expect(page.get_by_role("progressbar", name="Rescore progress")).to_be_visible()
    job = RescoreJob.objects.get()
    bulk.run_rescore_job(job_id=job.pk)
    expect(page.locator("#rescore")).to_contain_text("3 of 3 leads scored, 3 changed", timeout=8000)
    expect(page.get_by_role("progressbar", name="Rescore progress")).to_have_attribute("aria-valuenow", "100")
    screenshot("rescored")
    assert {Lead.objects.get(pk=lead.pk).score for lead in leads} == {25}
