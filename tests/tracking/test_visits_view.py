import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from leadflow.tracking import services
from tests.conftest import make_lead
from tests.tracking.conftest import ORIGIN, batch, new_session, new_visitor, post, view

pytestmark = pytest.mark.django_db

HOUR_MS = 3_600_000


@pytest.fixture
def lead(alice):
    return make_lead(owner=alice, first_name="Dana", last_name="Scully")


def visited(site, lead, sessions: list[list[dict]]) -> str:
    visitor = new_visitor()
    for events in sessions:
        assert post(batch(site, visitor, events)).status_code == 200
    services.identify_visitor(visitor_id=visitor, lead=lead, via="form")
    return visitor


def url(lead, page: int | None = None) -> str:
    return reverse("tracking:lead_visits", args=[lead.pk]) + (f"?page={page}" if page else "")


def test_sessions_show_newest_first_with_pages_in_order_source_and_length(client, alice, site, lead):
    older, newer = new_session(), new_session()
    visited(
        site,
        lead,
        [
            [
                view("/?utm_source=google&utm_medium=cpc&utm_campaign=spring", session=older, age_ms=5 * HOUR_MS,
                     referrer="https://www.google.com/"),
                view("/pricing", session=older, age_ms=5 * HOUR_MS - 125_000, title="Pricing"),
            ],
            [view("/blog/crm", session=newer, age_ms=HOUR_MS, referrer="https://news.example/item")],
        ],
    )  # fmt: skip
    client.force_login(alice)
    response = client.get(url(lead), HTTP_HX_REQUEST="true")
    assert response.status_code == 200
    html = response.content.decode()
    assert "Website visits" in html
    assert "3 page views" in html
    sessions = re.findall(r'<li class="visit-session">.*?</li>\s*</ol>', html, re.S)
    assert len(sessions) == 2
    assert "news.example" in sessions[0] and "/blog/crm" in sessions[0]
    assert "google / cpc" in sessions[1] and "spring" in sessions[1] and "2 min" in sessions[1]
    assert sessions[1].index("/?utm_source") < sessions[1].index("Pricing")


def test_a_lead_without_visits_says_so(client, alice, lead):
    client.force_login(alice)
    response = client.get(url(lead))
    assert response.status_code == 200
    assert "No website visits yet" in response.content.decode()


def test_sessions_come_ten_at_a_time_with_a_button_for_older_ones(client, alice, site, lead):
    sessions = [[view(f"/s{n}", session=new_session(), age_ms=(n + 1) * HOUR_MS)] for n in range(12)]
    visited(site, lead, sessions)
    client.force_login(alice)
    first = client.get(url(lead)).content.decode()
    assert first.count('class="visit-session"') == 10
    assert "/s0" in first and "/s9" in first and "/s10" not in first
    assert f"{url(lead)}?page=2" in first.replace("&amp;", "&") or "page=2" in first
    second = client.get(url(lead, 2)).content.decode()
    assert second.count('class="visit-session"') == 2
    assert "/s10" in second and "/s11" in second
    assert "Website visits" not in second
    assert "page=3" not in second


def test_page_of_a_lead_with_thousands_of_views_takes_a_few_queries(client, alice, site, lead):
    visitor = new_visitor()
    for n in range(40):
        session = new_session()
        events = [view(f"/p{i}", session=session, age_ms=(40 - n) * HOUR_MS // 2 - i * 1000) for i in range(50)]
        assert post(batch(site, visitor, events)).status_code == 200
    services.identify_visitor(visitor_id=visitor, lead=lead, via="form")
    client.force_login(alice)
    with CaptureQueriesContext(connection) as queries:
        html = client.get(url(lead)).content.decode()
    assert html.count('class="visit-session"') == 10
    assert "2000 page views" in html
    tracking = [query for query in queries if "tracking_" in query["sql"]]
    assert len(tracking) <= 4


def test_outsider_gets_404(client, carol, site, lead):
    visited(site, lead, [[view("/secret")]])
    client.force_login(carol)
    response = client.get(url(lead))
    assert response.status_code == 404
    assert "/secret" not in response.content.decode()


def test_teammate_sees_the_unassigned_queue_lead_but_not_others(client, bob, carol, site, east):
    queued = make_lead(team=east)
    visited(site, queued, [[view("/queued")]])
    client.force_login(bob)
    assert "/queued" in client.get(url(queued)).content.decode()
    client.force_login(carol)
    assert client.get(url(queued)).status_code == 404


def test_signed_out_visitor_is_sent_to_sign_in(client, lead):
    response = client.get(url(lead))
    assert response.status_code == 302
    assert "/accounts/login/" in response["Location"]


def test_page_urls_are_escaped(client, alice, site, lead):
    visited(site, lead, [[view('/"><script>alert(1)</script>', title="<b>bold</b>")]])
    client.force_login(alice)
    html = client.get(url(lead)).content.decode()
    assert "<script>alert(1)" not in html
    assert "<b>bold</b>" not in html
    assert ORIGIN in html
