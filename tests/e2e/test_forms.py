"""Web forms in a real Chromium: built on the builder page, filled on a page of another website."""

from __future__ import annotations

import functools
import re
import socket
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.test import RequestFactory
from playwright.sync_api import expect

from leadflow.capture.models import Form, Submission
from leadflow.capture.views.rendering import html_snippet
from leadflow.leads.models import EventKind, Lead, TimelineEvent
from tests.capture.conftest import make_form, record_received, submit_now

pytestmark = pytest.mark.django_db(transaction=True)

HOST_STYLE = """
<style>
  body { font-family: Georgia, "DejaVu Serif", serif; color: #3d2b1f; background: #fbf6ee; margin: 0; }
  header { background: #3d2b1f; color: #fbf6ee; padding: 1rem 2rem; font-size: 1.3rem; }
  main { max-width: 40rem; margin: 2rem auto; padding: 0 1rem; }
</style>
"""
FILL_PAUSE_MS = 1200


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:
        return


@pytest.fixture
def other_site(tmp_path):
    """A tiny static website on another origin (127.0.0.1 and its own port); yields (origin, folder)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = ThreadingHTTPServer(("127.0.0.1", port), functools.partial(QuietHandler, directory=str(tmp_path)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}", tmp_path
    server.shutdown()
    server.server_close()


def host_page(folder: Path, name: str, body: str, head: str = "") -> None:
    (folder / name).write_text(
        f"<!doctype html><html><head><meta charset='utf-8'><title>Hearth Bakery</title>{head}{HOST_STYLE}</head>"
        f"<body><header>Hearth Bakery</header><main><h1>Order for your event</h1>{body}</main></body></html>"
    )


def bakery_form(admin, origin: str, **overrides) -> Form:
    fields = [
        {"label": "First name", "maps_to": "first_name", "type": "text", "required": True},
        {"label": "Last name", "maps_to": "last_name", "type": "text"},
        {"label": "Email", "maps_to": "email", "type": "email", "required": True},
        {"label": "Guests", "maps_to": "custom", "name": "guests", "type": "select", "options": ["Up to 20", "20+"]},
    ]
    values = {
        "name": "Event orders",
        "title": "Tell us about your event",
        "allowed_origins": origin,
        "min_fill_seconds": 1,
        "success_message": "Thank you! We will call you within a day.",
    }
    return make_form(admin, fields=fields, **{**values, **overrides})


def fill_person(scope, first: str, email: str) -> None:
    scope.get_by_label("First name").fill(first)
    scope.get_by_label("Last name").fill("Okafor")
    scope.get_by_label("Email", exact=True).fill(email)
    scope.get_by_label("Guests").select_option("20+")


def test_embedded_form_on_another_website_makes_a_lead_with_its_source(
    page, live_server, sign_in, admin, other_site, screenshot
):
    origin, folder = other_site
    form = bakery_form(admin, origin)
    host_page(
        folder,
        "events.html",
        f'<p>Planning a party?</p><script src="{live_server.url}/f/{form.slug}/embed.js" async></script>',
    )
    page.goto(f"{origin}/events.html?utm_source=partner-blog&utm_medium=referral&utm_campaign=summer")
    embed = page.locator(".lf-embed")
    expect(embed.locator("h2")).to_have_text("Tell us about your event")
    assert embed.evaluate("node => getComputedStyle(node).fontFamily").startswith("Georgia")
    assert embed.evaluate("node => getComputedStyle(node.querySelector('label')).color") == "rgb(61, 43, 31)"
    embed.get_by_role("button", name="Send").click()
    expect(embed.locator(".lf-status")).to_have_text("Please check the fields marked above.")
    expect(embed.locator("#" + embed.get_by_label("First name").get_attribute("id") + "-error")).to_have_text(
        "Please fill this in."
    )
    fill_person(embed, "Chidi", "chidi@events.example")
    embed.get_by_label("Yes, email me about products and events. I can unsubscribe at any time.").check()
    page.wait_for_timeout(FILL_PAUSE_MS)
    screenshot("embedded-filled")
    embed.get_by_role("button", name="Send").dblclick()
    expect(embed.locator(".lf-done")).to_have_text("Thank you! We will call you within a day.")
    screenshot("embedded-thanks")
    assert record_received() == 1
    lead = Lead.objects.get()
    assert (lead.first_name, lead.email, lead.source, lead.medium, lead.campaign) == (
        "Chidi", "chidi@events.example", "partner-blog", "referral", "summer",
    )  # fmt: skip
    assert lead.custom == {"guests": "20+"}
    submission = Submission.objects.get()
    assert (submission.channel, submission.status) == ("embed", "accepted")
    assert submission.page_url.startswith(f"{origin}/events.html?utm_source=partner-blog")
    assert TimelineEvent.objects.filter(lead=lead, kind=EventKind.FORM_SUBMITTED).count() == 1
    sign_in(admin)
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    expect(page.locator(".timeline")).to_contain_text("Form submitted")
    expect(page.locator(".timeline")).to_contain_text("Event orders")
    screenshot("lead-timeline")


def test_plain_html_form_on_another_website_posts_and_thanks(page, live_server, admin, other_site, screenshot):
    origin, folder = other_site
    form = bakery_form(admin, origin)
    request = RequestFactory().get("/", HTTP_HOST=urlsplit(live_server.url).netloc)
    host_page(folder, "order.html", html_snippet(request, form))
    page.goto(f"{origin}/order.html?utm_source=flyer&utm_medium=print")
    fill_person(page, "Amara", "amara@events.example")
    page.wait_for_timeout(FILL_PAUSE_MS)
    screenshot("plain-filled")
    page.get_by_role("button", name="Send").click()
    expect(page).to_have_url(re.compile(rf"/f/{form.slug}/thanks/"))
    expect(page.locator(".lf-message")).to_have_text("Thank you! We will call you within a day.")
    expect(page.get_by_role("link", name="Back to the page you were on")).to_have_attribute(
        "href", re.compile(rf"^{re.escape(origin)}/order.html")
    )
    screenshot("plain-thanks")
    assert record_received() == 1
    lead = Lead.objects.get()
    assert (lead.email, lead.source, lead.medium) == ("amara@events.example", "flyer", "print")
    assert Submission.objects.get().channel == "html"


def test_plain_html_form_works_with_javascript_off(page, live_server, admin, other_site):
    origin, folder = other_site
    form = bakery_form(admin, origin, success_action="redirect", redirect_url=f"{origin}/thanks.html")
    request = RequestFactory().get("/", HTTP_HOST=urlsplit(live_server.url).netloc)
    # The site lets its full address travel as the referrer, so the campaign is known without JavaScript.
    host_page(folder, "order.html", html_snippet(request, form), head='<meta name="referrer" content="unsafe-url">')
    host_page(folder, "thanks.html", "<p id='done'>We got your order request.</p>")
    page.context.new_cdp_session(page).send("Emulation.setScriptExecutionDisabled", {"value": True})
    page.goto(f"{origin}/order.html?utm_source=radio&utm_campaign=autumn")
    assert page.locator("input[name=page_url]").input_value() == ""
    fill_person(page, "Lars", "lars@events.example")
    page.get_by_role("button", name="Send").click()
    expect(page).to_have_url(f"{origin}/thanks.html")
    expect(page.locator("#done")).to_be_visible()
    assert record_received() == 1
    lead = Lead.objects.get()
    assert (lead.email, lead.source, lead.campaign) == ("lars@events.example", "radio", "autumn")


def test_hosted_page_shows_mistakes_then_thanks(page, live_server, admin, screenshot):
    form = bakery_form(admin, "https://www.example.com")
    page.goto(f"{live_server.url}/f/{form.slug}/?utm_source=instagram")
    page.get_by_label("First name").fill("Mei")
    page.get_by_label("Email", exact=True).fill("mei@")
    page.evaluate("document.querySelector('.lf-form').noValidate = true")
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".lf-alert")).to_contain_text("Please check the field marked below.")
    expect(page.get_by_label("First name")).to_have_value("Mei")
    screenshot("hosted-mistake")
    page.get_by_label("Email", exact=True).fill("mei@events.example")
    page.wait_for_timeout(FILL_PAUSE_MS)
    page.get_by_role("button", name="Send").click()
    expect(page.locator(".lf-message")).to_have_text("Thank you! We will call you within a day.")
    screenshot("hosted-thanks")
    assert record_received() == 1
    assert Lead.objects.get().source == "instagram"


def test_marketing_builds_a_form_and_gets_its_code(page, live_server, sign_in, marketing, admin, screenshot):
    sign_in(marketing)
    page.get_by_role("link", name="Forms", exact=True).click()
    expect(page.get_by_role("heading", name="No forms yet")).to_be_visible()
    screenshot("empty-list")
    page.get_by_role("link", name="Build your first form").click()
    page.wait_for_url("**/forms/new/")
    page.wait_for_load_state("load")
    page.get_by_label("Name", exact=True).fill("Webinar sign-up")
    rows = page.locator(".field-row")
    before = rows.count()
    page.get_by_role("button", name="+ Add a field").click()
    expect(rows).to_have_count(before + 1)
    row = rows.last
    row.get_by_label("Label").fill("Job role")
    row.get_by_label("Custom field name").fill("job_role")
    row.get_by_label("Type").select_option("select")
    row.get_by_label("Choices").fill("Marketing\nSales\nOther")
    row.get_by_label("Required").check()
    for position in (4, 3, 2):
        page.locator(".field-row").nth(position).get_by_role("button", name="Move field up").click()
    page.locator(".field-row").nth(2).get_by_text("Remove", exact=True).click()
    page.get_by_label("Allowed websites").fill("https://www.example.com")
    page.get_by_label("Send them to a page").check()
    page.get_by_label("Page to send them to").fill("https://evil.example/thanks")
    screenshot("builder")
    page.get_by_role("button", name="Create form").click()
    expect(page.locator(".notice-error")).to_contain_text("Some settings need fixing")
    expect(page.locator(".redirect-field")).to_contain_text("allowed websites")
    page.get_by_label("Page to send them to").fill("https://www.example.com/see-you")
    page.get_by_role("button", name="Create form").click()
    expect(page.get_by_role("heading", name="Put it on a website")).to_be_visible()
    screenshot("share")
    form = Form.objects.get()
    assert [field["name"] for field in form.fields] == ["first_name", "job_role", "email", "company_name"]
    assert form.redirect_url == "https://www.example.com/see-you"
    expect(page.locator("#embed-code")).to_have_value(re.compile(rf"/f/{form.slug}/embed\.js"))


def test_admin_reviews_submissions_and_releases_one_from_quarantine(page, live_server, sign_in, admin, screenshot):
    from leadflow.capture import services
    from tests.capture.conftest import SITE, post_data

    form = make_form(admin, notify=[admin])
    for n, name in enumerate(["Zoë 👩🏽‍💻 Ångström", "محمد علي", '<b>Bold</b> "Quote"']):
        raw = post_data(form, first_name=name, email=f"person{n}@acme.example")
        outcome = submit_now(form=form, raw=raw, sender=services.Sender(ip="203.0.113.9"), site_host=SITE)
        services.follow_up_submission(submission_id=outcome.submission.pk)
    raw = post_data(form, first_name="Robo", email="robo@spam.example", website="http://spam.example")
    submit_now(form=form, raw=raw, sender=services.Sender(ip="198.51.100.66"), site_host=SITE)
    sign_in(admin)
    page.goto(f"{live_server.url}/forms/")
    screenshot("list")
    page.get_by_role("link", name="Contact us").click()
    page.get_by_role("link", name="Submissions").click()
    expect(page.get_by_role("heading", name="Submissions")).to_be_visible()
    page.get_by_text("محمد علي").first.click()
    expect(page.locator("details[open]")).to_contain_text("Wording shown")
    screenshot("submissions")
    page.get_by_role("link", name="In quarantine").click()
    expect(page.locator(".quarantine-table")).to_contain_text("Filled the hidden field only robots see")
    screenshot("quarantine")
    page.get_by_role("button", name="Release").click()
    expect(page.locator(".messages")).to_contain_text("Released: Robo Lopez is now a lead.")
    assert Lead.objects.filter(email="robo@spam.example").exists()
    page.get_by_role("link", name="Notifications").click()
    expect(page.locator(".notice-list li")).to_have_count(3)
    screenshot("notifications")
