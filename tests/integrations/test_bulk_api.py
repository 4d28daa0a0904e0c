"""POST /api/v1/leads/bulk: up to 1,000 leads a call, a result per item, visibility kept."""

from __future__ import annotations

import pytest

from leadflow.leads.models import EventKind, Lead, TimelineEvent
from tests.api.conftest import ApiClient, as_user, problem, snapshot
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db

URL = "/leads/bulk"


def person(n: int, **extra) -> dict:
    return {"first_name": "Bulk", "last_name": f"Person{n}", "email": f"bulk{n}@example.com", **extra}


def test_thousand_items_mixed_valid_and_invalid_get_a_result_each(alice, bob, east):
    existing = make_lead(owner=alice, email="bulk7@example.com", first_name="Old")
    queued = make_lead(team=east, email="bulk8@example.com")
    bobs = make_lead(owner=bob, email="bulk9@example.com")
    items = [person(n) for n in range(1000)]
    items[3] = {"email": "not an email"}
    items[5] = {"first_name": "Nul\u0000"}
    items[11] = {"owner_id": 1, "email": "x@example.com"}
    items[12] = "not an object"
    items[13] = {}
    items[20] = person(19, phone="+1 415 555 0100")
    response = as_user(alice).post(URL, {"items": items})
    assert response.status_code == 200, response.content
    body = response.json()
    results = body["items"]
    assert [item["index"] for item in results] == list(range(1000))
    errors = {item["index"]: item["problem"] for item in results if item["status"] == "error"}
    assert set(errors) == {3, 5, 9, 11, 12, 13}
    assert errors[3]["errors"]["email"].startswith("is not a valid email address")
    assert errors[3]["code"] == "invalid" and errors[3]["status"] == 422
    assert "NUL" in errors[5]["errors"]["first_name"]
    assert errors[11]["errors"] == {"owner_id": "is not a field of a lead here."}
    assert results[7] == {"index": 7, "status": "updated", "lead_id": existing.pk, "problem": None}
    assert results[8]["status"] == "updated" and results[8]["lead_id"] == queued.pk
    assert errors[9]["code"] == "duplicate_not_visible"
    assert Lead.objects.get(pk=bobs.pk).first_name == "Dana"
    assert results[20]["status"] == "duplicate" and results[20]["lead_id"] == results[19]["lead_id"]
    assert (body["created"], body["updated"], body["duplicate"], body["error"]) == (991, 2, 1, 6)
    assert Lead.objects.count() == 991 + 3
    created = Lead.objects.get(pk=results[0]["lead_id"])
    assert (created.email, created.team_id, created.owner_id) == ("bulk0@example.com", alice.team_id, None)
    assert TimelineEvent.objects.get(lead=created, kind=EventKind.CREATED).data["channel"] == "api"


def test_more_than_a_thousand_items_are_refused_whole(alice):
    response = as_user(alice).post(URL, {"items": [person(n) for n in range(1001)]})
    body = problem(response, 413, "too_many_items")
    assert "1001" in body["errors"]["items"]
    assert Lead.objects.count() == 0


def test_outsider_cannot_update_someone_elses_lead(alice, carol):
    theirs = make_lead(owner=alice, email="secret@example.com", first_name="Kept")
    before = snapshot(theirs)
    response = as_user(carol).post(URL, {"items": [{"email": "secret@example.com", "first_name": "Hijack"}]})
    item = response.json()["items"][0]
    assert (item["status"], item["lead_id"]) == ("error", None)
    assert item["problem"]["code"] == "duplicate_not_visible"
    assert item["problem"]["status"] == 409
    assert snapshot(theirs) == before


def test_read_only_token_cannot_write(alice):
    response = as_user(alice, "read").post(URL, {"items": [person(1)]})
    problem(response, 403, "insufficient_scope")
    assert Lead.objects.count() == 0


def test_no_token_is_a_401(db):
    problem(ApiClient(None).post(URL, {"items": [person(1)]}), 401, "unauthorized")


def test_dry_run_answers_what_would_happen_and_changes_nothing(alice):
    existing = make_lead(owner=alice, email="bulk1@example.com")
    counts = (Lead.objects.count(), TimelineEvent.objects.count())
    body = as_user(alice).post(URL, {"items": [person(0), person(1)], "dry_run": True}).json()
    assert [(item["status"], item["lead_id"]) for item in body["items"]] == [
        ("created", None),
        ("updated", existing.pk),
    ]
    assert body["dry_run"] is True
    assert (Lead.objects.count(), TimelineEvent.objects.count()) == counts


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({}, 422, "invalid"),
        ({"items": "nope"}, 422, "invalid"),
        ({"items": [], "extra": 1}, 422, "invalid"),
        ([person(1)], 422, "invalid"),
    ],
)
def test_malformed_requests_are_problems(alice, body, status, code):
    problem(as_user(alice).post(URL, body), status, code)


def test_malformed_json_is_a_400(alice):
    problem(as_user(alice).post(URL, raw=b'{"items": [}'), 400, "malformed_json")


def test_empty_list_is_fine(alice):
    body = as_user(alice).post(URL, {"items": []}).json()
    assert body["items"] == [] and body["created"] == 0


def test_retry_with_the_same_idempotency_key_records_once(alice):
    client = as_user(alice)
    headers = {"Idempotency-Key": "bulk-retry-1"}
    first = client.post(URL, {"items": [person(1), person(2)]}, headers=headers)
    again = client.post(URL, {"items": [person(1), person(2)]}, headers=headers)
    assert first.json() == again.json()
    assert again["Idempotent-Replayed"] == "true"
    assert TimelineEvent.objects.count() == 2


def test_bulk_is_in_the_openapi_spec(db):
    from django.test import Client

    spec = Client().get("/api/openapi.json").json()
    assert "post" in spec["paths"]["/api/v1/leads/bulk"]
