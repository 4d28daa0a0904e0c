"""The rep's inbox, handovers, My tasks and notifications."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRefresh

from leadflow.leads.errors import FieldErrors, LeadError
from leadflow.leads.models import Lead
from leadflow.routing import queries, services
from leadflow.routing.forms import INBOX_OUTCOMES, OutcomeForm, RejectForm, may_manage_routing
from leadflow.routing.models import Handover, HandoverStatus, Notification, TaskKind
from leadflow.routing.views.lead import render_card


def _row_context(row, **extra) -> dict:
    return {"row": row, "outcomes": INBOX_OUTCOMES, "task_kinds": TaskKind.choices, **extra}


@login_required
def inbox(request: HttpRequest) -> HttpResponse:
    user = request.user
    handovers = (
        Handover.objects.filter(rep=user, status=HandoverStatus.PENDING, lead__in=Lead.objects.visible_to(user))
        .select_related("lead")
        .order_by("created_at")
    )
    context = {
        "rows": queries.inbox_for(user),
        "counts": queries.inbox_counts(user),
        "handovers": list(handovers),
        "outcomes": INBOX_OUTCOMES,
        "task_kinds": TaskKind.choices,
        "may_manage": may_manage_routing(user),
    }
    return render(request, "routing/inbox.html", context)


@require_POST
@login_required
def inbox_call(request: HttpRequest, pk: int) -> HttpResponse:
    """Log a call's outcome and the next step from an inbox row; answer with the row, updated."""
    lead = get_object_or_404(Lead.objects.visible_to(request.user), pk=pk)
    form = OutcomeForm(request.POST)
    error, logged = "", None
    if form.is_valid():
        data = form.cleaned_data
        try:
            event, task = services.log_outcome(
                lead=lead,
                outcome=data["outcome"],
                actor=request.user,
                notes=data["notes"],
                next_kind=data["next_kind"],
                next_title=data["next_title"],
                next_due_at=data["next_due"],
            )
            logged = {"event": event, "task": task, "label": dict(INBOX_OUTCOMES)[data["outcome"]]}
        except LeadError as problem:
            error = problem.message
    else:
        error = "; ".join(message for errors in form.errors.values() for message in errors)
    if not request.htmx:
        return redirect("routing:inbox")
    lead = Lead.objects.select_related("owner").get(pk=pk)
    row = queries.rows_for([lead], now=timezone.now())[0]
    return render(request, "routing/inbox.html#row", _row_context(row, logged=logged, row_error=error))


def _handover(request: HttpRequest, pk: int) -> Handover:
    visible = Lead.objects.visible_to(request.user)
    return get_object_or_404(Handover.objects.filter(lead__in=visible).select_related("lead", "rep"), pk=pk)


def _handover_answer(request: HttpRequest, handover: Handover, error: str = "", form=None) -> HttpResponse:
    if not request.htmx:
        return redirect(request.POST.get("next") or "routing:inbox")
    if request.POST.get("from") == "card":
        lead = Lead.objects.visible_to(request.user).filter(pk=handover.lead_id).first()
        if lead is not None and error:
            return render_card(request, lead, handover_error=error, reject_form=form)
        # The stage shows in the page's header too: reload the whole page.
        messages.success(request, f"Handover {handover.get_status_display().lower()}.")
        return HttpResponseClientRefresh()
    context = {"handover": handover, "handover_error": error, "reject_form": form or RejectForm()}
    return render(request, "routing/inbox.html#handover", context)


@require_POST
@login_required
def handover_accept(request: HttpRequest, pk: int) -> HttpResponse:
    handover = _handover(request, pk)
    error = ""
    try:
        handover = services.accept_handover(handover=handover, actor=request.user)
    except LeadError as problem:
        error = problem.message
    response = _handover_answer(request, handover, error)
    if not error:
        response["HX-Trigger"] = "lead-changed"
    return response


@require_POST
@login_required
def handover_reject(request: HttpRequest, pk: int) -> HttpResponse:
    handover = _handover(request, pk)
    form = RejectForm(request.POST)
    error = ""
    if form.is_valid():
        try:
            handover = services.reject_handover(
                handover=handover, actor=request.user, reason=form.cleaned_data["reason"]
            )
        except FieldErrors as problem:
            error = problem.errors.get("reason", problem.message)
        except LeadError as problem:
            error = problem.message
    else:
        error = form.errors["reason"][0]
    response = _handover_answer(request, handover, error, form if error else None)
    if not error:
        response["HX-Trigger"] = "lead-changed"
    return response


@login_required
def tasks_page(request: HttpRequest) -> HttpResponse:
    groups = queries.tasks_for(request.user)
    sections = [
        ("overdue", "Overdue", groups["overdue"]),
        ("today", "Today", groups["today"]),
        ("upcoming", "Upcoming", groups["upcoming"]),
        ("done", "Done in the last 7 days", groups["done"]),
    ]
    total_open = sum(len(groups[key]) for key in ("overdue", "today", "upcoming"))
    return render(request, "routing/tasks.html", {"sections": sections, "total_open": total_open})


@require_http_methods(["GET", "POST"])
@login_required
def notifications(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        raw = request.POST.get("id", "")
        services.mark_read(user=request.user, ids=[int(raw)] if raw.isdigit() else None)
        if raw.isdigit() and request.POST.get("open"):
            row = Notification.objects.filter(user=request.user, pk=int(raw)).first()
            if row is not None:
                return redirect(row.get_absolute_url())
        return redirect("routing:notifications")
    rows = list(Notification.objects.filter(user=request.user).select_related("lead")[:100])
    return render(request, "routing/notifications.html", {"rows": rows, "unread": queries.unread_count(request.user)})
