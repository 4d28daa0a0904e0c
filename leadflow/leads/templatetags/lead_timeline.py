"""Show a lead's timeline and fields readably: labels, durations, changes, safe links."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from django import template
from django.core.exceptions import FieldDoesNotExist
from django.utils.dateparse import parse_datetime

from leadflow.leads.countries import country_name
from leadflow.leads.lifecycle import QUALIFICATION_CHOICES
from leadflow.leads.models import ActorType, CallOutcome, ConsentStatus, EventKind, Lead, Stage

register = template.Library()

# The chips above the timeline: slug -> (label, kinds shown).
TIMELINE_GROUPS: dict[str, tuple[str, tuple[str, ...]]] = {
    "notes": ("Notes", (EventKind.NOTE,)),
    "calls": ("Calls & meetings", (EventKind.CALL, EventKind.MEETING)),
    "email": (
        "Email",
        (EventKind.EMAIL_SENT, EventKind.EMAIL_OPENED, EventKind.EMAIL_CLICKED, EventKind.EMAIL_REPLIED),
    ),
    "web": ("Web & forms", (EventKind.PAGE_VIEWED, EventKind.FORM_SUBMITTED, EventKind.CAPTURED, EventKind.CREATED)),
    "changes": (
        "Changes",
        (
            EventKind.UPDATED,
            EventKind.STAGE_CHANGED,
            EventKind.OWNER_CHANGED,
            EventKind.SCORE_CHANGED,
            EventKind.CONSENT_CHANGED,
            EventKind.QUALIFICATION_CHANGED,
        ),
    ),
    "records": ("Merges & data", (EventKind.MERGED, EventKind.MERGE_UNDONE, EventKind.EXPORTED, EventKind.ERASED)),
}
_GROUP_OF_KIND = {kind: slug for slug, (_, kinds) in TIMELINE_GROUPS.items() for kind in kinds}
_FIELD_LABELS = {
    "owner_id": "Owner",
    "company_name": "Company",
    "consent_status": "Consent",
    "custom": "Custom fields",
    "purchase_timeline": "Timeline",
    "time_zone": "Time zone",
}
_CHOICE_LABELS = {"stage": Stage, "consent_status": ConsentStatus, **QUALIFICATION_CHOICES}


@register.filter
def kind_group(kind: str) -> str:
    """Return the chip group an event kind belongs to (used for its colour)."""
    return _GROUP_OF_KIND.get(kind, "other")


@register.filter
def field_label(name: str) -> str:
    """Return a person's name for a lead field: 'first_name' -> 'First name'."""
    if name in _FIELD_LABELS:
        return _FIELD_LABELS[name]
    try:
        verbose = str(Lead._meta.get_field(name.removesuffix("_id")).verbose_name)
    except FieldDoesNotExist:
        verbose = name.replace("_", " ")
    return verbose[:1].upper() + verbose[1:]


@register.filter
def stage_label(value: str) -> str:
    return _label(Stage, value)


@register.filter
def outcome_label(value: str) -> str:
    return _label(CallOutcome, value)


@register.filter
def kind_label(value: str) -> str:
    return _label(EventKind, value)


def _label(choices, value: Any) -> str:
    if value in choices.values:
        return str(choices(value).label)
    return "" if value is None else str(value)


@register.filter
def qualification_change(data: Any) -> str:
    """Return a QUALIFICATION_CHANGED event as 'Budget: Unknown → Approved'."""
    if not isinstance(data, dict):
        return ""
    name = str(data.get("field", ""))
    old, new = (field_value(name, data.get(key)) for key in ("from", "to"))
    return f"{field_label(name)}: {old} → {new}"


def field_value(name: str, value: Any) -> str:
    """Return a stored field value for people: choice labels, country names, em dash for empty."""
    if name in _CHOICE_LABELS:
        return _label(_CHOICE_LABELS[name], value) or "—"
    if name == "country" and isinstance(value, str) and value:
        return country_name(value)
    return plain(value)


@register.filter
def duration(seconds: Any) -> str:
    """Return a call length as '4 min 12 s', '1 h 5 min' or '0 s'."""
    try:
        total = max(int(seconds), 0)
    except (TypeError, ValueError):
        return ""
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours} h {minutes} min" if minutes else f"{hours} h"
    if minutes:
        return f"{minutes} min {secs} s" if secs else f"{minutes} min"
    return f"{secs} s"


@register.filter
def plain(value: Any) -> str:
    """Return a stored value as short text: empty values show as an em dash."""
    if value in (None, "", {}, []):
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict):
        return ", ".join(f"{key}: {plain(item)}" for key, item in value.items())
    if isinstance(value, list):
        return ", ".join(plain(item) for item in value)
    return str(value)


@register.filter
def changes(data: Any) -> list[tuple[str, str, str]]:
    """Return {field: [old, new]} as rows of (label, old, new), custom fields one by one."""
    if not isinstance(data, dict):
        return []
    rows: list[tuple[str, str, str]] = []
    for name, pair in data.items():
        old, new = pair if isinstance(pair, list | tuple) and len(pair) == 2 else ("", pair)
        if name == "custom" and isinstance(old, dict | str) and isinstance(new, dict):
            old = old if isinstance(old, dict) else {}
            for key in dict.fromkeys([*old, *new]):
                if old.get(key) != new.get(key):
                    rows.append((str(key), plain(old.get(key)), plain(new.get(key))))
            continue
        rows.append((field_label(str(name)), field_value(str(name), old), field_value(str(name), new)))
    return rows


@register.filter
def summary(data: Any) -> str:
    """Return a dict of field values as one line: 'First name: Dana · Source: webinar'."""
    if not isinstance(data, dict):
        return plain(data)
    return " · ".join(f"{field_label(str(name))}: {plain(value)}" for name, value in data.items() if name != "custom")


@register.filter
def field_names(names: Any) -> str:
    """Return a list of field names as labels: ['first_name', 'owner_id'] -> 'First name, Owner'."""
    if not isinstance(names, list | tuple):
        return ""
    return ", ".join(field_label(str(name)) for name in names)


@register.filter
def web_url(value: Any) -> str:
    """Return `value` when it is an http(s) address safe to link to, else an empty string."""
    if not isinstance(value, str):
        return ""
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return ""
    return value.strip() if parts.scheme in {"http", "https"} and parts.netloc else ""


@register.filter
def short_url(value: Any) -> str:
    """Return an address without its scheme, for showing: 'https://shop.example/a' -> 'shop.example/a'."""
    text = str(value or "")
    for scheme in ("https://", "http://"):
        if text.lower().startswith(scheme):
            return text[len(scheme) :].removesuffix("/")
    return text


@register.filter
def actor_name(event) -> str:
    """Return who did it: the user, 'The lead' or 'Leadflow' for the system."""
    if event.actor_id and event.actor is not None:
        return str(event.actor)
    if event.actor_type == ActorType.LEAD:
        return "The lead"
    if event.actor_type == ActorType.USER:
        return "A removed user"
    return "Leadflow"


@register.filter
def initials(lead: Lead) -> str:
    """Return up to two initials for the lead's avatar."""
    parts = [part for part in (lead.first_name, lead.last_name) if part]
    if not parts:
        parts = [lead.display_name]
    return "".join(part[0] for part in parts[:2]).upper()


@register.filter
def stage_history(entered: Any) -> list[tuple[str, Any]]:
    """Return {stage: ISO time entered} as (label, time) pairs, oldest first."""
    if not isinstance(entered, dict):
        return []
    rows = []
    for stage, when in entered.items():
        try:
            parsed = parse_datetime(when) if isinstance(when, str) else None
        except ValueError:
            parsed = None
        if parsed is not None:
            rows.append((stage_label(stage), parsed))
    return sorted(rows, key=lambda row: row[1])
