"""Stage, owner, merge and undo, export and erase through the API."""

import pytest

from leadflow.leads import services
from leadflow.leads.models import EventKind, Lead, LeadMerge, LeadStatus
from tests.api.conftest import as_user, problem, snapshot
from tests.conftest import make_lead
from tests.leads.qualified import QUALIFIED

pytestmark = pytest.mark.django_db


def test_stage_change_is_recorded_with_its_reason(alice):
    lead = make_lead(owner=alice, **QUALIFIED)
    response = as_user(alice).post(f"/leads/{lead.pk}/stage", {"stage": "sql", "reason": "Budget confirmed"})
    assert response.status_code == 200
    assert response.json()["stage"] == "sql"
    assert response["ETag"] == '"2"'
    event = lead.events.get(kind=EventKind.STAGE_CHANGED)
    assert event.data == {"from": "lead", "to": "sql", "reason": "Budget confirmed"}


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"stage": "won"}, "stage"),
        ({"stage": "sql", "reason": "x\x00"}, "reason"),
        ({"stage": "sql", "reason": "r" * 501}, "reason"),
    ],
)
def test_stage_change_with_bad_values_is_refused(alice, payload, field):
    lead = make_lead(owner=alice)
    body = problem(as_user(alice).post(f"/leads/{lead.pk}/stage", payload), 422, "invalid")
    assert field in body["errors"]
    assert Lead.objects.get(pk=lead.pk).stage == "lead"


def test_rep_takes_a_queued_lead(alice, east):
    lead = make_lead(team=east)
    response = as_user(alice).post(f"/leads/{lead.pk}/owner", {"owner_id": alice.pk})
    assert response.status_code == 200
    assert response.json()["owner"]["id"] == alice.pk


def test_rep_cannot_give_a_lead_to_a_colleague(alice, bob):
    lead = make_lead(owner=alice)
    body = problem(as_user(alice).post(f"/leads/{lead.pk}/owner", {"owner_id": bob.pk}), 409, "forbidden_owner")
    assert "owner_id" in body["errors"]
    assert Lead.objects.get(pk=lead.pk).owner_id == alice.pk


def test_manager_reassigns_within_the_team_and_back_to_the_queue(alice, bob, manager):
    lead = make_lead(owner=alice)
    client = as_user(manager)
    assert client.post(f"/leads/{lead.pk}/owner", {"owner_id": bob.pk}).json()["owner"]["id"] == bob.pk
    assert client.post(f"/leads/{lead.pk}/owner", {"owner_id": None}).json()["owner"] is None
    assert lead.events.filter(kind=EventKind.OWNER_CHANGED).count() == 2


@pytest.mark.parametrize(("payload", "status"), [({"owner_id": 987654}, 422), ({}, 422), ({"owner_id": "2"}, 422)])
def test_owner_that_is_not_a_user_id_is_refused(admin, payload, status):
    lead = make_lead()
    body = problem(as_user(admin).post(f"/leads/{lead.pk}/owner", payload), status, "invalid")
    assert "owner_id" in body["errors"]


def test_merge_keeps_both_timelines_and_can_be_undone(alice):
    winner = make_lead(owner=alice, first_name="Ana", title="")
    loser = make_lead(owner=alice, first_name="Anna", title="CTO")
    services.add_note(lead=loser, text="met at the fair", actor=alice)
    client = as_user(alice)
    response = client.post(f"/leads/{winner.pk}/merge", {"other_id": loser.pk, "choices": {"first_name": "loser"}})
    assert response.status_code == 201
    merge = response.json()
    assert (merge["winner_id"], merge["loser_id"]) == (winner.pk, loser.pk)
    assert merge["lead"]["first_name"] == "Anna"
    assert merge["lead"]["title"] == "CTO"
    kinds = [item["kind"] for item in client.get(f"/leads/{winner.pk}/timeline").json()["items"]]
    assert "note" in kinds and "merged" in kinds
    problem(client.get(f"/leads/{loser.pk}"), 404, "not_found")

    undone = client.post(f"/merges/{merge['id']}/undo")
    assert undone.status_code == 200
    assert undone.json()["undone_at"] is not None
    assert undone.json()["lead"]["first_name"] == "Ana"
    assert client.get(f"/leads/{loser.pk}").json()["first_name"] == "Anna"
    problem(client.post(f"/merges/{merge['id']}/undo"), 409, "already_undone")


def test_merge_with_a_lead_the_user_cannot_see_is_not_found_and_changes_nothing(alice, carol):
    own, hidden = make_lead(owner=alice), make_lead(owner=carol)
    before = snapshot(own), snapshot(hidden)
    body = problem(as_user(alice).post(f"/leads/{own.pk}/merge", {"other_id": hidden.pk}), 404, "not_found")
    assert "other_id" in body["errors"]
    assert (snapshot(own), snapshot(hidden)) == before
    assert LeadMerge.objects.count() == 0


def test_merge_with_itself_or_with_bad_choices_is_refused(alice):
    lead, other = make_lead(owner=alice), make_lead(owner=alice)
    client = as_user(alice)
    problem(client.post(f"/leads/{lead.pk}/merge", {"other_id": lead.pk}), 409, "same_lead")
    body = problem(
        client.post(f"/leads/{lead.pk}/merge", {"other_id": other.pk, "choices": {"password": "loser"}}), 422, "invalid"
    )
    assert "password" in body["errors"]
    body = problem(
        client.post(f"/leads/{lead.pk}/merge", {"other_id": other.pk, "choices": {"email": "both"}}), 422, "invalid"
    )
    assert "choices.email" in body["errors"]
    assert LeadMerge.objects.count() == 0


def test_undo_of_a_merge_the_user_cannot_see_is_not_found(alice, carol):
    winner, loser = make_lead(owner=alice), make_lead(owner=alice)
    merge = services.merge_leads(winner=winner, loser=loser, actor=alice)
    problem(as_user(carol).post(f"/merges/{merge.pk}/undo"), 404, "not_found")
    assert LeadMerge.objects.get(pk=merge.pk).undone_at is None


def test_export_returns_the_lead_and_its_timeline_and_records_it(alice):
    lead = make_lead(owner=alice, first_name="Ana")
    services.add_note(lead=lead, text="hello", actor=alice)
    response = as_user(alice, "read").get(f"/leads/{lead.pk}/export")
    assert response.status_code == 200
    data = response.json()
    assert data["lead"]["first_name"] == "Ana"
    assert [event["kind"] for event in data["timeline"]] == ["created", "note"]
    assert lead.events.filter(kind=EventKind.EXPORTED).count() == 1


def test_admin_erases_a_lead_and_the_person_is_not_brought_back_silently(admin, alice):
    lead = make_lead(owner=alice, email="gone@example.com", first_name="Gone")
    client = as_user(admin)
    response = client.post(f"/leads/{lead.pk}/erase", {"reason": "GDPR request #12"})
    assert response.status_code == 200
    assert response.json()["status"] == "erased"
    assert Lead.objects.get(pk=lead.pk).first_name == ""
    problem(client.get(f"/leads/{lead.pk}"), 404, "not_found")
    problem(client.post("/leads", {"email": "gone@example.com"}), 409, "erased_person")


def test_erase_without_a_body_is_allowed_for_admins(admin):
    lead = make_lead()
    assert as_user(admin).post(f"/leads/{lead.pk}/erase").status_code == 200


@pytest.mark.parametrize("persona", ["marketing", "manager", "alice"])
def test_only_admins_may_erase(request, persona, alice):
    lead = make_lead(owner=alice)
    before = snapshot(lead)
    problem(as_user(request.getfixturevalue(persona)).post(f"/leads/{lead.pk}/erase", {}), 403, "admin_only")
    assert snapshot(lead) == before
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.ACTIVE
