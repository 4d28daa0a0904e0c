"""Which column goes to which lead field: suggestions from header names, and turning a row into lead input."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from leadflow.leads.fields import MAX_CUSTOM_FIELDS
from leadflow.leads.models import ConsentStatus, Stage

TEXT_TARGETS = {
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "phone": "Phone",
    "title": "Job title",
    "company_name": "Company",
    "source": "Source",
    "medium": "Medium",
    "campaign": "Campaign",
    "referrer": "Referrer",
    "landing_page": "Landing page",
    "country": "Country (ISO code such as DE, or its English name)",
    "industry": "Industry",
    "company_size": "Company size (number of employees)",
    "time_zone": "Time zone (IANA name such as Europe/Berlin)",
    "budget": "Budget (BANT: Unknown, No budget, Being planned, Approved)",
    "budget_amount": "Budget amount",
    "authority": "Authority (BANT)",
    "need": "Need (BANT: Unknown, No need, Nice to have, Clear need)",
    "need_notes": "Need notes",
    "purchase_timeline": "Purchase timeline (BANT)",
}
OTHER_TARGETS = {
    "full_name": "Full name (split into first and last)",
    "consent_status": "Email consent (Yes = granted, No = withdrawn)",
    "do_not_email": "Do not email (Yes = consent withdrawn)",
    "stage": "Stage",
    "custom": "Custom field",
    "key": "Match key: an id from the other system (admins)",
    "owner": "Owner: username or email (admins)",
}
TARGET_LABELS = {"": "Skip this column", **TEXT_TARGETS, **OTHER_TARGETS}
# Only an admin may map these: they decide whose a lead is and which lead a row updates.
RESTRICTED_TARGETS = frozenset({"key", "owner"})
KINDS = {"text": "Text", "number": "Number", "flag": "Yes / No"}
TRUE_WORDS = frozenset({"yes", "y", "true", "t", "1", "on", "x", "✓"})
FALSE_WORDS = frozenset({"no", "n", "false", "f", "0", "off"})
FLAG_WORDS = frozenset({"yes", "no", "y", "n", "true", "false"})
# Values export tools write for "nothing chosen"; suggested as empty only when the file holds them.
PLACEHOLDERS = ("Select", "N/A", "#N/A", "null", "NULL", "(none)", "-", "--", "Not provided", "undefined")

SYNONYMS: dict[str, tuple[str, ...]] = {
    "email": ("email", "e mail", "mail", "email address", "e mail address", "mail address", "emailaddress",
              "email 1", "work email", "business email", "primary email", "contact email"),
    "first_name": ("first name", "firstname", "first", "given name", "forename", "fname", "vorname", "prenom"),
    "last_name": ("last name", "lastname", "last", "surname", "family name", "lname", "nachname", "nom"),
    "full_name": ("name", "full name", "fullname", "contact name", "contact", "lead name", "person", "your name"),
    "phone": ("phone", "phone number", "telephone", "telephone number", "tel", "mobile", "mobile phone",
              "mobile number", "cell", "cell phone", "work phone", "business phone", "phone 1", "contact number"),
    "title": ("title", "job title", "position", "role", "job role", "job", "designation", "jobtitle"),
    "company_name": ("company", "company name", "organisation", "organization", "org", "account", "account name",
                     "employer", "business", "business name", "firm"),
    "source": ("source", "lead source", "utm source", "traffic source", "original source", "leadsource"),
    "medium": ("medium", "utm medium", "lead medium", "channel"),
    "campaign": ("campaign", "utm campaign", "campaign name"),
    "referrer": ("referrer", "referer", "referring url", "referrer url", "referral url"),
    "landing_page": ("landing page", "landing page url", "first page", "entry page", "page url"),
    "consent_status": ("consent", "email consent", "marketing consent", "opt in", "email opt in", "gdpr consent",
                       "accepts marketing", "subscribed"),
    "do_not_email": ("do not email", "donotemail", "email opt out", "opted out", "unsubscribed", "no email"),
    "stage": ("stage", "lifecycle stage", "lead stage", "lifecyclestage"),
    "country": ("country", "country code", "country name", "nation", "land", "country region", "countrycode"),
    "industry": ("industry", "sector", "vertical", "branche", "industry type"),
    "company_size": ("company size", "employees", "number of employees", "no of employees", "employee count",
                     "headcount", "num employees", "companysize", "size"),
    "time_zone": ("time zone", "timezone", "tz", "time zone name"),
    "budget": ("budget", "budget status", "bant budget"),
    "budget_amount": ("budget amount", "budget value", "budget size"),
    "authority": ("authority", "bant authority", "decision role", "buying role"),
    "need": ("need", "bant need", "need level"),
    "need_notes": ("need notes", "needs", "pain points", "requirements"),
    "purchase_timeline": ("purchase timeline", "timeline", "buying timeline", "timeframe", "time frame",
                          "purchase timeframe", "bant timeline"),
    "key": ("prospect id", "external id", "record id", "lead id", "contact id", "crm id", "id", "uuid", "guid",
            "customer id", "person id"),
    "owner": ("owner", "lead owner", "contact owner", "account owner", "assigned to", "sales rep", "rep"),
}  # fmt: skip
PREFIXES = ("contact", "lead", "primary", "work", "business", "customer", "your", "person")
ID_LIKE = re.compile(r"\b(id|ids|number|no|code|zip|postal|postcode|uuid|guid|phone|tel)\b")
_INDEX = {phrase: target for target, phrases in SYNONYMS.items() for phrase in phrases}


@dataclass
class ColumnRule:
    target: str = ""
    name: str = ""
    kind: str = "text"


@dataclass
class Mapping:
    """Rules by column name, and the values that mean 'nothing here' in every column."""

    columns: dict[str, ColumnRule] = field(default_factory=dict)
    empty_values: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "columns": {name: asdict(rule) for name, rule in self.columns.items()},
            "empty_values": self.empty_values,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Mapping:
        columns = {str(name): ColumnRule(**rule) for name, rule in (data.get("columns") or {}).items()}
        return cls(columns, [str(value) for value in data.get("empty_values") or []])

    @property
    def key_name(self) -> str | None:
        return next((rule.name for rule in self.columns.values() if rule.target == "key"), None)

    @property
    def restricted(self) -> bool:
        return any(rule.target in RESTRICTED_TARGETS for rule in self.columns.values())


class MappingError(ValueError):
    """A mapping that cannot be used; the message names the column."""


def header_key(header: str) -> str:
    """Return a header lowercased to its words: 'E-Mail Address' -> 'e mail address'."""
    return " ".join(re.sub(r"[^0-9a-z]+", " ", header.casefold()).split())


def headers_signature(headers: Sequence[str]) -> str:
    """Return what identifies a set of columns, whatever their order."""
    return hashlib.sha256("\n".join(sorted(header_key(h) for h in headers)).encode()).hexdigest()


def custom_name(header: str) -> str:
    """Return a custom field name for a column: 'Total Time Spent' -> 'total_time_spent'."""
    return re.sub(r"_+", "_", re.sub(r"[^0-9a-z]+", "_", header.casefold())).strip("_")[:64] or "column"


def target_for(header: str) -> str:
    """Return the field a column's name suggests, or '' when it names none."""
    words = header_key(header)
    if words in _INDEX:
        return _INDEX[words]
    first, _, rest = words.partition(" ")
    if first in PREFIXES and rest in _INDEX and _INDEX[rest] not in {"key", "owner", "full_name"}:
        return _INDEX[rest]
    return ""


def parse_number(raw: str) -> int | float:
    """Return a number written as 12, -3.5, 1,234.5 or 2,5 (a decimal comma); raise ValueError otherwise."""
    text = raw.replace(" ", "").replace("\u00a0", "")
    if re.fullmatch(r"[-+]?\d+,\d+", text) and not re.fullmatch(r"[-+]?\d{1,3},\d{3}", text):
        text = text.replace(",", ".")
    elif re.fullmatch(r"[-+]?\d{1,3}(,\d{3})+(\.\d+)?", text):
        text = text.replace(",", "")
    if re.fullmatch(r"[-+]?\d+", text):
        return int(text)
    if re.fullmatch(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?", text):
        number = float(text)
        if number != number or number in (float("inf"), float("-inf")):
            raise ValueError(raw)
        return number
    raise ValueError(raw)


def parse_flag(raw: str) -> bool:
    word = raw.strip().casefold()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(raw)


def infer_kind(header: str, values: list[str]) -> str:
    """Return text, number or flag for a custom column from sample values (blanks and placeholders removed)."""
    if not values:
        return "text"
    if all(value.casefold() in FLAG_WORDS for value in values):
        return "flag"
    if ID_LIKE.search(header_key(header)):
        return "text"
    try:
        for value in values:
            parse_number(value)
    except ValueError:
        return "text"
    return "number"


def suggest_mapping(headers: Sequence[str], samples: Sequence[Sequence[str]], *, admin: bool) -> Mapping:
    """Suggest a rule for each column from its name and sample values; an admin also gets the match key.

    An owner column is never suggested: an admin maps it on purpose. A second column
    for a field already taken becomes a custom field, so nothing is dropped.
    """
    present = {value.strip() for row in samples for value in row}
    empty = [value for value in PLACEHOLDERS if value in present]
    empty_keys = {value.casefold() for value in empty}
    taken: set[str] = set()
    columns: dict[str, ColumnRule] = {}
    for index, header in enumerate(headers):
        column_values = [row[index].strip() for row in samples if index < len(row)]
        column_values = [value for value in column_values if value and value.casefold() not in empty_keys]
        target = target_for(header)
        if target == "owner":
            columns[header] = ColumnRule()
            continue
        if target == "key" and (not admin or "key" in taken):
            target = ""
        if target and target not in taken:
            taken.add(target)
            name = custom_name(header) if target == "key" else ""
            columns[header] = ColumnRule(target, name)
            continue
        if len([rule for rule in columns.values() if rule.target == "custom"]) >= MAX_CUSTOM_FIELDS - 1:
            columns[header] = ColumnRule()
            continue
        columns[header] = ColumnRule("custom", custom_name(header), infer_kind(header, column_values))
    return Mapping(columns, empty)


def check_mapping(mapping: Mapping, headers: Sequence[str], *, admin: bool) -> None:
    """Raise MappingError when a rule cannot be used with these columns by this person."""
    names: dict[str, str] = {}
    for header, rule in mapping.columns.items():
        if rule.target not in TARGET_LABELS:
            raise MappingError(f"Column “{header}”: there is no field called {rule.target!r}.")
        if rule.target in RESTRICTED_TARGETS and not admin:
            raise MappingError(f"Column “{header}”: only an admin may map a column to {TARGET_LABELS[rule.target]}.")
        if rule.target in {"custom", "key"}:
            if not re.fullmatch(r"[a-z0-9]+(_[a-z0-9]+)*", rule.name or "") or len(rule.name) > 64:
                raise MappingError(
                    f"Column “{header}”: name the custom field with lowercase letters, digits and single underscores."
                )
            if rule.name in names:
                raise MappingError(
                    f"Columns “{names[rule.name]}” and “{header}” both fill the custom field {rule.name}."
                )
            names[rule.name] = header
        if rule.kind not in KINDS:
            raise MappingError(f"Column “{header}”: {rule.kind!r} is not a kind of value.")
    if len(names) > MAX_CUSTOM_FIELDS:
        raise MappingError(
            f"This mapping fills {len(names)} custom fields; the most a lead may have is {MAX_CUSTOM_FIELDS}."
        )
    if [rule.target for rule in mapping.columns.values()].count("key") > 1:
        raise MappingError("Choose one column as the match key.")
    if not any(rule.target for header, rule in mapping.columns.items() if header in headers):
        raise MappingError("Map at least one column to a field.")


def _stage(raw: str) -> str:
    word = raw.strip().casefold()
    for value, label in Stage.choices:
        if word in {value, str(label).casefold()}:
            return value
    raise ValueError(f"“{raw}” is not a stage; use one of {', '.join(str(label) for _, label in Stage.choices)}.")


def _consent(raw: str) -> str:
    word = raw.strip().casefold()
    if word in ConsentStatus.values:
        return word
    return ConsentStatus.GRANTED if parse_flag(word) else ConsentStatus.WITHDRAWN


@dataclass
class MappedRow:
    data: dict[str, Any]
    owner: str = ""
    full_name: str = ""
    errors: list[tuple[str, str]] = field(default_factory=list)


class RowMapper:
    """Turn a file's rows into lead input with one mapping; built once per import, used for every row."""

    def __init__(self, mapping: Mapping, headers: Sequence[str]) -> None:
        self.plan = [
            (i, h, mapping.columns[h]) for i, h in enumerate(headers) if mapping.columns.get(h, ColumnRule()).target
        ]
        self.empty = {value.strip().casefold() for value in mapping.empty_values} | {""}
        self.longest_empty = max(len(value) for value in self.empty) + 8
        self.key = mapping.key_name
        self.columns_by_field: dict[str, str] = {}
        for _, header, rule in self.plan:
            fields = ("first_name", "last_name") if rule.target == "full_name" else (rule.target,)
            for name in ("consent_status",) if rule.target == "do_not_email" else fields:
                self.columns_by_field.setdefault(name, header)
            if rule.target in {"custom", "key"}:
                self.columns_by_field[f"custom.{rule.name}"] = header

    def column_of(self, field_name: str) -> str:
        """Return the column a lead field came from, for error reports."""
        return self.columns_by_field.get(field_name, "")

    def map(self, values: Sequence[str]) -> MappedRow:
        data: dict[str, Any] = {}
        custom: dict[str, Any] = {}
        row = MappedRow(data)
        empty, longest = self.empty, self.longest_empty
        width = len(values)
        for index, header, rule in self.plan:
            raw = values[index] if index < width else ""
            if not raw or (len(raw) <= longest and raw.strip().casefold() in empty):
                continue
            raw = raw.strip()
            if not raw:
                continue
            # Most columns of most files are plain text into a custom field: no call for them.
            if rule.target == "custom" and rule.kind == "text":
                custom[rule.name] = raw
                continue
            try:
                self._apply(rule, raw, data, custom, row)
            except ValueError as error:
                row.errors.append((header, _reason(rule, raw, error)))
        if row.full_name:
            _split_name(row.full_name, data)
        if custom:
            data["custom"] = custom
        return row

    def _apply(self, rule: ColumnRule, raw: str, data: dict, custom: dict, row: MappedRow) -> None:
        target = rule.target
        if target in TEXT_TARGETS:
            data.setdefault(target, raw)
        elif target == "full_name":
            row.full_name = raw
        elif target == "custom":
            custom[rule.name] = _typed(rule.kind, raw)
        elif target == "key":
            custom[rule.name] = raw
        elif target == "consent_status":
            data["consent_status"] = _consent(raw)
        elif target == "do_not_email":
            if parse_flag(raw):
                data["consent_status"] = ConsentStatus.WITHDRAWN
        elif target == "stage":
            data["stage"] = _stage(raw)
        elif target == "owner":
            row.owner = raw


def _split_name(full_name: str, data: dict[str, Any]) -> None:
    """Fill first and last name from a full name, unless columns of their own gave them."""
    if data.get("first_name") or data.get("last_name"):
        return
    first, _, last = " ".join(full_name.split()).rpartition(" ")
    data["first_name"] = first or last
    if first:
        data["last_name"] = last


def _typed(kind: str, raw: str) -> Any:
    if kind == "number":
        return parse_number(raw)
    if kind == "flag":
        return parse_flag(raw)
    return raw


def _reason(rule: ColumnRule, raw: str, error: ValueError) -> str:
    shown = raw if len(raw) <= 40 else f"{raw[:40]}…"
    if rule.kind == "number" and rule.target == "custom":
        return f"“{shown}” is not a number."
    if rule.target in {"do_not_email", "consent_status"} or rule.kind == "flag":
        return f"“{shown}” is not yes or no."
    return str(error)
