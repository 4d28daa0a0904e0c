import json
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leadflow.tracking.batch import MAX_BODY_BYTES, MAX_EVENTS
from leadflow.tracking.models import PageView, Visitor
from tests.tracking.conftest import ORIGIN, batch, new_visitor, post, view

pytestmark = pytest.mark.django_db

PROBLEM = "application/problem+json"


def problem(response) -> dict:
    assert response["Content-Type"] == PROBLEM
    return response.json()


def test_batch_of_page_views_is_stored_with_utm_and_times_from_their_age(site):
    visitor = new_visitor()
    events = [
        view(
            "/pricing?utm_source=google&utm_medium=cpc&utm_campaign=spring",
            age_ms=60_000,
            referrer="https://google.com/",
        ),
        view("/features", age_ms=1_000, title="Features · Shop"),
    ]
    before = timezone.now()
    response = post(batch(site, visitor, events))
    after = timezone.now()
    assert response.status_code == 200
    assert response.json() == {"accepted": 2}
    first, second = PageView.objects.order_by("occurred_at")
    assert (first.url, first.utm_source, first.utm_medium, first.utm_campaign) == (
        ORIGIN + "/pricing?utm_source=google&utm_medium=cpc&utm_campaign=spring",
        "google",
        "cpc",
        "spring",
    )
    assert first.referrer == "https://google.com/"
    assert (second.title, second.utm_source) == ("Features · Shop", "")
    assert before - timedelta(seconds=60) <= first.occurred_at <= after - timedelta(seconds=60)
    assert second.occurred_at - first.occurred_at == timedelta(seconds=59)
    assert first.visitor == second.visitor == Visitor.objects.get(key=visitor)
    assert first.site_id == site.pk


def test_answer_allows_the_sites_origin_and_no_other(site):
    response = post(batch(site, new_visitor(), [view()]))
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert "Origin" in response["Vary"]
    refused = post(batch(site, new_visitor(), [view()]), origin="https://evil.example")
    assert refused.status_code == 403
    assert "Access-Control-Allow-Origin" not in refused
    assert "evil.example is not one of this site's origins" in problem(refused)["detail"]
    assert PageView.objects.count() == 1


def test_preflight_answers_only_configured_origins(site):
    allowed = Client().options("/t/collect", HTTP_ORIGIN=ORIGIN, HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")
    assert allowed.status_code == 204
    assert allowed["Access-Control-Allow-Origin"] == ORIGIN
    assert allowed["Access-Control-Allow-Methods"] == "POST"
    assert "Content-Type" in allowed["Access-Control-Allow-Headers"]
    other = Client().options("/t/collect", HTTP_ORIGIN="https://evil.example")
    assert "Access-Control-Allow-Origin" not in other


def test_json_content_type_and_requests_without_origin_are_accepted(site):
    response = post(batch(site, new_visitor(), [view()]), origin="", content_type="application/json")
    assert response.status_code == 200
    assert PageView.objects.count() == 1


def test_one_statement_for_the_visitor_and_one_for_all_views(site):
    post(batch(site, new_visitor(), [view()]))
    counts = []
    for size in (1, MAX_EVENTS):
        body = json.dumps(batch(site, new_visitor(), [view(f"/p{n}") for n in range(size)]))
        with CaptureQueriesContext(connection) as queries:
            assert post(body).status_code == 200
        counts.append([query["sql"].split()[0] for query in queries if "tracking_" in query["sql"]])
    assert counts[0] == counts[1] == ["INSERT", "INSERT"]
    assert PageView.objects.count() == 1 + 1 + MAX_EVENTS


def test_a_lead_id_sent_by_the_browser_is_ignored(site, alice, lead_factory):
    lead = lead_factory(owner=alice)
    visitor = new_visitor()
    body = batch(site, visitor, [view(lead=lead.pk, lead_id=lead.pk)], lead=lead.pk, email=lead.email)
    assert post(body).status_code == 200
    assert Visitor.objects.get(key=visitor).lead_id is None


def test_consent_site_refuses_batches_sent_without_consent(consent_site):
    body = {**batch(consent_site, new_visitor(), [view()]), "consent": False}
    body["events"][0]["url"] = "https://strict.example/"
    response = post(body, origin="https://strict.example")
    assert response.status_code == 403
    assert problem(response)["type"].endswith("consent_required")
    body["consent"] = True
    assert post(body, origin="https://strict.example").status_code == 200
    assert PageView.objects.count() == 1


@pytest.mark.parametrize("header", ["HTTP_DNT", "HTTP_SEC_GPC"])
def test_do_not_track_requests_store_nothing(site, header):
    response = post(batch(site, new_visitor(), [view()]), **{header: "1"})
    assert response.status_code == 200
    assert response.json() == {"accepted": 0, "reason": "do_not_track"}
    assert PageView.objects.count() == Visitor.objects.count() == 0


def _bad_bodies(site) -> dict[str, tuple[object, int, str]]:
    vid = new_visitor()
    ok = batch(site, vid, [view()])
    long_url = view("/" + "a" * 2000)
    return {
        "not json": ("{site: 1", 400, "not valid JSON"),
        "empty body": ("", 400, "not valid JSON"),
        "not utf-8": (b"\xff\xfe{\x00", 400, "not valid JSON"),
        "deep nesting": ("[" * 100_000 + "]" * 100_000, 413, "larger than"),
        "deep nesting small": ("[" * 30_000 + "]" * 30_000, 400, "not valid JSON"),
        "a list": ("[1, 2]", 400, "JSON object"),
        "no events": ({**ok, "events": []}, 400, "events: send a list"),
        "events not a list": ({**ok, "events": {"a": 1}}, 400, "events: send a list"),
        "too many events": ({**ok, "events": [view()] * (MAX_EVENTS + 1)}, 413, f"at most {MAX_EVENTS}"),
        "unknown site": ({**ok, "site": "nope"}, 400, "no active site"),
        "missing site": ({k: v for k, v in ok.items() if k != "site"}, 400, "site: is required"),
        "site not text": ({**ok, "site": 7}, 400, "site: must be text"),
        "bad visitor": ({**ok, "visitor": "short"}, 400, "visitor: use 16 to 64"),
        "visitor with quote": ({**ok, "visitor": "a' OR 1=1 --aaaaaaaa"}, 400, "visitor: use 16 to 64"),
        "url too long": ({**ok, "events": [long_url]}, 400, "events[0].url: longer than 2000"),
        "url not http": ({**ok, "events": [{**view(), "url": "javascript:alert(1)"}]}, 400, "absolute http"),
        "url relative": ({**ok, "events": [{**view(), "url": "/pricing"}]}, 400, "absolute http"),
        "url of another site": ({**ok, "events": [{**view(), "url": "https://evil.example/"}]}, 400, "not one of"),
        "nul in url": ({**ok, "events": [view("/a\x00b")]}, 400, "NUL"),
        "nul in title": ({**ok, "events": [view(title="a\x00")]}, 400, "events[0].title: contains NUL"),
        "lone surrogate": ('{"site": "x", "visitor": "\\ud800aaaaaaaaaaaaaaaaaa", "events": [1]}', 400, "NUL"),
        "title too long": ({**ok, "events": [view(title="t" * 301)]}, 400, "title: longer than 300"),
        "bad session": ({**ok, "events": [view(session="../../etc")]}, 400, "session: use 8 to 64"),
        "missing url": ({**ok, "events": [{"session": "sessionAAAA"}]}, 400, "events[0].url: is required"),
        "event not object": ({**ok, "events": ["x"]}, 400, "events[0]: must be an object"),
        "other type": ({**ok, "events": [view(type="click")]}, 400, "only 'pageview'"),
        "negative age": ({**ok, "events": [view(age_ms=-1)]}, 400, "age_ms"),
        "age as text": ({**ok, "events": [view(age_ms="5")]}, 400, "age_ms"),
        "age as bool": ({**ok, "events": [view(age_ms=True)]}, 400, "age_ms"),
        "consent not bool": ({**ok, "consent": "yes"}, 400, "consent: use true or false"),
        "too large": ({**ok, "pad": "x" * MAX_BODY_BYTES}, 413, "larger than"),
    }


@pytest.mark.parametrize(
    "case",
    [
        "not json", "empty body", "not utf-8", "deep nesting", "deep nesting small", "a list", "no events",
        "events not a list", "too many events", "unknown site", "missing site", "site not text", "bad visitor",
        "visitor with quote", "url too long", "url not http", "url relative", "url of another site", "nul in url",
        "nul in title", "lone surrogate", "title too long", "bad session", "missing url", "event not object",
        "other type", "negative age", "age as text", "age as bool", "consent not bool", "too large",
    ],
)  # fmt: skip
def test_bad_batches_get_a_clear_answer_and_store_nothing(site, case):
    body, status, message = _bad_bodies(site)[case]
    response = post(body)
    assert response.status_code == status
    assert message in problem(response)["detail"]
    assert PageView.objects.count() == 0


def test_oversized_content_length_is_refused_before_reading(site):
    response = Client().generic(
        "POST", "/t/collect", b"{}", content_type="text/plain", HTTP_ORIGIN=ORIGIN, CONTENT_LENGTH=str(10**9)
    )
    assert response.status_code == 413


def test_form_posts_and_other_types_are_refused(site):
    response = Client().post("/t/collect", {"site": site.key})
    assert response.status_code == 415
    assert "text/plain or application/json" in problem(response)["detail"]


def test_get_is_not_allowed(site):
    response = Client().get("/t/collect")
    assert response.status_code == 405
    assert response["Allow"] == "POST, OPTIONS"


def test_inactive_site_is_refused(site):
    site.is_active = False
    site.save()
    response = post(batch(site, new_visitor(), [view()]))
    assert response.status_code == 400
    assert "no active site" in problem(response)["detail"]


def test_script_is_served_as_cacheable_javascript():
    response = Client().get("/t.js")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert b"sendBeacon" in response.content
    assert "max-age" in response["Cache-Control"]
    again = Client().get("/t.js", HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304
