"""One lead: profile edited in place, timeline, notes, calls, stage, owner, merge, export, erase."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect, trigger_client_event

from leadflow.accounts.models import Role, User
from leadflow.leads import queries, services
from leadflow.leads.countries import country_name
from leadflow.leads.errors import FieldErrors, LeadError
from leadflow.leads.forms import assignable_owners
from leadflow.leads.lifecycle import QUALIFICATION_CHOICES, QUALIFICATION_FIELDS
from leadflow.leads.models import CallOutcome, Lead, LeadMerge, LeadStatus, QualificationGate
from leadflow.leads.services.merge import MERGE_FIELDS, default_choices
from leadflow.leads.templatetags.lead_timeline import TIMELINE_GROUPS
from leadflow.leads.views.detail_fields import EDITABLE, PROFILE, FieldForm, FieldView, back_to_lead, save_field
from leadflow.leads.views.qualification import gate_context, stage_context

TIMELINE_PAGE = 50
LEAD_CHANGED = "lead-changed"


class NoteForm(forms.Form):
    text = forms.CharField(max_length=10_000, strip=False, error_messages={"required": "Write something first."})


class CallForm(forms.Form):
    outcome = forms.ChoiceField(choices=CallOutcome.choices)
    minutes = forms.DecimalField(min_value=0, max_value=1440, decimal_places=2, required=False)
    notes = forms.CharField(max_length=10_000, required=False, strip=False)


def _visible(request: HttpRequest, pk: int) -> Lead:
    return get_object_or_404(Lead.objects.visible_to(request.user).select_related("owner", "company"), pk=pk)


def _changed(response: HttpResponse) -> HttpResponse:
    """Tell the page the lead changed, so the timeline reloads its newest events."""
    return trigger_client_event(response, LEAD_CHANGED)


def _timeline_context(lead: Lead, show: str, before: int | None = None) -> dict[str, Any]:
    kinds = list(TIMELINE_GROUPS[show][1]) if show in TIMELINE_GROUPS else None
    events, next_before = queries.timeline_for(lead, kinds=kinds, before=before, limit=TIMELINE_PAGE)
    return {
        "lead": lead,
        "events": events,
        "next_before": next_before,
        "show": show if show in TIMELINE_GROUPS else "",
        "groups": [(slug, label) for slug, (label, _) in TIMELINE_GROUPS.items()],
    }


def _may_erase(user: User) -> bool:
    return user.is_admin or user.role == Role.MANAGER


@require_GET
@login_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    visible = Lead.objects.visible_to(request.user, include_inactive=True).select_related("owner", "company", "team")
    lead = get_object_or_404(visible, pk=pk)
    if lead.status == LeadStatus.MERGED and lead.merged_into_id:
        messages.info(request, f"Lead #{lead.pk} was merged into this lead.")
        return redirect("leads:detail", lead.merged_into_id)
    if lead.status != LeadStatus.ACTIVE:
        raise Http404("This lead was erased.")
    merges = LeadMerge.objects.filter(winner=lead).select_related("loser", "actor").order_by("-pk")
    merges = list(merges.defer("winner_before", "winner_after", "loser_before", "moved_event_ids")[:20])
    open_merges = [merge for merge in merges if merge.undone_at is None]
    undoable = open_merges[0].pk if open_merges and open_merges[0].loser.status == LeadStatus.MERGED else None
    gate = QualificationGate.current()
    context = {
        **_timeline_context(lead, request.GET.get("show", "")),
        **stage_context(lead, gate),
        **gate_context(lead, gate),
        "fields": [FieldView(lead, name) for name in PROFILE],
        "qualification_fields": [FieldView(lead, name) for name in QUALIFICATION_FIELDS],
        "consent": FieldView(lead, "consent_status"),
        "custom_fields": [FieldView(lead, "custom", key=str(key)) for key in lead.custom],
        "merges": merges,
        "undoable": undoable,
        "just_merged": next((m for m in open_merges if str(m.pk) == request.GET.get("merged")), None),
        "may_erase": _may_erase(request.user),
        "outcomes": CallOutcome.choices,
    }
    return render(request, "leads/detail.html", context)


@require_http_methods(["GET", "POST"])
@login_required
def lead_field(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    lead = _visible(request, pk)
    if name not in EDITABLE:
        raise Http404("No such field.")
    if request.method == "GET":
        field = FieldView(lead, name, key=request.GET.get("key", "")[:64], editing="edit" in request.GET)
        if name == "custom" and field.is_new and not field.editing:
            return render(request, "leads/detail.html#add_custom", {"lead": lead})
        return render(request, "leads/detail.html#field", {"field": field})
    form = FieldForm(request.POST)
    if not form.is_valid():
        field = FieldView(lead, name, key=request.POST.get("key", "")[:64], editing=True)
        field.error = "; ".join(message for errors in form.errors.values() for message in errors)
        if not request.htmx:
            return back_to_lead(request, lead, field.error)
        return render(request, "leads/detail.html#field", {"field": field})
    field, saved = save_field(request.user, lead, name, form.cleaned_data)
    if not request.htmx:
        return back_to_lead(request, lead, field.error or (field.conflict.message if field.conflict else ""))
    added = saved and name == "custom" and form.cleaned_data["new"]
    context = {"field": field, "lead": field.lead, "added": added}
    if saved and name in QUALIFICATION_FIELDS:
        # The gate and the stage control's hints follow the answers: swap them in too.
        context.update(qualified=True, **stage_context(field.lead), **gate_context(field.lead))
    response = render(request, "leads/detail.html#field_saved", context)
    return _changed(response) if saved else response


@require_GET
@login_required
def lead_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _visible(request, pk)
    before = request.GET.get("before", "")
    if before.isdigit():
        context = _timeline_context(lead, request.GET.get("show", ""), before=int(before))
        return render(request, "leads/detail.html#timeline_page", context)
    if not request.htmx:
        return redirect(lead.get_absolute_url())
    return render(request, "leads/detail.html#timeline", _timeline_context(lead, request.GET.get("show", "")))


@require_POST
@login_required
def lead_note(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _visible(request, pk)
    form = NoteForm(request.POST)
    event = None
    if form.is_valid():
        try:
            event = services.add_note(lead=lead, text=form.cleaned_data["text"], actor=request.user)
        except FieldErrors as error:
            form.add_error("text", error.errors.get("text", error.message))
    if not request.htmx:
        _flash_form(request, form, "Note added.")
        return redirect(lead.get_absolute_url())
    form = NoteForm() if event else form
    return render(request, "leads/detail.html#note_added", {"lead": lead, "note_form": form, "event": event})


@require_POST
@login_required
def lead_call(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _visible(request, pk)
    form = CallForm(request.POST)
    event = None
    if form.is_valid():
        minutes = form.cleaned_data["minutes"] or 0
        try:
            event = services.log_call(
                lead=lead,
                outcome=form.cleaned_data["outcome"],
                duration_seconds=round(minutes * 60),
                notes=form.cleaned_data["notes"],
                actor=request.user,
            )
        except FieldErrors as error:
            form.add_error(None, "; ".join(error.errors.values()))
    if not request.htmx:
        _flash_form(request, form, "Call logged.")
        return redirect(lead.get_absolute_url())
    form = CallForm() if event else form
    context = {"lead": lead, "call_form": form, "event": event, "outcomes": CallOutcome.choices}
    return render(request, "leads/detail.html#call_added", context)


def _flash_form(request: HttpRequest, form: forms.Form, success: str) -> None:
    if form.errors:
        messages.error(request, " ".join(message for errors in form.errors.values() for message in errors))
    else:
        messages.success(request, success)


@require_http_methods(["GET", "POST"])
@login_required
def lead_owner(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _visible(request, pk)
    context: dict[str, Any] = {"lead": lead}
    if request.method == "GET":
        if "edit" in request.GET:
            context.update(owner_editing=True, candidates=assignable_owners(request.user))
            context["may_unassign"] = request.user.may_assign_to(None)
        return render(request, "leads/detail.html#owner", context)
    raw = request.POST.get("owner", "")
    owner = User.objects.filter(pk=int(raw), is_active=True).first() if raw.isdigit() else None
    before = lead.owner_id
    try:
        if raw and owner is None:
            raise LeadError("unknown_owner", "Pick someone from the list.")
        lead = services.assign_owner(lead=lead, owner=owner, actor=request.user)
    except LeadError as error:
        if not request.htmx:
            return back_to_lead(request, lead, error.message)
        context.update(owner_editing=True, candidates=assignable_owners(request.user), owner_error=error.message)
        context["may_unassign"] = request.user.may_assign_to(None)
        return render(request, "leads/detail.html#owner", context)
    if not Lead.objects.visible_to(request.user).filter(pk=pk).exists():
        messages.success(request, f"{lead.display_name} now belongs to {lead.owner or 'the team queue'}.")
        return HttpResponseClientRedirect(reverse("leads:list"))
    if not request.htmx:
        return back_to_lead(request, lead)
    lead = Lead.objects.select_related("owner").get(pk=pk)
    response = render(request, "leads/detail.html#owner", {"lead": lead})
    return _changed(response) if lead.owner_id != before else response


@require_http_methods(["GET", "POST"])
@login_required
def lead_merge(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _visible(request, pk)
    others = Lead.objects.visible_to(request.user).exclude(pk=lead.pk)
    other_id = request.POST.get("other") or request.GET.get("other", "")
    if not other_id:
        return _merge_search(request, lead, others)
    other = get_object_or_404(others.select_related("owner", "company"), pk=other_id if other_id.isdigit() else 0)
    error = ""
    if request.method == "POST":
        choices = {name: request.POST.get(f"pick_{name}", "winner") for name in MERGE_FIELDS}
        try:
            merge = services.merge_leads(winner=lead, loser=other, actor=request.user, choices=choices)
        except LeadError as problem:
            error = problem.message
        else:
            return redirect(f"{lead.get_absolute_url()}?merged={merge.pk}")
    return render(request, "leads/merge_compare.html", _comparison(lead, other, error))


def _merge_search(request: HttpRequest, lead: Lead, others) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:200].replace("\x00", "")
    if q:
        results = list(queries.search(others, q).select_related("owner", "company").order_by("-last_activity_at")[:10])
    else:
        suggested = queries.possible_matches(user=request.user, phone=lead.phone, exclude=lead.pk)
        by_name = list(queries.search(others, lead.full_name)[:5]) if lead.full_name else []
        results = list({found.pk: found for found in [*suggested, *by_name]}.values())
    context = {"lead": lead, "q": q, "results": results}
    if request.htmx and request.htmx.target == "merge-results":
        return render(request, "leads/merge_pick.html#results", context)
    return render(request, "leads/merge_pick.html", context)


def _comparison(lead: Lead, other: Lead, error: str) -> dict[str, Any]:
    picked = default_choices(lead, other)
    rows = []
    for name in MERGE_FIELDS:
        mine, theirs = _merge_value(lead, name), _merge_value(other, name)
        rows.append({"name": name, "mine": mine, "theirs": theirs, "pick": picked[name], "same": mine == theirs})
    return {
        "lead": lead,
        "other": other,
        "rows": rows,
        "error": error,
        "counts": (lead.events.count(), other.events.count()),
        "custom_keys": sorted(set(other.custom) - set(lead.custom)),
    }


def _merge_value(lead: Lead, name: str) -> str:
    if name == "owner_id":
        return str(lead.owner) if lead.owner else ""
    if name == "stage":
        return lead.get_stage_display()
    if name == "consent_status" or name in QUALIFICATION_CHOICES:
        return getattr(lead, f"get_{name}_display")()
    if name == "country" and lead.country:
        return f"{country_name(lead.country)} ({lead.country})"
    if name == "phone":
        return lead.phone_display
    return str(getattr(lead, name) or "")


@require_POST
@login_required
def merge_undo(request: HttpRequest, pk: int) -> HttpResponse:
    visible = Lead.objects.visible_to(request.user)
    merge = get_object_or_404(LeadMerge.objects.filter(winner__in=visible).select_related("loser"), pk=pk)
    try:
        services.undo_merge(merge=merge, actor=request.user)
    except LeadError as error:
        messages.error(request, error.message)
    else:
        loser = merge.loser
        messages.success(request, f"Merge undone: {loser.display_name} (lead #{loser.pk}) is a separate lead again.")
    return redirect("leads:detail", merge.winner_id)


@require_GET
@login_required
def lead_export(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _visible(request, pk)
    data = services.export_lead_data(lead=lead, actor=request.user)
    response = JsonResponse(data, json_dumps_params={"indent": 2, "ensure_ascii": False})
    response["Content-Disposition"] = f'attachment; filename="lead-{lead.pk}.json"'
    response["Cache-Control"] = "no-store"
    return response


@require_http_methods(["GET", "POST"])
@login_required
def lead_erase(request: HttpRequest, pk: int) -> HttpResponse:
    lead = _visible(request, pk)
    allowed = _may_erase(request.user)
    if request.method == "GET":
        counts = {"events": lead.events.count(), "merged": Lead.objects.filter(merged_into=lead).count()}
        return render(request, "leads/erase_confirm.html", {"lead": lead, "allowed": allowed, **counts})
    if not allowed:
        raise PermissionDenied("Only admins and sales managers can erase a lead.")
    reason = request.POST.get("reason", "").replace("\x00", "").strip()
    try:
        services.erase_lead(lead=lead, actor=request.user, reason=reason)
    except LeadError as error:
        messages.error(request, error.message)
        return redirect(lead.get_absolute_url())
    messages.success(
        request, f"Lead #{lead.pk} was erased: personal data removed, an anonymous record kept for the counts."
    )
    return redirect("leads:list")
