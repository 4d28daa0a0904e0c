"""The settings page links each person to what they may configure, and nothing else."""

from __future__ import annotations

import pytest

from tests.conftest import PASSWORD


def _links(client, user) -> str:
    client.login(username=user.username, password=PASSWORD)
    response = client.get("/settings/")
    return response


@pytest.mark.django_db
def test_admin_sees_every_area(client, admin):
    page = _links(client, admin).content.decode()
    for title in ("Qualification", "Scoring rules", "Predictive score", "Assignment rules", "Web forms",
                  "Email templates", "Email delivery"):  # fmt: skip
        assert title in page


@pytest.mark.django_db
def test_a_manager_sees_routing_but_not_marketing_areas(client, manager):
    page = _links(client, manager).content.decode()
    assert "Assignment rules" in page and "Teams and availability" in page
    assert "Scoring rules" not in page and "Qualification" not in page


@pytest.mark.django_db
def test_marketing_sees_scoring_and_email_but_not_routing(client, marketing):
    page = _links(client, marketing).content.decode()
    assert "Scoring rules" in page and "Email templates" in page
    assert "Assignment rules" not in page


@pytest.mark.django_db
def test_a_rep_has_nothing_to_configure(client, alice):
    assert _links(client, alice).status_code == 403


@pytest.mark.django_db
def test_every_page_shows_unread_alerts(client, alice):
    from leadflow.routing.services import notify

    notify(user=alice, subject="Lead waiting", body="Dana is waiting for a call.")
    client.login(username="alice", password=PASSWORD)
    page = client.get("/inbox/").content.decode()
    assert 'aria-label="Alerts: 1 unread"' in page
