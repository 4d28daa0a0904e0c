"""The webhook address each inbound source posts leads to: POST /hooks/<public id>.

Google Ads lead forms send their key in the body as `google_key`. Other tools
sign the raw body: `X-Leadflow-Signature: sha256=<hex HMAC-SHA256 of the body
under the source's secret>`, or send the secret itself as
`Authorization: Bearer <secret>`. Every refusal is problem details JSON with a
stable `code` (and a `message`, the shape Google Ads reads).
"""

from __future__ import annotations

import json

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.csrf import csrf_exempt

from leadflow.integrations import problems, services_inbound
from leadflow.integrations.inbound import (
    MAX_BODY_BYTES,
    SIGNATURE_HEADER,
    PayloadError,
    map_generic,
    map_google,
    parse_json,
    same_secret,
    signature_valid,
)
from leadflow.integrations.models import DeliveryOutcome, InboundDelivery, InboundSource, SourceKind


def _problem(request: HttpRequest, status: int, code: str, detail: str, **kwargs) -> HttpResponse:
    response = problems.problem_response(request, status, code, detail, **kwargs)
    body = json.loads(response.content)
    body["message"] = detail
    response.content = json.dumps(body)
    return response


@csrf_exempt
def hook(request: HttpRequest, public_id: str) -> HttpResponse:
    """Receive one lead from a source; answer 200 once it is stored (or was already), else a 4xx problem."""
    if request.method != "POST":
        return _problem(request, 405, "method_not_allowed", "Send leads with POST.", headers={"Allow": "POST"})
    source = InboundSource.objects.filter(public_id=public_id).first()
    if source is None:
        return _problem(request, 404, "not_found", "No inbound source has this address; copy it again from Leadflow.")
    try:
        if not source.is_active:
            raise PayloadError("source_inactive", "This source is switched off in Leadflow.", status=403)
        body = _read_body(request)
        if source.kind == SourceKind.GOOGLE_ADS:
            delivery = _receive_google(source, body)
        else:
            delivery = _receive_generic(request, source, body)
    except PayloadError as error:
        services_inbound.reject(source=source, code=error.code, reason=error.message, status=error.status)
        return _problem(request, error.status, error.code, error.message)
    return _answer(request, source, delivery)


def _read_body(request: HttpRequest) -> bytes:
    too_big = PayloadError(
        "body_too_large", f"The body is larger than {MAX_BODY_BYTES // 1024} KiB; send one lead per post.", status=413
    )
    length = request.META.get("CONTENT_LENGTH") or ""
    if length.isdigit() and int(length) > MAX_BODY_BYTES:
        raise too_big
    try:
        body = request.body
    except RequestDataTooBig:
        raise too_big from None
    if len(body) > MAX_BODY_BYTES:
        raise too_big
    return body


def _receive_google(source: InboundSource, body: bytes) -> InboundDelivery:
    data = parse_json(body)
    key = data.get("google_key")
    if key in (None, ""):
        raise PayloadError("key_required", "google_key is missing: set the key in the lead form's webhook.", status=401)
    if not same_secret(key, source.secret):
        raise PayloadError("wrong_key", "google_key does not match this source's key.", status=403)
    mapped = map_google(data, field_map=source.field_map, campaign_names=source.campaign_names)
    return services_inbound.receive(source=source, mapped=mapped)


def _receive_generic(request: HttpRequest, source: InboundSource, body: bytes) -> InboundDelivery:
    signature = request.headers.get(SIGNATURE_HEADER)
    scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
    if signature:
        trusted = signature_valid(signature, body, source.secret)
    elif scheme.lower() == "bearer" and credential.strip():
        trusted = same_secret(credential.strip(), source.secret)
    else:
        raise PayloadError(
            "signature_required",
            f"Sign the body: {SIGNATURE_HEADER}: sha256=<hex HMAC-SHA256 of the body with the source's secret>, "
            "or send Authorization: Bearer <secret>.",
            status=401,
        )
    if not trusted:
        raise PayloadError("invalid_signature", "The signature or secret does not match this source's.", status=403)
    mapped = map_generic(parse_json(body), source.field_map)
    return services_inbound.receive(source=source, mapped=mapped)


def _answer(request: HttpRequest, source: InboundSource, delivery: InboundDelivery) -> HttpResponse:
    if delivery.outcome == DeliveryOutcome.REJECTED:
        code, _, detail = delivery.reason.partition(": ")
        return _problem(request, delivery.status_code, code, detail)
    if source.kind == SourceKind.GOOGLE_ADS:
        # Google Ads reads a 200 with an empty JSON object as delivered.
        return JsonResponse({})
    return JsonResponse({"outcome": delivery.outcome, "action": delivery.action, "delivery_id": delivery.pk})
