"""The rep's inbox in a real browser: log a call outcome with a next step, accept a handover, claim."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from leadflow.leads.models import EventKind, Lead
from leadflow.routing import services
from leadflow.routing.models import AssignmentRule, Handover, Task
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def alices_inbox(alice):
    AssignmentRule.objects.create(name="MQLs to Alice", stages=["mql"], target_user=alice, business_hours=False)
    AssignmentRule.objects.create(name="New leads to Alice", position=2, target_user=alice, business_hours=False)
    fresh = make_lead(first_name="Fiona", last_name="Fresh", phone="+1 415 555 0199", company_name="Acme")
    services.route_lead(lead_id=fresh.pk, trigger="created")
    ready = make_lead(
        first_name="Quinn",
        last_name="Qualified",
        stage="mql",
        budget="approved",
        authority="decision_maker",
        need="high",
        purchase_timeline="quarter",
    )
    Lead.objects.filter(pk=ready.pk).update(score=78, fit_score=40, engagement_score=38)
    services.route_lead(lead_id=ready.pk, trigger="mql")
    return fresh, ready


def test_log_a_call_and_accept_a_handover_in_the_inbox(page, live_server, sign_in, alice, alices_inbox, screenshot):
    fresh, ready = alices_inbox
    sign_in(alice)
    page.goto(f"{live_server.url}/inbox/")
    expect(page.locator("h1")).to_have_text("Inbox")
    expect(page.locator("#count-never-touched")).to_have_text("2")
    handover = page.locator(".handover-item", has_text="Quinn Qualified")
    expect(handover).to_contain_text("Score 78 (fit 40, engagement 38)")
    row = page.locator(f"#inbox-row-{fresh.pk}")
    expect(row).to_contain_text("First touch due in")
    expect(row.locator("a[href^='tel:']")).to_have_attribute("href", "tel:+14155550199")
    expect(row.locator("a[href^='mailto:']")).to_have_attribute("href", f"mailto:{fresh.email}")
    screenshot("before")

    row.locator("select[name=outcome]").select_option("voicemail")
    row.locator("select[name=next_kind]").select_option("call")
    row.locator("input[name=next_due]").fill("2030-01-07T10:00")
    row.locator("input[name=notes]").fill("Left a message about the demo")
    row.get_by_role("button", name="Log call").click()
    row = page.locator(f"#inbox-row-{fresh.pk}")
    expect(row.get_by_role("status")).to_contain_text("Call logged: left voicemail; next step “Call” due")
    expect(row).not_to_contain_text("First touch due in")
    assert Lead.objects.get(pk=fresh.pk).first_touched_at is not None
    assert Task.objects.get(lead=fresh).due_at.year == 2030

    handover.get_by_role("button", name="Accept").click()
    expect(page.locator(".handover-item", has_text="Quinn Qualified")).to_contain_text("accepted, now an SQL")
    screenshot("after")
    assert Handover.objects.get(lead=ready).status == "accepted"
    assert Lead.objects.get(pk=ready.pk).stage == "sql"


def test_claim_an_unassigned_lead_from_its_page(page, live_server, sign_in, alice, east, screenshot):
    lead = make_lead(first_name="Una", last_name="Claimed", team=east)
    sign_in(alice)
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    card = page.locator("#routing-card")
    expect(card).to_contain_text("Nobody owns this lead yet")
    card.get_by_role("button", name="Claim").click()
    expect(page.locator(".messages")).to_contain_text("Una Claimed is yours now")
    expect(page.locator("#owner")).to_contain_text("Alice")
    page.locator("#routing-card input[name=title]").fill("Send the welcome pack")
    page.locator("#routing-card").get_by_role("button", name="Add task").click()
    expect(page.locator("#routing-card .task-list")).to_contain_text("Send the welcome pack")
    screenshot("claimed")
    assert Lead.objects.get(pk=lead.pk).owner == alice
    assert Lead.objects.get(pk=lead.pk).events.filter(kind=EventKind.TASK_CREATED).count() == 1
