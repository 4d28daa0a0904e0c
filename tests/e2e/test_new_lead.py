import re

import pytest
from playwright.sync_api import expect

from leadflow.leads.models import Lead
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db(transaction=True)


def test_duplicate_is_flagged_while_typing_the_email(page, live_server, sign_in, alice, screenshot):
    existing = make_lead(
        owner=alice, first_name="Grace", last_name="Hopper", email="grace@navy.example", phone="+14155550142"
    )
    sign_in(alice)
    page.goto(f"{live_server.url}/leads/new/")
    page.keyboard.type("Grace")
    page.keyboard.press("Tab")
    page.keyboard.type("Hopper")
    page.keyboard.press("Tab")
    page.keyboard.type("Grace@Navy.example")
    warning = page.locator("#duplicates")
    expect(warning).to_contain_text("Already in Leadflow")
    expect(warning.locator(f'a[href="/leads/{existing.pk}/"]')).to_have_text("Grace Hopper")
    expect(warning).to_contain_text("Same email")
    page.keyboard.press("Tab")
    page.keyboard.type("+1 415 555 0142")
    expect(warning).to_contain_text("Same email")
    screenshot("duplicate-warning")
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(rf"/leads/{existing.pk}/$"))
    expect(page.locator(".messages")).to_contain_text("was already in Leadflow")
    assert Lead.objects.count() == 1


def test_lead_owned_by_another_team_is_mentioned_without_details(page, live_server, sign_in, alice, carol, screenshot):
    make_lead(owner=alice, first_name="Hidden", last_name="Person", phone="+14155550143")
    sign_in(carol)
    page.goto(f"{live_server.url}/leads/new/")
    page.locator("input[name=phone]").press_sequentially("415 555 0143")
    warning = page.locator("#duplicates")
    expect(warning).to_contain_text("owned by someone else")
    assert "Hidden" not in warning.inner_text()
    screenshot("owned-elsewhere")


def test_new_lead_by_keyboard_only(page, live_server, sign_in, alice, screenshot):
    sign_in(alice)
    page.goto(f"{live_server.url}/leads/new/")
    assert page.evaluate("document.activeElement.name") == "first_name"
    page.keyboard.type("Ada")
    page.keyboard.press("Tab")
    page.keyboard.type("Lovelace")
    page.keyboard.press("Tab")
    page.keyboard.type("not an email")
    page.keyboard.press("Enter")
    expect(page.locator("#id_email-error")).to_contain_text("is not a valid email address")
    screenshot("field-error")
    page.fill("input[name=email]", "ada@engine.example")
    page.locator("input[name=email]").press("Enter")
    lead = Lead.objects.get()
    expect(page).to_have_url(re.compile(rf"/leads/{lead.pk}/$"))
    assert (lead.full_name, lead.email, lead.owner) == ("Ada Lovelace", "ada@engine.example", alice)
