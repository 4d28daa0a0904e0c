"""The tracking script, the collector it posts to, and the visits section of the lead page."""

from __future__ import annotations

import hashlib
from functools import cache
from pathlib import Path

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET

from leadflow.leads.models import Lead
from leadflow.mail.services.tracking import identify_clicker
from leadflow.tracking import queries, services
from leadflow.tracking.batch import MAX_BODY_BYTES, BatchError, parse_batch
from leadflow.tracking.origins import normalise_origin

SCRIPT_PATH = Path(__file__).resolve().parent / "static" / "tracking" / "t.js"
CONTENT_TYPES = {"", "text/plain", "application/json"}
PROBLEM_TYPE = "urn:leadflow:problem:"


@cache
def _script() -> tuple[bytes, str]:
    body = SCRIPT_PATH.read_bytes()
    return body, '"' + hashlib.sha256(body).hexdigest()[:20] + '"'


@require_GET
def script(request: HttpRequest) -> HttpResponse:
    """Serve the tracking snippet, cacheable for an hour."""
    body, etag = _script()
    if request.headers.get("If-None-Match") == etag:
        response = HttpResponse(status=304)
    else:
        response = HttpResponse(body, content_type="text/javascript; charset=utf-8")
    response["ETag"] = etag
    response["Cache-Control"] = "public, max-age=3600"
    response["Cross-Origin-Resource-Policy"] = "cross-origin"
    return response


@csrf_exempt
def collect(request: HttpRequest) -> HttpResponse:
    """Store a batch of page views sent by the snippet (text/plain beacons or JSON)."""
    origin = normalise_origin(request.headers.get("Origin", ""))
    cors = origin if origin and origin in queries.allowed_origins() else ""
    if request.method == "OPTIONS":
        return _preflight(cors)
    if request.method != "POST":
        response = _problem(BatchError("method_not_allowed", "Send the batch with POST.", status=405), cors)
        response["Allow"] = "POST, OPTIONS"
        return response
    if request.headers.get("DNT") == "1" or request.headers.get("Sec-GPC") == "1":
        return _answer({"accepted": 0, "reason": "do_not_track"}, cors)
    try:
        batch = parse_batch(_body(request))
        site = queries.site_for_key(batch.site)
        if site is None:
            raise BatchError("unknown_site", "site: no active site has this key; copy the snippet again.")
        if origin and origin not in site.origins:
            raise BatchError("origin_not_allowed", f"{origin} is not one of this site's origins.", status=403)
        accepted = services.record_page_views(site=site, batch=batch)
        if batch.identify:
            identify_clicker(visitor_id=batch.visitor, signed=batch.identify)
    except BatchError as error:
        return _problem(error, cors)
    return _answer({"accepted": accepted}, cors)


def _body(request: HttpRequest) -> bytes:
    """Return the body, refusing other content types and anything over the size limit before reading it."""
    content_type = request.content_type or ""
    if content_type not in CONTENT_TYPES:
        raise BatchError("unsupported_type", "Send the batch as text/plain or application/json.", status=415)
    try:
        length = int(request.headers.get("Content-Length") or 0)
    except ValueError:
        length = 0
    if length > MAX_BODY_BYTES:
        raise BatchError(
            "too_large", f"The batch is larger than {MAX_BODY_BYTES} bytes; send fewer events.", status=413
        )
    return request.read(MAX_BODY_BYTES + 1)


def _answer(data: dict, cors: str, status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status)
    return _with_cors(response, cors)


def _problem(error: BatchError, cors: str) -> JsonResponse:
    data = {"type": PROBLEM_TYPE + error.code, "title": error.code.replace("_", " ").capitalize(),
            "status": error.status, "detail": error.message}  # fmt: skip
    response = JsonResponse(data, status=error.status, content_type="application/problem+json")
    return _with_cors(response, cors)


def _preflight(cors: str) -> HttpResponse:
    response = HttpResponse(status=204)
    if cors:
        response["Access-Control-Allow-Methods"] = "POST"
        response["Access-Control-Allow-Headers"] = "Content-Type"
        response["Access-Control-Max-Age"] = "86400"
    return _with_cors(response, cors)


def _with_cors(response: HttpResponse, cors: str) -> HttpResponse:
    response["Vary"] = "Origin"
    if cors:
        response["Access-Control-Allow-Origin"] = cors
    return response


@require_GET
@login_required
def lead_visits(request: HttpRequest, pk: int) -> HttpResponse:
    """The lead page's "Website visits" section: sessions newest first, ten at a time."""
    lead = get_object_or_404(Lead.objects.visible_to(request.user), pk=pk)
    page = request.GET.get("page", "")
    page = int(page) if page.isdigit() and 0 < int(page) <= 100_000 else 1
    visits = queries.visits_for_lead(lead, page=page)
    template = "tracking/visits.html#sessions" if page > 1 else "tracking/visits.html"
    return render(request, template, {"lead": lead, "visits": visits})
