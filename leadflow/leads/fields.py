"""Check and normalise the fields of a lead given by a person, a form, a file or the API."""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from leadflow.leads.countries import ALIASES, COUNTRIES
from leadflow.leads.errors import FieldErrors
from leadflow.leads.lifecycle import QUALIFICATION_CHOICES, QUALIFICATION_FIELDS
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
    "industry": 100,
}
PROFILE_FIELDS = ("first_name", "last_name", "email", "phone", "title", "company_name")
# Facts about the lead's organisation and place, edited like the profile.
FIRMOGRAPHIC_FIELDS = ("country", "industry", "company_size", "time_zone")
TOUCH_FIELDS = ("source", "medium", "campaign", "referrer", "landing_page")
# Looked up on every capture: a choices class works its values out anew on each access.
_STAGES = frozenset(Stage.values)
_CONSENT_STATUSES = frozenset(ConsentStatus.values)
INPUT_FIELDS = frozenset(
    (
        *PROFILE_FIELDS,
        *FIRMOGRAPHIC_FIELDS,
        *QUALIFICATION_FIELDS,
        *TOUCH_FIELDS,
        "consent_status",
        "consent_source",
        "custom",
        "stage",
    )
)
MAX_COMPANY_SIZE = 10_000_000
MAX_BUDGET = Decimal("999999999999.99")
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


NO_COUNTRY = frozenset({"unknown", "n/a", "na", "none", "-", "--", "not provided", "not known"})


def clean_country(value: Any) -> str:
    """Return an ISO 3166-1 alpha-2 code ('de' -> 'DE', a country's English name -> its code).

    Words exports write for "no country" ('unknown', 'n/a', ...) mean no country.
    """
    text = clean_text(value, limit=100)
    if not text or text.casefold() in NO_COUNTRY:
        return ""
    code = text.upper()
    if code in COUNTRIES:
        return code
    by_name = _countries_by_name()
    if text.casefold() in by_name:
        return by_name[text.casefold()]
    raise ValueError(f"“{text[:40]}” is not a country; use a two-letter ISO code such as DE, US or JP.")


def clean_time_zone(value: Any) -> str:
    """Return a valid IANA time zone name, matched without regard to case ('europe/berlin' works)."""
    text = clean_text(value, limit=64).replace(" ", "_")
    if not text:
        return ""
    zones = time_zones()
    if text in zones:
        return text
    folded = {zone.casefold(): zone for zone in zones}
    if text.casefold() in folded:
        return folded[text.casefold()]
    raise ValueError(f"“{text[:40]}” is not a time zone; use an IANA name such as Europe/Berlin or America/New_York.")


@cache
def time_zones() -> frozenset[str]:
    return frozenset(available_timezones())


@cache
def _countries_by_name() -> dict[str, str]:
    names = {name.casefold(): code for name, code in ALIASES.items()}
    return names | {name.casefold(): code for code, name in COUNTRIES.items()}


def clean_company_size(value: Any) -> int | None:
    """Return a number of employees: a whole number from 0, or None to clear it."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool):
        raise ValueError("must be a whole number of employees, such as 250.")
    if isinstance(value, str):
        text = value.strip().replace(",", "").replace("_", "").replace(" ", "")
        if not (text.isascii() and text.lstrip("+-").isdigit() and len(text) <= 12):
            raise ValueError(f"“{value.strip()[:40]}” is not a whole number of employees, such as 250.")
        value = int(text)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise ValueError("must be a whole number of employees, such as 250.")
    if not 0 <= value <= MAX_COMPANY_SIZE:
        raise ValueError(f"must be from 0 to {MAX_COMPANY_SIZE:,} employees.")
    return value


def clean_budget_amount(value: Any) -> Decimal | None:
    """Return an amount of money from 0 with at most two decimals, or None to clear it."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError("must be an amount such as 25000 or 1250.50.")
    text = str(value).strip().replace(",", "").replace(" ", "")
    try:
        amount = Decimal(text)
    except InvalidOperation:
        raise ValueError(f"“{str(value)[:40]}” is not an amount; write it like 25000 or 1250.50.") from None
    if not amount.is_finite() or amount < 0 or amount > MAX_BUDGET:
        raise ValueError("must be an amount from 0 to 999,999,999,999.99.")
    if amount != amount.quantize(Decimal("0.01")):
        raise ValueError("can have at most two decimals.")
    return amount.quantize(Decimal("0.01"))


def clean_choice(name: str, value: Any) -> str:
    """Return a BANT value given as its code or its label ('Approved' -> 'approved')."""
    choices = QUALIFICATION_CHOICES[name]
    if value is None or value == "":
        return choices.UNKNOWN
    if isinstance(value, str):
        word = value.strip().casefold()
        for code, label in choices.choices:
            if word in {code, str(label).casefold()}:
                return code
    options = ", ".join(f"{code} ({label})" for code, label in choices.choices)
    raise ValueError(f"must be one of {options}.")


def _clean_one(name: str, value: Any) -> Any:
    if name in QUALIFICATION_CHOICES:
        return clean_choice(name, value)
    if name == "budget_amount":
        return clean_budget_amount(value)
    if name == "need_notes":
        return clean_text(value, limit=2000, multiline=True)
    if name == "country":
        return clean_country(value)
    if name == "time_zone":
        return clean_time_zone(value)
    if name == "company_size":
        return clean_company_size(value)
    if name == "email":
        return normalise_email(clean_text(value, limit=320))
    if name == "phone":
        return normalise_phone(clean_text(value, limit=40))
    if name == "custom":
        return clean_custom(value)
    if name == "stage":
        if value not in _STAGES:
            raise ValueError(f"must be one of {', '.join(Stage.values)}.")
        return value
    if name == "consent_status":
        if value not in _CONSENT_STATUSES:
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
