"""BANT, the new profile fields and lifecycle moves through the API, with their errors."""

import pytest
from django.test import Client

from leadflow.leads.models import EventKind, Lead, Stage
from tests.api.conftest import as_user, problem, snapshot
from tests.conftest import make_lead
from tests.leads.qualified import QUALIFIED

pytestmark = pytest.mark.django_db


def test_create_and_read_carry_profile_and_qualification_fields(alice):
    response = as_user(alice).post(
        "/leads",
        {
            "email": "ana@acme.example",
            "country": "pt",
            "industry": "Retail",
            "company_size": 120,
            "time_zone": "Europe/Lisbon",
            "budget": "planned",
            "budget_amount": "15000.5",
            "need": "high",
            "need_notes": "Replace spreadsheets",
        },
    )
    assert response.status_code == 201
    lead = response.json()["lead"]
    assert (lead["country"], lead["country_name"], lead["industry"], lead["company_size"]) == (
        "PT",
        "Portugal",
        "Retail",
        120,
    )
    assert (lead["time_zone"], lead["budget"], lead["budget_amount"], lead["need"]) == (
        "Europe/Lisbon",
        "planned",
        "15000.50",
        "high",
    )
    assert (lead["authority"], lead["purchase_timeline"], lead["stage_reason"]) == ("unknown", "unknown", "")
    read = as_user(alice).get(f"/leads/{lead['id']}").json()
    assert read["need_notes"] == "Replace spreadsheets"


def test_update_records_each_qualification_change(alice):
    lead = make_lead(owner=alice)
    response = as_user(alice).patch(
        f"/leads/{lead.pk}", {"authority": "decision_maker", "industry": "Banking"}, headers={"If-Match": '"1"'}
    )
    assert response.status_code == 200
    assert response.json()["authority"] == "decision_maker"
    timeline = as_user(alice).get(f"/leads/{lead.pk}/timeline", kind="qualification").json()["items"]
    assert [item["data"] for item in timeline] == [{"field": "authority", "from": "unknown", "to": "decision_maker"}]


def test_null_sets_an_answer_back_to_unknown(alice):
    lead = make_lead(owner=alice, budget="approved")
    response = as_user(alice).patch(f"/leads/{lead.pk}", {"budget": None}, headers={"If-Match": "*"})
    assert response.json()["budget"] == "unknown"


@pytest.mark.parametrize(
    ("payload", "field", "message"),
    [
        ({"country": "Atlantis"}, "country", "is not a country; use a two-letter ISO code"),
        ({"time_zone": "Europe/Atlantis"}, "time_zone", "is not a time zone; use an IANA name"),
        ({"company_size": -1}, "company_size", "must be from 0 to 10,000,000 employees."),
        ({"budget_amount": "1.999"}, "budget_amount", "can have at most two decimals."),
        ({"budget_amount": "-5"}, "budget_amount", "must be an amount from 0"),
    ],
)
def test_bad_profile_values_are_a_422_naming_the_field(alice, payload, field, message):
    lead = make_lead(owner=alice)
    before = snapshot(lead)
    body = problem(as_user(alice).patch(f"/leads/{lead.pk}", payload, headers={"If-Match": "*"}), 422, "invalid")
    assert message in body["errors"][field]
    assert snapshot(lead) == before


@pytest.mark.parametrize(
    ("payload", "field"), [({"budget": "lots"}, "budget"), ({"company_size": "ten"}, "company_size")]
)
def test_values_of_the_wrong_shape_are_refused_by_the_schema(alice, payload, field):
    lead = make_lead(owner=alice)
    body = problem(as_user(alice).patch(f"/leads/{lead.pk}", payload, headers={"If-Match": "*"}), 422, "invalid")
    assert field in body["errors"]


def test_stage_before_the_gate_passes_is_a_409_naming_what_is_missing(alice):
    lead = make_lead(owner=alice, budget="approved", need="high")
    before = snapshot(lead)
    body = problem(as_user(alice).post(f"/leads/{lead.pk}/stage", {"stage": "sql"}), 409, "qualification_incomplete")
    assert body["detail"] == "Authority and timeline must be known before this lead can become an SQL."
    assert body["errors"] == {"stage": body["detail"]}
    assert snapshot(lead) == before


def test_move_the_rules_forbid_is_a_409(alice):
    lead = make_lead(owner=alice, **QUALIFIED)
    Lead.objects.filter(pk=lead.pk).update(stage=Stage.CUSTOMER)
    body = problem(as_user(alice).post(f"/leads/{lead.pk}/stage", {"stage": "mql"}), 409, "transition_not_allowed")
    assert "from Customer it can move to Disqualified" in body["detail"]


def test_disqualify_needs_a_listed_reason(alice):
    lead = make_lead(owner=alice)
    client = as_user(alice)
    missing = problem(client.post(f"/leads/{lead.pk}/stage", {"stage": "disqualified"}), 422, "invalid")
    assert missing["errors"] == {"reason": "Give a reason for disqualifying this lead."}
    unknown = problem(
        client.post(f"/leads/{lead.pk}/stage", {"stage": "disqualified", "reason": "Too loud"}), 422, "invalid"
    )
    assert "Pick one of the disqualify reasons" in unknown["errors"]["reason"]
    done = client.post(f"/leads/{lead.pk}/stage", {"stage": "disqualified", "reason": "No budget"})
    assert done.status_code == 200
    assert (done.json()["stage"], done.json()["stage_reason"]) == ("disqualified", "No budget")
    event = Lead.objects.get(pk=lead.pk).events.get(kind=EventKind.STAGE_CHANGED)
    assert event.data == {"from": "lead", "to": "disqualified", "reason": "No budget"}


def test_stage_operation_documents_its_conflict_codes():
    spec = Client().get("/api/openapi.json").json()
    operation = spec["paths"]["/api/v1/leads/{lead_id}/stage"]["post"]
    assert "409" in operation["responses"]
    assert "`transition_not_allowed`" in operation["description"]
    assert "`qualification_incomplete`" in operation["description"]
    schema = spec["components"]["schemas"]
    assert {"country", "company_size", "time_zone", "budget", "purchase_timeline"} <= set(
        schema["LeadUpdate"]["properties"]
    )
