"""Idempotency-Key on POST and PATCH: a retry replays the first answer instead of acting twice."""

from __future__ import annotations

import hashlib
from functools import wraps
from typing import Any

from django.core.exceptions import RequestDataTooBig
from django.db import IntegrityError, transaction
from django.http import HttpRequest, HttpResponse

from leadflow.integrations import problems
from leadflow.integrations.auth import request_token
from leadflow.integrations.models import IdempotencyRecord

HEADER = "Idempotency-Key"
METHODS = frozenset({"POST", "PATCH"})
MAX_KEY_LENGTH = 255


def request_digest(request: HttpRequest, body: bytes) -> str:
    """Return a hash of what the request asks for: method, address, query and body."""
    digest = hashlib.sha256()
    for part in (request.method or "", request.path, request.META.get("QUERY_STRING", "")):
        digest.update(part.encode("utf-8", "surrogateescape") + b"\n")
    digest.update(body)
    return digest.hexdigest()


def key_problem(key: str) -> str | None:
    """Return what is wrong with an Idempotency-Key value, or None when it can be used."""
    if not key or len(key) > MAX_KEY_LENGTH:
        return f"must be 1 to {MAX_KEY_LENGTH} characters long."
    if any(not "!" <= ch <= "~" for ch in key):
        return "must be printable ASCII without spaces, such as a UUID."
    return None


def idempotent(run):
    """Wrap an operation so that a request with an Idempotency-Key is acted on once per key."""

    @wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        key = request.headers.get(HEADER)
        if key is None or request.method not in METHODS:
            return run(request, *args, **kwargs)
        token = request_token(request)
        if token is None or not token.allows("write"):
            return run(request, *args, **kwargs)
        problem = key_problem(key)
        if problem:
            return problems.problem_response(
                request, 400, "invalid_idempotency_key", f"The {HEADER} header {problem}", errors={HEADER: problem}
            )
        try:
            body = request.body
        except RequestDataTooBig as error:
            return problems.from_too_big(request, error)
        digest = request_digest(request, body)
        try:
            return _run_once(run, request, args, kwargs, user=token.user, key=key, digest=digest)
        except Exception as error:
            return problems.from_unexpected(request, error)

    return wrapper


def _run_once(run, request: HttpRequest, args, kwargs, *, user, key: str, digest: str) -> HttpResponse:
    # The record and the action commit together: a crash leaves neither, so a retry acts again.
    with transaction.atomic():
        record, claimed = _claim(request, user=user, key=key, digest=digest)
        if not claimed:
            return _replay(request, record, digest)
        response = run(request, *args, **kwargs)
        if response.status_code >= 500:
            transaction.set_rollback(True)
            return response
        record.status_code = response.status_code
        record.response_body = response.content.decode()
        record.save(update_fields=["status_code", "response_body"])
    return response


def _claim(request: HttpRequest, *, user, key: str, digest: str) -> tuple[IdempotencyRecord, bool]:
    """Insert the key's record, or return the one already there.

    The unique (user, key) constraint does the locking: a concurrent request with
    the same key waits on the insert until the first commits, then replays it.
    """
    try:
        with transaction.atomic():
            record = IdempotencyRecord.objects.create(
                user=user, key=key, method=request.method, path=request.path[:500], request_hash=digest
            )
        return record, True
    except IntegrityError:
        return IdempotencyRecord.objects.get(user=user, key=key), False


def _replay(request: HttpRequest, record: IdempotencyRecord, digest: str) -> HttpResponse:
    if record.request_hash != digest:
        return problems.problem_response(
            request,
            422,
            "idempotency_key_reused",
            f"This {HEADER} was already used for {record.method} {record.path} with a different body; "
            "use a new key for a new request.",
            errors={HEADER: "was used before for a different request."},
        )
    if record.status_code is None:
        return problems.problem_response(
            request, 409, "idempotency_key_in_use", "A request with this key is still being handled; retry shortly."
        )
    content_type = problems.CONTENT_TYPE if record.status_code >= 400 else "application/json; charset=utf-8"
    response = HttpResponse(record.response_body, status=record.status_code, content_type=content_type)
    response["Idempotent-Replayed"] = "true"
    return response
