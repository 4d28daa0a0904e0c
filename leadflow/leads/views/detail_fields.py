"""Profile fields of a lead edited in place: what one field shows, and saving it through update_lead."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from leadflow.accounts.models import User
from leadflow.leads import services
from leadflow.leads.countries import COUNTRIES, country_name
from leadflow.leads.errors import EditConflict, FieldErrors, LeadError
from leadflow.leads.fields import FIRMOGRAPHIC_FIELDS, time_zones
from leadflow.leads.lifecycle import QUALIFICATION_CHOICES, QUALIFICATION_FIELDS
from leadflow.leads.models import ConsentStatus, Lead
from leadflow.leads.templatetags.lead_timeline import field_label, plain

PROFILE = ("first_name", "last_name", "email", "phone", "title", "company_name", *FIRMOGRAPHIC_FIELDS)
EDITABLE = frozenset((*PROFILE, *QUALIFICATION_FIELDS, "consent_status", "custom"))
INPUT_TYPES = {"email": "email", "phone": "tel", "company_size": "number", "budget_amount": "number"}
CHOICES = {"consent_status": ConsentStatus, **QUALIFICATION_CHOICES}
COUNTRY_CHOICES = [("", "—"), *sorted(COUNTRIES.items(), key=lambda item: item[1])]


class FieldForm(forms.Form):
    value = forms.CharField(max_length=2000, required=False, strip=False)
    seen = forms.CharField(max_length=2000, required=False, strip=False)
    key = forms.CharField(max_length=64, required=False)
    new = forms.BooleanField(required=False)


@dataclass
class FieldView:
    """One in-place editable field of a lead, as shown or as a small form."""

    lead: Lead
    name: str
    key: str = ""
    editing: bool = False
    draft: str | None = None
    error: str = ""
    conflict: EditConflict | None = None

    @property
    def is_new(self) -> bool:
        return self.name == "custom" and self.key not in self.lead.custom

    @property
    def value(self) -> Any:
        if self.name == "custom":
            return self.lead.custom.get(self.key, "")
        return getattr(self.lead, self.name)

    @property
    def seen(self) -> str:
        return "" if self.value is None else str(self.value)

    @property
    def text(self) -> str:
        if self.name == "phone":
            return self.lead.phone_display
        if self.name in CHOICES:
            return str(CHOICES[self.name](self.value).label) if self.value in CHOICES[self.name].values else ""
        if self.name == "country" and self.value:
            return f"{country_name(self.value)} ({self.value})"
        if self.name == "company_size" and self.value is not None:
            return f"{self.value:,}"
        if self.name == "budget_amount" and self.value is not None:
            return f"{self.value:,.2f}"
        return "" if self.value in (None, "") else plain(self.value)

    @property
    def dom_id(self) -> str:
        if self.name == "custom":
            if not self.key:
                return "field-custom-new"
            return "field-custom-" + hashlib.sha1(self.key.encode(), usedforsecurity=False).hexdigest()[:10]
        return f"field-{self.name}"

    @property
    def input_type(self) -> str:
        return INPUT_TYPES.get(self.name, "text")

    @property
    def input_value(self) -> str:
        return self.draft if self.draft is not None else (self.text if self.name == "phone" else self.seen)

    @property
    def multiline(self) -> bool:
        return self.name == "need_notes" or "\n" in self.input_value

    @property
    def choices(self) -> list[tuple[str, str]]:
        if self.name == "country":
            return COUNTRY_CHOICES
        return CHOICES[self.name].choices if self.name in CHOICES else []

    @property
    def is_unknown(self) -> bool:
        """Return True for a BANT answer still 'unknown', shown as a prompt rather than a value."""
        return self.name in QUALIFICATION_CHOICES and self.value == QUALIFICATION_CHOICES[self.name].UNKNOWN

    @property
    def datalist(self) -> str:
        return "time-zones" if self.name == "time_zone" else ""

    @property
    def suggestions(self) -> list[str]:
        """Return the values offered while typing: IANA time zones by region."""
        return time_zone_names() if self.name == "time_zone" else []


@cache
def time_zone_names() -> list[str]:
    return sorted(zone for zone in time_zones() if "/" in zone and not zone.startswith(("Etc/", "SystemV/")))


def save_field(user: User, lead: Lead, name: str, data: dict) -> tuple[FieldView, bool]:
    """Save one field through update_lead; return the field to show and whether it changed."""
    # Browsers send line breaks in form fields as CRLF; stored text has plain LF.
    key, value, seen = data["key"].strip(), data["value"].replace("\r\n", "\n"), data["seen"].replace("\r\n", "\n")
    if name == "custom":
        if not key:
            return FieldView(lead, name, key=key, editing=True, draft=value, error="Give the field a name."), False
        changes, expected = _custom_change(lead, key, value, seen, is_new=data["new"])
    else:
        changes, expected = {name: value}, {name: seen}
    version = lead.version
    try:
        lead = services.update_lead(lead=lead, changes=changes, actor=user, expected=expected)
    except EditConflict as conflict:
        lead.refresh_from_db()
        return FieldView(lead, name, key=key, editing=True, draft=value, conflict=conflict), False
    except FieldErrors as error:
        label = key if name == "custom" else field_label(name)
        message = f"{label} {error.errors[name]}" if name in error.errors else "; ".join(error.errors.values())
        return FieldView(lead, name, key=key, editing=True, draft=value, error=message), False
    except LeadError as error:
        return FieldView(lead, name, key=key, editing=True, draft=value, error=error.message), False
    lead = Lead.objects.select_related("owner", "company").get(pk=lead.pk)
    return FieldView(lead, name, key=key), lead.version != version


def _custom_change(lead: Lead, key: str, value: str, seen: str, *, is_new: bool) -> tuple[dict, dict]:
    """Return (changes, expected) for one custom field: the others are kept as they are now."""
    current = lead.custom
    if is_new:
        expected = {k: v for k, v in current.items() if k != key}
    elif key in current and plain(current[key]) == plain(seen or None):
        expected = dict(current)
    else:
        expected = {**current, key: seen}
    updated = {k: v for k, v in current.items() if k != key}
    if value.strip():
        updated = {**current, key: value}
        if key in current and plain(current[key]) == plain(value.strip()):
            updated[key] = current[key]
    return {"custom": updated}, {"custom": expected}


def back_to_lead(request: HttpRequest, lead: Lead, error: str = "") -> HttpResponse:
    """Answer a plain post of an in-place form (one sent before htmx took it over): back to the lead page."""
    if error:
        messages.error(request, error)
    return redirect(lead.get_absolute_url())
