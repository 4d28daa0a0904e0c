"""The routing card on the lead page: deadline, handover, open tasks, claim."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseClientRefresh, trigger_client_event

from leadflow.leads.errors import LeadError
from leadflow.leads.models import Lead
from leadflow.routing import queries, services
from leadflow.routing.forms import RejectForm, TaskForm
from leadflow.routing.models import Task, TaskKind

LEAD_CHANGED = "lead-changed"


def visible_lead(request: HttpRequest, pk: int) -> Lead:
    return get_object_or_404(Lead.objects.visible_to(request.user).select_related("owner", "team"), pk=pk)


def render_card(request: HttpRequest, lead: Lead, **extra) -> HttpResponse:
    context = {
        **queries.lead_card(lead),
        "task_kinds": TaskKind.choices,
        "task_form": extra.pop("task_form", None) or TaskForm(),
        "reject_form": extra.pop("reject_form", None) or RejectForm(),
        **extra,
    }
    return render(request, "routing/lead_card.html", context)


@require_GET
@login_required
def lead_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The routing card on the lead page, loaded after the page itself."""
    return render_card(request, visible_lead(request, pk))


@require_POST
@login_required
def lead_claim(request: HttpRequest, pk: int) -> HttpResponse:
    lead = visible_lead(request, pk)
    try:
        lead = services.claim_lead(lead=lead, actor=request.user)
    except LeadError as error:
        lead = visible_lead(request, pk)
        if not request.htmx:
            return redirect(lead.get_absolute_url())
        return render_card(request, lead, claim_error=error.message)
    messages.success(request, f"{lead.display_name} is yours now. The first touch counts from now.")
    if not request.htmx:
        return redirect(lead.get_absolute_url())
    # The owner shows in the page's header too: reload the whole page.
    return HttpResponseClientRefresh()


@require_POST
@login_required
def lead_task_add(request: HttpRequest, pk: int) -> HttpResponse:
    lead = visible_lead(request, pk)
    form = TaskForm(request.POST)
    if form.is_valid():
        try:
            services.create_task(lead=lead, actor=request.user, **form.cleaned_data)
        except LeadError as error:
            form.add_error(None, error.message)
        else:
            if not request.htmx:
                return redirect(lead.get_absolute_url())
            return trigger_client_event(render_card(request, lead), LEAD_CHANGED)
    if not request.htmx:
        return redirect(lead.get_absolute_url())
    return render_card(request, lead, task_form=form)


@require_POST
@login_required
def task_complete(request: HttpRequest, pk: int) -> HttpResponse:
    visible = Lead.objects.visible_to(request.user)
    task = get_object_or_404(Task.objects.filter(lead__in=visible).select_related("lead"), pk=pk)
    services.complete_task(task=task, actor=request.user)
    where = request.POST.get("from", "")
    if where == "tasks" or not request.htmx:
        return redirect("routing:tasks") if where == "tasks" else redirect(task.lead.get_absolute_url())
    return trigger_client_event(render_card(request, visible_lead(request, task.lead_id)), LEAD_CHANGED)
