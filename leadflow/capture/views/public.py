"""The public side of forms: the hosted page, the plain-form post, the embed script and the JSON endpoint."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode

from django.core.exceptions import SuspiciousOperation
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from leadflow.capture import definition, queries, services, tokens
from leadflow.capture.models import Channel, Form
from leadflow.capture.origins import is_allowed_origin, origin_of
from leadflow.capture.views.rendering import field_rows, hidden_values, public_config
from leadflow.integrations.problems import problem_response
from leadflow.leads.errors import FieldErrors
from leadflow.leads.fields import CONTROL_CHARS

MAX_BODY = 64 * 1024
# Hidden source fields, the token, honeypot, consent, channel and a few a browser may add.
EXTRA_FIELDS = 24
VISITOR_COOKIE = "lf_vid"
STATIC = Path(__file__).resolve().parent.parent / "static" / "capture"
CONFIG_MARK = "/*CONFIG*/"
JSON_TYPES = ("application/json", "text/plain")


class BadPost(Exception):
    """A post that cannot be read: too large, too many fields, not text, or of an unknown type."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def _form_or_404(slug: str) -> Form:
    form = queries.public_form(slug)
    if form is None:
        raise Http404("No such form.")
    return form


def read_post(request: HttpRequest, form: Form, *, json_only: bool = False) -> dict[str, Any]:
    """Return the posted fields as {name: value}, or raise BadPost before anything large is parsed."""
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY:
        raise BadPost(413, "body_too_large", f"The form data is larger than {MAX_BODY // 1024} KB; send less.")
    most = len(form.fields) + EXTRA_FIELDS
    content_type = request.content_type or ""
    if content_type in JSON_TYPES or json_only:
        if content_type not in JSON_TYPES:
            raise BadPost(415, "unsupported_media_type", "Send the fields as a JSON object (application/json).")
        return _json_fields(request.body, most)
    if content_type == "application/x-www-form-urlencoded":
        return _urlencoded_fields(request.body, most, request.encoding or "utf-8")
    if content_type == "multipart/form-data":
        try:
            posted = request.POST
        except (SuspiciousOperation, MultiPartParserError):
            raise _too_many(most) from None
        if len(posted) > most:
            raise _too_many(most)
        return {name: posted.getlist(name)[-1] for name in posted}
    raise BadPost(415, "unsupported_media_type", "Send the form as a normal HTML form post or as JSON.")


def _json_fields(body: bytes, most: int) -> dict[str, Any]:
    try:
        data = json.loads(body, parse_constant=_no_constant)
    except (ValueError, RecursionError):
        raise BadPost(400, "malformed_json", "The body is not a JSON object of field names to values.") from None
    if not isinstance(data, dict):
        raise BadPost(400, "malformed_json", "Send a JSON object of field names to values.")
    if len(data) > most:
        raise _too_many(most)
    return data


def _too_many(most: int) -> BadPost:
    return BadPost(413, "too_many_fields", f"The post has too many fields; this form takes at most {most}.")


def _no_constant(name: str) -> Any:
    raise ValueError(name)


def _urlencoded_fields(body: bytes, most: int, encoding: str) -> dict[str, Any]:
    try:
        text = body.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        raise BadPost(400, "not_text", "The form data is not UTF-8 text.") from None
    try:
        pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=most, encoding=encoding, errors="strict")
    except UnicodeDecodeError:
        raise BadPost(400, "not_text", "The form data is not UTF-8 text.") from None
    except ValueError:
        raise _too_many(most) from None
    return dict(pairs)


def _sender(request: HttpRequest, channel: str) -> services.Sender:
    origin = request.headers.get("Origin", "")[:300]
    return services.Sender(
        ip=request.META.get("REMOTE_ADDR") or None,
        user_agent=CONTROL_CHARS.sub("", request.headers.get("User-Agent", "")).replace("\x00", "")[:500],
        origin=origin,
        same_origin=bool(origin) and origin_of(origin) == origin_of(f"{request.scheme}://{request.get_host()}"),
        referer=request.headers.get("Referer", "")[:2000],
        channel=channel,
        visitor_cookie=request.COOKIES.get(VISITOR_COOKIE, "")[:64],
    )


def _no_store(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store"
    return response


@csrf_exempt
@require_http_methods(["GET", "HEAD", "POST"])
def hosted(request: HttpRequest, slug: str) -> HttpResponse:
    """The form on its own page; it also takes posts from the plain HTML snippet, JavaScript or not."""
    form = _form_or_404(slug)
    if not form.is_active:
        return _no_store(render(request, "capture/public_closed.html", {"form": form}, status=404))
    if request.method == "POST":
        return _hosted_post(request, form)
    values = {name: value[:500] for name, value in request.GET.items() if name in _visible_names(form)}
    return _render_form(request, form, values=values, hidden=hidden_values(request), errors={})


def _visible_names(form: Form) -> set[str]:
    return {spec.name for spec in definition.specs_of(form.fields)}


def _render_form(request, form, *, values, hidden, errors, token: str = "", status: int = 200) -> HttpResponse:
    context = {
        "form": form,
        "rows": field_rows(form, values=values, errors=errors, prefix="lf"),
        "hidden": hidden,
        "token": token or tokens.mint(form_id=form.pk, wording_id=form.consent_wording_id),
        "consent_checked": definition.is_checked(values.get(definition.CONSENT)),
        "consent_error": errors.get(definition.CONSENT, ""),
        "general_error": errors.get("__all__", ""),
        "error_count": len(errors),
        "action": reverse("capture:hosted", args=[form.slug]),
    }
    return _no_store(render(request, "capture/public_form.html", context, status=status))


def _hosted_post(request: HttpRequest, form: Form) -> HttpResponse:
    try:
        raw = read_post(request, form)
    except BadPost as error:
        return _public_problem(request, form, error.status, error.message)
    token = raw.get(definition.TOKEN) if isinstance(raw.get(definition.TOKEN), str) else ""
    sender = _sender(request, Channel.HOSTED if token else Channel.HTML)
    try:
        outcome = services.take_submission(form=form, raw=raw, sender=sender, site_host=request.get_host())
    except FieldErrors as error:
        hidden = {name: raw.get(name, "") for name in (*definition.SOURCE_FIELDS, definition.PAGE, definition.VISITOR)}
        hidden = {name: value for name, value in hidden.items() if isinstance(value, str)}
        if not hidden.get(definition.PAGE):
            hidden[definition.PAGE] = definition.web_url(sender.referer)
        kept = token if tokens.read(token) else ""
        return _render_form(request, form, values=raw, hidden=hidden, errors=error.errors, token=kept, status=400)
    except services.RateLimited as error:
        response = _public_problem(request, form, 429, error.message)
        response["Retry-After"] = str(error.retry_after)
        return response
    except services.FormClosed:
        return _no_store(render(request, "capture/public_closed.html", {"form": form}, status=404))
    if outcome.redirect_url:
        return HttpResponseRedirect(request.build_absolute_uri(outcome.redirect_url), status=303)
    thanks = reverse("capture:thanks", args=[form.slug])
    back = outcome.submission.page_url
    if back and back != request.build_absolute_uri() and is_allowed_origin(origin_of(back), form.allowed_origins):
        thanks += "?" + urlencode({"from": back})
    return HttpResponseRedirect(thanks, status=303)


def _public_problem(request: HttpRequest, form: Form, status: int, message: str) -> HttpResponse:
    return _no_store(render(request, "capture/public_problem.html", {"form": form, "message": message}, status=status))


@require_GET
def thanks(request: HttpRequest, slug: str) -> HttpResponse:
    """The thank-you page after a post from the hosted page or the plain HTML form."""
    form = _form_or_404(slug)
    back = definition.web_url(request.GET.get("from", ""))
    if back and not is_allowed_origin(origin_of(back), form.allowed_origins):
        back = ""
    return _no_store(render(request, "capture/public_thanks.html", {"form": form, "back": back}))


@require_GET
def embed_js(request: HttpRequest, slug: str) -> HttpResponse:
    """The script that draws the form into another website's page and posts it to the JSON endpoint."""
    form = queries.public_form(slug)
    if form is None or not form.is_active:
        body = f"console.warn({json.dumps(f'Leadflow: the form {slug!r} is not taking submissions.')});\n"
        return _no_store(HttpResponse(body, content_type="text/javascript; charset=utf-8", status=404))
    page = origin_of(request.headers.get("Referer", ""))
    config = public_config(request, form)
    config["allowed"] = not page or page in form.allowed_origins or page == origin_of(request.build_absolute_uri("/"))
    config["css"] = _static_text("form.css")
    source = _static_text("embed.js").replace(CONFIG_MARK, json.dumps(config).replace("</", "<\\/"))
    response = HttpResponse(source, content_type="text/javascript; charset=utf-8")
    response["X-Content-Type-Options"] = "nosniff"
    return _no_store(response)


@lru_cache(maxsize=4)
def _static_text(name: str) -> str:
    return (STATIC / name).read_text()


def _cors(request: HttpRequest, response: HttpResponse, form: Form | None) -> HttpResponse:
    """Let the form's own websites read the answer; every other origin gets no CORS headers at all."""
    response["Vary"] = "Origin"
    origin = request.headers.get("Origin", "")
    if form is not None and is_allowed_origin(origin, form.allowed_origins):
        response["Access-Control-Allow-Origin"] = origin
        response["Access-Control-Allow-Methods"] = "GET, POST, OPTIONS"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = "7200"
    return response


@csrf_exempt
@require_http_methods(["GET", "HEAD", "OPTIONS"])
def form_json(request: HttpRequest, slug: str) -> HttpResponse:
    """The form's fields and a fresh render token, for developers drawing the form themselves."""
    form = queries.public_form(slug)
    if request.method == "OPTIONS":
        return _cors(request, HttpResponse(status=204), form)
    if form is None or not form.is_active:
        return _cors(
            request, problem_response(request, 404, "form_closed", "This form is not taking submissions."), form
        )
    return _cors(request, _no_store(JsonResponse(public_config(request, form))), form)


@csrf_exempt
@require_http_methods(["POST", "OPTIONS"])
def submit_json(request: HttpRequest, slug: str) -> HttpResponse:
    """Take a submission as JSON: {"email": ..., "_lf_token": ..., ...}; answer JSON (problem details on error)."""
    form = queries.public_form(slug)
    if request.method == "OPTIONS":
        return _cors(request, HttpResponse(status=204), form)
    return _cors(request, _submit_json(request, form), form)


def _submit_json(request: HttpRequest, form: Form | None) -> HttpResponse:
    if form is None or not form.is_active:
        return problem_response(request, 404, "form_closed", "This form is not taking submissions.")
    sender = _sender(request, Channel.JSON)
    if sender.origin and not sender.same_origin and not is_allowed_origin(sender.origin, form.allowed_origins):
        return problem_response(
            request, 403, "origin_not_allowed", "This form does not take submissions from this website."
        )
    try:
        raw = read_post(request, form, json_only=True)
    except BadPost as error:
        return problem_response(request, error.status, error.code, error.message)
    if raw.get(definition.CHANNEL) == Channel.EMBED:
        sender = services.Sender(**{**sender.__dict__, "channel": Channel.EMBED})
    try:
        outcome = services.take_submission(form=form, raw=raw, sender=sender, site_host=request.get_host())
    except FieldErrors as error:
        detail = "Some fields need fixing: " + "; ".join(f"{name}: {text}" for name, text in error.errors.items())
        return problem_response(request, 422, "invalid", detail, errors=error.errors)
    except services.RateLimited as error:
        return problem_response(
            request, 429, error.code, error.message, headers={"Retry-After": str(error.retry_after)}
        )
    except services.FormClosed as error:
        return problem_response(request, 404, error.code, error.message)
    redirect = request.build_absolute_uri(outcome.redirect_url) if outcome.redirect_url else None
    return HttpResponse(_accepted_body(form.success_message, redirect), content_type="application/json")


@lru_cache(maxsize=64)
def _accepted_body(message: str, redirect: str | None) -> bytes:
    """The answer to a post that was taken: the same few bytes for every post of a form."""
    return json.dumps({"ok": True, "message": message, "redirect": redirect}).encode()
