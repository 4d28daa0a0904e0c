"""List leads: the page's filters, search and sort, cursor pagination and its limits."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leadflow.leads.models import Lead
from tests.api.conftest import as_user, problem
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db


def ids(response) -> list[int]:
    assert response.status_code == 200, response.content
    return [item["id"] for item in response.json()["items"]]


def test_rep_lists_own_leads_and_team_queue_and_nothing_of_other_teams(alice, bob, carol, east, west):
    own, queue = make_lead(owner=alice), make_lead(team=east)
    make_lead(owner=bob)
    make_lead(owner=carol)
    make_lead(team=west)
    assert set(ids(as_user(alice).get("/leads"))) == {own.pk, queue.pk}


def test_manager_lists_the_teams_leads(alice, bob, carol, manager, east):
    east_leads = {make_lead(owner=alice).pk, make_lead(owner=bob).pk, make_lead(team=east).pk}
    make_lead(owner=carol)
    response = as_user(manager).get("/leads")
    assert set(ids(response)) == east_leads
    assert response.json()["count"] == 3


def test_search_filters_and_sort_are_those_of_the_page(admin):
    make_lead(first_name="Ana", last_name="Silva", source="ads")
    bo = make_lead(first_name="Bo", last_name="Berg", source="ads", stage="mql")
    cy = make_lead(first_name="Cy", last_name="Adams", source="ads", stage="sql")
    make_lead(first_name="Di", last_name="Ames", source="seo", stage="mql")
    client = as_user(admin)
    assert ids(client.get("/leads", q="bo")) == [bo.pk]
    assert ids(client.get("/leads", source="ads", stage="mql,sql", sort="name")) == [cy.pk, bo.pk]
    assert ids(client.call("GET", "/leads", query={"stage": ["mql", "sql"], "source": "ads", "sort": "-name"})) == [
        bo.pk,
        cy.pk,
    ]


def test_created_date_filters_include_both_days(admin):
    lead = make_lead()
    today = timezone.now().date().isoformat()
    client = as_user(admin)
    assert ids(client.get("/leads", created_from=today, created_to=today)) == [lead.pk]
    yesterday = (timezone.now() - timedelta(days=1)).date().isoformat()
    assert ids(client.get("/leads", created_to=yesterday)) == []


@pytest.mark.parametrize("sort", ["-created", "created", "name", "-name", "score", "-activity", "updated"])
def test_cursor_walks_every_lead_once_across_pages(admin, sort):
    made = {make_lead(last_name=f"Name{n % 4}").pk for n in range(12)}
    client = as_user(admin)
    seen: list[int] = []
    cursor = None
    for _ in range(10):
        params = {"sort": sort, "limit": "5", **({"cursor": cursor} if cursor else {})}
        page = client.call("GET", "/leads", query=params).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) == 12
    assert set(seen) == made


def test_default_page_is_fifty_with_a_cursor_to_the_rest(admin):
    Lead.objects.bulk_create([Lead(first_name="Bulk", last_name=str(n)) for n in range(55)])
    page = as_user(admin).get("/leads").json()
    assert len(page["items"]) == 50
    assert page["count"] == 55
    assert page["next_cursor"] is not None
    rest = as_user(admin).get("/leads", cursor=page["next_cursor"]).json()
    assert len(rest["items"]) == 5
    assert rest["next_cursor"] is None


def test_page_size_above_the_maximum_is_refused_with_the_maximum(admin, settings):
    settings.LEADFLOW_API_MAX_PAGE_SIZE = 20
    body = problem(as_user(admin).get("/leads", limit="21"), 422, "invalid_filter")
    assert body["errors"] == {"limit": "must be a whole number from 1 to 20; ask for more pages with cursor."}
    assert as_user(admin).get("/leads", limit="20").status_code == 200


@pytest.mark.parametrize("limit", ["0", "-1", "abc", "1.5", "²", "9" * 5000])
def test_page_size_that_is_not_a_whole_number_in_range_is_refused(admin, limit):
    body = problem(as_user(admin).get("/leads", limit=limit), 422, "invalid_filter")
    assert "limit" in body["errors"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"sort": "password"}, "sort"),
        ({"sort": "-email_key"}, "sort"),
        ({"stage": "won"}, "stage"),
        ({"owner": "everyone"}, "owner"),
        ({"owner": "99999999999999999999999"}, "owner"),
        ({"score_min": "high"}, "score_min"),
        ({"created_from": "yesterday"}, "created_from"),
        ({"cursor": "not-a-cursor"}, "cursor"),
        ({"email": "ana@example.com"}, "email"),
        ({"is_superuser": "1"}, "is_superuser"),
        ({"q": "x" * 201}, "q"),
    ],
)
def test_filters_and_sorts_that_are_not_allowed_are_named(admin, params, field):
    body = problem(as_user(admin).call("GET", "/leads", query=params), 422, "invalid_filter")
    assert field in body["errors"]


@pytest.mark.parametrize(
    "params",
    [
        {"q": "a\U0010ffff"},
        {"q": "a\ud7ff"},
        {"q": "99999999999999999999999"},
        {"score_min": "99999999999999999999999"},
        {"created_to": "9999-12-31"},
        {"created_from": "0001-01-01"},
    ],
)
def test_extreme_filter_values_answer_without_error(admin, params):
    make_lead()
    assert as_user(admin).call("GET", "/leads", query=params).status_code == 200
