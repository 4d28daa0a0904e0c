"""Profile fields of a lead edited in place: what one field shows, and saving it through update_lead."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from django import forms

from leadflow.accounts.models import User
from leadflow.leads import services
from leadflow.leads.errors import EditConflict, FieldErrors, LeadError
from leadflow.leads.models import ConsentStatus, Lead
from leadflow.leads.templatetags.lead_timeline import field_label, plain

PROFILE = ("first_name", "last_name", "email", "phone", "title", "company_name")
EDITABLE = frozenset((*PROFILE, "consent_status", "custom"))
INPUT_TYPES = {"email": "email", "phone": "tel"}


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
        if self.name == "consent_status":
            return self.lead.get_consent_status_display()
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
        return "\n" in self.input_value

    @property
    def choices(self) -> list[tuple[str, str]]:
        return ConsentStatus.choices if self.name == "consent_status" else []


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
