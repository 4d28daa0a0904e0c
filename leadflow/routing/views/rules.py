"""Assignment rules (ordered), the dry run, the Unrouted queue, and the team view of availability."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leadflow.accounts.models import Role, Team, User
from leadflow.leads import queries as lead_queries
from leadflow.leads.models import Lead
from leadflow.routing import queries, services
from leadflow.routing.forms import AvailabilityForm, RuleForm, ScheduleForm, may_manage_routing
from leadflow.routing.hours import parse_hours
from leadflow.routing.models import WEEKDAYS, AssignmentRule, Availability, TeamSchedule


def _require_manager(request: HttpRequest) -> None:
    if not may_manage_routing(request.user):
        raise PermissionDenied("Only admins and sales managers manage routing.")


def _rules_context(request: HttpRequest, form: RuleForm | None = None) -> dict:
    rules = list(AssignmentRule.objects.select_related("target_user", "target_team", "form").order_by("position", "id"))
    return {"rules": rules, "form": form or RuleForm(), "unrouted": queries.unrouted_queue(request.user)}


@require_http_methods(["GET", "POST"])
@login_required
def rules_page(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    if request.method == "POST":
        form = RuleForm(request.POST)
        if form.is_valid():
            rule = form.save(commit=False)
            last = AssignmentRule.objects.order_by("-position").values_list("position", flat=True).first()
            rule.position = (last or 0) + 1
            rule.save()
            messages.success(request, f"Rule “{rule.name}” added at the end of the list.")
            return redirect("routing:rules")
        return render(request, "routing/rules.html", _rules_context(request, form), status=422)
    return render(request, "routing/rules.html", _rules_context(request))


@require_http_methods(["GET", "POST"])
@login_required
def rule_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    rule = get_object_or_404(AssignmentRule, pk=pk)
    form = RuleForm(request.POST or None, instance=rule)
    if request.method == "POST" and form.is_valid():
        form.save()
        messages.success(request, f"Rule “{rule.name}” saved.")
        return redirect("routing:rules")
    return render(request, "routing/rule_edit.html", {"rule": rule, "form": form})


@require_POST
@login_required
def rule_delete(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    rule = get_object_or_404(AssignmentRule, pk=pk)
    rule.delete()
    messages.success(request, f"Rule “{rule.name}” deleted.")
    return redirect("routing:rules")


@require_POST
@login_required
def rule_move(request: HttpRequest, pk: int) -> HttpResponse:
    """Move a rule one place up or down; positions are renumbered 1..n."""
    _require_manager(request)
    with transaction.atomic():
        rules = list(AssignmentRule.objects.select_for_update().order_by("position", "id"))
        index = next((n for n, rule in enumerate(rules) if rule.pk == pk), None)
        if index is None:
            return redirect("routing:rules")
        other = index - 1 if request.POST.get("direction") == "up" else index + 1
        if 0 <= other < len(rules):
            rules[index], rules[other] = rules[other], rules[index]
        for position, rule in enumerate(rules, start=1):
            if rule.position != position:
                AssignmentRule.objects.filter(pk=rule.pk).update(position=position)
    return redirect("routing:rules")


@require_GET
@login_required
def dry_run(request: HttpRequest) -> HttpResponse:
    """Search a lead, then show which rule matches it and where it would go, changing nothing."""
    _require_manager(request)
    visible = Lead.objects.visible_to(request.user)
    raw = request.GET.get("lead", "")
    if raw.isdigit():
        lead = get_object_or_404(visible.select_related("owner"), pk=int(raw))
        decision = services.evaluate(lead)
        return render(request, "routing/rules.html#dry_run_result", {"lead": lead, "decision": decision})
    q = request.GET.get("q", "").strip()[:200].replace("\x00", "")
    results = list(lead_queries.search(visible, q).order_by("-last_activity_at")[:10]) if q else []
    return render(request, "routing/rules.html#dry_run_results", {"q": q, "results": results})


def _managed_teams(user: User) -> list[Team]:
    teams = Team.objects.order_by("name")
    return list(teams if user.is_admin else teams.filter(pk__in=user.managed_team_ids()))


@require_GET
@login_required
def team_view(request: HttpRequest) -> HttpResponse:
    """Managers: per rep, open and never-touched leads, overdue first touches; availability and hours."""
    _require_manager(request)
    teams = _managed_teams(request.user)
    overview = queries.team_overview(request.user)
    availability = {a.user_id: a for a in Availability.objects.filter(user__in=[row["rep"] for row in overview])}
    for row in overview:
        row["form"] = AvailabilityForm(instance=availability.get(row["rep"].pk), prefix=f"a{row['rep'].pk}")
        row["availability"] = availability.get(row["rep"].pk)
    schedules = []
    for team in teams:
        schedule = TeamSchedule.objects.filter(team=team).first() or TeamSchedule(team=team)
        days = parse_hours(schedule.hours)
        initial = {"time_zone": schedule.time_zone, "webhook_url": schedule.webhook_url}
        form = ScheduleForm(initial=initial, prefix=f"t{team.pk}")
        rows = [
            (day, index, window[0].strftime("%H:%M") if window else "", window[1].strftime("%H:%M") if window else "")
            for index, (day, window) in enumerate(zip(WEEKDAYS, days, strict=True))
        ]
        schedules.append({"team": team, "form": form, "days": rows})
    context = {
        "overview": overview,
        "schedules": schedules,
        "overdue": queries.overdue_leads(request.user),
        "totals": {key: sum(row[key] for row in overview) for key in ("open", "never_touched", "overdue", "handovers")},
    }
    return render(request, "routing/team.html", context)


@require_POST
@login_required
def availability_edit(request: HttpRequest, user_id: int) -> HttpResponse:
    _require_manager(request)
    reps = User.objects.filter(role=Role.REP)
    if not request.user.is_admin:
        reps = reps.filter(team_id__in=request.user.managed_team_ids())
    rep = get_object_or_404(reps, pk=user_id)
    record = Availability.objects.filter(user=rep).first() or Availability(user=rep)
    form = AvailabilityForm(request.POST, instance=record, prefix=f"a{rep.pk}")
    if form.is_valid():
        form.save()
        messages.success(request, f"{rep}'s availability saved.")
    else:
        errors = "; ".join(message for errors in form.errors.values() for message in errors)
        messages.error(request, f"{rep}: {errors}")
    return redirect("routing:team")


@require_POST
@login_required
def schedule_edit(request: HttpRequest, team_id: int) -> HttpResponse:
    _require_manager(request)
    team = get_object_or_404(Team.objects.filter(pk__in=[t.pk for t in _managed_teams(request.user)]), pk=team_id)
    form = ScheduleForm(request.POST, prefix=f"t{team.pk}")
    if form.is_valid():
        TeamSchedule.objects.update_or_create(
            team=team,
            defaults={
                "time_zone": form.cleaned_data["time_zone"],
                "hours": form.cleaned_data["hours"],
                "webhook_url": form.cleaned_data["webhook_url"],
            },
        )
        messages.success(request, f"{team}'s working hours saved.")
    else:
        errors = "; ".join(message for errors in form.errors.values() for message in errors)
        messages.error(request, f"{team}: {errors}")
    return redirect("routing:team")
