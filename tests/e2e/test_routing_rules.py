"""The rules page in a real browser: add a rule, dry-run a lead, see the team view."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from leadflow.leads.models import Lead
from leadflow.routing.models import AssignmentRule
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db(transaction=True)


def test_manager_adds_a_rule_and_dry_runs_a_lead(page, live_server, sign_in, manager, alice, bob, east, screenshot):
    lead = make_lead(first_name="Greta", last_name="Berger", country="DE", company_size=800, team=east)
    unrouted = make_lead(first_name="Nora", last_name="Nowhere", team=east)
    from leadflow.routing import services

    services.route_lead(lead_id=unrouted.pk, trigger="created")
    sign_in(manager)
    page.goto(f"{live_server.url}/routing/rules/")
    expect(page.locator(".unrouted")).to_contain_text("Nora Nowhere")
    form = page.locator("section[aria-label='Add a rule'] form")
    form.locator("input[name=name]").fill("DACH enterprise")
    form.locator("input[name=countries]").fill("de, at, ch")
    form.locator("input[name=min_company_size]").fill("500")
    form.locator("select[name=target_team]").select_option(str(east.pk))
    form.locator("input[name=touch_minutes]").fill("15")
    form.get_by_role("button", name="Add rule").click()
    expect(page.locator(".messages")).to_contain_text("Rule “DACH enterprise” added")
    expect(page.locator(".rules-table")).to_contain_text("country: DE, AT, CH")
    # The page after the post may still be parsing; htmx wires the search box once it has loaded.
    page.wait_for_load_state()

    page.get_by_placeholder("Search a lead by name or email").fill("Greta")
    page.get_by_role("button", name="Greta Berger").click()
    verdict = page.locator(".dry-run-verdict")
    expect(verdict).to_contain_text("Rule “DACH enterprise” matches")
    expect(verdict).to_contain_text("it would go to Alice")
    screenshot("dry-run")
    assert Lead.objects.get(pk=lead.pk).owner is None
    assert AssignmentRule.objects.get().rotation == {}

    page.goto(f"{live_server.url}/routing/team/")
    expect(page.locator(".team-table")).to_contain_text("Alice")
    screenshot("team")
