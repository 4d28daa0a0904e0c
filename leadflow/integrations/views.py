"""Inbound sources settings (admins and marketing): create a source, copy its address and secret, see deliveries."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Max
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from leadflow.accounts.models import Role
from leadflow.integrations import services_inbound
from leadflow.integrations.inbound import SIGNATURE_HEADER, sign
from leadflow.integrations.models import InboundSource, SourceKind
from leadflow.leads.errors import FieldErrors, LeadError

RECENT_DELIVERIES = 50


class SourceCreateForm(forms.Form):
    name = forms.CharField(max_length=120)
    kind = forms.ChoiceField(choices=SourceKind.choices)


class SourceSettingsForm(forms.Form):
    name = forms.CharField(max_length=120)
    is_active = forms.BooleanField(required=False, label="Accept deliveries")
    lead_source = forms.CharField(max_length=100, required=False, label="Source recorded on leads")
    lead_medium = forms.CharField(max_length=100, required=False, label="Medium recorded on leads")
    field_map = forms.CharField(required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 6}))
    campaign_names = forms.CharField(required=False, max_length=20_000, widget=forms.Textarea(attrs={"rows": 4}))

    def clean_field_map(self) -> dict[str, str]:
        return _parse_lines(self.cleaned_data["field_map"], "field map")

    def clean_campaign_names(self) -> dict[str, str]:
        return _parse_lines(self.cleaned_data["campaign_names"], "campaign names")


def _parse_lines(text: str, what: str) -> dict[str, str]:
    """Read 'left = right' lines (blank lines and # comments skipped) into a dict."""
    parsed: dict[str, str] = {}
    for number, line in enumerate(text.replace("\x00", "").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        left, equals, right = line.partition("=")
        if not equals or not left.strip() or not right.strip():
            raise forms.ValidationError(f"Line {number} of the {what} is not 'left = right': {line[:80]}")
        parsed[left.strip()] = right.strip()
    return parsed


def _as_lines(mapping: dict[str, Any]) -> str:
    return "\n".join(f"{left} = {right}" for left, right in mapping.items())


def _require_manager(request: HttpRequest) -> None:
    user = request.user
    if not (user.is_admin or user.role == Role.MARKETING):
        raise PermissionDenied("Only admins and marketing manage inbound sources.")


@require_http_methods(["GET", "POST"])
@login_required
def source_list(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    form = SourceCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            source = services_inbound.create_source(actor=request.user, **form.cleaned_data)
        except LeadError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, f"{source.name} is ready: copy its address and secret below.")
            return redirect(source.get_absolute_url())
    sources = InboundSource.objects.annotate(
        delivery_count=Count("deliveries"), last_delivery=Max("deliveries__received_at")
    )
    return render(request, "integrations/sources.html", {"sources": sources, "form": form})


def _settings_form(source: InboundSource, data=None) -> SourceSettingsForm:
    initial = {
        "name": source.name,
        "is_active": source.is_active,
        "lead_source": source.lead_source,
        "lead_medium": source.lead_medium,
        "field_map": _as_lines(source.field_map),
        "campaign_names": _as_lines(source.campaign_names),
    }
    return SourceSettingsForm(data, initial=initial)


def _source_context(request: HttpRequest, source: InboundSource, form: SourceSettingsForm) -> dict[str, Any]:
    example = b'{"id": "order-1042", "email": "ada@example.com", "name": "Ada Lovelace"}'
    return {
        "source": source,
        "form": form,
        "hook_url": request.build_absolute_uri(source.hook_path),
        "signature_header": SIGNATURE_HEADER,
        "example_body": example.decode(),
        "example_signature": sign(example, source.secret),
        "deliveries": _deliveries(source),
        "is_google": source.kind == SourceKind.GOOGLE_ADS,
    }


def _deliveries(source: InboundSource) -> list:
    return list(source.deliveries.select_related("lead")[:RECENT_DELIVERIES])


@require_http_methods(["GET", "POST"])
@login_required
def source_detail(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    source = get_object_or_404(InboundSource, pk=pk)
    form = _settings_form(source, request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            services_inbound.update_source(source=source, actor=request.user, **form.cleaned_data)
        except FieldErrors as error:
            for name, message in error.errors.items():
                form.add_error(name if name in form.fields else "field_map", f"{name}: {message}")
        except LeadError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, f"Settings of {source.name} saved.")
            return redirect(source.get_absolute_url())
    return render(request, "integrations/source.html", _source_context(request, source, form))


@require_POST
@login_required
def source_rotate(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    source = get_object_or_404(InboundSource, pk=pk)
    services_inbound.rotate_secret(source=source, actor=request.user)
    messages.success(request, "New secret made: posts with the old one are refused from now on. Update the sender.")
    return redirect(source.get_absolute_url())


@require_GET
@login_required
def source_deliveries(request: HttpRequest, pk: int) -> HttpResponse:
    _require_manager(request)
    source = get_object_or_404(InboundSource, pk=pk)
    return render(request, "integrations/source.html#deliveries", {"source": source, "deliveries": _deliveries(source)})
