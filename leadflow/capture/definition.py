"""What a form may contain, and what a submission to it must look like: no database, no request."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from leadflow.leads.fields import CONTROL_CHARS, MAX_CUSTOM_VALUE, TEXT_LIMITS, clean_text

FIELD_TYPES = ("text", "email", "tel", "textarea", "select", "checkbox")
TYPE_LABELS = {
    "text": "Text",
    "email": "Email",
    "tel": "Phone",
    "textarea": "Long text",
    "select": "Choice list",
    "checkbox": "Checkbox",
}
LEAD_TARGETS = {
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "phone": "Phone",
    "title": "Job title",
    "company_name": "Company",
}
CUSTOM = "custom"
# Which input types each lead field can be collected with.
TARGET_TYPES = {
    "first_name": ("text", "select"),
    "last_name": ("text", "select"),
    "email": ("email",),
    "phone": ("tel",),
    "title": ("text", "select"),
    "company_name": ("text", "select"),
}
AUTOCOMPLETE = {
    "first_name": "given-name",
    "last_name": "family-name",
    "email": "email",
    "phone": "tel",
    "title": "organization-title",
    "company_name": "organization",
}
IDENTITY_TARGETS = ("email", "phone", "first_name", "last_name")
# Hidden fields filled from the page the form is on; they map to the lead's source fields.
SOURCE_FIELDS = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content", "referrer", "landing_page")
SOURCE_TO_LEAD = {
    "utm_source": "source",
    "utm_medium": "medium",
    "utm_campaign": "campaign",
    "referrer": "referrer",
    "landing_page": "landing_page",
}
URL_FIELDS = ("referrer", "landing_page", "page_url")
SOURCE_LIMITS = {"utm_source": 100, "utm_medium": 100, "utm_campaign": 200, "utm_term": 200, "utm_content": 200}
HONEYPOT = "website"
TOKEN = "_lf_token"  # noqa: S105 - a field name, not a secret
CHANNEL = "_lf_channel"
WORDING = "_lf_cw"
CONSENT = "consent"
VISITOR = "visitor_id"
PAGE = "page_url"
RESERVED = frozenset(
    {*LEAD_TARGETS, *SOURCE_FIELDS, "source", "medium", "campaign", HONEYPOT, CONSENT, VISITOR, PAGE, "custom"}
)
CUSTOM_NAME = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
VISITOR_ID = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_FIELDS = 30
MAX_OPTIONS = 100
MAX_LABEL = 200
MAX_OPTION = 200
MAX_PLACEHOLDER = 200
MAX_TEXTAREA = MAX_CUSTOM_VALUE
MAX_CUSTOM_TEXT = 500
INPUT_LIMITS = {"email": 320, "tel": 40}
CHECKED = frozenset({"on", "yes", "true", "1", "checked"})
# Direction overrides and isolates make a name display as something else; nobody types them on purpose.
BIDI_CONTROLS = re.compile("[\u202a-\u202e\u2066-\u2069]")
# Any character str.isspace() calls a space, found in one pass.
WHITESPACE = re.compile(r"\s")
SCRIPTS = ("LATIN", "CYRILLIC", "GREEK", "ARMENIAN", "CHEROKEE", "COPTIC", "GEORGIAN")


@dataclass
class FieldSpec:
    name: str
    label: str
    type: str
    maps_to: str
    required: bool = False
    options: list[str] = field(default_factory=list)
    placeholder: str = ""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FieldSpec:
        return cls(
            name=str(data.get("name", "")),
            label=str(data.get("label", "")),
            type=str(data.get("type", "text")),
            maps_to=str(data.get("maps_to", CUSTOM)),
            required=bool(data.get("required", False)),
            options=[str(option) for option in data.get("options") or []],
            placeholder=str(data.get("placeholder", "")),
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "type": self.type,
            "maps_to": self.maps_to,
            "required": self.required,
            "options": self.options,
            "placeholder": self.placeholder,
        }

    @property
    def autocomplete(self) -> str:
        return AUTOCOMPLETE.get(self.maps_to, "off" if self.type == "checkbox" else "on")

    @property
    def limit(self) -> int:
        if self.type in INPUT_LIMITS:
            return INPUT_LIMITS[self.type]
        if self.maps_to in TEXT_LIMITS:
            return TEXT_LIMITS[self.maps_to]
        return MAX_TEXTAREA if self.type == "textarea" else MAX_CUSTOM_TEXT


def specs_of(fields: Any) -> list[FieldSpec]:
    """Return a form's stored field list as FieldSpecs."""
    return [FieldSpec.from_dict(item) for item in fields if isinstance(item, dict)] if isinstance(fields, list) else []


def check_fields(raw: list[dict[str, Any]]) -> tuple[list[FieldSpec], dict[str, str]]:
    """Return the fields a builder sent, tidied, and errors keyed 'fields.<index>.<attribute>'."""
    specs: list[FieldSpec] = []
    errors: dict[str, str] = {}
    seen: dict[str, int] = {}
    if not raw:
        errors["fields"] = "Add at least one field."
    if len(raw) > MAX_FIELDS:
        errors["fields"] = f"A form may have at most {MAX_FIELDS} fields; it has {len(raw)}."
    for index, item in enumerate(raw[:MAX_FIELDS]):
        spec = FieldSpec.from_dict(item)
        spec.label = " ".join(spec.label.split())[:MAX_LABEL]
        spec.placeholder = " ".join(spec.placeholder.split())[:MAX_PLACEHOLDER]
        spec.options = [" ".join(option.split())[:MAX_OPTION] for option in spec.options if option.strip()]
        if spec.maps_to != CUSTOM:
            spec.name = spec.maps_to
        for attribute, message in _field_problems(spec).items():
            errors[f"fields.{index}.{attribute}"] = message
        if spec.name in seen:
            errors[f"fields.{index}.name"] = f"Field {seen[spec.name] + 1} already uses the name “{spec.name}”."
        seen.setdefault(spec.name, index)
        specs.append(spec)
    if raw and not any(spec.maps_to in IDENTITY_TARGETS for spec in specs):
        errors["fields"] = "Include an email, phone, first name or last name field, so a lead can be made."
    return specs, errors


def _field_problems(spec: FieldSpec) -> dict[str, str]:
    problems: dict[str, str] = {}
    if not spec.label:
        problems["label"] = "Give the field a label."
    if spec.type not in FIELD_TYPES:
        problems["type"] = "Pick a field type."
    if spec.maps_to != CUSTOM and spec.maps_to not in LEAD_TARGETS:
        problems["maps_to"] = "Pick a lead field or Custom field."
    elif spec.maps_to in TARGET_TYPES and spec.type not in TARGET_TYPES[spec.maps_to]:
        allowed = " or ".join(TYPE_LABELS[kind] for kind in TARGET_TYPES[spec.maps_to])
        problems["type"] = f"{LEAD_TARGETS[spec.maps_to]} must be collected as {allowed}."
    if spec.maps_to == CUSTOM:
        if not CUSTOM_NAME.match(spec.name):
            problems["name"] = "Use 1–40 lowercase letters, digits or _, starting with a letter (e.g. budget)."
        elif spec.name in RESERVED or spec.name.startswith("_lf"):
            problems["name"] = f"“{spec.name}” is used by Leadflow itself; pick another name."
    if spec.type == "select" and not spec.options:
        problems["options"] = "List the choices, one per line."
    if len(spec.options) > MAX_OPTIONS:
        problems["options"] = f"At most {MAX_OPTIONS} choices."
    if spec.type == "checkbox" and spec.maps_to != CUSTOM:
        problems["type"] = "A checkbox can only fill a custom field."
    return problems


@dataclass
class CleanSubmission:
    """A submission's values, checked against the form: what the person typed and where they came from."""

    values: dict[str, Any]
    source: dict[str, str]
    page_url: str
    consent_given: bool | None
    visitor_id: str


def clean_submission(
    specs: list[FieldSpec], raw: dict[str, Any], *, consent_mode: str, fallback_url: str = ""
) -> tuple[CleanSubmission, dict[str, str]]:
    """Return the submission's values checked against `specs`, and {field name: message} for each problem.

    Hidden source fields never fail a submission: odd values are trimmed or dropped.
    """
    values: dict[str, Any] = {}
    errors: dict[str, str] = {}
    for spec in specs:
        try:
            value = clean_value(spec, raw.get(spec.name))
        except ValueError as error:
            errors[spec.name] = str(error)
            continue
        if spec.required and value in ("", False, None):
            errors[spec.name] = "Please tick this box." if spec.type == "checkbox" else "Please fill this in."
        values[spec.name] = value
    consent: bool | None = None
    if consent_mode != "none":
        consent = is_checked(raw.get(CONSENT))
        if consent_mode == "required" and not consent:
            errors[CONSENT] = "Please tick this box to agree, or we cannot keep your details."
    source = clean_source(raw, fallback_url)
    page_url = source.pop(PAGE, "")
    return CleanSubmission(values, source, page_url, consent, clean_visitor_id(raw.get(VISITOR))), errors


def clean_visitor_id(value: Any) -> str:
    """Return a tracking visitor id when it looks like one, else ''."""
    return value if isinstance(value, str) and VISITOR_ID.match(value) else ""


def clean_value(spec: FieldSpec, value: Any) -> Any:
    """Return one field's value as stored, or raise ValueError with a message for the person."""
    if spec.type == "checkbox":
        return is_checked(value)
    if value is None:
        return ""
    if isinstance(value, bool | int | float):
        value = str(value).lower() if isinstance(value, bool) else str(value)
    if not isinstance(value, str):
        raise ValueError("Send text here, not a list or an object.")
    _check_encodable(value)
    if spec.type == "email" or spec.maps_to == "email":
        return clean_email_text(value)
    value = unicodedata.normalize("NFC", BIDI_CONTROLS.sub("", value))
    try:
        text = clean_text(value, limit=spec.limit, multiline=spec.type == "textarea")
    except ValueError as error:
        raise ValueError(as_sentence(str(error))) from None
    if spec.type == "select" and text and text not in spec.options:
        raise ValueError("Pick one of the choices.")
    return text


def clean_email_text(value: str) -> str:
    """Return an email as typed, folded to plain characters; refuse look-alike letters from mixed alphabets."""
    value = unicodedata.normalize("NFKC", value).strip()
    if len(value) > 320:
        raise ValueError("This is too long to be an email address.")
    if CONTROL_CHARS.search(value) or "\x00" in value:
        raise ValueError("This email contains control characters; type it again.")
    if value.isascii() and "xn--" not in value.lower():
        # Plain ASCII letters are all Latin; only a punycode label can hide another alphabet.
        return value
    local, _, domain = value.rpartition("@")
    for part in (local, *domain.split(".")):
        scripts = _scripts(_decode_label(part))
        if len(scripts) > 1:
            names = " and ".join(sorted(script.title() for script in scripts))
            raise ValueError(
                f"This email mixes letters from different alphabets ({names}), as look-alike addresses do; "
                "please type it again."
            )
    return value


def _decode_label(label: str) -> str:
    if label.lower().startswith("xn--"):
        try:
            return label.encode("ascii").decode("idna")
        except UnicodeError:
            return label
    return label


def _scripts(text: str) -> set[str]:
    found = set()
    for char in text:
        if char.isalpha():
            name = unicodedata.name(char, "")
            script = next((script for script in SCRIPTS if name.startswith(script)), None)
            if script:
                found.add(script)
    return found


def clean_source(raw: dict[str, Any], fallback_url: str) -> dict[str, str]:
    """Return the hidden source fields: UTM values trimmed to size, page addresses only when they are web URLs."""
    source: dict[str, str] = {}
    for name in SOURCE_FIELDS:
        value = _plain(raw.get(name))
        value = web_url(value) if name in URL_FIELDS else value[: SOURCE_LIMITS[name]]
        if value:
            source[name] = value
    page = web_url(_plain(raw.get(PAGE))) or web_url(fallback_url)
    if page:
        source[PAGE] = page
        source.setdefault("landing_page", page)
    if page and not any(name in source for name in SOURCE_LIMITS):
        source.update(utm_from_url(page))
    return source


def utm_from_url(url: str) -> dict[str, str]:
    """Return the UTM parameters in `url`'s query string."""
    from urllib.parse import parse_qsl, urlsplit

    try:
        query = parse_qsl(urlsplit(url).query, max_num_fields=50)
    except ValueError:
        return {}
    found = {}
    for key, value in query:
        if key in SOURCE_LIMITS and key not in found:
            cleaned = _plain(value)[: SOURCE_LIMITS[key]]
            if cleaned:
                found[key] = cleaned
    return found


def web_url(value: str) -> str:
    """Return `value` when it is an http(s) address of reasonable length, else ''."""
    from urllib.parse import urlsplit

    if not value or len(value) > 2000 or WHITESPACE.search(value):
        return ""
    try:
        parts = urlsplit(value)
    except ValueError:
        return ""
    return value if parts.scheme in {"http", "https"} and parts.netloc else ""


def _plain(value: Any) -> str:
    if not isinstance(value, str):
        return ""
    try:
        _check_encodable(value)
    except ValueError:
        return ""
    return " ".join(CONTROL_CHARS.sub("", BIDI_CONTROLS.sub("", value)).replace("\x00", "").split())


def _check_encodable(value: str) -> None:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("This contains characters that are not valid text; type it again.") from None


def is_checked(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return isinstance(value, str) and value.strip().lower() in CHECKED


def as_sentence(message: str) -> str:
    """Return a leads validation message ('is not a valid email...') as a sentence about the field."""
    return f"This {message}" if message[:1].islower() else message


def lead_input(specs: list[FieldSpec], clean: CleanSubmission, *, consent_source: str) -> dict[str, Any]:
    """Return the input for leads.services.record_lead: lead fields, custom fields, source and consent."""
    data: dict[str, Any] = {}
    custom: dict[str, Any] = {}
    for spec in specs:
        value = clean.values.get(spec.name)
        if value in ("", None):
            continue
        if spec.maps_to == CUSTOM:
            custom[spec.name] = value
        elif spec.maps_to not in data:
            data[spec.maps_to] = value
    if custom:
        data["custom"] = custom
    for name, target in SOURCE_TO_LEAD.items():
        if clean.source.get(name):
            data[target] = clean.source[name][: TEXT_LIMITS[target]]
    if clean.consent_given:
        data["consent_status"] = "granted"
        data["consent_source"] = consent_source[: TEXT_LIMITS["consent_source"]]
    return data


def submitted_fields(specs: list[FieldSpec], values: dict[str, Any]) -> list[dict[str, Any]]:
    """Return what was sent as [{name, label, maps_to, value}] in the form's order, for the record."""
    return [
        {"name": spec.name, "label": spec.label, "maps_to": spec.maps_to, "value": values.get(spec.name, "")}
        for spec in specs
    ]
