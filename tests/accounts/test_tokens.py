import pytest

from leadflow.accounts.models import ApiToken
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
