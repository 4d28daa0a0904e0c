"""What a model may learn from: lead fields, custom fields and marketing activity before sales first made contact.

Every feature is read as it stood when the lead could have been scored: profile and
source fields, custom fields, and counts of page views, form submissions and email
opens, clicks and replies that happened before the first sales touch (a call, a meeting,
a handover, a note or an email written by a person, or the move to SQL or later).
Fields sales fill in after contact are listed too, switched off, so a person can see
why they are not used.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from django.db.models import Q
from django.utils import timezone

from leadflow.leads.models import ActorType, EventKind, Lead, LeadStatus, Stage, TimelineEvent
from leadflow.predictive.models import FeatureField, FeatureKind

BLANK = "(blank)"
WON_STAGES = (Stage.CUSTOMER,)
LOST_STAGES = (Stage.DISQUALIFIED,)
CLOSED_STAGES = (*WON_STAGES, *LOST_STAGES)
# Entering one of these stages means sales have looked at the lead.
SALES_STAGES = (Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.DISQUALIFIED)
# Events that mean a person in sales has been in touch (or decided), whoever recorded them.
TOUCH_KINDS = (EventKind.CALL, EventKind.MEETING, EventKind.HANDOVER_ACCEPTED, EventKind.HANDOVER_REJECTED)
# Events that count as sales contact only when a person wrote them (not sequences or the system).
PERSON_TOUCH_KINDS = (EventKind.NOTE, EventKind.EMAIL_SENT)
ACTIVITY_KINDS = {
    EventKind.PAGE_VIEWED: "Page views before contact",
    EventKind.FORM_SUBMITTED: "Form submissions before contact",
    EventKind.EMAIL_OPENED: "Email opens before contact",
    EventKind.EMAIL_CLICKED: "Email clicks before contact",
    EventKind.EMAIL_REPLIED: "Email replies before contact",
}
FREE_MAIL = frozenset(
    "gmail.com googlemail.com yahoo.com yahoo.co.uk hotmail.com outlook.com live.com msn.com icloud.com me.com "
    "aol.com gmx.de gmx.net web.de proton.me protonmail.com mail.ru yandex.ru qq.com 163.com zoho.com".split()
)
LEAD_FIELDS = (
    "id", "stage", "stage_entered_at", "custom", "source", "medium", "campaign", "referrer", "landing_page",
    "country", "industry", "company_size", "title", "phone", "email", "time_zone", "consent_status",
    "owner_id", "team_id", "budget", "budget_amount", "authority", "need", "purchase_timeline", "stage_reason",
    "score", "fit_score", "engagement_score", "first_touched_at", "created_at",
)  # fmt: skip


@dataclass(frozen=True)
class Builtin:
    name: str
    label: str
    kind: str
    after_contact: bool = False


BUILTINS = (
    Builtin("source", "Lead source", FeatureKind.CATEGORY),
    Builtin("medium", "Medium", FeatureKind.CATEGORY),
    Builtin("campaign", "Campaign", FeatureKind.CATEGORY),
    Builtin("referrer", "Referring site", FeatureKind.CATEGORY),
    Builtin("landing_page", "Landing page", FeatureKind.CATEGORY),
    Builtin("country", "Country", FeatureKind.CATEGORY),
    Builtin("industry", "Industry", FeatureKind.CATEGORY),
    Builtin("company_size", "Company size", FeatureKind.NUMBER),
    Builtin("title", "Job title words", FeatureKind.WORDS),
    Builtin("phone", "Has a phone number", FeatureKind.FLAG),
    Builtin("email", "Email domain kind", FeatureKind.CATEGORY),
    Builtin("time_zone", "Time zone", FeatureKind.CATEGORY),
    Builtin("consent_status", "Email consent", FeatureKind.CATEGORY),
    Builtin("owner_id", "Owner", FeatureKind.CATEGORY, after_contact=True),
    Builtin("team_id", "Team", FeatureKind.CATEGORY, after_contact=True),
    Builtin("budget", "Budget (BANT)", FeatureKind.CATEGORY, after_contact=True),
    Builtin("budget_amount", "Budget amount", FeatureKind.NUMBER, after_contact=True),
    Builtin("authority", "Authority (BANT)", FeatureKind.CATEGORY, after_contact=True),
    Builtin("need", "Need (BANT)", FeatureKind.CATEGORY, after_contact=True),
    Builtin("purchase_timeline", "Timeline (BANT)", FeatureKind.CATEGORY, after_contact=True),
    Builtin("stage_reason", "Stage reason", FeatureKind.CATEGORY, after_contact=True),
    Builtin("score", "Rule score", FeatureKind.NUMBER, after_contact=True),
    Builtin("fit_score", "Rule fit score", FeatureKind.NUMBER, after_contact=True),
    Builtin("engagement_score", "Rule engagement score", FeatureKind.NUMBER, after_contact=True),
    *(Builtin(f"activity.{kind}", label, FeatureKind.NUMBER) for kind, label in ACTIVITY_KINDS.items()),
)
BUILTIN_NAMES = frozenset(builtin.name for builtin in BUILTINS)
# A custom field with a different value on nearly every lead is an identifier, not a signal.
IDENTIFIER_SHARE = 0.9


def closed_leads() -> Any:
    """Return the leads trained on: every customer (now or once) and every disqualified lead."""
    won = Q(stage__in=WON_STAGES) | Q(stage_entered_at__has_key=Stage.CUSTOMER)
    return Lead.objects.filter(status=LeadStatus.ACTIVE).filter(won | Q(stage__in=LOST_STAGES))


def open_leads() -> Any:
    """Return the leads scored: active, neither customers (ever) nor disqualified."""
    return (
        Lead.objects.filter(status=LeadStatus.ACTIVE)
        .exclude(stage__in=CLOSED_STAGES)
        .exclude(stage_entered_at__has_key=Stage.CUSTOMER)
    )


def outcome(row: dict) -> int:
    """Return 1 when the lead became a customer, else 0."""
    return int(row["stage"] in WON_STAGES or Stage.CUSTOMER in (row["stage_entered_at"] or {}))


def _when(value: Any) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return None
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, timezone.utc)


def _first_contact(row: dict, touches: list[datetime]) -> datetime | None:
    moments = [row["first_touched_at"], *touches]
    entered = row["stage_entered_at"] or {}
    moments += [_when(entered[stage]) for stage in SALES_STAGES if stage in entered]
    moments = [moment for moment in moments if moment is not None]
    return min(moments) if moments else None


def activity_before_contact(rows: list[dict]) -> dict[int, Counter]:
    """Return, per lead, how many marketing events of each kind happened before sales first made contact."""
    ids = [row["id"] for row in rows]
    marketing: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    touches: dict[int, list[datetime]] = defaultdict(list)
    kinds = (*ACTIVITY_KINDS, *TOUCH_KINDS, *PERSON_TOUCH_KINDS)
    events = TimelineEvent.objects.filter(lead_id__in=ids, kind__in=kinds).values_list(
        "lead_id", "kind", "occurred_at", "actor_type"
    )
    for lead_id, kind, occurred_at, actor_type in events.iterator(chunk_size=5000):
        if kind in ACTIVITY_KINDS:
            marketing[lead_id].append((kind, occurred_at))
        elif kind in TOUCH_KINDS or actor_type == ActorType.USER:
            touches[lead_id].append(occurred_at)
    counts: dict[int, Counter] = {}
    for row in rows:
        cutoff = _first_contact(row, touches.get(row["id"], []))
        counts[row["id"]] = Counter(
            kind for kind, when in marketing.get(row["id"], []) if cutoff is None or when < cutoff
        )
    return counts


def load_rows(queryset, *, batch: int = 2000) -> Iterable[list[dict]]:
    """Yield the leads of `queryset` in id order, a batch at a time, as dicts with their activity counts."""
    last = 0
    while True:
        rows = list(queryset.filter(pk__gt=last).order_by("pk").values(*LEAD_FIELDS)[:batch])
        if not rows:
            return
        counts = activity_before_contact(rows)
        for row in rows:
            row["activity"] = counts[row["id"]]
        yield rows
        last = rows[-1]["id"]


def email_kind(address: str) -> str:
    domain = address.rpartition("@")[2].casefold()
    if not domain:
        return BLANK
    if domain in FREE_MAIL:
        return "free mail"
    if domain.endswith(".edu") or ".ac." in domain or ".edu." in domain:
        return "school"
    return "business"


def _host(url: str) -> str:
    try:
        return urlsplit(url if "//" in url else f"//{url}").hostname or ""
    except ValueError:
        return ""


def _path(url: str) -> str:
    try:
        return urlsplit(url).path.rstrip("/") or "/"
    except ValueError:
        return ""


def raw_value(row: dict, name: str, kind: str) -> Any:
    """Return one feature's value for a lead row: a string, a float (NaN when unknown) or words."""
    if name.startswith("activity."):
        return float(row["activity"].get(name.partition(".")[2], 0))
    if name.startswith("custom."):
        value = (row["custom"] or {}).get(name.partition(".")[2])
    elif name == "email":
        return email_kind(row["email"] or "")
    elif name == "phone":
        return "yes" if row["phone"] else "no"
    elif name == "referrer":
        value = _host(row["referrer"] or "")
    elif name == "landing_page":
        value = _path(row["landing_page"] or "") if row["landing_page"] else ""
    else:
        value = row[name]
    return as_kind(value, kind)


def as_kind(value: Any, kind: str) -> Any:
    if kind == FeatureKind.NUMBER:
        try:
            return float(value) if value not in (None, "") else float("nan")
        except (TypeError, ValueError):
            return float("nan")
    if kind == FeatureKind.WORDS:
        return str(value or "")
    if kind == FeatureKind.FLAG and isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == "":
        return BLANK
    return str(value)


def infer_custom(values: list[Any]) -> tuple[str, bool]:
    """Return the kind of a custom field from its values, and whether it looks like an identifier."""
    present = [value for value in values if value not in (None, "")]
    if present and all(isinstance(value, bool) for value in present):
        return FeatureKind.FLAG, False
    if present and all(isinstance(value, int | float) for value in present):
        return FeatureKind.NUMBER, False
    distinct = len({str(value) for value in present})
    return FeatureKind.CATEGORY, len(present) >= 20 and distinct >= IDENTIFIER_SHARE * len(present)


def ensure_fields(rows: list[dict]) -> list[FeatureField]:
    """Create a setting for every built-in feature and every custom field seen in `rows`; return them all."""
    existing = set(FeatureField.objects.values_list("name", flat=True))
    new = [
        FeatureField(
            name=b.name, label=b.label, kind=b.kind, include=not b.after_contact, after_contact=b.after_contact
        )
        for b in BUILTINS
        if b.name not in existing
    ]
    values: dict[str, list[Any]] = defaultdict(list)
    for row in rows:
        for key, value in (row["custom"] or {}).items():
            values[key].append(value)
    for key, seen in sorted(values.items()):
        if f"custom.{key}" in existing:
            continue
        kind, identifier = infer_custom(seen)
        note = "Looks like an identifier: nearly every lead has its own value." if identifier else ""
        label = key.replace("_", " ").capitalize()
        new.append(FeatureField(name=f"custom.{key}", label=label, kind=kind, include=not identifier, note=note))
    FeatureField.objects.bulk_create(new, ignore_conflicts=True)
    return list(FeatureField.objects.all())


def field_order(field: FeatureField) -> tuple[int, str]:
    """Sort built-in fields first (in their own order), then custom fields by name."""
    order = {b.name: index for index, b in enumerate(BUILTINS)}
    return (order.get(field.name, len(order)), field.name)
