"""What forms collected: submissions per form, the quarantine to review, and the user's notices."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leadflow.capture import queries, services
from leadflow.capture.models import Form, Submission, SubmissionStatus
from leadflow.capture.views.access import builder_required
from leadflow.leads.errors import LeadError


def _before(request: HttpRequest) -> int | None:
    value = request.GET.get("before", "")
    return int(value) if value.isdigit() and len(value) < 19 else None


@require_GET
@builder_required
def submissions(request: HttpRequest, pk: int) -> HttpResponse:
    form = get_object_or_404(Form.objects.visible_to(request.user), pk=pk)
    page = queries.submissions_of(form, before=_before(request), user=request.user)
    context = {"form_obj": form, "page": page, "counts": queries.form_counts(form), "first": _before(request) is None}
    return render(request, "capture/submissions.html", context)


@require_GET
@builder_required
def quarantine(request: HttpRequest) -> HttpResponse:
    forms = list(Form.objects.visible_to(request.user))
    wanted = request.GET.get("form", "")
    form = next((item for item in forms if str(item.pk) == wanted), None)
    page = queries.quarantined(request.user, form=form, before=_before(request))
    context = {"page": page, "forms": forms, "form_obj": form, "first": _before(request) is None}
    return render(request, "capture/quarantine.html", {**context, **_nav_counts(request.user)})


def _nav_counts(user) -> dict[str, int]:
    return {"held": queries.held_count(user), "unread": queries.unread_notice_count(user)}


def _held_submission(request: HttpRequest, pk: int) -> Submission:
    return get_object_or_404(
        Submission.objects.select_related("form").filter(form__in=Form.objects.visible_to(request.user)), pk=pk
    )


def _back_to_quarantine(request: HttpRequest) -> HttpResponse:
    wanted = request.POST.get("form", "")
    url = reverse("capture:quarantine")
    return redirect(f"{url}?form={wanted}" if wanted.isdigit() else url)


@require_POST
@builder_required
def release(request: HttpRequest, pk: int) -> HttpResponse:
    submission = _held_submission(request, pk)
    try:
        released = services.release_submission(submission=submission, actor=request.user)
    except LeadError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, f"Released: {released.person} is now a lead.")
    return _back_to_quarantine(request)


@require_POST
@builder_required
def discard(request: HttpRequest, pk: int) -> HttpResponse:
    submission = _held_submission(request, pk)
    if submission.status != SubmissionStatus.QUARANTINED:
        messages.error(request, "Only held submissions can be deleted here.")
        return _back_to_quarantine(request)
    try:
        services.discard_submission(submission=submission, actor=request.user)
    except LeadError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, "Deleted the held submission.")
    return _back_to_quarantine(request)


@require_http_methods(["GET", "POST"])
@builder_required
def notifications(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        count = services.mark_notices_read(user=request.user)
        messages.success(request, f"Marked {count} notice{'s' if count != 1 else ''} as read.")
        return redirect("capture:notifications")
    page = queries.notices_for(request.user, before=_before(request))
    context = {"page": page, "first": _before(request) is None, **_nav_counts(request.user)}
    return render(request, "capture/notifications.html", context)
