"""The lead's stage control and Qualification card, and the admins' qualification settings page."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import trigger_client_event

from leadflow.leads import services
from leadflow.leads.errors import FieldErrors, LeadError
from leadflow.leads.lifecycle import BANT_FIELDS, BANT_LABELS, GATED_STAGES, REASON_STAGES, Stage
from leadflow.leads.models import DisqualifyReason, Lead, QualificationGate
from leadflow.leads.services import qualification as settings_services
from leadflow.leads.views.detail_fields import back_to_lead

LEAD_CHANGED = "lead-changed"


def stage_options(lead: Lead, gate: QualificationGate) -> list[dict[str, str]]:
    """Return the moves the stage control offers: only allowed ones, each with a hint where it needs more."""
    missing = gate.missing(lead)
    options = []
    for value in lead.allowed_moves:
        note = ""
        if value in GATED_STAGES and missing:
            note = "needs " + ", ".join(BANT_LABELS[name].lower() for name in missing)
        elif value in REASON_STAGES:
            note = "asks why"
        options.append({"value": value, "label": str(Stage(value).label), "note": note})
    return options


def stage_context(lead: Lead, gate: QualificationGate | None = None, **extra: Any) -> dict[str, Any]:
    gate = gate or QualificationGate.current()
    context = {"lead": lead, "stage_options": stage_options(lead, gate), **extra}
    if extra.get("asking") == Stage.DISQUALIFIED:
        context["reasons"] = list(DisqualifyReason.objects.active())
    return context


def gate_context(lead: Lead, gate: QualificationGate | None = None) -> dict[str, Any]:
    """Return what the Qualification card says about the gate before SQL for this lead."""
    gate = gate or QualificationGate.current()
    missing = gate.missing(lead)
    return {
        "gate": gate,
        "gate_checks": [(BANT_LABELS[name], name not in missing) for name in gate.required],
        "gate_ready": not missing,
        "gate_message": QualificationGate.message(missing, Stage.SQL) if missing else "",
    }


def _visible(request: HttpRequest, pk: int) -> Lead:
    return get_object_or_404(Lead.objects.visible_to(request.user).select_related("owner", "company"), pk=pk)


@require_http_methods(["GET", "POST"])
@login_required
def lead_stage(request: HttpRequest, pk: int) -> HttpResponse:
    """Show the stage control, or move the lead; a move that needs a reason asks for it first."""
    lead = _visible(request, pk)
    if request.method == "GET":
        return render(request, "leads/detail.html#stage", stage_context(lead))
    stage, before = request.POST.get("stage", ""), lead.stage
    if stage in REASON_STAGES and "reason" not in request.POST and request.htmx:
        return render(request, "leads/detail.html#stage", stage_context(lead, asking=stage))
    extra: dict[str, Any] = {}
    try:
        lead = services.change_stage(lead=lead, stage=stage, actor=request.user, reason=request.POST.get("reason", ""))
    except FieldErrors as problem:
        if "reason" in problem.errors and stage in REASON_STAGES:
            extra = {"asking": stage, "reason_error": problem.errors["reason"]}
        else:
            extra = {"stage_error": problem.errors.get("stage", problem.message)}
    except LeadError as problem:
        extra = {"stage_error": problem.message}
    if not request.htmx:
        return back_to_lead(request, lead, extra.get("stage_error") or extra.get("reason_error") or "")
    response = render(request, "leads/detail.html#stage", stage_context(lead, **extra))
    return trigger_client_event(response, LEAD_CHANGED) if lead.stage != before else response


def _admin_only(request: HttpRequest) -> None:
    if not request.user.is_admin:
        raise PermissionDenied("Only admins may change the qualification settings.")


@require_http_methods(["GET", "POST"])
@login_required
def qualification_settings(request: HttpRequest) -> HttpResponse:
    """Show and change the qualification gate and the disqualify reasons (admins)."""
    _admin_only(request)
    if request.method == "POST":
        required = {name for name in BANT_FIELDS if request.POST.get(f"require_{name}")}
        gate = settings_services.update_gate(required=required, actor=request.user)
        listed = ", ".join(label.lower() for label in gate.required_labels) or "nothing"
        messages.success(request, f"Saved: before SQL, a lead needs {listed} known.")
        return redirect("leads:qualification_settings")
    return render(request, "leads/qualification_settings.html", _settings_context())


def _settings_context(**extra: Any) -> dict[str, Any]:
    gate = QualificationGate.current()
    return {
        "gate": gate,
        "gate_fields": [(name, BANT_LABELS[name], name in gate.required) for name in BANT_FIELDS],
        "reasons": list(DisqualifyReason.objects.all()),
        **extra,
    }


@require_POST
@login_required
def reason_add(request: HttpRequest) -> HttpResponse:
    _admin_only(request)
    label = request.POST.get("label", "")
    try:
        reason = settings_services.add_disqualify_reason(label=label, actor=request.user)
    except FieldErrors as error:
        context = _settings_context(add_error=error.errors.get("label", error.message), new_label=label[:100])
        return render(request, "leads/qualification_settings.html", context, status=422)
    messages.success(request, f"Added the reason “{reason.label}”.")
    return redirect("leads:qualification_settings")


@require_POST
@login_required
def reason_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _admin_only(request)
    reason = get_object_or_404(DisqualifyReason, pk=pk)
    changes: dict[str, Any] = {}
    if "label" in request.POST:
        changes["label"] = request.POST["label"]
    if "active" in request.POST:
        changes["active"] = request.POST["active"] == "1"
    raw_order = request.POST.get("order", "").strip()
    if raw_order:
        changes["order"] = int(raw_order) if raw_order.isascii() and raw_order.isdigit() else -1
    try:
        reason = settings_services.update_disqualify_reason(reason=reason, actor=request.user, **changes)
    except FieldErrors as error:
        context = _settings_context(edit_error=" ".join(error.errors.values()), edit_pk=pk)
        return render(request, "leads/qualification_settings.html", context, status=422)
    state = "" if reason.active else " (no longer offered)"
    messages.success(request, f"Saved the reason “{reason.label}”{state}.")
    return redirect("leads:qualification_settings")
