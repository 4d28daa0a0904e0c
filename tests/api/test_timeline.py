"""A lead's timeline through the API: read it by kind and page, add notes and calls."""

from datetime import UTC, datetime

import pytest

from leadflow.leads import services
from leadflow.leads.models import EventKind, TimelineEvent
from tests.api.conftest import as_user, problem, snapshot
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db


def test_note_is_added_to_the_timeline_newest_first(alice):
    lead = make_lead(owner=alice)
    client = as_user(alice)
    response = client.post(f"/leads/{lead.pk}/notes", {"text": "  Wants a demo\nnext week  "})
    assert response.status_code == 201
    note = response.json()
    assert note["kind"] == "note"
    assert note["data"] == {"text": "Wants a demo\nnext week"}
    assert note["actor"]["username"] == "alice"
    timeline = client.get(f"/leads/{lead.pk}/timeline").json()
    assert [item["kind"] for item in timeline["items"]] == ["note", "created"]


def test_call_is_logged_with_outcome_length_and_time(alice):
    lead = make_lead(owner=alice)
    response = as_user(alice).post(
        f"/leads/{lead.pk}/calls",
        {
            "outcome": "connected",
            "duration_seconds": 95,
            "notes": "Budget in Q3",
            "occurred_at": "2026-01-05T10:00:00+01:00",
        },
    )
    assert response.status_code == 201
    call = response.json()
    assert call["data"] == {"outcome": "connected", "duration_seconds": 95, "notes": "Budget in Q3"}
    assert datetime.fromisoformat(call["occurred_at"]) == datetime(2026, 1, 5, 9, tzinfo=UTC)


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"outcome": "great"}, "outcome"),
        ({"outcome": "busy", "duration_seconds": -5}, "duration_seconds"),
        ({"outcome": "busy", "duration_seconds": 90000}, "duration_seconds"),
        ({"outcome": "busy", "duration_seconds": "60"}, "duration_seconds"),
        ({"outcome": "busy", "duration_seconds": 1.5}, "duration_seconds"),
        ({"outcome": "busy", "occurred_at": "2026-01-05T10:00:00"}, "occurred_at"),
        ({"outcome": "busy", "occurred_at": "soon"}, "occurred_at"),
        ({"outcome": "busy", "notes": "a\x00b"}, "notes"),
        ({"duration_seconds": 5}, "outcome"),
    ],
)
def test_call_with_bad_values_is_refused_per_field(alice, payload, field):
    lead = make_lead(owner=alice)
    before = snapshot(lead)
    body = problem(as_user(alice).post(f"/leads/{lead.pk}/calls", payload), 422, "invalid")
    assert field in body["errors"]
    assert snapshot(lead) == before


@pytest.mark.parametrize(
    ("text", "message"), [("", "Write something first."), ("   ", "Write something first."), ("a" * 10_001, "10000")]
)
def test_empty_or_overlong_note_is_refused(alice, text, message):
    lead = make_lead(owner=alice)
    body = problem(as_user(alice).post(f"/leads/{lead.pk}/notes", {"text": text}), 422, "invalid")
    assert message in body["errors"]["text"]


def test_timeline_filters_by_kind(alice):
    lead = make_lead(owner=alice)
    services.add_note(lead=lead, text="one", actor=alice)
    services.log_call(lead=lead, outcome="busy", actor=alice)
    client = as_user(alice)
    kinds = {item["kind"] for item in client.get(f"/leads/{lead.pk}/timeline", kind="note,call").json()["items"]}
    assert kinds == {"note", "call"}
    only_notes = client.call("GET", f"/leads/{lead.pk}/timeline", query={"kind": ["note"]}).json()["items"]
    assert [item["kind"] for item in only_notes] == ["note"]


def test_timeline_cursor_walks_every_event_once(alice):
    lead = make_lead(owner=alice)
    for n in range(11):
        services.add_note(lead=lead, text=f"note {n}", actor=alice)
    client = as_user(alice)
    seen, cursor = [], None
    for _ in range(10):
        page = client.call(
            "GET", f"/leads/{lead.pk}/timeline", query={"limit": "4", **({"cursor": cursor} if cursor else {})}
        )
        seen += [item["id"] for item in page.json()["items"]]
        cursor = page.json()["next_cursor"]
        if cursor is None:
            break
    assert seen == list(TimelineEvent.objects.filter(lead=lead).newest_first().values_list("id", flat=True))


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"kind": "gossip"}, "kind"),
        ({"cursor": "abc"}, "cursor"),
        ({"limit": "100000"}, "limit"),
        ({"page": "2"}, "page"),
    ],
)
def test_timeline_parameters_that_do_not_fit_are_named(alice, params, field):
    lead = make_lead(owner=alice)
    body = problem(as_user(alice).call("GET", f"/leads/{lead.pk}/timeline", query=params), 422, "invalid_filter")
    assert field in body["errors"]


def test_every_event_kind_is_a_valid_filter(alice):
    lead = make_lead(owner=alice)
    response = as_user(alice).call("GET", f"/leads/{lead.pk}/timeline", query={"kind": list(EventKind.values)})
    assert response.status_code == 200
