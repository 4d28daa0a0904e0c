"""Check and normalise the fields of a lead given by a person, a form, a file or the API."""

from __future__ import annotations

import re
from typing import Any

from leadflow.leads.errors import FieldErrors
from leadflow.leads.models import ConsentStatus, Stage
from leadflow.leads.normalise import NormaliseError, normalise_email, normalise_phone

TEXT_LIMITS = {
    "first_name": 150,
    "last_name": 150,
    "title": 200,
    "company_name": 200,
    "source": 100,
    "medium": 100,
    "campaign": 200,
    "referrer": 2000,
    "landing_page": 2000,
    "consent_source": 200,
}
PROFILE_FIELDS = ("first_name", "last_name", "email", "phone", "title", "company_name")
TOUCH_FIELDS = ("source", "medium", "campaign", "referrer", "landing_page")
INPUT_FIELDS = frozenset((*PROFILE_FIELDS, *TOUCH_FIELDS, "consent_status", "consent_source", "custom", "stage"))
MAX_CUSTOM_FIELDS = 50
MAX_CUSTOM_VALUE = 2000
# C0 control characters other than tab and newline have no place in a lead's fields.
CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def clean_text(value: Any, *, limit: int, multiline: bool = False) -> str:
    """Return `value` as trimmed text, or raise ValueError saying what is wrong."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"must be text, not {type(value).__name__}.")
    if "\x00" in value:
        raise ValueError("contains a NUL byte; remove it and try again.")
    if CONTROL_CHARS.search(value):
        raise ValueError("contains control characters; remove them and try again.")
    value = value.strip()
    if not multiline:
        value = " ".join(value.split())
    if len(value) > limit:
        raise ValueError(f"is {len(value)} characters long; the most allowed is {limit}.")
    return value


def clean_custom(value: Any) -> dict[str, Any]:
    """Return custom fields as a flat dict of short keys to scalar values."""
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ValueError("must be an object of field names to values.")
    if len(value) > MAX_CUSTOM_FIELDS:
        raise ValueError(f"has {len(value)} fields; the most allowed is {MAX_CUSTOM_FIELDS}.")
    cleaned: dict[str, Any] = {}
    for key, item in value.items():
        name = clean_text(key, limit=64)
        if not name:
            raise ValueError("has a field with an empty name.")
        if isinstance(item, str):
            item = clean_text(item, limit=MAX_CUSTOM_VALUE, multiline=True)
        elif item is not None and not isinstance(item, bool | int | float):
            raise ValueError(f"field {name!r} must be text, a number, true/false or null.")
        cleaned[name] = item
    return cleaned


def _clean_one(name: str, value: Any) -> Any:
    if name == "email":
        return normalise_email(clean_text(value, limit=320))
    if name == "phone":
        return normalise_phone(clean_text(value, limit=40))
    if name == "custom":
        return clean_custom(value)
    if name == "stage":
        if value not in Stage.values:
            raise ValueError(f"must be one of {', '.join(Stage.values)}.")
        return value
    if name == "consent_status":
        if value not in ConsentStatus.values:
            raise ValueError(f"must be one of {', '.join(ConsentStatus.values)}.")
        return value
    return clean_text(value, limit=TEXT_LIMITS[name])


def clean_lead_input(data: dict[str, Any], *, allowed: frozenset[str] = INPUT_FIELDS) -> dict:
    """Return `data` checked and normalised, or raise FieldErrors naming each bad field."""
    if not isinstance(data, dict):
        raise FieldErrors({"__all__": "must be an object of field names to values."})
    errors: dict[str, str] = {}
    cleaned: dict[str, Any] = {}
    for name, value in data.items():
        if name not in allowed:
            errors[str(name)[:64]] = "is not a field of a lead here."
            continue
        try:
            cleaned[name] = _clean_one(name, value)
        except (ValueError, NormaliseError) as error:
            errors[name] = str(error)
    if errors:
        raise FieldErrors(errors)
    return cleaned
