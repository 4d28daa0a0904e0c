"""Idempotency-Key: a retried POST replays the first answer and acts once."""

import threading

import pytest
from django.db import close_old_connections, connection

from leadflow.integrations.models import IdempotencyRecord
from leadflow.leads.models import EventKind, Lead, TimelineEvent
from tests.api.conftest import ApiClient, as_user, problem
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db


def test_retry_with_the_same_key_replays_the_first_answer_and_creates_once(alice):
    client = as_user(alice)
    headers = {"Idempotency-Key": "create-ana-1"}
    first = client.post("/leads", {"email": "ana@example.com"}, headers=headers)
    again = client.post("/leads", {"email": "ana@example.com"}, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Lead.objects.count() == 1
    assert TimelineEvent.objects.count() == 1


def test_without_a_key_the_same_create_updates_the_lead_the_second_time(alice):
    client = as_user(alice)
    assert client.post("/leads", {"email": "ana@example.com"}).status_code == 201
    assert client.post("/leads", {"email": "ana@example.com"}).json()["created"] is False


def test_retried_note_is_added_once(alice):
    lead = make_lead(owner=alice)
    client = as_user(alice)
    for _ in range(3):
        response = client.post(f"/leads/{lead.pk}/notes", {"text": "called back"}, headers={"Idempotency-Key": "n1"})
        assert response.status_code == 201
    assert lead.events.filter(kind=EventKind.NOTE).count() == 1


def test_same_key_with_another_body_is_refused_and_does_nothing(alice):
    client = as_user(alice)
    client.post("/leads", {"email": "ana@example.com"}, headers={"Idempotency-Key": "k"})
    response = client.post("/leads", {"email": "bo@example.com"}, headers={"Idempotency-Key": "k"})
    body = problem(response, 422, "idempotency_key_reused")
    assert "different body" in body["detail"]
    assert list(Lead.objects.values_list("email", flat=True)) == ["ana@example.com"]


def test_same_key_on_another_endpoint_is_refused(alice):
    lead = make_lead(owner=alice)
    client = as_user(alice)
    client.post(f"/leads/{lead.pk}/notes", {"text": "x"}, headers={"Idempotency-Key": "k"})
    problem(
        client.post(f"/leads/{lead.pk}/stage", {"text": "x"}, headers={"Idempotency-Key": "k"}),
        422,
        "idempotency_key_reused",
    )


def test_keys_belong_to_their_user(alice, bob, east):
    lead = make_lead(team=east)
    as_user(alice).post(f"/leads/{lead.pk}/notes", {"text": "x"}, headers={"Idempotency-Key": "shared"})
    response = as_user(bob).post(f"/leads/{lead.pk}/notes", {"text": "x"}, headers={"Idempotency-Key": "shared"})
    assert response.status_code == 201
    assert "Idempotent-Replayed" not in response
    assert lead.events.filter(kind=EventKind.NOTE).count() == 2


def test_an_error_answer_is_replayed_too(alice):
    client = as_user(alice)
    first = client.post("/leads", {"email": "nope"}, headers={"Idempotency-Key": "bad"})
    again = client.post("/leads", {"email": "nope"}, headers={"Idempotency-Key": "bad"})
    problem(again, 422, "invalid")
    assert again.json() == first.json()


def test_replayed_update_does_not_turn_into_a_conflict(alice):
    lead = make_lead(owner=alice)
    client = as_user(alice)
    headers = {"If-Match": '"1"', "Idempotency-Key": "edit-1"}
    first = client.patch(f"/leads/{lead.pk}", {"title": "CTO"}, headers=headers)
    again = client.patch(f"/leads/{lead.pk}", {"title": "CTO"}, headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json()["version"] == 2
    assert Lead.objects.get(pk=lead.pk).version == 2


def test_key_is_not_used_up_by_a_request_that_failed_authentication(alice):
    as_user(alice, "read").post("/leads", {"email": "ana@example.com"}, headers={"Idempotency-Key": "k"})
    assert IdempotencyRecord.objects.count() == 0
    assert (
        as_user(alice).post("/leads", {"email": "ana@example.com"}, headers={"Idempotency-Key": "k"}).status_code == 201
    )


@pytest.mark.skipif(
    connection.vendor == "sqlite" and connection.settings_dict["TEST"]["NAME"] in (None, ":memory:"),
    reason="in-memory SQLite's shared cache refuses concurrent writers instead of waiting",
)
@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicates_act_once(alice):
    lead = make_lead(owner=alice)
    client_token = as_user(alice).token
    start = threading.Barrier(4)
    statuses: list[int] = []

    def send():
        try:
            start.wait()
            response = ApiClient(client_token).post(
                f"/leads/{lead.pk}/notes", {"text": "once"}, headers={"Idempotency-Key": "race"}
            )
            statuses.append(response.status_code)
        finally:
            close_old_connections()
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [201, 201, 201, 201]
    assert lead.events.filter(kind=EventKind.NOTE).count() == 1
    assert IdempotencyRecord.objects.get().status_code == 201
