"""Mail pages: the delivery overview for admins and marketing, and the public tracking and unsubscribe URLs."""

from __future__ import annotations

import base64
import hashlib
import hmac

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leadflow.mail import queries
from leadflow.mail.errors import MailError
from leadflow.mail.models import OutboxMessage
from leadflow.mail.services import add_suppression, consent, remove_suppression
from leadflow.mail.services.compose import unsign
from leadflow.mail.services.inbound import process_raw
from leadflow.mail.services.outbox import retry_message
from leadflow.mail.services.tracking import Visit, message_for, record_click, record_open

PIXEL = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")
ONE_CLICK = "List-Unsubscribe=One-Click"


def _visit(request: HttpRequest) -> Visit:
    return Visit(
        method=request.method or "GET",
        user_agent=request.headers.get("User-Agent", "")[:500],
        ip=request.META.get("REMOTE_ADDR", ""),
    )


def _private(response: HttpResponse) -> HttpResponse:
    response["Cache-Control"] = "no-store, private"
    response["Referrer-Policy"] = "no-referrer"
    return response


@require_http_methods(["GET", "HEAD"])
def open_pixel(request: HttpRequest, signed: str) -> HttpResponse:
    """The 1x1 image in each tracked email: fetching it records an open."""
    message = message_for("open", signed)
    if message is not None:
        record_open(message=message, visit=_visit(request))
    return _private(HttpResponse(PIXEL, content_type="image/gif"))


@require_http_methods(["GET", "HEAD"])
def click(request: HttpRequest, signed: str, position: int) -> HttpResponse:
    """A tracked link: record the click and send the browser on to the link that was in the email."""
    message = message_for("click", signed)
    target = record_click(message=message, position=position, visit=_visit(request)) if message else None
    if target is None:
        return _private(HttpResponse("This link is not valid.", status=404, content_type="text/plain"))
    return _private(HttpResponseRedirect(target))


def _message_for_unsubscribe(signed: str) -> OutboxMessage | None:
    token = unsign("unsubscribe", signed)
    return OutboxMessage.objects.filter(token=token).select_related("lead").first() if token else None


def _masked(address: str) -> str:
    local, _, domain = address.partition("@")
    return f"{local[:2]}{'•' * max(len(local) - 2, 1)}@{domain}" if domain else ""


@csrf_exempt
@never_cache
@require_http_methods(["GET", "POST"])
def unsubscribe(request: HttpRequest, signed: str) -> HttpResponse:
    """GET shows a page with a button and changes nothing; POST (the button, or RFC 8058 one-click) unsubscribes.

    No login, cookie or CSRF token: the signed token in the URL is the whole proof.
    The answer is never a redirect, and repeating it changes nothing.
    """
    message = _message_for_unsubscribe(signed)
    if message is None:
        return HttpResponse("This unsubscribe link is not valid.", status=404, content_type="text/plain")
    if request.method == "GET":
        return render(request, "mail/unsubscribe.html", {"address": _masked(message.to_email), "done": False})
    one_click = request.POST.get("List-Unsubscribe") == "One-Click"
    if message.to_email:
        consent.unsubscribe(
            email=message.to_email, message=message, source="one-click (RFC 8058)" if one_click else "unsubscribe page"
        )
    if one_click:
        return HttpResponse("You are unsubscribed.", content_type="text/plain")
    return render(request, "mail/unsubscribe.html", {"address": _masked(message.to_email), "done": True})


@csrf_exempt
@require_POST
def inbound(request: HttpRequest) -> HttpResponse:
    """Raw MIME of an incoming email (a reply, a bounce report), signed with LEADFLOW_MAIL_INBOUND_SECRET."""
    secret = settings.LEADFLOW_MAIL_INBOUND_SECRET
    if not secret:
        return JsonResponse(
            {"error": "inbound_off", "detail": "Set LEADFLOW_MAIL_INBOUND_SECRET to accept mail."}, status=404
        )
    body = request.body
    expected = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, request.headers.get("X-Leadflow-Signature", "")):
        return JsonResponse(
            {"error": "bad_signature", "detail": "X-Leadflow-Signature does not match the body."}, status=403
        )
    return JsonResponse({"outcome": process_raw(body, source="webhook")})


def _staff_only(request: HttpRequest) -> None:
    if not request.user.sees_all_leads:
        raise PermissionDenied("Only admins and marketing see mail delivery.")


def _dashboard_context(request: HttpRequest, **extra) -> dict:
    q = (request.GET.get("q") or request.POST.get("q") or "").strip()[:100]
    return {
        "counts": queries.outbox_counts(),
        "failures": queries.recent_failures(),
        "suppressions": queries.suppression_list(search=q),
        "q": q,
        **extra,
    }


@require_GET
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    """Outbox counts, recent failures with a retry button, and the suppression list."""
    _staff_only(request)
    template = (
        "mail/dashboard.html#suppressions"
        if request.htmx and request.GET.get("part") == "suppressions"
        else "mail/dashboard.html"
    )
    return render(request, template, _dashboard_context(request))


@require_POST
@login_required
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    _staff_only(request)
    error = ""
    try:
        retry_message(message_id=pk, actor=request.user)
    except MailError as exc:
        error = exc.message
    return render(request, "mail/dashboard.html#outbox", _dashboard_context(request, failure_error=error))


@require_POST
@login_required
def suppression_add(request: HttpRequest) -> HttpResponse:
    _staff_only(request)
    error, added = "", ""
    try:
        added = add_suppression(
            email=request.POST.get("email", ""), actor=request.user, note=request.POST.get("note", "")
        ).email
    except MailError as exc:
        error = exc.message
    context = _dashboard_context(
        request, suppression_error=error, added=added, entered=request.POST.get("email", "") if error else ""
    )
    return render(request, "mail/dashboard.html#suppressions", context)


@require_POST
@login_required
def suppression_remove(request: HttpRequest, pk: int) -> HttpResponse:
    _staff_only(request)
    error = ""
    try:
        remove_suppression(suppression_id=pk, actor=request.user)
    except MailError as exc:
        error = exc.message
    return render(request, "mail/dashboard.html#suppressions", _dashboard_context(request, suppression_error=error))
