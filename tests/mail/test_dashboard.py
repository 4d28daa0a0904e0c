"""The /mail/ page: outbox counts, failures with retry, the suppression list."""

import pytest
from django.utils import timezone

from leadflow.mail.models import OutboxMessage, Status, Suppression
from leadflow.mail.services import queue_email
from tests.conftest import PASSWORD, make_lead

pytestmark = pytest.mark.django_db


def _login(client, user):
    client.login(username=user.username, password=PASSWORD)


def test_admin_sees_counts_and_empty_states(client, admin):
    _login(client, admin)
    response = client.get("/mail/")
    assert response.status_code == 200
    assert b"No failures" in response.content
    assert b"No suppressed addresses" in response.content


def test_reps_and_managers_may_not_see_it(client, alice, manager):
    for user in (alice, manager):
        _login(client, user)
        assert client.get("/mail/").status_code == 403


def test_anonymous_is_sent_to_sign_in(client):
    assert client.get("/mail/").status_code == 302


def test_a_failure_shows_its_error_and_can_be_retried(client, marketing):
    row = queue_email(lead=make_lead(), key="f", kind="marketing", subject="Broken", html="", text="x")
    OutboxMessage.objects.filter(pk=row.pk).update(
        status=Status.FAILED, attempts=8, last_error="Gave up after 8 attempts. 451 busy"
    )
    _login(client, marketing)
    page = client.get("/mail/")
    assert b"Gave up after 8 attempts. 451 busy" in page.content
    response = client.post(f"/mail/outbox/{row.pk}/retry/", headers={"HX-Request": "true"})
    assert response.status_code == 200
    row.refresh_from_db()
    assert row.status == Status.QUEUED and row.attempts == 0 and row.last_error == ""
    assert row.next_attempt_at <= timezone.now()


def test_a_sent_message_cannot_be_retried(client, admin):
    row = queue_email(lead=make_lead(), key="s", kind="marketing", subject="Done", html="", text="x")
    OutboxMessage.objects.filter(pk=row.pk).update(status=Status.SENT)
    _login(client, admin)
    response = client.post(f"/mail/outbox/{row.pk}/retry/", headers={"HX-Request": "true"})
    assert b"only failed messages can be sent again" in response.content


def test_add_search_and_remove_a_manual_suppression(client, admin):
    Suppression.objects.create(email="bounced@example.com", reason="bounced")
    _login(client, admin)
    response = client.post("/mail/suppressions/", {"email": "Stop@Example.com", "note": "asked by phone"})
    assert b"will get no more email" in response.content
    row = Suppression.objects.get(email="stop@example.com")
    assert row.reason == "manual" and row.created_by == admin
    assert (
        b"is already on the suppression list"
        in client.post("/mail/suppressions/", {"email": "stop@example.com"}).content
    )
    assert b"not a valid email" in client.post("/mail/suppressions/", {"email": "nope"}).content
    found = client.get("/mail/?q=stop&part=suppressions", headers={"HX-Request": "true"})
    assert b"stop@example.com" in found.content and b"bounced@example.com" not in found.content
    none = client.get("/mail/?q=zzz&part=suppressions", headers={"HX-Request": "true"})
    assert "No suppressed address matches “zzz”".encode() in none.content
    bounced = Suppression.objects.get(email="bounced@example.com")
    assert b"only addresses added by hand" in client.post(f"/mail/suppressions/{bounced.pk}/remove/").content
    client.post(f"/mail/suppressions/{row.pk}/remove/")
    assert not Suppression.objects.filter(email="stop@example.com").exists()


def test_reps_cannot_change_the_suppression_list(client, alice):
    _login(client, alice)
    assert client.post("/mail/suppressions/", {"email": "x@example.com"}).status_code == 403
    assert not Suppression.objects.exists()
