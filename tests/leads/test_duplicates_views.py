"""The Possible duplicates page: only pairs whose two leads you can see; merge and dismiss."""

from __future__ import annotations

import pytest
from django.test import Client

from leadflow.leads.duplicates import find_duplicates_of
from leadflow.leads.models_duplicates import DuplicatePair, PairStatus
from tests.conftest import PASSWORD, make_lead

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.fixture
def pair(alice) -> DuplicatePair:
    make_lead(owner=alice, first_name="John", last_name="Smith", email="john@acme.example")
    other = make_lead(owner=alice, first_name="Jon", last_name="Smith", email="j.smith@acme.example")
    return find_duplicates_of(other)[0]


def test_owner_sees_the_pair_with_score_reasons_and_merge_link(alice, pair):
    html = client_for(alice).get("/duplicates/").content.decode()
    assert "John Smith" in html and "Jon Smith" in html
    assert f"{pair.score}%" in html
    assert "Similar name at the same company" in html
    assert f'href="/leads/{pair.lead_a_id}/merge/?other={pair.lead_b_id}"' in html


def test_merge_link_opens_the_comparison_of_the_two_leads(alice, pair):
    response = client_for(alice).get(f"/leads/{pair.lead_a_id}/merge/?other={pair.lead_b_id}")
    assert response.status_code == 200
    assert "Merge two leads" in response.content.decode()


@pytest.mark.parametrize("persona", ["admin", "marketing", "manager", "bob"])
def test_people_who_see_both_leads_see_the_pair(persona, request, pair, east):
    html = client_for(request.getfixturevalue(persona)).get("/duplicates/").content.decode()
    if persona == "bob":
        assert "John Smith" not in html
        assert "No possible duplicates" in html
    else:
        assert "Jon Smith" in html


def test_outsider_sees_no_pair_and_cannot_dismiss_it(carol, pair):
    client = client_for(carol)
    html = client.get("/duplicates/").content.decode()
    assert "Smith" not in html
    assert client.post(f"/duplicates/{pair.pk}/dismiss/").status_code == 404
    pair.refresh_from_db()
    assert pair.status == PairStatus.OPEN


def test_pair_with_one_lead_out_of_sight_is_hidden(alice, bob):
    mine = make_lead(owner=alice, first_name="Ann", last_name="Lee", email="ann@wonka.example")
    theirs = make_lead(owner=bob, first_name="Anne", last_name="Lee", email="anne@wonka.example")
    pair = find_duplicates_of(theirs)[0]
    client = client_for(alice)
    assert "Ann Lee" not in client.get("/duplicates/").content.decode()
    assert client.post(f"/duplicates/{pair.pk}/dismiss/").status_code == 404
    assert mine.pk in (pair.lead_a_id, pair.lead_b_id)


def test_dismiss_hides_the_pair_for_good(alice, pair):
    client = client_for(alice)
    response = client.post(f"/duplicates/{pair.pk}/dismiss/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    assert "marked as different people" in response.content.decode()
    pair.refresh_from_db()
    assert (pair.status, pair.decided_by_id) == (PairStatus.DISMISSED, alice.pk)
    find_duplicates_of(pair.lead_b)
    assert "Jon Smith" not in client.get("/duplicates/").content.decode()
    assert client.post(f"/duplicates/{pair.pk}/dismiss/").status_code == 404


def test_dismiss_without_javascript_redirects_back_with_a_message(alice, pair):
    response = client_for(alice).post(f"/duplicates/{pair.pk}/dismiss/", follow=True)
    assert response.redirect_chain == [("/duplicates/", 302)]
    assert "marked as different people" in response.content.decode()


def test_merged_pair_leaves_the_list(alice, pair):
    from leadflow.leads import services

    services.merge_leads(winner=pair.lead_a, loser=pair.lead_b, actor=alice)
    assert "No possible duplicates" in client_for(alice).get("/duplicates/").content.decode()


def test_dismiss_needs_a_post(alice, pair):
    assert client_for(alice).get(f"/duplicates/{pair.pk}/dismiss/").status_code == 405


def test_signed_out_visitor_is_sent_to_sign_in(db):
    assert Client().get("/duplicates/")["Location"].startswith("/accounts/login/")


def test_pages_of_pairs_follow_on(admin, settings):
    settings.LEADFLOW_PAGE_SIZE = 2
    names = ["Adams", "Baker", "Clark", "Davis", "Evans"]
    for name in names:
        make_lead(first_name="Pat", last_name=name, email=f"pat.{name.lower()}@one.example")
        find_duplicates_of(make_lead(first_name="Pat", last_name=name, email=f"pat.{name.lower()}@two.example"))
    assert DuplicatePair.objects.count() == 5
    client = client_for(admin)
    seen: list[str] = []
    url = "/duplicates/"
    for _ in range(4):
        response = client.get(url)
        seen += [name for name in names if f"Pat {name}" in response.content.decode()]
        after = response.context["next_after"]
        if not after:
            break
        url = f"/duplicates/?after={after}"
    assert sorted(seen) == names
    assert client.get("/duplicates/?after=garbage\x00").status_code == 200
