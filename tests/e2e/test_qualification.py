"""Qualifying a lead in a real browser: the Qualification card, the gate, the stage control and settings."""

import re

import pytest
from playwright.sync_api import expect

from leadflow.leads.models import DisqualifyReason, EventKind, Lead, QualificationGate
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def reasons(db):
    """The disqualify reasons a fresh install has."""
    return list(DisqualifyReason.objects.active().values_list("label", flat=True))


@pytest.fixture
def fox(alice):
    return make_lead(
        owner=alice, first_name="Fox", last_name="Mulder", email="fox@fbi.example", company_name="FBI", title="Agent"
    )


def settled(page, selector: str) -> None:
    """Wait until htmx has swapped and settled the element: its handlers (Enter, Escape) are live only then."""
    expect(page.locator(selector)).not_to_have_class(re.compile(r"htmx-(settling|swapping|added)"))


def answer(page, field: str, label: str) -> None:
    """Open one BANT answer in place, pick `label` and save it."""
    page.click(f"#field-{field} .prop-value")
    select = page.locator(f"#field-{field} select[name=value]")
    expect(select).to_be_focused()
    select.select_option(label=label)
    page.click(f"#field-{field} button[type=submit]")
    expect(page.locator(f"#field-{field} .prop-text")).to_have_text(label)


def test_qualify_a_lead_then_move_it_to_sql_and_disqualify_it(
    page, live_server, sign_in, alice, fox, reasons, screenshot
):
    sign_in(alice)
    page.goto(f"{live_server.url}/leads/{fox.pk}/")
    gate = page.locator("#qualification-gate")
    expect(gate).to_contain_text(
        "Budget, authority, need and timeline must be known before this lead can become an SQL."
    )

    page.select_option("#stage-select", "sql")
    expect(page.locator("#stage .error")).to_have_text(
        "Budget, authority, need and timeline must be known before this lead can become an SQL."
    )
    assert Lead.objects.get(pk=fox.pk).stage == "lead"

    answer(page, "budget", "Approved")
    expect(gate).to_contain_text("Authority, need and timeline must be known")
    expect(page.locator("#stage-select option[value=sql]")).to_have_text("SQL (needs authority, need, timeline)")
    answer(page, "authority", "Makes the decision")
    answer(page, "need", "Clear need")
    answer(page, "purchase_timeline", "Within three months")
    expect(gate).to_contain_text("Ready for SQL")
    expect(page.locator("#timeline .event").first).to_contain_text("Timeline: Unknown → Within three months")
    screenshot("qualification-card-ready")

    page.select_option("#stage-select", "sql")
    expect(page.locator("#timeline .event").first).to_contain_text("Stage: Lead → SQL")
    expect(page.locator("#stage-select option[value=mql]")).to_have_count(0)

    page.select_option("#stage-select", "disqualified")
    reason = page.locator("#stage select[name=reason]")
    expect(reason).to_be_focused()
    page.click("#stage button[type=submit]")
    expect(page.locator("#stage .error")).to_have_count(0)
    reason.select_option("Not a fit")
    screenshot("disqualify-asks-why")
    page.click("#stage button:has-text('Disqualify')")
    expect(page.locator("#stage .stage-why")).to_have_text("Not a fit")
    expect(page.locator("#timeline .event").first).to_contain_text("Stage: SQL → Disqualified")
    expect(page.locator("#timeline .event").first).to_contain_text("Not a fit")
    lead = Lead.objects.get(pk=fox.pk)
    assert (lead.stage, lead.stage_reason, lead.budget, lead.purchase_timeline) == (
        "disqualified",
        "Not a fit",
        "approved",
        "quarter",
    )
    assert lead.events.filter(kind=EventKind.QUALIFICATION_CHANGED).count() == 4
    assert sorted(page.locator("#stage-select option").all_inner_texts()) == ["Disqualified", "Lead", "MQL"]


def test_recycle_asks_for_a_reason_and_escape_cancels(page, live_server, sign_in, alice, fox):
    sign_in(alice)
    page.goto(f"{live_server.url}/leads/{fox.pk}/")
    page.select_option("#stage-select", "recycled")
    box = page.locator("#stage input[name=reason]")
    expect(box).to_be_focused()
    # The form's Escape handler is live once htmx has settled the swapped-in form.
    settled(page, "#stage")
    page.keyboard.press("Escape")
    expect(page.locator("#stage-select")).to_be_visible()
    # Let htmx finish settling the swapped-in control before using it.
    settled(page, "#stage")
    assert Lead.objects.get(pk=fox.pk).stage == "lead"
    page.select_option("#stage-select", "recycled")
    page.fill("#stage input[name=reason]", "No project before next spring")
    page.keyboard.press("Enter")
    expect(page.locator("#stage .stage-why")).to_have_text("No project before next spring")
    assert Lead.objects.get(pk=fox.pk).stage == "recycled"


def test_country_and_time_zone_are_edited_in_place_and_checked(page, live_server, sign_in, alice, fox):
    sign_in(alice)
    page.goto(f"{live_server.url}/leads/{fox.pk}/")
    page.click("#field-country .prop-value")
    page.locator("#field-country select[name=value]").select_option("DE")
    page.click("#field-country button[type=submit]")
    expect(page.locator("#field-country .prop-text")).to_have_text("Germany (DE)")
    page.click("#field-time_zone .prop-value")
    # Enter submits in place once htmx has settled the swapped-in form; before that the browser would post it.
    expect(page.locator("#field-time_zone input[name=value]")).to_be_focused()
    settled(page, "#field-time_zone")
    page.fill("#field-time_zone input[name=value]", "Europe/Atlantis")
    page.keyboard.press("Enter")
    expect(page.locator("#field-time_zone .error")).to_contain_text("“Europe/Atlantis” is not a time zone")
    settled(page, "#field-time_zone")
    page.fill("#field-time_zone input[name=value]", "europe/berlin")
    page.keyboard.press("Enter")
    expect(page.locator("#field-time_zone .prop-text")).to_have_text("Europe/Berlin")
    assert Lead.objects.filter(pk=fox.pk, country="DE", time_zone="Europe/Berlin").exists()


def test_admin_loosens_the_gate_and_adds_a_reason(page, live_server, sign_in, admin, reasons, screenshot):
    sign_in(admin)
    page.goto(f"{live_server.url}/settings/qualification/")
    expect(page.locator("h2#gate-title")).to_contain_text("Default pipeline")
    page.uncheck("input[name=require_authority]")
    page.click("button:has-text('Save the gate')")
    expect(page.locator(".messages")).to_contain_text("Saved: before SQL, a lead needs budget, need, timeline known.")
    page.fill("#new-reason", "Bought elsewhere")
    page.click("button:has-text('Add reason')")
    expect(page.locator(".messages")).to_contain_text("Added the reason “Bought elsewhere”.")
    row = page.locator("tr", has=page.locator("input[value='Chose a competitor']"))
    row.locator("button:has-text('Deactivate')").click()
    expect(page.locator(".messages")).to_contain_text("(no longer offered)")
    screenshot("qualification-settings")
    assert QualificationGate.current().required == ("budget", "need", "purchase_timeline")
    expected = [label for label in reasons if label != "Chose a competitor"] + ["Bought elsewhere"]
    assert list(DisqualifyReason.objects.active().values_list("label", flat=True)) == expected
