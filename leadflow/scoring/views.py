"""The scoring settings page (rules, half-life, threshold, bulk rescore) and the lead page's score card."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leadflow.leads.models import Lead
from leadflow.scoring import engine, queries, services
from leadflow.scoring.errors import ScoringError
from leadflow.scoring.forms import RuleFormSet, SettingsForm
from leadflow.scoring.models import RescoreJob, ScoringRule, ScoringSettings
from leadflow.scoring.services import bulk

RULE_VALUES = ("name", "condition", "key", "value", "points", "cap", "active", "position")


def _editor(request: HttpRequest) -> None:
    if not services.may_edit(request.user):
        raise PermissionDenied("Only admins and marketing see the scoring settings.")


def _page(request: HttpRequest, *, settings_form=None, formset=None, status: int = 200) -> HttpResponse:
    data = queries.rules_page()
    context = {
        **data,
        "settings_form": settings_form or SettingsForm(instance=data["settings"]),
        "formset": formset or RuleFormSet(queryset=ScoringRule.objects.all()),
        "conditions": list(engine.CONDITIONS.values()),
        "stalled": bool(data["job"] and bulk.is_stalled(data["job"])),
    }
    return render(request, "scoring/settings.html", context, status=status)


@require_http_methods(["GET", "POST"])
@login_required
def scoring_settings(request: HttpRequest) -> HttpResponse:
    """Show the rules and settings; a POST saves the half-life and threshold."""
    _editor(request)
    if request.method == "GET":
        return _page(request)
    form = SettingsForm(request.POST, instance=ScoringSettings.load())
    if form.is_valid():
        try:
            services.update_settings(actor=request.user, **form.cleaned_data)
        except ScoringError as error:
            form.add_error(error.field, error.message)
        else:
            messages.success(request, "Settings saved. Rescore all leads to apply a new half-life to every score.")
            return redirect("scoring:settings")
    return _page(request, settings_form=form, status=422)


@require_POST
@login_required
def save_rules(request: HttpRequest) -> HttpResponse:
    """Save the rules table: edits, new rows and deletions, all at once."""
    _editor(request)
    formset = RuleFormSet(request.POST, queryset=ScoringRule.objects.all())
    if not formset.is_valid():
        return _page(request, formset=formset, status=422)
    rules, delete_ids = [], []
    for form in formset.forms:
        if not form.has_changed() and form.instance.pk is None:
            continue
        if form.cleaned_data.get("DELETE"):
            if form.instance.pk:
                delete_ids.append(form.instance.pk)
            continue
        values = {name: form.cleaned_data.get(name) for name in RULE_VALUES}
        values["key"], values["value"] = values["key"] or "", values["value"] or ""
        rules.append({**values, "id": form.instance.pk})
    try:
        services.save_rules(rules=rules, delete_ids=delete_ids, actor=request.user)
    except ScoringError as error:
        messages.error(request, error.message)
        return _page(request, formset=formset, status=422)
    messages.success(request, "Rules saved. Scores change when the leads are rescored.")
    return redirect(reverse("scoring:settings") + "#rescore")


@require_POST
@login_required
def start_rescore(request: HttpRequest) -> HttpResponse:
    """Queue a rescore of every lead and show its progress."""
    _editor(request)
    job = services.start_rescore(actor=request.user)
    if not request.htmx:
        return redirect("scoring:settings")
    return render(request, "scoring/settings.html#rescore", {"job": job, "stalled": False})


@require_GET
@login_required
def rescore_progress(request: HttpRequest, pk: int) -> HttpResponse:
    """The progress partial, polled every 2 s until the job finishes."""
    _editor(request)
    job = get_object_or_404(RescoreJob, pk=pk)
    return render(request, "scoring/settings.html#rescore", {"job": job, "stalled": bulk.is_stalled(job)})


@require_POST
@login_required
def resume_rescore(request: HttpRequest, pk: int) -> HttpResponse:
    """Queue a failed or stalled rescore again from the last lead it finished."""
    _editor(request)
    job = get_object_or_404(RescoreJob, pk=pk)
    if job.status == "failed" or bulk.is_stalled(job):
        job = services.resume_rescore(job=job)
    return render(request, "scoring/settings.html#rescore", {"job": job, "stalled": bulk.is_stalled(job)})


@require_GET
@login_required
def lead_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The scoring card on the lead page: the score, and why."""
    lead = get_object_or_404(Lead.objects.visible_to(request.user), pk=pk)
    return render(request, "scoring/panel.html", {"lead": lead, "card": queries.score_card(lead)})
