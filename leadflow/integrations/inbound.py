"""Read what other tools post: Google Ads lead form payloads and generic webhooks, mapped to lead fields."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

from leadflow.leads.fields import MAX_CUSTOM_FIELDS, TOUCH_FIELDS

SIGNATURE_HEADER = "X-Leadflow-Signature"
MAX_BODY_BYTES = 256 * 1024
MAX_FIELD_MAP = 100
MAX_EXTERNAL_ID = 255
# Lead fields a map can fill; "full_name" is split into first and last name.
TEXT_TARGETS = frozenset(
    {"first_name", "last_name", "full_name", "email", "phone", "title", "company_name", *TOUCH_FIELDS}
)
# Google's column ids for standard questions, and the lead field each fills.
GOOGLE_COLUMNS = {
    "FULL_NAME": "full_name",
    "FIRST_NAME": "first_name",
    "LAST_NAME": "last_name",
    "EMAIL": "email",
    "WORK_EMAIL": "email",
    "PHONE_NUMBER": "phone",
    "WORK_PHONE": "phone",
    "COMPANY_NAME": "company_name",
    "JOB_TITLE": "title",
}
# Keys of a generic payload recognised without a field map.
DEFAULT_KEYS = {
    **{name: name for name in TEXT_TARGETS},
    "name": "full_name",
    "company": "company_name",
    "job_title": "title",
    "phone_number": "phone",
    "id": "external_id",
    "external_id": "external_id",
}
_PATH_PART = re.compile(r"[^.\[\]]+|\[(\d+)\]")


class PayloadError(ValueError):
    """A payload that cannot become a lead; `code` is stable, the message says what to fix."""

    def __init__(self, code: str, message: str, *, status: int = 422) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass
class Mapped:
    """A payload read into lead fields, ready for record_leads_batch."""

    row: dict[str, Any]
    external_id: str = ""
    is_test: bool = False
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def field_names(self) -> list[str]:
        names = sorted(name for name, value in self.row.items() if value not in ("", None, {}) and name != "custom")
        return names + [f"custom.{key}" for key in sorted(self.row.get("custom", {}))]


def parse_json(body: bytes) -> Any:
    """Return the JSON in `body`, or raise PayloadError (400) saying why it cannot be read."""
    try:
        data = json.loads(body, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise PayloadError("malformed_json", "The body is not UTF-8 text.", status=400) from None
    except json.JSONDecodeError as error:
        message = f"The body is not JSON: {error.msg} at line {error.lineno}, column {error.colno}."
        raise PayloadError("malformed_json", message, status=400) from None
    except (RecursionError, ValueError) as error:
        raise PayloadError("malformed_json", f"The body could not be read: {error}", status=400) from None
    if not isinstance(data, dict):
        raise PayloadError("malformed_json", "The body must be a JSON object.", status=400)
    _check_text(data)
    return data


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number.")


def _check_text(value: Any, depth: int = 0) -> None:
    """Refuse text no database stores: NUL bytes and lone surrogates, anywhere in the payload."""
    if depth > 32:
        raise PayloadError("too_deep", "The body is nested more than 32 levels deep.")
    if isinstance(value, str):
        if "\x00" in value:
            raise PayloadError("nul_bytes", "The body contains a NUL byte (\\u0000); remove it and send again.")
        try:
            value.encode()
        except UnicodeEncodeError:
            raise PayloadError(
                "invalid_text", "The body contains a lone UTF-16 surrogate, which is not text."
            ) from None
    elif isinstance(value, dict):
        for key, item in value.items():
            _check_text(key, depth + 1)
            _check_text(item, depth + 1)
    elif isinstance(value, list):
        for item in value:
            _check_text(item, depth + 1)


def same_secret(given: Any, expected: str) -> bool:
    """Compare a presented secret with the configured one in constant time."""
    if not isinstance(given, str) or not given or not expected:
        return False
    return hmac.compare_digest(given.encode(), expected.encode())


def sign(body: bytes, secret: str) -> str:
    """Return the signature header value a sender computes: sha256=<hex HMAC-SHA256 of the raw body>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(header: str, body: bytes, secret: str) -> bool:
    """Return True when `header` is the HMAC-SHA256 of `body` under `secret` (with or without 'sha256=')."""
    given = header.strip()
    given = given[len("sha256=") :] if given.lower().startswith("sha256=") else given
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(given.lower().encode(), expected.encode())


def custom_key(raw: str) -> str:
    """Return a custom field name from a column id or payload key: 'POSTAL_CODE' -> 'postal_code'."""
    text = unicodedata.normalize("NFKC", raw).strip().lower()
    text = re.sub(r"[^\w]+", "_", text).strip("_")
    return text[:64] or "field"


def _as_text(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int | float):
        return str(value)
    return None


def _put(row: dict[str, Any], target: str, value: Any) -> None:
    """Set `target` (a lead field, 'full_name' or 'custom.<name>') unless it already has a value."""
    text = _as_text(value)
    if text is None or not text.strip():
        return
    if target.startswith("custom."):
        custom = row.setdefault("custom", {})
        key = target.removeprefix("custom.")[:64]
        if key not in custom and len(custom) < MAX_CUSTOM_FIELDS:
            custom[key] = value if isinstance(value, int | float | bool) else text
        return
    if target == "full_name":
        first, _, last = text.strip().partition(" ")
        row.setdefault("_first_from_full", first)
        row.setdefault("_last_from_full", last.strip())
        return
    row.setdefault(target, text)


def _finish(row: dict[str, Any]) -> dict[str, Any]:
    """Fill first and last name from a full name when they were not given on their own."""
    first, last = row.pop("_first_from_full", ""), row.pop("_last_from_full", "")
    if not row.get("first_name") and not row.get("last_name"):
        if first:
            row["first_name"] = first
        if last:
            row["last_name"] = last
    return row


def check_target(target: Any) -> str | None:
    """Return what is wrong with a field map target, or None when it names a lead field."""
    if not isinstance(target, str):
        return "must be the name of a lead field, as text."
    if target in TEXT_TARGETS or target == "external_id":
        return None
    if target.startswith("custom.") and 0 < len(target) - len("custom.") <= 64:
        return None
    names = ", ".join(sorted(TEXT_TARGETS))
    return f"{target[:64]!r} is not a lead field; use one of {names}, external_id or custom.<name>."


def check_field_map(field_map: Any) -> dict[str, str]:
    """Return {path: problem} for each entry of a field map that cannot be used."""
    if not isinstance(field_map, dict):
        return {"field_map": "must be a JSON object of {path: lead field}."}
    if len(field_map) > MAX_FIELD_MAP:
        return {"field_map": f"has {len(field_map)} entries; the most allowed is {MAX_FIELD_MAP}."}
    problems: dict[str, str] = {}
    for path, target in field_map.items():
        if not path.strip() or len(path) > 200 or not parse_path(path):
            problems[path[:64] or "(empty)"] = "is not a path such as contact.email or answers[0].text."
            continue
        problem = check_target(target)
        if problem:
            problems[path[:64]] = problem
    return problems


def parse_path(path: str) -> list[str | int]:
    """Split 'contact.emails[0].value' (a leading '$.' is allowed) into keys and list indexes."""
    text = path.strip().removeprefix("$").lstrip(".")
    parts: list[str | int] = []
    for match in _PATH_PART.finditer(text):
        parts.append(int(match.group(1)) if match.group(1) is not None else match.group(0))
    return parts


def resolve(data: Any, path: str) -> Any:
    """Return the value at `path` in `data`, or None when there is nothing there."""
    current = data
    for part in parse_path(path):
        index = int(part) if isinstance(part, str) and part.isdigit() and len(part) < 6 else part
        if isinstance(index, int) and isinstance(current, list) and index < len(current):
            current = current[index]
        elif isinstance(current, dict) and str(part) in current:
            current = current[str(part)]
        else:
            return None
    return current


def _external_id(value: Any) -> str:
    text = _as_text(value)
    if text is None or isinstance(value, bool):
        return ""
    text = text.strip()
    if len(text) > MAX_EXTERNAL_ID:
        raise PayloadError("invalid_external_id", f"The external id is longer than {MAX_EXTERNAL_ID} characters.")
    return text


def map_generic(data: dict[str, Any], field_map: dict[str, str]) -> Mapped:
    """Read a generic webhook payload: mapped paths when there is a map, else well-known top-level keys.

    Without a map, other top-level values that are text, numbers or true/false
    become custom fields, so nothing the sender sent is silently lost.
    """
    row: dict[str, Any] = {}
    external_id = ""
    if field_map:
        for path, target in field_map.items():
            value = resolve(data, path)
            if target == "external_id":
                external_id = external_id or _external_id(value)
            else:
                _put(row, target, value)
    else:
        for key, value in data.items():
            target = DEFAULT_KEYS.get(key)
            if target == "external_id":
                external_id = external_id or _external_id(value)
            elif target:
                _put(row, target, value)
            elif _as_text(value) is not None:
                _put(row, "custom." + custom_key(key), value)
    return Mapped(row=_finish(row), external_id=external_id)


def map_google(data: dict[str, Any], *, field_map: dict[str, str], campaign_names: dict[str, str]) -> Mapped:
    """Read a Google Ads lead form payload: standard columns to lead fields, other columns to custom fields."""
    columns = data.get("user_column_data", [])
    if not isinstance(columns, list):
        raise PayloadError("invalid_payload", "user_column_data must be a list of columns.")
    lead_id = data.get("lead_id")
    if not isinstance(lead_id, str | int) or isinstance(lead_id, bool) or not str(lead_id).strip():
        raise PayloadError("invalid_payload", "lead_id is missing: every Google Ads lead has one.")
    row: dict[str, Any] = {}
    for column in columns:
        if not isinstance(column, dict):
            continue
        column_id = column.get("column_id") if isinstance(column.get("column_id"), str) else ""
        name = column.get("column_name") if isinstance(column.get("column_name"), str) else ""
        target = field_map.get(column_id) or GOOGLE_COLUMNS.get(column_id.upper())
        if target == "external_id":
            continue
        if target is None and (column_id or name):
            target = "custom." + custom_key(column_id or name)
        if target:
            _put(row, target, column.get("string_value"))
    campaign_id = _as_text(data.get("campaign_id")) or ""
    row.setdefault("campaign", campaign_names.get(campaign_id) or campaign_id)
    _put(row, "custom.gclid", data.get("gcl_id"))
    meta = {
        key: data[key]
        for key in (
            "api_version",
            "form_id",
            "campaign_id",
            "adgroup_id",
            "creative_id",
            "asset_group_id",
            "lead_submit_time",
        )
        if isinstance(data.get(key), str | int) and not isinstance(data.get(key), bool)
    }
    return Mapped(row=_finish(row), external_id=_external_id(lead_id), is_test=data.get("is_test") is True, meta=meta)
