"""Changes to users and API tokens."""

from __future__ import annotations

import secrets

from django.db import transaction
from django.utils import timezone

from leadflow.accounts.models import ApiToken, Role, Scope, Team, User, hash_token


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
    """Revoke a token; a revoked token never authenticates again."""
    with transaction.atomic():
        ApiToken.objects.filter(pk=token.pk, revoked_at__isnull=True).update(revoked_at=timezone.now())
    token.refresh_from_db()
    return token


def authenticate_token(raw: str) -> ApiToken | None:
    """Return the active token matching `raw`, or None."""
    if not raw.startswith(ApiToken.PREFIX) or len(raw) > 200:
        return None
    token = next(iter(ApiToken.objects.active().select_related("user").filter(key_hash=hash_token(raw))[:1]), None)
    if token is None:
        return None
    now = timezone.now()
    # Writing on every request would serialise API traffic; a minute's precision is enough.
    if token.last_used_at is None or (now - token.last_used_at).total_seconds() > 60:
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token
