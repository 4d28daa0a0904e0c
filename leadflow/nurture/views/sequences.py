"""Sequences: list, settings, the step editor (htmx), status, per-step stats and bulk enrollment."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from leadflow.leads.models import Lead, Stage
from leadflow.leads.queries import FilterError, LeadFilters, parse_filters
from leadflow.nurture import queries, services
from leadflow.nurture.enrollment import BULK_LIMIT
from leadflow.nurture.errors import NurtureError
from leadflow.nurture.forms import SequenceForm, StepForm
from leadflow.nurture.models import Sequence, SequenceStatus, Step
from leadflow.nurture.views.access import manager_required

SKIP_LABELS = {
    "already_enrolled": "already in this sequence",
    "suppressed": "address suppressed",
    "consent_withdrawn": "consent withdrawn",
    "no_email": "no email address",
    "lead_inactive": "merged or erased",
    "over_limit": "over the limit of one run",
}


@manager_required
def sequences_list(request: HttpRequest) -> HttpResponse:
    return render(request, "nurture/sequences_list.html", {"sequences": queries.sequences_overview()})


def _settings_values(form: SequenceForm) -> dict:
    values = dict(form.cleaned_data)
    values["trigger"] = values.get("trigger") or ""
    return values


@manager_required
@require_http_methods(["GET", "POST"])
def sequence_new(request: HttpRequest) -> HttpResponse:
    form = SequenceForm(request.POST or None, initial={"send_days": [0, 1, 2, 3, 4]})
    if request.method == "POST" and form.is_valid():
        try:
            sequence = services.save_sequence(sequence=None, values=_settings_values(form), actor=request.user)
        except NurtureError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            return redirect("nurture:sequence", sequence.pk)
    return render(request, "nurture/sequence_new.html", {"form": form}, status=422 if form.errors else 200)


def _settings_form(sequence: Sequence, data=None) -> SequenceForm:
    initial = {name: getattr(sequence, name) for name in services.SEQUENCE_FIELDS}
    return SequenceForm(data, initial=initial)


def _page(request: HttpRequest, sequence: Sequence, **extra) -> HttpResponse:
    context = {
        "sequence": sequence,
        "rows": queries.steps_with_stats(sequence),
        "counts": queries.sequence_counts(sequence),
        "settings_form": extra.pop("settings_form", None) or _settings_form(sequence),
        "step_form": extra.pop("step_form", None) or StepForm(sequence=sequence, initial={"kind": "email"}),
        **extra,
    }
    context["max_waiting"] = max([row.waiting for row in context["rows"]] or [0]) or 1
    return render(request, extra.get("template", "nurture/sequence.html"), context, status=extra.get("status", 200))


@manager_required
def sequence_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _page(request, get_object_or_404(Sequence, pk=pk))


@require_POST
@manager_required
def sequence_settings(request: HttpRequest, pk: int) -> HttpResponse:
    sequence = get_object_or_404(Sequence, pk=pk)
    form = _settings_form(sequence, request.POST)
    if form.is_valid():
        try:
            services.save_sequence(sequence=sequence, values=_settings_values(form), actor=request.user)
        except NurtureError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, "Settings saved.")
            return redirect("nurture:sequence", pk)
    return _page(request, sequence, settings_form=form, status=422, settings_open=True)


@require_POST
@manager_required
def sequence_status(request: HttpRequest, pk: int) -> HttpResponse:
    sequence = get_object_or_404(Sequence, pk=pk)
    try:
        services.set_status(sequence=sequence, status=request.POST.get("status", ""), actor=request.user)
    except NurtureError as error:
        messages.error(request, error.message)
    else:
        labels = {SequenceStatus.ACTIVE: "running", SequenceStatus.PAUSED: "paused", SequenceStatus.DRAFT: "a draft"}
        messages.success(request, f"The sequence is {labels[sequence.status]}.")
    return redirect("nurture:sequence", pk)


def _steps(request: HttpRequest, sequence: Sequence, *, step_form=None, editing=None, edit_form=None, status=200):
    """Render the step editor partial."""
    context = {
        "sequence": sequence,
        "rows": queries.steps_with_stats(sequence),
        "step_form": step_form or StepForm(sequence=sequence, initial={"kind": "email"}),
        "editing": editing,
        "edit_form": edit_form,
    }
    context["max_waiting"] = max([row.waiting for row in context["rows"]] or [0]) or 1
    return render(request, "nurture/sequence.html#steps", context, status=status)


@require_POST
@manager_required
def step_add(request: HttpRequest, pk: int) -> HttpResponse:
    sequence = get_object_or_404(Sequence, pk=pk)
    form = StepForm(request.POST, sequence=sequence)
    if form.is_valid():
        template = form.cleaned_data.get("template")
        try:
            services.add_step(
                sequence=sequence,
                kind=form.cleaned_data["kind"],
                config=form.config(),
                template_id=template.pk if template else None,
                actor=request.user,
            )
        except NurtureError as error:
            form.add_error(None, error.message)
        else:
            return _steps(request, sequence)
    return _steps(request, sequence, step_form=form, status=422)


@require_http_methods(["GET", "POST"])
@manager_required
def step_edit(request: HttpRequest, pk: int, step_id: int) -> HttpResponse:
    step = get_object_or_404(Step.objects.select_related("sequence"), pk=step_id, sequence_id=pk)
    if request.method == "GET":
        initial = {"kind": step.kind, "template": step.template_id, **(step.config or {})}
        return _steps(
            request, step.sequence, editing=step.pk, edit_form=StepForm(initial=initial, sequence=step.sequence)
        )
    form = StepForm(request.POST, sequence=step.sequence)
    if form.is_valid():
        template = form.cleaned_data.get("template")
        try:
            services.edit_step(step=step, config=form.config(), template_id=template.pk if template else None,
                               actor=request.user)  # fmt: skip
        except NurtureError as error:
            form.add_error(None, error.message)
        else:
            return _steps(request, step.sequence)
    return _steps(request, step.sequence, editing=step.pk, edit_form=form, status=422)


@require_POST
@manager_required
def step_move(request: HttpRequest, pk: int, step_id: int) -> HttpResponse:
    step = get_object_or_404(Step.objects.select_related("sequence"), pk=step_id, sequence_id=pk)
    services.move_step(step=step, direction=-1 if request.POST.get("direction") == "up" else 1, actor=request.user)
    return _steps(request, step.sequence)


@require_POST
@manager_required
def step_remove(request: HttpRequest, pk: int, step_id: int) -> HttpResponse:
    step = get_object_or_404(Step.objects.select_related("sequence"), pk=step_id, sequence_id=pk)
    sequence = step.sequence
    services.remove_step(step=step, actor=request.user)
    return _steps(request, sequence)


def _filters(params) -> tuple[LeadFilters | None, str]:
    try:
        return parse_filters(params), ""
    except FilterError as error:
        return None, str(error)


@login_required
@require_http_methods(["GET", "POST"])
def sequence_enroll(request: HttpRequest, pk: int) -> HttpResponse:
    """The "Enroll leads" page: the leads-list filters, how many match, and the button."""
    sequence = get_object_or_404(Sequence, pk=pk)
    params = request.POST if request.method == "POST" else request.GET
    query = params.urlencode() if request.method == "GET" else request.POST.get("query", "")
    filters, error = _filters(QueryDict(query))
    count = None
    if filters is not None and filters.is_filtered:
        count = queries.matching_leads(user=request.user, query=query).count()
    context = {"sequence": sequence, "filters": filters, "query": query, "count": count, "error": error}
    if request.method == "POST" and count:
        result = _enroll_query(request, sequence, query, count)
        skipped = [(SKIP_LABELS.get(code, code), n) for code, n in result.items() if code not in {"enrolled", "queued"}]
        context.update(result=result, skipped=skipped)
    context["stages"] = Stage.choices
    return render(request, "nurture/enroll.html", context)


def _enroll_query(request: HttpRequest, sequence: Sequence, query: str, count: int) -> dict:
    return services.enroll_from_list(sequence=sequence, actor=request.user, query=query)


@require_POST
@login_required
def bulk_enroll(request: HttpRequest) -> HttpResponse:
    """Enroll the posted `lead_ids` (or every lead matching `query`) in `sequence`; answer JSON or go back."""
    sequence = get_object_or_404(Sequence, pk=request.POST.get("sequence") or 0)
    ids = [int(raw) for raw in request.POST.getlist("lead_ids") if raw.isdigit()]
    if ids:
        leads = Lead.objects.visible_to(request.user).filter(pk__in=ids[:BULK_LIMIT])
        result = services.enroll_many(sequence=sequence, leads=leads, actor=request.user)
    else:
        query = request.POST.get("query", "")
        filters, error = _filters(QueryDict(query))
        if filters is None or not filters.is_filtered:
            return JsonResponse({"code": "invalid_filter", "detail": error or "Give lead ids or filters."}, status=422)
        count = queries.matching_leads(user=request.user, query=query).count()
        result = _enroll_query(request, sequence, query, count)
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse(result)
    summary = ", ".join(f"{key.replace('_', ' ')}: {value}" for key, value in result.items()) or "nothing to do"
    messages.success(request, f"Enroll in “{sequence.name}”: {summary}.")
    target = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}):
        target = reverse("nurture:sequence", args=[sequence.pk])
    return redirect(target)
