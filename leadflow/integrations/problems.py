"""Errors as JSON problem details (RFC 9457): every API error, whatever raised it."""

from __future__ import annotations

import json
import logging
import re
from functools import wraps
from http import HTTPStatus
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseNotAllowed
from django.views.decorators.csrf import csrf_exempt
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.parser import Parser

from leadflow.leads.errors import EditConflict, FieldErrors, LeadError
from leadflow.leads.queries import FilterError

logger = logging.getLogger("leadflow.api")

CONTENT_TYPE = "application/problem+json"
TYPE_PREFIX = "urn:leadflow:problem:"
# Input names the services use that the API spells differently.
FIELD_ALIASES = {"owner": "owner_id"}
# Escapes of UTF-16 surrogates: the only way JSON can carry text no database can store.
SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


class Problem(Exception):
    """An answer other than success, raised from anywhere in an API request."""

    def __init__(
        self,
        status: int,
        code: str,
        detail: str,
        *,
        errors: dict[str, str] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.errors = errors
        self.headers = headers or {}


class MalformedJSON(ValueError):
    """A request body that is not JSON a lead could be made of."""


def problem_response(
    request: HttpRequest,
    status: int,
    code: str,
    detail: str,
    *,
    errors: dict[str, str] | None = None,
    headers: dict[str, str] | None = None,
) -> HttpResponse:
    body: dict[str, Any] = {
        "type": TYPE_PREFIX + code,
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": detail,
        "code": code,
        "instance": request.path,
    }
    if errors:
        body["errors"] = errors
    response = HttpResponse(json.dumps(body), status=status, content_type=CONTENT_TYPE)
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def from_problem(request: HttpRequest, exc: Problem) -> HttpResponse:
    return problem_response(request, exc.status, exc.code, exc.detail, errors=exc.errors, headers=exc.headers)


def from_lead_error(request: HttpRequest, exc: LeadError) -> HttpResponse:
    if isinstance(exc, EditConflict):
        errors = {name: "was changed by someone else since you read the lead." for name in exc.fields}
        return problem_response(request, 412, exc.code, exc.message, errors=errors)
    if isinstance(exc, FieldErrors):
        errors = {FIELD_ALIASES.get(k, k): v for k, v in exc.errors.items()}
        detail = "Some fields need fixing: " + "; ".join(f"{k}: {v}" for k, v in errors.items())
        return problem_response(request, exc.status, exc.code, detail, errors=errors)
    errors = {FIELD_ALIASES.get(exc.field, exc.field): exc.message} if exc.field else None
    return problem_response(request, exc.status, exc.code, exc.message, errors=errors)


def from_filter_error(request: HttpRequest, exc: FilterError) -> HttpResponse:
    return problem_response(request, 422, exc.code, f"These query parameters need fixing: {exc}", errors=exc.errors)


def _field_name(loc: tuple | list) -> str:
    # loc is (source, [param name,] field, ...): ("body", "payload", "email") or ("query", "limit").
    parts = [str(part) for part in loc]
    if parts and parts[0] == "body":
        parts = parts[2:] if len(parts) > 1 else []
        return ".".join(parts) or "body"
    return ".".join(parts[1:]) or parts[0]


def _message(error: dict) -> str:
    kind = error.get("type", "")
    if kind == "extra_forbidden":
        return "is not a field here; remove it."
    if kind == "missing":
        return "is required."
    if kind == "value_error" and "error" in error.get("ctx", {}):
        return str(error["ctx"]["error"])
    return error.get("msg", "is not valid.") + "."


def from_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors: dict[str, str] = {}
    for error in exc.errors:
        errors.setdefault(_field_name(error.get("loc", ())), _message(error))
    if "body" in errors and request.body == b"":
        errors["body"] = "is required: send a JSON object."
    detail = "Some fields need fixing: " + "; ".join(f"{k}: {v}" for k, v in errors.items())
    return problem_response(request, 422, "invalid", detail, errors=errors)


def from_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    if isinstance(exc, AuthenticationError):
        return problem_response(
            request,
            401,
            "unauthorized",
            "Send a valid personal API token as 'Authorization: Bearer <token>'; "
            "create one under your account's API tokens.",
            headers={"WWW-Authenticate": 'Bearer realm="leadflow"'},
        )
    cause = exc.__cause__
    if exc.status_code == 400 and cause is not None:
        message = str(cause) if isinstance(cause, MalformedJSON) else "the body is not valid JSON."
        return problem_response(request, 400, "malformed_json", f"The request body could not be read: {message}")
    return problem_response(request, exc.status_code, HTTPStatus(exc.status_code).name.lower(), str(exc))


def from_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return problem_response(request, 404, "not_found", "There is nothing at this address that you can see.")


def from_too_big(request: HttpRequest, exc: RequestDataTooBig) -> HttpResponse:
    return problem_response(
        request, 413, "body_too_large", "The request body is larger than this server accepts; send less at a time."
    )


def from_suspicious(request: HttpRequest, exc: SuspiciousOperation) -> HttpResponse:
    return problem_response(request, 400, "bad_request", "The request could not be read; check its query and headers.")


def from_unexpected(request: HttpRequest, exc: Exception) -> HttpResponse:
    logger.exception("API request failed: %s %s", request.method, request.path)
    return problem_response(request, 500, "internal_error", "Something went wrong on our side; nothing was changed.")


def install(api) -> None:
    """Answer every error `api` can meet with problem details."""
    for exc_class, handler in (
        (Exception, from_unexpected),
        (Problem, from_problem),
        (LeadError, from_lead_error),
        (FilterError, from_filter_error),
        (ValidationError, from_validation_error),
        (HttpError, from_http_error),
        (Http404, from_not_found),
        (RequestDataTooBig, from_too_big),
        (SuspiciousOperation, from_suspicious),
    ):
        api.add_exception_handler(exc_class, handler)


def _reject_constant(name: str) -> Any:
    raise MalformedJSON(f"{name} is not a JSON number; send a finite number or null.")


class StrictJSONParser(Parser):
    """Parse bodies as JSON text a database can store: no NaN or Infinity, no lone surrogates."""

    def parse_body(self, request: HttpRequest) -> Any:
        body = request.body
        try:
            data = json.loads(body, parse_constant=_reject_constant)
        except json.JSONDecodeError as error:
            raise MalformedJSON(f"{error.msg} at line {error.lineno}, column {error.colno}.") from None
        except UnicodeDecodeError:
            raise MalformedJSON("it is not UTF-8 text.") from None
        except RecursionError:
            raise MalformedJSON("it is nested too deeply.") from None
        if SURROGATE_ESCAPE.search(body):
            try:
                json.dumps(data, ensure_ascii=False).encode()
            except UnicodeEncodeError:
                raise MalformedJSON("it contains a lone UTF-16 surrogate escape, which is not text.") from None
        return data


@csrf_exempt
def not_found(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
    """Answer addresses under /api/ that name no endpoint."""
    return problem_response(
        request, 404, "not_found", "No endpoint has this address; see /api/docs for the ones there are."
    )


def checked_query(run):
    """Refuse query strings a database cannot take (NUL bytes) or Django will not parse."""

    @wraps(run)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        try:
            params = request.GET
        except SuspiciousOperation as error:
            return from_suspicious(request, error)
        bad = {name[:64]: "contains a NUL byte; remove it." for name, vals in params.lists() if _has_nul(name, vals)}
        if bad:
            return problem_response(
                request, 422, "invalid_filter", "Some query parameters contain NUL bytes.", errors=bad
            )
        return run(request, *args, **kwargs)

    return wrapper


def _has_nul(name: str, values: list[str]) -> bool:
    return "\x00" in name or any("\x00" in value for value in values)


def json_method_not_allowed(view):
    """Turn ninja's plain-text 405 into problem details that name the allowed methods."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        response = view(request, *args, **kwargs)
        if isinstance(response, HttpResponseNotAllowed):
            allowed = response["Allow"]
            return problem_response(
                request,
                405,
                "method_not_allowed",
                f"{request.method} is not allowed here; use {allowed}.",
                headers={"Allow": allowed},
            )
        return response

    return wrapper
