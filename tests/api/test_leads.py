"""Create, read and update leads through the API."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leadflow.leads import services
from leadflow.leads.models import EventKind, Lead
from tests.api.conftest import as_user, problem, snapshot
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db


def test_new_person_is_created_normalised_with_location_and_etag(alice):
    response = as_user(alice).post(
        "/leads", {"first_name": " Ana ", "email": " Ana.Silva@ACME.Example ", "phone": "(415) 555-0132"}
    )
    assert response.status_code == 201
    body = response.json()
    assert body["created"] is True
    lead = body["lead"]
    assert lead["first_name"] == "Ana"
    assert lead["email"] == "Ana.Silva@acme.example"
    assert lead["phone"] == "+14155550132"
    assert lead["company"]["domain"] == "acme.example"
    assert lead["team_id"] == alice.team_id
    assert response["Location"] == f"/api/v1/leads/{lead['id']}"
    assert response["ETag"] == '"1"'
    assert Lead.objects.get(pk=lead["id"]).events.get().data["channel"] == "api"


def test_create_and_update_answers_show_the_lead_exactly_as_reading_it_does(alice):
    client = as_user(alice)
    data = {"first_name": "Ana", "email": "ana@acme.example", "consent_status": "granted", "budget_amount": "25000"}
    created = client.post("/leads", {**data, "custom": {"plan": "pro"}})
    updated = client.post("/leads", {"email": "ana@acme.example", "title": "CTO"})
    for response in (created, updated):
        assert response["Content-Type"] == "application/json; charset=utf-8"
    lead_id = created.json()["lead"]["id"]
    read = client.get(f"/leads/{lead_id}")
    assert updated.json() == {"created": False, "lead": read.json()}
    assert updated["ETag"] == read["ETag"] == '"2"'
    assert list(created.json()["lead"]) == list(read.json())
    assert created.json()["lead"]["consent_at"].endswith("Z")
    assert created.json()["lead"]["budget_amount"] == "25000.00"


def test_same_email_again_updates_the_existing_lead_and_says_so(alice):
    client = as_user(alice)
    first = client.post("/leads", {"email": "ana@acme.example", "first_name": "Ana"}).json()["lead"]
    response = client.post("/leads", {"email": "ANA@acme.example", "title": "CTO", "first_name": ""})
    assert response.status_code == 200
    body = response.json()
    assert body["created"] is False
    assert body["lead"]["id"] == first["id"]
    assert body["lead"]["title"] == "CTO"
    assert body["lead"]["first_name"] == "Ana"
    assert body["lead"]["version"] == 2
    assert Lead.objects.count() == 1
    assert list(Lead.objects.get().events.values_list("kind", flat=True).order_by("id")) == [
        EventKind.CREATED,
        EventKind.CAPTURED,
    ]


def test_same_email_as_a_lead_the_user_cannot_see_is_a_conflict_that_changes_nothing(alice, carol):
    hidden = make_lead(owner=alice, email="ana@acme.example")
    before = snapshot(hidden)
    response = as_user(carol).post("/leads", {"email": "ana@acme.example", "title": "Spy"})
    body = problem(response, 409, "duplicate_not_visible")
    assert "email" in body["errors"]
    assert snapshot(hidden) == before


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("email", "not-an-email", "not a valid email address"),
        ("phone", "12", "not a"),
        ("stage", "won", "should be"),
        ("consent_status", "maybe", "should be"),
        ("first_name", "x" * 151, "the most allowed is 150"),
        ("custom", {"a": {"nested": 1}}, "must be text, a number"),
        ("custom", [1, 2], "valid dictionary"),
    ],
)
def test_invalid_values_are_named_field_by_field_and_nothing_is_stored(alice, field, value, message):
    response = as_user(alice).post("/leads", {"first_name": "Ana", field: value})
    body = problem(response, 422, "invalid")
    assert message in body["errors"][field]
    assert Lead.objects.count() == 0


def test_lead_without_email_phone_or_name_is_refused(alice):
    body = problem(as_user(alice).post("/leads", {"title": "CTO"}), 422, "invalid")
    assert body["errors"] == {"email": "Give at least an email, a phone number or a name."}


def test_html_and_script_are_stored_and_returned_as_plain_text(alice):
    script = '<script>alert("x")</script><b onmouseover=alert(1)>Ana</b>'
    client = as_user(alice)
    created = client.post("/leads", {"first_name": script, "custom": {"note": script}})
    lead_id = created.json()["lead"]["id"]
    client.post(f"/leads/{lead_id}/notes", {"text": script})
    response = client.get(f"/leads/{lead_id}")
    assert response["Content-Type"] == "application/json; charset=utf-8"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response.json()["first_name"] == script
    assert response.json()["custom"] == {"note": script}
    assert client.get(f"/leads/{lead_id}/timeline", kind="note").json()["items"][0]["data"]["text"] == script
    assert Lead.objects.get(pk=lead_id).first_name == script


def test_create_runs_a_handful_of_queries(alice):
    client = as_user(alice)
    client.get("/leads")
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/leads", {"first_name": "Ana", "email": "ana@acme.example", "source": "ads"})
    assert response.status_code == 201
    statements = [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]
    # Token, erased-person check, duplicate check, company look-up and insert, lead, timeline event.
    assert len(statements) <= 7, statements


def test_read_returns_the_lead_with_its_version_as_etag(alice):
    lead = make_lead(owner=alice, first_name="Ana")
    services.change_stage(lead=lead, stage="mql", actor=alice)
    response = as_user(alice).get(f"/leads/{lead.pk}")
    assert response.status_code == 200
    assert response["ETag"] == '"2"'
    body = response.json()
    assert body["stage"] == "mql"
    assert body["owner"] == {"id": alice.pk, "username": "alice", "name": "Alice"}
    assert set(body["stage_entered_at"]) == {"lead", "mql"}


def test_merged_and_erased_leads_are_not_found(admin, alice):
    kept, merged, erased = make_lead(owner=alice), make_lead(owner=alice), make_lead(owner=alice)
    services.merge_leads(winner=kept, loser=merged, actor=admin)
    services.erase_lead(lead=erased, actor=admin)
    client = as_user(admin)
    problem(client.get(f"/leads/{merged.pk}"), 404, "not_found")
    problem(client.get(f"/leads/{erased.pk}"), 404, "not_found")


def test_update_with_the_current_version_saves_and_returns_the_next_etag(alice):
    lead = make_lead(owner=alice)
    response = as_user(alice).patch(
        f"/leads/{lead.pk}", {"title": "CTO", "phone": "+44 20 7946 0958"}, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 200
    assert response["ETag"] == '"2"'
    assert response.json()["title"] == "CTO"
    assert response.json()["phone"] == "+442079460958"
    lead.refresh_from_db()
    assert (lead.title, lead.version) == ("CTO", 2)
    assert lead.events.filter(kind=EventKind.UPDATED).count() == 1


def test_later_save_with_a_stale_version_is_refused_and_says_who_changed_it(alice, manager):
    lead = make_lead(owner=alice)
    etag = as_user(alice).get(f"/leads/{lead.pk}")["ETag"]
    assert as_user(manager).patch(f"/leads/{lead.pk}", {"title": "VP"}, headers={"If-Match": etag}).status_code == 200
    before = snapshot(lead)
    response = as_user(alice).patch(f"/leads/{lead.pk}", {"title": "CTO"}, headers={"If-Match": etag})
    body = problem(response, 412, "edit_conflict")
    assert "Maria changed this lead" in body["detail"]
    assert body["errors"] == {"version": "was changed by someone else since you read the lead."}
    assert snapshot(lead) == before
    assert Lead.objects.get(pk=lead.pk).title == "VP"


def test_update_without_if_match_is_refused_so_nothing_is_overwritten_blindly(alice):
    lead = make_lead(owner=alice)
    body = problem(as_user(alice).patch(f"/leads/{lead.pk}", {"title": "CTO"}), 428, "precondition_required")
    assert "If-Match" in body["detail"]
    assert Lead.objects.get(pk=lead.pk).title == ""


def test_if_match_star_updates_whatever_is_there(alice):
    lead = make_lead(owner=alice)
    services.change_stage(lead=lead, stage="mql", actor=alice)
    response = as_user(alice).patch(f"/leads/{lead.pk}", {"title": "CTO"}, headers={"If-Match": "*"})
    assert response.status_code == 200
    assert response.json()["version"] == 3


@pytest.mark.parametrize("value", ['W/"1"', "one", '"1", "2"', "99999999999999999999999"])
def test_if_match_that_is_not_an_etag_is_a_bad_request(alice, value):
    lead = make_lead(owner=alice)
    problem(
        as_user(alice).patch(f"/leads/{lead.pk}", {"title": "CTO"}, headers={"If-Match": value}),
        400,
        "invalid_if_match",
    )
    assert Lead.objects.get(pk=lead.pk).version == 1


def test_update_to_an_email_another_lead_has_is_a_conflict(alice):
    make_lead(owner=alice, email="taken@example.com")
    lead = make_lead(owner=alice)
    response = as_user(alice).patch(f"/leads/{lead.pk}", {"email": "Taken@example.com"}, headers={"If-Match": '"1"'})
    body = problem(response, 409, "duplicate_email")
    assert "merge" in body["errors"]["email"]


@pytest.mark.parametrize(
    ("payload", "field"),
    [({"stage": "mql"}, "stage"), ({"owner_id": 1}, "owner_id"), ({"consent_source": "x"}, "consent_source")],
)
def test_update_refuses_fields_that_have_their_own_endpoint_or_are_not_editable(alice, payload, field):
    lead = make_lead(owner=alice)
    body = problem(as_user(alice).patch(f"/leads/{lead.pk}", payload, headers={"If-Match": "*"}), 422, "invalid")
    assert field in body["errors"]


def test_null_clears_a_field_and_left_out_fields_stay(alice):
    lead = make_lead(owner=alice, title="CTO", company_name="Acme")
    response = as_user(alice).patch(f"/leads/{lead.pk}", {"title": None}, headers={"If-Match": "*"})
    assert response.json()["title"] == ""
    assert response.json()["company_name"] == "Acme"
