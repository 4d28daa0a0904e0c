"""Leads that arrive by webhook or bulk API are checked for duplicates by the real task queue."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from leadflow.leads.models_duplicates import DuplicatePair
from tests.api.conftest import as_user
from tests.conftest import make_lead
from tests.integrations.conftest import google_payload, post_google

pytestmark = pytest.mark.django_db(transaction=True)


def run_worker() -> None:
    call_command("db_worker", batch=True, queue_name="*", startup_delay=False, verbosity=0)


def test_google_lead_is_checked_for_duplicates_in_the_background(google_source, alice):
    known = make_lead(owner=alice, first_name="Jon", last_name="Smith", email="jon@acme.example")
    columns = [
        {"column_id": "FULL_NAME", "string_value": "John Smith"},
        {"column_id": "EMAIL", "string_value": "john.smith@acme.example"},
    ]
    assert post_google(google_source, google_payload(google_source, user_column_data=columns)).status_code == 200
    assert DuplicatePair.objects.count() == 0
    run_worker()
    pair = DuplicatePair.objects.get()
    assert pair.lead_a_id == known.pk


def test_bulk_leads_are_checked_for_duplicates_in_the_background(alice):
    make_lead(owner=alice, first_name="Maria", last_name="Lopez", email="maria@gmail.com", phone="+1 415 555 0101")
    items = [
        {"first_name": "María", "last_name": "López", "email": "mlopez@yahoo.com", "phone": "+1 415 555 0101"},
        {"first_name": "Unrelated", "last_name": "Person", "email": "unrelated@example.com"},
    ]
    assert as_user(alice).post("/leads/bulk", {"items": items}).status_code == 200
    run_worker()
    assert [reason["code"] for reason in DuplicatePair.objects.get().reasons] == ["phone"]


def test_dry_run_schedules_nothing(alice):
    as_user(alice).post("/leads/bulk", {"items": [{"email": "dry@example.com"}], "dry_run": True})
    from django_tasks_db.models import DBTaskResult

    assert DBTaskResult.objects.count() == 0
