"""One lead: profile edited in place, timeline, notes, calls, stage, owner, merge, export, erase."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render

from leadflow.leads.models import Lead


@login_required
def lead_detail(request: HttpRequest, pk: int) -> HttpResponse:
    lead = get_object_or_404(Lead.objects.visible_to(request.user), pk=pk)
    return render(request, "leads/detail.html", {"lead": lead})


@login_required
def lead_field(request: HttpRequest, pk: int, name: str) -> HttpResponse:
    raise NotImplementedError


@login_required
def lead_timeline(request: HttpRequest, pk: int) -> HttpResponse:
    raise NotImplementedError


@login_required
def lead_note(request: HttpRequest, pk: int) -> HttpResponse:
    raise NotImplementedError


@login_required
def lead_call(request: HttpRequest, pk: int) -> HttpResponse:
    raise NotImplementedError


@login_required
def lead_stage(request: HttpRequest, pk: int) -> HttpResponse:
    raise NotImplementedError


@login_required
def lead_owner(request: HttpRequest, pk: int) -> HttpResponse:
    raise NotImplementedError


@login_required
def lead_merge(request: HttpRequest, pk: int) -> HttpResponse:
    raise NotImplementedError


@login_required
def merge_undo(request: HttpRequest, pk: int) -> HttpResponse:
    raise NotImplementedError


@login_required
def lead_export(request: HttpRequest, pk: int) -> HttpResponse:
    raise NotImplementedError


@login_required
def lead_erase(request: HttpRequest, pk: int) -> HttpResponse:
    raise NotImplementedError
