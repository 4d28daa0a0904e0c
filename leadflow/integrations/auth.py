"""Personal API tokens on API requests: sent only as 'Authorization: Bearer <token>'."""

from __future__ import annotations

from django.http import HttpRequest
from ninja.security import HttpBearer

from leadflow.accounts.models import ApiToken, Scope
from leadflow.accounts.services import authenticate_token
from leadflow.integrations.problems import Problem

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
_UNSET = object()


def request_token(request: HttpRequest) -> ApiToken | None:
    """Return the active token in the request's Authorization header, looked up once per request."""
    cached = getattr(request, "_leadflow_token", _UNSET)
    if cached is not _UNSET:
        return cached
    token = None
    scheme, _, raw = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and raw.strip():
        token = authenticate_token(raw.strip())
    request._leadflow_token = token
    return token


def required_scope(request: HttpRequest) -> str:
    return Scope.READ if request.method in READ_METHODS else Scope.WRITE


class TokenAuth(HttpBearer):
    """Bearer token with scope 'read' for GET and 'write' for every change."""

    def __call__(self, request: HttpRequest) -> ApiToken | None:
        token = request_token(request)
        if token is None:
            return None
        scope = required_scope(request)
        if not token.allows(scope):
            raise Problem(
                403,
                "insufficient_scope",
                f"This token lacks the '{scope}' scope; create a token with scopes read,write to make changes.",
                headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
            )
        request.user = token.user
        return token

    def authenticate(self, request: HttpRequest, token: str) -> ApiToken | None:
        return self(request)
