import datetime as dt

import pytest
import time_machine
from django.db import connection
from django.test import override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leadflow.accounts.models import ApiToken, User
from leadflow.accounts.services import AccountError, authenticate_token, create_token, parse_scopes, revoke_token
from tests.conftest import PASSWORD


@pytest.mark.django_db
def test_token_is_stored_hashed_and_authenticates_until_revoked(alice):
    token, raw = create_token(user=alice, scopes=["read"])
    assert raw not in token.key_hash
    assert authenticate_token(raw).user == alice
    revoke_token(token=token)
    assert authenticate_token(raw) is None


@pytest.mark.django_db
def test_token_of_deactivated_user_stops_working(alice):
    _, raw = create_token(user=alice, scopes=["read"])
    alice.is_active = False
    alice.save()
    assert authenticate_token(raw) is None


@pytest.mark.parametrize("raw", ["", "read,admin", "delete"])
def test_unknown_or_missing_scopes_are_refused(raw):
    with pytest.raises(AccountError, match="Scopes must be"):
        parse_scopes(raw)


@pytest.mark.django_db
def test_user_creates_a_token_on_the_page_and_sees_it_once(client, alice):
    client.login(username="alice", password=PASSWORD)
    response = client.post("/accounts/tokens/", {"name": "site sync", "scopes": ["read", "write"]})
    token = ApiToken.objects.get(user=alice)
    raw = response.context["new_token"]
    assert raw.startswith("lf_") and token.scopes == ["read", "write"]
    assert raw in response.content.decode()
    assert raw not in client.get("/accounts/tokens/").content.decode()


@pytest.mark.django_db
def test_user_cannot_revoke_someone_elses_token(client, alice, bob):
    token, _ = create_token(user=bob, scopes=["read"])
    client.login(username="alice", password=PASSWORD)
    assert client.post(f"/accounts/tokens/{token.pk}/revoke/").status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.django_db
def test_cli_token_create_prints_a_working_token(alice, capsys):
    from django.core.management import call_command

    call_command("token", "create", "alice", "--scopes", "read,write")
    raw = capsys.readouterr().out.strip()
    assert authenticate_token(raw).user == alice


def _revoke_elsewhere(token: ApiToken) -> None:
    """Revoke as another process would (the CLI, another web worker): straight in the database."""
    ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())


@pytest.mark.django_db
@override_settings(LEADFLOW_API_TOKEN_CACHE_SECONDS=5)
def test_token_revoked_by_another_process_stops_working_within_the_cache_time(alice):
    token, raw = create_token(user=alice, scopes=["read"])
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False) as traveller:
        assert authenticate_token(raw) is not None
        _revoke_elsewhere(token)
        traveller.shift(4)
        assert authenticate_token(raw) is not None
        traveller.shift(1)
        assert authenticate_token(raw) is None


@pytest.mark.django_db
@override_settings(LEADFLOW_API_TOKEN_CACHE_SECONDS=5)
def test_user_deactivated_by_another_process_is_refused_within_the_cache_time(alice):
    _, raw = create_token(user=alice, scopes=["read"])
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False) as traveller:
        assert authenticate_token(raw).user.is_active is True
        User.objects.filter(pk=alice.pk).update(is_active=False)
        traveller.shift(5)
        assert authenticate_token(raw) is None


@pytest.mark.django_db
@override_settings(LEADFLOW_API_TOKEN_CACHE_SECONDS=0)
def test_without_a_cache_time_a_revocation_elsewhere_takes_effect_on_the_next_request(alice):
    token, raw = create_token(user=alice, scopes=["read"])
    assert authenticate_token(raw) is not None
    _revoke_elsewhere(token)
    assert authenticate_token(raw) is None


@pytest.mark.django_db
@override_settings(LEADFLOW_API_TOKEN_CACHE_SECONDS=5)
def test_a_token_found_lately_needs_no_query_and_each_request_gets_its_own_user(alice):
    _, raw = create_token(user=alice, scopes=["read", "write"])
    first = authenticate_token(raw)
    with CaptureQueriesContext(connection) as queries:
        second = authenticate_token(raw)
    assert len(queries) == 0
    assert second.user == alice
    assert second.user is not first.user
    assert second.allows("write") is True


@pytest.mark.django_db
@override_settings(LEADFLOW_API_TOKEN_CACHE_SECONDS=5)
def test_a_clock_set_back_does_not_extend_the_trust_in_a_token(alice):
    token, raw = create_token(user=alice, scopes=["read"])
    with time_machine.travel(dt.datetime(2026, 3, 2, 9, 0, tzinfo=dt.UTC), tick=False) as traveller:
        assert authenticate_token(raw) is not None
        _revoke_elsewhere(token)
        traveller.shift(-60)
        assert authenticate_token(raw) is None
