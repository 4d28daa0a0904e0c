import pytest
from playwright.sync_api import expect

pytestmark = pytest.mark.django_db(transaction=True)


def test_rep_signs_in_and_lands_on_the_leads_list(page, live_server, sign_in, alice, screenshot):
    sign_in(alice)
    assert page.locator("h1").first.inner_text() != ""
    assert "Alice" in page.locator(".usermenu").inner_text()
    screenshot("leads")


def test_wrong_password_shows_an_error_and_no_session(page, live_server, alice):
    page.goto(f"{live_server.url}/accounts/login/")
    page.fill("input[name=username]", "alice")
    page.fill("input[name=password]", "wrong")
    page.click("button[type=submit]")
    expect(page.locator("[role=alert]")).to_contain_text("correct username and password")
    page.goto(f"{live_server.url}/")
    assert "/accounts/login/" in page.url
