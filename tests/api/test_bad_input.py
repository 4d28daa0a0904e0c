"""Bad input gets a problem a person can act on, stores nothing, and is never a 500."""

import pytest

from leadflow.leads.models import Lead, TimelineEvent
from tests.api.conftest import as_user, problem, snapshot
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("raw", "hint"),
    [
        (b'{"email": "ana@example.com"', "Expecting"),
        (b"{'email': 'ana@example.com'}", "Expecting property name"),
        (b"email=ana@example.com", "Expecting value"),
        (b'{"custom": {"n": NaN}}', "NaN is not a JSON number"),
        (b'{"custom": {"n": Infinity}}', "Infinity is not a JSON number"),
        (b'{"first_name": "\xff\xfe"}', "UTF-8"),
        (b'{"first_name": "\\ud800"}', "surrogate"),
        (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    ],
)
def test_malformed_json_is_a_bad_request_that_says_why(alice, raw, hint):
    body = problem(as_user(alice).post("/leads", raw=raw), 400, "malformed_json")
    assert hint in body["detail"]
    assert Lead.objects.count() == 0


def test_escaped_emoji_is_text_not_a_lone_surrogate(alice):
    response = as_user(alice).post("/leads", raw=b'{"first_name": "Ana \\ud83d\\ude00"}')
    assert response.status_code == 201
    assert response.json()["lead"]["first_name"] == "Ana \U0001f600"


@pytest.mark.parametrize("raw", [b"[]", b'"ana@example.com"', b"42", b"null", b"true"])
def test_json_that_is_not_an_object_is_refused(alice, raw):
    body = problem(as_user(alice).post("/leads", raw=raw), 422, "invalid")
    assert "body" in body["errors"]


def test_missing_body_says_a_json_object_is_required(alice):
    lead = make_lead(owner=alice)
    body = problem(as_user(alice).post(f"/leads/{lead.pk}/notes"), 422, "invalid")
    assert body["errors"] == {"body": "is required: send a JSON object."}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"first_name": 42}, "first_name"),
        ({"first_name": ["Ana"]}, "first_name"),
        ({"email": True}, "email"),
        ({"custom": "vip"}, "custom"),
        ({"stage": 3}, "stage"),
    ],
)
def test_wrong_types_are_named_field_by_field(alice, payload, field):
    body = problem(as_user(alice).post("/leads", {"first_name": "Ana", **payload}), 422, "invalid")
    assert list(body["errors"]) == [field]
    assert Lead.objects.count() == 0


@pytest.mark.parametrize("field", ["is_admin", "owner_id", "score", "id", "version", "status", "email_key", "team"])
def test_unknown_fields_are_refused_rather_than_ignored(alice, field):
    body = problem(as_user(alice).post("/leads", {"email": "ana@example.com", field: 1}), 422, "invalid")
    assert body["errors"] == {field: "is not a field here; remove it."}
    assert Lead.objects.count() == 0


def test_unknown_field_in_an_action_body_is_refused(alice):
    lead = make_lead(owner=alice)
    before = snapshot(lead)
    body = problem(as_user(alice).post(f"/leads/{lead.pk}/notes", {"text": "hi", "pinned": True}), 422, "invalid")
    assert body["errors"] == {"pinned": "is not a field here; remove it."}
    assert snapshot(lead) == before


@pytest.mark.parametrize("field", ["first_name", "email", "phone", "company_name", "source"])
def test_nul_bytes_in_text_are_refused(alice, field):
    body = problem(as_user(alice).post("/leads", {"first_name": "Ana", field: "a\x00b"}), 422, "invalid")
    assert "NUL" in body["errors"][field]
    assert Lead.objects.count() == 0


def test_nul_bytes_in_custom_fields_and_notes_are_refused(alice):
    lead = make_lead(owner=alice)
    client = as_user(alice)
    problem(client.post("/leads", {"first_name": "Ana", "custom": {"k\x00": "v"}}), 422, "invalid")
    problem(client.post("/leads", {"first_name": "Ana", "custom": {"k": "v\x00"}}), 422, "invalid")
    problem(client.post(f"/leads/{lead.pk}/notes", {"text": "a\x00b"}), 422, "invalid")
    assert Lead.objects.count() == 1
    assert TimelineEvent.objects.count() == 1


@pytest.mark.parametrize(
    "params", [{"q": "a\x00"}, {"source": "ads\x00"}, {"stage\x00": "lead"}, {"cursor": "\x00"}, {"sort": "\x00name"}]
)
def test_nul_bytes_in_query_parameters_are_refused(alice, params):
    body = problem(as_user(alice).call("GET", "/leads", query=params), 422, "invalid_filter")
    assert "NUL" in next(iter(body["errors"].values()))


def test_oversized_body_is_refused_before_it_is_read(alice, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 10_000
    big = {"first_name": "Ana", "custom": {"blob": "x" * 1999, **{f"k{n}": "y" * 1999 for n in range(6)}}}
    body = problem(as_user(alice).post("/leads", big), 413, "body_too_large")
    assert "larger" in body["detail"]
    problem(as_user(alice).post("/leads", big, headers={"Idempotency-Key": "big-1"}), 413, "body_too_large")
    assert Lead.objects.count() == 0


@pytest.mark.parametrize(
    "path",
    [
        "/leads/abc",
        "/leads/-1",
        "/leads/0",
        "/leads/99999999999999999999999",
        "/leads/1/nothing",
        "/nothing",
        "/leads/",
        "/api/",
        "/api/v2/leads",
    ],
)
def test_addresses_that_name_no_lead_are_json_404s(alice, path):
    problem(as_user(alice).get(path), 404, "not_found")


def test_unknown_address_is_a_json_404_even_for_a_post(alice):
    problem(as_user(alice).post("/nothing", {"a": 1}), 404, "not_found")


@pytest.mark.parametrize(("method", "path"), [("DELETE", "/leads/1"), ("PUT", "/leads/1"), ("GET", "/leads/1/notes")])
def test_methods_an_endpoint_does_not_take_are_a_json_405_naming_the_allowed_ones(alice, method, path):
    make_lead(owner=alice)
    response = as_user(alice).call(method, path)
    body = problem(response, 405, "method_not_allowed")
    assert response["Allow"] in body["detail"]


def test_huge_ids_in_bodies_are_refused_not_overflowed(admin):
    lead = make_lead()
    client = as_user(admin)
    body = problem(client.post(f"/leads/{lead.pk}/merge", {"other_id": 2**70}), 422, "invalid")
    assert "other_id" in body["errors"]
    body = problem(client.post(f"/leads/{lead.pk}/owner", {"owner_id": 2**64}), 422, "invalid")
    assert "owner_id" in body["errors"]


@pytest.mark.parametrize("value", [2**70, -(2**70), 0.1, 1e-7, True, None])
def test_odd_numbers_in_custom_fields_are_kept_or_refused_cleanly(alice, value):
    response = as_user(alice).post("/leads", {"first_name": "Ana", "custom": {"n": value}})
    assert response.status_code in {201, 422}
    if response.status_code == 201:
        assert as_user(alice).get(f"/leads/{response.json()['lead']['id']}").json()["custom"] == {"n": value}


@pytest.mark.parametrize("key", ["", "a" * 256, "has space", "tab\there", "é"])
def test_idempotency_key_that_cannot_be_used_is_a_bad_request(alice, key):
    body = problem(
        as_user(alice).post("/leads", {"email": "ana@example.com"}, headers={"Idempotency-Key": key}),
        400,
        "invalid_idempotency_key",
    )
    assert "Idempotency-Key" in body["errors"]
    assert Lead.objects.count() == 0


def test_control_characters_in_names_are_refused(alice):
    body = problem(as_user(alice).post("/leads", {"first_name": "Ana\x1b[31m"}), 422, "invalid")
    assert "control characters" in body["errors"]["first_name"]


def test_erase_body_with_wrong_types_is_refused(admin):
    lead = make_lead()
    problem(as_user(admin).post(f"/leads/{lead.pk}/erase", {"reason": 5}), 422, "invalid")
    problem(as_user(admin).post(f"/leads/{lead.pk}/erase", {"why": "x"}), 422, "invalid")
    assert Lead.objects.get(pk=lead.pk).status == "active"


def test_query_string_with_too_many_parameters_is_a_bad_request(alice, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 20
    query = "&".join(f"p{n}=1" for n in range(50))
    response = as_user(alice).client.get(
        f"/api/v1/leads?{query}", headers={"Authorization": f"Bearer {as_user(alice).token}"}
    )
    problem(response, 400, "bad_request")
