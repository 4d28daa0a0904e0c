"""Personal API tokens: only in the Authorization header, with the scope the request needs."""

import pytest
from django.test import Client

from leadflow.accounts.models import ApiToken
from leadflow.accounts.services import create_token, revoke_token
from leadflow.leads.models import Lead
from tests.api.conftest import ApiClient, as_user, problem
from tests.conftest import PASSWORD, make_lead

pytestmark = pytest.mark.django_db


def test_request_without_a_token_is_refused_with_a_bearer_challenge(alice):
    response = ApiClient(None).get("/leads")
    body = problem(response, 401, "unauthorized")
    assert "Authorization: Bearer" in body["detail"]
    assert response["WWW-Authenticate"].startswith("Bearer")


@pytest.mark.parametrize("header", ["Bearer lf_not-a-real-token", "Bearer ", "Bearer", "Token lf_x", "lf_x"])
def test_unknown_or_badly_sent_token_is_refused(alice, header):
    response = ApiClient(None).call("GET", "/leads", headers={"Authorization": header})
    problem(response, 401, "unauthorized")


def test_revoked_token_stops_working(alice):
    token, raw = create_token(user=alice, scopes=["read"])
    client = ApiClient(raw)
    assert client.get("/leads").status_code == 200
    revoke_token(token=token)
    problem(client.get("/leads"), 401, "unauthorized")


def test_token_of_a_deactivated_user_stops_working(alice):
    client = as_user(alice)
    alice.is_active = False
    alice.save()
    problem(client.get("/leads"), 401, "unauthorized")


@pytest.mark.parametrize("name", ["token", "access_token", "api_key", "key"])
def test_token_in_the_query_string_is_not_accepted(alice, name):
    _, raw = create_token(user=alice, scopes=["read"])
    response = Client().get("/api/v1/leads", {name: raw})
    problem(response, 401, "unauthorized")


def test_token_in_a_cookie_is_not_accepted(alice):
    _, raw = create_token(user=alice, scopes=["read"])
    client = Client()
    client.cookies["token"] = raw
    client.cookies["Authorization"] = f"Bearer {raw}"
    problem(client.get("/api/v1/leads"), 401, "unauthorized")


def test_signed_in_browser_session_is_not_an_api_credential(alice):
    client = Client()
    client.login(username="alice", password=PASSWORD)
    problem(client.get("/api/v1/leads"), 401, "unauthorized")
    problem(
        client.post("/api/v1/leads", {"email": "x@example.com"}, content_type="application/json"), 401, "unauthorized"
    )
    assert Lead.objects.count() == 0


def test_read_only_token_can_read_but_not_write(alice):
    lead = make_lead(owner=alice)
    client = as_user(alice, "read")
    assert client.get(f"/leads/{lead.pk}").status_code == 200
    response = client.post(f"/leads/{lead.pk}/notes", {"text": "hello"})
    body = problem(response, 403, "insufficient_scope")
    assert "'write'" in body["detail"]
    assert 'scope="write"' in response["WWW-Authenticate"]
    assert lead.events.count() == 1


def test_read_only_token_cannot_create_even_with_an_idempotency_key(alice):
    client = as_user(alice, "read")
    response = client.post("/leads", {"email": "new@example.com"}, headers={"Idempotency-Key": "k1"})
    problem(response, 403, "insufficient_scope")
    assert Lead.objects.count() == 0


def test_write_only_token_cannot_read(alice):
    lead = make_lead(owner=alice)
    problem(as_user(alice, "write").get(f"/leads/{lead.pk}"), 403, "insufficient_scope")


def test_token_use_is_noted_without_a_write_on_every_request(alice):
    client = as_user(alice)
    client.get("/leads")
    first_use = ApiToken.objects.get(user=alice).last_used_at
    assert first_use is not None
    client.get("/leads")
    assert ApiToken.objects.get(user=alice).last_used_at == first_use


def test_docs_and_spec_are_public(db):
    assert Client().get("/api/openapi.json").status_code == 200
    assert Client().get("/api/docs").status_code == 200
