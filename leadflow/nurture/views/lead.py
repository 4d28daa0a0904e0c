"""The nurture card on the lead page: enrollments, enroll by hand, and the one-to-one email composer."""

from __future__ import annotations

import uuid

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import trigger_client_event

from leadflow.leads.models import Lead
from leadflow.nurture import queries, services
from leadflow.nurture.errors import NurtureError
from leadflow.nurture.forms import ComposeForm
from leadflow.nurture.models import EmailTemplate, Enrollment, Sequence, SequenceStatus, TemplateKind
from leadflow.nurture.rendering import TemplateError, render_source

LEAD_CHANGED = "lead-changed"


def _visible(request: HttpRequest, pk: int) -> Lead:
    return get_object_or_404(Lead.objects.visible_to(request.user).select_related("owner"), pk=pk)


def _card(request: HttpRequest, lead: Lead, *, status: int = 200, **extra) -> HttpResponse:
    context = {
        "lead": lead,
        "enrollments": queries.enrollments_for(lead),
        "sequences": queries.enrollable_sequences(),
        "snippets": EmailTemplate.objects.filter(kind=TemplateKind.SNIPPET).order_by("name"),
        "compose": extra.pop("compose", None) or ComposeForm(initial={"send_id": uuid.uuid4().hex}),
        **extra,
    }
    return render(request, "nurture/lead_panel.html", context, status=status)


@require_GET
@login_required
def lead_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The nurture card on the lead page, loaded after the page itself."""
    return _card(request, _visible(request, pk))


@require_POST
@login_required
def lead_enroll(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _visible(request, pk)
    sequence = (
        Sequence.objects.exclude(status=SequenceStatus.DRAFT).filter(pk=request.POST.get("sequence") or 0).first()
    )
    if sequence is None:
        return _card(request, lead, status=422, enroll_error="Pick a sequence.")
    try:
        services.enroll(sequence=sequence, lead=lead, actor=request.user)
    except NurtureError as error:
        return _card(request, lead, status=422, enroll_error=error.message)
    return trigger_client_event(_card(request, lead, enroll_ok=f"Enrolled in “{sequence.name}”."), LEAD_CHANGED)


@require_POST
@login_required
def enrollment_remove(request: HttpRequest, pk: int) -> HttpResponse:
    enrollment = get_object_or_404(Enrollment, pk=pk)
    lead = _visible(request, enrollment.lead_id)
    try:
        services.remove_enrollment(enrollment=enrollment, actor=request.user)
    except NurtureError as error:
        return _card(request, lead, status=409, enroll_error=error.message)
    return trigger_client_event(_card(request, lead), LEAD_CHANGED)


@require_GET
@login_required
def compose_snippet(request: HttpRequest, pk: int) -> HttpResponse:
    """Fill the composer with a snippet's subject and body (htmx partial)."""
    lead = _visible(request, pk)
    snippet = EmailTemplate.objects.filter(pk=request.GET.get("snippet") or 0).first()
    initial = {"send_id": request.GET.get("send_id") or uuid.uuid4().hex}
    if snippet is not None:
        initial.update(subject=snippet.subject, body=snippet.body)
    return render(
        request, "nurture/lead_panel.html#compose_fields", {"lead": lead, "compose": ComposeForm(initial=initial)}
    )


@require_POST
@login_required
def compose_preview(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _visible(request, pk)
    context = {"lead": lead}
    try:
        context["rendered"] = render_source(
            subject=request.POST.get("subject", ""), body=request.POST.get("body", ""), lead=lead
        )
    except TemplateError as error:
        context["error"] = error.message
    return render(request, "nurture/template_edit.html#preview", context)


@require_POST
@login_required
def compose_send(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _visible(request, pk)
    form = ComposeForm(request.POST)
    if not form.is_valid():
        return _card(request, lead, status=422, compose=form, compose_open=True)
    try:
        services.send_one_to_one(
            lead=lead,
            subject=form.cleaned_data["subject"],
            body=form.cleaned_data["body"],
            actor=request.user,
            send_id=form.cleaned_data["send_id"],
        )
    except NurtureError as error:
        form.add_error(None, error.message)
        return _card(request, lead, status=422, compose=form, compose_open=True)
    return _card(request, lead, compose_ok=f"Email to {lead.email} is on its way.")
