"""The leads table, saved views, bulk actions, the quick New lead form, and companies."""

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from leadflow.leads import queries


@login_required
def lead_list(request: HttpRequest) -> HttpResponse:
    filters = queries.parse_filters(request.GET)
    page = queries.lead_page(user=request.user, filters=filters, limit=50)
    return render(request, "leads/list.html", {"page": page, "filters": filters})


@login_required
def bulk_action(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


@login_required
def save_view(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


@login_required
def delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    raise NotImplementedError


@login_required
def lead_new(request: HttpRequest) -> HttpResponse:
    return render(request, "leads/new.html", {})


@login_required
def duplicate_check(request: HttpRequest) -> HttpResponse:
    raise NotImplementedError


@login_required
def company_list(request: HttpRequest) -> HttpResponse:
    return render(request, "leads/companies.html", {"companies": queries.companies_page(user=request.user)})


@login_required
def company_detail(request: HttpRequest, pk: int) -> HttpResponse:
    raise NotImplementedError
