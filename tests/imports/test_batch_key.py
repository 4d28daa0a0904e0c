"""record_leads_batch(key=...): an external id in a custom field identifies a person."""

import pytest

from leadflow.leads.models import Lead
from leadflow.leads.services.batch import record_leads_batch
from tests.conftest import make_lead


def keyed(pid: str, **custom) -> dict:
    return {"custom": {"prospect_id": pid, **custom}}


@pytest.mark.django_db
def test_rows_with_only_a_key_are_created_and_matched_again_by_it():
    first = record_leads_batch(
        rows=[keyed("p-1", visits=3), keyed("p-2"), keyed("p-1", city="Pune")], key="prospect_id"
    )
    assert [o.action for o in first] == ["created", "created", "duplicate"]
    again = record_leads_batch(rows=[keyed("p-2", visits=9), keyed("p-3")], key="prospect_id")
    assert [o.action for o in again] == ["updated", "created"]
    assert again[0].before["custom"] == {"prospect_id": "p-2"}
    assert Lead.objects.count() == 3
    lead = Lead.objects.get(pk=first[0].lead.pk)
    assert lead.custom == {"prospect_id": "p-1", "visits": 3, "city": "Pune"}


@pytest.mark.django_db
def test_without_a_key_an_anonymous_row_is_still_refused():
    outcomes = record_leads_batch(rows=[keyed("p-1")])
    assert outcomes[0].action == "error"
    assert "at least an email" in outcomes[0].error.errors["email"]


@pytest.mark.django_db
def test_key_match_comes_before_email_and_respects_visibility(alice, carol):
    mine = make_lead(owner=alice, email="a@x.example", custom={"prospect_id": "p-9"})
    outcomes = record_leads_batch(
        rows=[{"email": "other@x.example", "custom": {"prospect_id": "p-9"}, "title": "CTO"}], key="prospect_id"
    )
    assert outcomes[0].action == "updated"
    assert outcomes[0].lead.pk == mine.pk
    refused = record_leads_batch(rows=[keyed("p-9", hijack=True)], actor=carol, key="prospect_id")
    assert refused[0].error.code == "duplicate_not_visible"
