import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from leadflow.leads import services
from leadflow.leads.models import CallOutcome, EventKind, Lead, LeadStatus, TimelineEvent
from leadflow.leads.timeline import record
from tests.conftest import make_lead
from tests.leads.qualified import QUALIFIED

pytestmark = pytest.mark.django_db(transaction=True)


def long_history(lead: Lead, actor, count: int = 150) -> None:
    start = timezone.now() - timedelta(days=30)
    for n in range(count):
        when = start + timedelta(hours=4 * n)
        if n % 5 == 0:
            record(lead, EventKind.NOTE, actor=actor, occurred_at=when, data={"text": f"Follow-up note {n}"})
        elif n % 5 == 1:
            data = {"outcome": CallOutcome.CONNECTED, "duration_seconds": 60 * (n % 17), "notes": "Asked about pricing"}
            record(lead, EventKind.CALL, actor=actor, occurred_at=when, data=data)
        elif n % 5 == 2:
            record(
                lead, EventKind.EMAIL_OPENED, actor_type="lead", occurred_at=when, data={"subject": "Welcome aboard"}
            )
        else:
            data = {"url": f"https://shop.example/pricing?visit={n}"}
            record(lead, EventKind.PAGE_VIEWED, actor_type="lead", occurred_at=when, data=data)


@pytest.fixture
def dana(alice):
    lead = make_lead(
        owner=alice,
        first_name="Dana",
        last_name="Scully",
        email="dana@fbi.example",
        phone="+1 202 555 0101",
        title="Agent",
        company_name="FBI",
        source="webinar",
        medium="email",
        campaign="spring-launch",
        landing_page="https://shop.example/webinar",
        custom={"Budget": "10k", "Team size": "12"},
    )
    long_history(lead, alice)
    services.change_stage(lead=lead, stage="mql", actor=alice, reason="Downloaded the pricing guide")
    services.update_lead(lead=lead, changes={"title": "Special Agent"}, actor=alice, expected={"title": "Agent"})
    services.add_note(lead=lead, text="Wants a quote <b>by Friday</b>.\nCC their CFO.", actor=alice)
    return lead


def test_open_a_lead_edit_in_place_add_a_note_and_log_a_call(page, live_server, sign_in, alice, dana, screenshot):
    sign_in(alice)
    page.goto(f"{live_server.url}/leads/{dana.pk}/")
    expect(page.locator("h1")).to_have_text("Dana Scully")
    expect(page.locator("#timeline .event").first).to_contain_text("Wants a quote <b>by Friday</b>.")
    screenshot("lead-page")

    page.click("#field-title .prop-value")
    field = page.locator("#field-title input[name=value]")
    expect(field).to_be_focused()
    field.fill("Director of Special Projects")
    field.press("Enter")
    expect(page.locator("#field-title .prop-text")).to_have_text("Director of Special Projects")
    expect(page.locator("#lead-title")).to_contain_text("Director of Special Projects")
    expect(page.locator("#timeline .event").first).to_contain_text("Details changed")
    assert Lead.objects.get(pk=dana.pk).title == "Director of Special Projects"

    page.click("#field-last_name .prop-value")
    expect(page.locator("#field-last_name input[name=value]")).to_be_focused()
    page.locator("#field-last_name input[name=value]").fill("Mulder")
    page.keyboard.press("Escape")
    expect(page.locator("#field-last_name .prop-text")).to_have_text("Scully")
    assert Lead.objects.get(pk=dana.pk).last_name == "Scully"

    page.fill("#note-form textarea[name=text]", "Met at the booth; <script>alert(1)</script> wants a trial.")
    page.click("#note-form button[type=submit]")
    first = page.locator("#timeline .event").first
    expect(first).to_contain_text("wants a trial")
    expect(first).to_contain_text("<script>alert(1)</script>")
    expect(page.locator("#note-form textarea[name=text]")).to_have_value("")

    page.click("label[for=compose-call]")
    page.select_option("#call-form select[name=outcome]", "voicemail")
    page.fill("#call-form input[name=minutes]", "3")
    page.fill("#call-form textarea[name=notes]", "Call back on Monday")
    page.click("#call-form button[type=submit]")
    expect(page.locator("#timeline .event").first).to_contain_text("Call · Left voicemail · 3 min")
    expect(page.locator("#timeline .event").first).to_contain_text("Call back on Monday")
    call = TimelineEvent.objects.filter(lead=dana, kind=EventKind.CALL).latest("id")
    assert call.data == {"outcome": "voicemail", "duration_seconds": 180, "notes": "Call back on Monday"}


def test_timeline_filters_and_shows_older_events(page, live_server, sign_in, alice, dana):
    sign_in(alice)
    page.goto(f"{live_server.url}/leads/{dana.pk}/")
    events = page.locator("#timeline .event")
    expect(events).to_have_count(50)
    page.click("#timeline .events-more button")
    expect(events).to_have_count(100)
    page.click("#timeline a.tl-chip:has-text('Notes')")
    expect(page).to_have_url(re.compile(r"\?show=notes$"))
    expect(page.locator("#timeline a.tl-chip[aria-current=true]")).to_have_text("Notes")
    for title in page.locator("#timeline .event-title").all_inner_texts():
        assert title.strip() == "Note"


def test_stage_and_owner_change_in_place(page, live_server, sign_in, manager, bob, dana):
    services.update_lead(lead=dana, changes=QUALIFIED, actor=manager)
    sign_in(manager)
    page.goto(f"{live_server.url}/leads/{dana.pk}/")
    page.select_option("#stage-select", "sql")
    expect(page.locator("#timeline .event").first).to_contain_text("Stage: MQL → SQL")
    page.click("#owner .prop-value")
    expect(page.locator("#owner select[name=owner]")).to_be_focused()
    page.select_option("#owner select[name=owner]", str(bob.pk))
    page.click("#owner button[type=submit]")
    expect(page.locator("#owner .prop-value")).to_contain_text("Bob")
    expect(page.locator("#timeline .event").first).to_contain_text("Owner: Alice → Bob")
    lead = Lead.objects.get(pk=dana.pk)
    assert (lead.stage, lead.owner_id) == ("sql", bob.pk)


def test_a_concurrent_edit_is_shown_not_overwritten(page, live_server, sign_in, alice, bob, dana, screenshot):
    sign_in(alice)
    page.goto(f"{live_server.url}/leads/{dana.pk}/")
    page.click("#field-title .prop-value")
    expect(page.locator("#field-title input[name=value]")).to_be_focused()
    services.update_lead(lead=dana, changes={"title": "Deputy Director"}, actor=bob, expected=None)
    page.locator("#field-title input[name=value]").fill("Field Agent")
    page.click("#field-title button[type=submit]")
    conflict = page.locator("#field-title .conflict")
    expect(conflict).to_contain_text("Bob changed this at")
    expect(conflict).to_contain_text("current value is “Deputy Director”")
    screenshot("edit-conflict")
    assert Lead.objects.get(pk=dana.pk).title == "Deputy Director"
    expect(page.locator("#field-title input[name=value]")).to_be_focused()
    page.keyboard.press("Escape")
    expect(page.locator("#field-title .prop-text")).to_have_text("Deputy Director")


def test_manager_erases_a_lead_after_confirming(page, live_server, sign_in, manager, dana, screenshot):
    sign_in(manager)
    page.goto(f"{live_server.url}/leads/{dana.pk}/")
    page.click("a:has-text('Erase…')")
    expect(page.locator("h1")).to_have_text("Erase Dana Scully?")
    screenshot("erase-confirmation")
    page.fill("input[name=reason]", "Erasure request by email")
    page.click("button:has-text('Erase this lead permanently')")
    page.wait_for_url(f"{live_server.url}/")
    expect(page.locator(".messages")).to_contain_text(f"Lead #{dana.pk} was erased")
    lead = Lead.objects.get(pk=dana.pk)
    assert lead.status == LeadStatus.ERASED and lead.email == ""
