"""Changes to users and API tokens."""

from __future__ import annotations

import secrets
import time
from functools import cache

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from leadflow.accounts.models import ApiToken, Role, Scope, Team, User, hash_token
from leadflow.lib.compiled import CompiledSelect


class AccountError(Exception):
    """A requested account change that cannot be made; `code` names why."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def create_user(
    *,
    username: str,
    password: str | None = None,
    role: str = Role.REP,
    team: Team | None = None,
    email: str = "",
    first_name: str = "",
    last_name: str = "",
) -> User:
    """Create a user with a role; admins also get Django's staff and superuser flags."""
    if role not in Role.values:
        raise AccountError("invalid_role", f"Unknown role {role!r}; use one of {Role.values}.")
    if User.objects.filter(username=username).exists():
        raise AccountError("exists", f"A user named {username!r} already exists.")
    is_admin = role == Role.ADMIN
    user = User(
        username=username,
        role=role,
        team=team,
        email=email,
        first_name=first_name,
        last_name=last_name,
        is_staff=is_admin,
        is_superuser=is_admin,
    )
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.save()
    return user


def parse_scopes(raw: str | list[str]) -> list[str]:
    """Return scopes from 'read,write' or a list; unknown scopes are an error."""
    items = raw.split(",") if isinstance(raw, str) else raw
    scopes = sorted({item.strip() for item in items if item.strip()})
    unknown = [scope for scope in scopes if scope not in Scope.values]
    if unknown or not scopes:
        raise AccountError("invalid_scope", f"Scopes must be some of {Scope.values}; got {unknown or 'none'}.")
    return scopes


def create_token(*, user: User, scopes: list[str], name: str = "") -> tuple[ApiToken, str]:
    """Create a token and return it with its secret, which is shown this once only."""
    raw = ApiToken.PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, key_hash=hash_token(raw), hint=raw[:10], scopes=scopes)
    return token, raw


def revoke_token(*, token: ApiToken) -> ApiToken:
    """Revoke a token; it stops authenticating at once in this process, and in every other web
    process within LEADFLOW_API_TOKEN_CACHE_SECONDS."""
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db()
    _recent_tokens.pop(token.key_hash, None)
    return token


# Tokens this process found lately, by hash: when it read them, and the token's and its user's columns.
_recent_tokens: dict[str, tuple[float, tuple]] = {}
MAX_RECENT_TOKENS = 1000


def authenticate_token(raw: str) -> ApiToken | None:
    """Return the active token matching `raw`, with its user loaded, or None.

    A token found is trusted for LEADFLOW_API_TOKEN_CACHE_SECONDS without reading it
    again, so API requests cost no token query; a token never found is read every time.
    """
    if not raw.startswith(ApiToken.PREFIX) or len(raw) > 200:
        return None
    key_hash = hash_token(raw)
    row = _active_token_row(key_hash)
    if row is None:
        return None
    token = _token_from_row(row)
    now = timezone.now()
    # Writing on every request would serialise API traffic; a minute's precision is enough.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        _note_use(key_hash, now)
    return token


def _note_use(key_hash: str, when) -> None:
    """Keep the use just written in the remembered row, so the next request does not write it again."""
    recent = _recent_tokens.get(key_hash)
    if recent is not None:
        position = _token_columns()[0].index("last_used_at")
        row = recent[1]
        _recent_tokens[key_hash] = (recent[0], (*row[:position], when, *row[position + 1 :]))


def _active_token_row(key_hash: str) -> tuple | None:
    keep = settings.LEADFLOW_API_TOKEN_CACHE_SECONDS
    now = time.time()
    recent = _recent_tokens.get(key_hash)
    # A clock set back counts as expired, so a token is never trusted for longer than `keep`.
    if recent is not None and 0 <= now - recent[0] < keep:
        return recent[1]
    rows = _token_lookup().rows(key_hash=key_hash)
    if not rows:
        _recent_tokens.pop(key_hash, None)
        return None
    if keep > 0:
        if len(_recent_tokens) >= MAX_RECENT_TOKENS:
            _recent_tokens.clear()
        _recent_tokens[key_hash] = (now, rows[0])
    return rows[0]


@cache
def _token_columns() -> tuple[list[str], list[str]]:
    token_fields = [field.attname for field in ApiToken._meta.concrete_fields]
    user_fields = [field.attname for field in User._meta.concrete_fields]
    return token_fields, user_fields


@cache
def _token_lookup() -> CompiledSelect:
    token_fields, user_fields = _token_columns()
    columns = [*token_fields, *(f"user__{name}" for name in user_fields)]
    # A look-up by a unique key: its plan holds however many tokens there are, so it is prepared.
    return CompiledSelect(
        lambda key_hash: ApiToken.objects.active().filter(key_hash=key_hash).order_by().values_list(*columns)[:1],
        prepared=True,
    )


def _token_from_row(row: tuple) -> ApiToken:
    """Return a new token and user from their columns: each request gets its own instances."""
    token_fields, user_fields = _token_columns()
    using = _token_lookup().using
    token = ApiToken.from_db(using, token_fields, row[: len(token_fields)])
    token.user = User.from_db(using, user_fields, row[len(token_fields) :])
    return token
