"""The tracking snippet on a page of another origin, in a real Chromium: consent, Do Not Track, batches, stitching."""

from __future__ import annotations

import functools
import threading
import time
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from django.db import connection
from playwright.sync_api import expect

from leadflow.tracking import queries, services
from leadflow.tracking.models import PageView, Visitor
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db(transaction=True)

PAGES = {
    "index.html": ("Home · Shop", "pricing.html?utm_source=newsletter&utm_medium=email&utm_campaign=autumn"),
    "pricing.html": ("Pricing · Shop", "demo.html"),
    "demo.html": ("Book a demo · Shop", "index.html"),
}


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:
        pass


class HostSite:
    """A small website on its own origin whose pages carry the snippet."""

    def __init__(self, root: Path) -> None:
        self.root = root
        handler = functools.partial(QuietHandler, directory=str(root))
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.origin = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def write_pages(self, snippet: str) -> None:
        for name, (title, next_page) in PAGES.items():
            html = (
                f"<!doctype html><html><head><meta charset='utf-8'><title>{title}</title>{snippet}</head>"
                f"<body><h1>{title}</h1><a id='next' href='{next_page}'>Next</a></body></html>"
            )
            (self.root / name).write_text(html)

    def url(self, name: str) -> str:
        return f"{self.origin}/{name}"


@pytest.fixture
def host(tmp_path):
    site = HostSite(tmp_path)
    yield site
    site.server.shutdown()
    site.server.server_close()


def tracked(host: HostSite, live_server, *, require_consent: bool):
    site = services.add_site(name="Shop", origins=[host.origin], require_consent=require_consent)
    host.write_pages(site.snippet(live_server.url))
    queries.forget_cached_sites()
    return site


def collector_requests(page) -> list[str]:
    sent: list[str] = []
    page.on("request", lambda request: sent.append(request.url) if "/t/collect" in request.url else None)
    return sent


def wait_for_views(count: int, timeout: float = 15.0) -> list[PageView]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        # Beacons arrive while the test polls, and the live server's threads write through this very
        # in-memory connection: read between their writes, as WAL readers of a database file would.
        with connection.writer.held():
            views = list(PageView.objects.order_by("occurred_at", "id"))
        if len(views) >= count:
            return views
        time.sleep(0.2)
    raise AssertionError(f"expected {count} page views, got {PageView.objects.count()}")


def browse_three_pages(page, host: HostSite, landing: str = "index.html") -> None:
    page.goto(host.url(landing))
    page.click("#next")
    page.wait_for_url("**/pricing.html*")
    page.click("#next")
    page.wait_for_url("**/demo.html")


def tracking_cookies(page, host: HostSite) -> dict[str, str]:
    return {c["name"]: c["value"] for c in page.context.cookies(host.origin) if c["name"].startswith("lf_")}


def test_page_views_from_another_origin_arrive_with_a_first_party_visitor_cookie(page, live_server, host):
    tracked(host, live_server, require_consent=False)
    browse_three_pages(page, host)
    cookies = tracking_cookies(page, host)
    page.goto("about:blank")
    views = wait_for_views(3)
    assert [view.title for view in views] == ["Home · Shop", "Pricing · Shop", "Book a demo · Shop"]
    assert views[0].url == host.url("index.html")
    assert (views[1].utm_source, views[1].utm_medium, views[1].utm_campaign) == ("newsletter", "email", "autumn")
    assert views[1].referrer == host.url("index.html")
    assert len({view.session_key for view in views}) == 1
    assert Visitor.objects.get().key == cookies["lf_vid"] == views[0].visitor.key
    assert "lf_sid" in cookies
    assert not [c for c in page.context.cookies(live_server.url) if c["name"].startswith("lf_")]


def test_nothing_is_stored_or_sent_before_consent(page, live_server, host):
    tracked(host, live_server, require_consent=True)
    sent = collector_requests(page)
    browse_three_pages(page, host)
    page.wait_for_timeout(4000)
    assert tracking_cookies(page, host) == {}
    assert sent == []
    assert PageView.objects.count() == 0
    page.evaluate("leadflow('consent', true)")
    (view,) = wait_for_views(1)
    assert view.title == "Book a demo · Shop"
    cookies = tracking_cookies(page, host)
    assert cookies["lf_vid"] == view.visitor.key
    assert cookies["lf_consent"] == "1"
    page.click("#next")
    page.wait_for_url("**/index.html")
    page.goto("about:blank")
    views = wait_for_views(2)
    assert views[1].title == "Home · Shop"
    assert views[0].visitor_id == views[1].visitor_id


def test_consent_withdrawn_forgets_the_visitor(page, live_server, host):
    tracked(host, live_server, require_consent=True)
    page.goto(host.url("index.html"))
    page.evaluate("leadflow('consent', true)")
    wait_for_views(1)
    assert "lf_vid" in tracking_cookies(page, host)
    page.evaluate("leadflow('consent', false)")
    assert tracking_cookies(page, host) == {}
    sent = collector_requests(page)
    page.click("#next")
    page.wait_for_url("**/pricing.html*")
    page.goto("about:blank")
    page.wait_for_timeout(1000)
    assert sent == []
    assert PageView.objects.count() == 1


def test_do_not_track_sends_nothing_even_after_consent(page, live_server, host):
    tracked(host, live_server, require_consent=False)
    page.add_init_script("Object.defineProperty(Navigator.prototype, 'doNotTrack', {get: () => '1'})")
    sent = collector_requests(page)
    browse_three_pages(page, host)
    page.evaluate("leadflow('consent', true)")
    assert page.evaluate("leadflow('visitor')") == ""
    page.goto("about:blank")
    page.wait_for_timeout(2000)
    assert sent == []
    assert PageView.objects.count() == 0
    assert "lf_vid" not in tracking_cookies(page, host)


def test_visits_seen_before_a_form_show_on_the_lead_page(page, live_server, host, alice, sign_in, screenshot):
    tracked(host, live_server, require_consent=False)
    browse_three_pages(page, host, landing="index.html?utm_source=linkedin&utm_medium=paid_social")
    visitor_id = page.evaluate("leadflow('visitor')")
    page.goto("about:blank")
    wait_for_views(3)
    lead = make_lead(owner=alice, first_name="Dana", last_name="Scully")
    assert services.identify_visitor(visitor_id=visitor_id, lead=lead, via="form") == 3
    sign_in(alice)
    page.goto(f"{live_server.url}{lead.get_absolute_url()}")
    visits = page.locator("#visits")
    expect(visits).to_contain_text("Website visits")
    expect(visits).to_contain_text("3 page views")
    expect(visits.locator(".visit-source")).to_have_text("linkedin / paid_social")
    expect(visits.locator(".visit-pages li")).to_have_count(3)
    expect(visits.locator(".visit-pages li").nth(1)).to_contain_text("Pricing · Shop")
    screenshot("lead-page-visits")
