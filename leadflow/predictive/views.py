"""The model page (admins and marketing) and the predictive card on the lead page."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from leadflow.leads.models import Lead
from leadflow.predictive import queries, services
from leadflow.predictive.models import TrainingRun


def model_staff_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Let in admins and marketing, who own the model; anyone else signed in gets 403."""

    @wraps(view)
    @login_required
    def guarded(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not request.user.sees_all_leads:
            raise PermissionDenied("Only admins and marketing may see and train the predictive model.")
        return view(request, *args, **kwargs)

    return guarded


@require_GET
@model_staff_required
def model_page(request: HttpRequest) -> HttpResponse:
    model = queries.active_model()
    fields = services.discover_fields()
    context = {
        "model": model,
        "run": queries.latest_run(),
        "versions": queries.versions(),
        "counts": queries.outcome_counts() if model is None else None,
        "plot": queries.calibration_plot(model.calibration) if model else None,
        "factors": queries.factor_bars(model.factors) if model else [],
        "candidates": queries.candidates(model) if model else [],
        "feature_rows": queries.feature_rows(fields, model),
    }
    return render(request, "predictive/model.html", context)


@require_POST
@model_staff_required
def retrain(request: HttpRequest) -> HttpResponse:
    run = services.request_training(actor=request.user, trigger="manual")
    if request.htmx:
        return render(request, "predictive/model.html#run", {"run": run})
    return redirect("predictive:model")


@require_GET
@model_staff_required
def run_status(request: HttpRequest, pk: int) -> HttpResponse:
    run = get_object_or_404(TrainingRun.objects.select_related("requested_by", "model"), pk=pk)
    response = render(request, "predictive/model.html#run", {"run": run})
    if run.is_finished and request.GET.get("polling"):
        # The page shows the previous model's figures: load it again to show the new one.
        response["HX-Refresh"] = "true"
    return response


@require_POST
@model_staff_required
def feature_settings(request: HttpRequest) -> HttpResponse:
    used, after = set(request.POST.getlist("use")), set(request.POST.getlist("after"))
    fields = services.discover_fields()
    changes = {field.name: (field.name in used, field.name in after) for field in fields}
    changed = services.update_feature_settings(changes=changes, actor=request.user)
    if changed:
        messages.success(request, f"Saved {changed} feature setting{'s' if changed != 1 else ''}; retrain to use them.")
    else:
        messages.info(request, "Nothing changed.")
    return redirect("predictive:model")


@require_GET
@login_required
def lead_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The predictive card on the lead page, loaded after the page itself."""
    lead = get_object_or_404(Lead.objects.visible_to(request.user), pk=pk)
    card = queries.lead_card(lead)
    return render(request, "predictive/lead_panel.html", {"card": card, "may_manage": request.user.sees_all_leads})
