"""Companies through the API: only those with leads the user can see, with those leads."""

import pytest

from tests.api.conftest import as_user, problem
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db


def test_companies_list_counts_only_the_users_leads(alice, bob, carol):
    make_lead(owner=alice, email="ana@acme.example")
    make_lead(owner=bob, email="bo@acme.example")
    make_lead(owner=carol, email="cy@globex.example")
    items = as_user(alice).get("/companies").json()["items"]
    assert [(item["domain"], item["lead_count"]) for item in items] == [("acme.example", 1)]


def test_companies_are_searched_by_name_or_domain(admin):
    make_lead(email="ana@acme.example", company_name="Acme")
    make_lead(email="bo@globex.example", company_name="Globex")
    client = as_user(admin)
    assert [item["name"] for item in client.get("/companies", q="glob").json()["items"]] == ["Globex"]
    assert [item["name"] for item in client.get("/companies", q="acme.ex").json()["items"]] == ["Acme"]


def test_company_shows_its_visible_leads_a_page_at_a_time(manager, alice, bob, carol):
    leads = [make_lead(owner=alice, email=f"a{n}@acme.example").pk for n in range(3)]
    leads.append(make_lead(owner=bob, email="bo@acme.example").pk)
    make_lead(owner=carol, email="cy@acme.example")
    client = as_user(manager)
    company_id = client.get("/companies").json()["items"][0]["id"]
    first = client.get(f"/companies/{company_id}", limit="3").json()
    assert first["domain"] == "acme.example"
    rest = client.get(f"/companies/{company_id}", limit="3", cursor=first["next_cursor"]).json()
    assert [lead["id"] for lead in first["leads"] + rest["leads"]] == leads
    assert rest["next_cursor"] is None


def test_company_with_none_of_the_users_leads_is_not_found(alice, carol):
    lead = make_lead(owner=alice, email="ana@acme.example")
    problem(as_user(carol).get(f"/companies/{lead.company_id}"), 404, "not_found")
    problem(as_user(carol).get("/companies/99999999999999999999"), 404, "not_found")


@pytest.mark.parametrize(
    ("params", "field"), [({"q": "x" * 201}, "q"), ({"sort": "name"}, "sort"), ({"limit": "0"}, "limit")]
)
def test_company_parameters_that_do_not_fit_are_named(admin, params, field):
    body = problem(as_user(admin).call("GET", "/companies", query=params), 422, "invalid_filter")
    assert field in body["errors"]


@pytest.mark.parametrize("q", ["a\U0010ffff", "\ud7ff", "%", "_"])
def test_odd_company_searches_answer_without_error(admin, q):
    make_lead(email="ana@acme.example")
    assert as_user(admin).get("/companies", q=q).status_code == 200
