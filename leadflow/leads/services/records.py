"""Create, capture, edit, assign and annotate leads."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

from django.db import DEFAULT_DB_ALIAS, IntegrityError, connection, transaction
from django.utils import timezone

from leadflow.leads import timeline
from leadflow.leads.errors import EditConflict, FieldErrors, LeadError
from leadflow.leads.fields import (
    FIRMOGRAPHIC_FIELDS,
    INPUT_FIELDS,
    PROFILE_FIELDS,
    TOUCH_FIELDS,
    clean_lead_input,
    clean_text,
)
from leadflow.leads.lifecycle import QUALIFICATION_CHOICES, QUALIFICATION_FIELDS
from leadflow.leads.models import (
    ActorType,
    CallOutcome,
    ErasedIdentity,
    EventKind,
    Lead,
    Stage,
    TimelineEvent,
)
from leadflow.leads.normalise import email_key
from leadflow.leads.services.companies import (
    COMPANY_QUERIES,
    CompanyLookUp,
    company_found,
    company_search,
    resolve_company,
    settle_company,
)
from leadflow.leads.services.new_lead import (  # noqa: F401
    candidate_query,
    chosen_match,
    find_match,
    insert_new_lead,
    matching_lead_id,
    stores_in_one_statement,
)
from leadflow.leads.services.privacy import ensure_not_erased, identity_digest
from leadflow.leads.services.stages import (  # noqa: F401
    MAX_BULK,
    BulkMoveResult,
    bulk_change_stage,
    bulk_targets,
    change_stage,
)
from leadflow.lib.compiled import CompiledLookUps
from leadflow.lib.inserts import InstanceBuilder

# Fields a capture fills in: new values win, blanks (and "unknown") never erase.
CAPTURED_FIELDS = (*PROFILE_FIELDS, *FIRMOGRAPHIC_FIELDS, *QUALIFICATION_FIELDS)
EDITABLE_FIELDS = frozenset(
    (*PROFILE_FIELDS, *FIRMOGRAPHIC_FIELDS, *QUALIFICATION_FIELDS, *TOUCH_FIELDS, "consent_status", "custom")
)
# Events written by the services that bump a lead's version.
VERSION_KINDS = (
    EventKind.UPDATED,
    EventKind.CAPTURED,
    EventKind.STAGE_CHANGED,
    EventKind.OWNER_CHANGED,
    EventKind.QUALIFICATION_CHANGED,
    EventKind.MERGED,
    EventKind.MERGE_UNDONE,
)


@dataclass
class RecordResult:
    lead: Lead
    created: bool


def record_lead(
    *,
    data: dict[str, Any],
    actor=None,
    actor_type: str | None = None,
    channel: str = "manual",
    owner=None,
    allow_erased: bool = False,
) -> RecordResult:
    """Create a lead, or update the lead with the same email or phone: one person, one lead."""
    cleaned = clean_lead_input(data, allowed=INPUT_FIELDS)
    if not any(cleaned.get(name) for name in ("email", "phone", "first_name", "last_name")):
        raise FieldErrors({"email": "Give at least an email, a phone number or a name."})
    for attempt in range(3):
        try:
            return _record_once(cleaned, actor, actor_type, channel, owner, check_erased=not (allow_erased or attempt))
        except IntegrityError:
            # Another request created the same person between our look-up and insert.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _record_once(cleaned: dict, actor, actor_type, channel: str, owner, *, check_erased: bool) -> RecordResult:
    # Where the lead and its event go in with one statement that commits by itself, a new
    # person needs no transaction: one look-up, one statement. The unique email still
    # refuses a second lead for the person (IntegrityError, retried as a capture).
    one_statement = stores_in_one_statement() and not connection.in_atomic_block
    # Read-only look-ups go before the write: on SQLite its transaction holds the one write lock.
    company, match_id = _look_up(cleaned, check_erased=check_erased, with_match=one_statement)
    lead, event = _new_lead(cleaned, company, actor, actor_type, channel, owner)
    if one_statement and company.settled and match_id is None:
        insert_new_lead(lead, event)
        return RecordResult(lead, True)
    with transaction.atomic():
        match_id = matching_lead_id(email=lead.email, phone=lead.phone)
        if match_id is not None:
            return _capture_match(match_id, cleaned, actor, actor_type, channel)
        if not company.settled:
            lead.company = settle_company(company)
        insert_new_lead(lead, event)
        return RecordResult(lead, True)


def _erased_query(first: str, second: str):
    return ErasedIdentity.objects.filter(digest__in=[first, second]).values_list("pk")[:1]


@cache
def _compiled_look_ups(parts: tuple[tuple[str, Callable], ...]) -> CompiledLookUps:
    return CompiledLookUps(dict(parts), prepared=True)


def _look_up(cleaned: dict, *, check_erased: bool, with_match: bool) -> tuple[CompanyLookUp, int | None]:
    """Check the person was not erased, find their company and (`with_match`) the id of their lead,
    with one statement; raise LeadError `erased_person` for an erased person."""
    email, phone = cleaned.get("email", ""), cleaned.get("phone", "")
    key = email_key(email)
    kind, search = company_search(email=email, company_name=cleaned.get("company_name", ""))
    digests = [identity_digest(value) for value in (key or "", phone) if value] if check_erased else []
    candidates = candidate_query(key, phone) if with_match else None
    parts = (
        *((("erased", _erased_query),) if digests else ()),
        *((("company", COMPANY_QUERIES[kind]),) if kind else ()),
        *((("candidates", candidates),) if candidates else ()),
    )
    found: dict[str, list[tuple]] = {}
    if parts:
        values = {"key": key, "phone": phone}
        if kind:
            values[kind] = search
        if digests:
            values.update(first=digests[0], second=digests[-1])
        found = _compiled_look_ups(parts).rows(**values)
    if found.get("erased"):
        ensure_not_erased(email=email, phone=phone)
    rows = found.get("company") or [None]
    company = company_found(kind, search, cleaned.get("company_name", ""), rows[0], using=DEFAULT_DB_ALIAS)
    return company, chosen_match(key, phone, found.get("candidates", []))


def _new_lead(cleaned: dict, company: CompanyLookUp, actor, actor_type, channel: str, owner) -> tuple:
    """Return the unsaved lead and CREATED event a new person would get, built before any lock."""
    now = timezone.now()
    lead = build_new_lead(cleaned, actor=actor, owner=owner, now=now)
    lead.company = company.company
    data = created_event_data(cleaned, channel)
    event = timeline.new_event(lead, EventKind.CREATED, actor=actor, actor_type=actor_type, occurred_at=now, data=data)
    return lead, event


def _capture_match(match_id: int, cleaned: dict, actor, actor_type, channel: str) -> RecordResult:
    match = Lead.objects.select_for_update().get(pk=match_id)
    if actor is not None and not Lead.objects.visible_to(actor).filter(pk=match.pk).exists():
        raise LeadError(
            "duplicate_not_visible",
            "A lead with this email or phone already exists and belongs to someone else; "
            "ask its owner or a manager to update it.",
            field="email",
        )
    return RecordResult(_capture_again(match, cleaned, actor, actor_type, channel), False)


# Lead fields a new lead takes from cleaned input when given, else keeps their defaults.
_GIVEN_FIELDS = (*FIRMOGRAPHIC_FIELDS, *QUALIFICATION_FIELDS)
_LATEST_TOUCH_FIELDS = tuple((f"latest_{name}", name) for name in TOUCH_FIELDS)
# (lead field, input name) of the fields a new lead takes from cleaned input, blank when not given.
_BLANK_UNLESS_GIVEN = (
    *((name, name) for name in (*PROFILE_FIELDS, *TOUCH_FIELDS)),
    *_LATEST_TOUCH_FIELDS,
)


@lru_cache(maxsize=1)
def _iso(moment: datetime) -> str:
    """The moment as ISO text: a batch of new leads shares one moment."""
    return moment.isoformat()


@cache
def _new_leads() -> InstanceBuilder:
    return InstanceBuilder(Lead)


def build_new_lead(cleaned: dict, *, actor, owner, now: datetime) -> Lead:
    """Return an unsaved lead from cleaned input; its company is resolved by the caller."""
    stage = cleaned.get("stage", Stage.LEAD)
    values = {field: cleaned.get(name, "") for field, name in _BLANK_UNLESS_GIVEN}
    values.update({name: cleaned[name] for name in _GIVEN_FIELDS if name in cleaned})
    values.update(
        email_key=email_key(cleaned.get("email", "")),
        custom=cleaned.get("custom", {}),
        stage=stage,
        stage_entered_at={stage: _iso(now)},
        owner_id=getattr(owner, "pk", None),
        team_id=getattr(owner, "team_id", None) or getattr(actor, "team_id", None),
        created_at=now,
        updated_at=now,
        last_activity_at=now,
    )
    lead = _new_leads().build(values)
    if owner is not None:
        lead.owner = owner
    _apply_consent(lead, cleaned, now)
    return lead


def created_event_data(cleaned: dict, channel: str) -> dict:
    return {"channel": channel, "fields": _visible_values(cleaned)}


def _apply_consent(lead: Lead, cleaned: dict, now: datetime) -> bool:
    status = cleaned.get("consent_status")
    if not status or status == lead.consent_status:
        return False
    lead.consent_status = status
    lead.consent_at = now
    lead.consent_source = cleaned.get("consent_source", "")
    return True


def _visible_values(cleaned: dict) -> dict:
    return {name: jsonable(value) for name, value in cleaned.items() if value not in ("", None, {}, [])}


def jsonable(value: Any) -> Any:
    """Return a field's value as the timeline stores it: amounts as text."""
    return str(value) if isinstance(value, Decimal) else value


def _captured(name: str, value: Any) -> bool:
    """Return True when a captured value should overwrite: not blank, and not an 'unknown' BANT answer."""
    if value in ("", None):
        return False
    return not (name in QUALIFICATION_CHOICES and value == QUALIFICATION_CHOICES[name].UNKNOWN)


def qualification_changes(changes: dict[str, list]) -> dict[str, list]:
    """Take the BANT changes out of `changes` and return them: they get events of their own."""
    return {name: changes.pop(name) for name in QUALIFICATION_FIELDS if name in changes}


def qualification_events(changes: dict[str, list]) -> list[dict]:
    """Return one QUALIFICATION_CHANGED payload per BANT field changed: field, from, to."""
    return [{"field": name, "from": jsonable(old), "to": jsonable(new)} for name, (old, new) in changes.items()]


def fold_capture(lead: Lead, cleaned: dict, now: datetime) -> tuple[dict[str, list], dict[str, str]]:
    """Fold a new capture into `lead` in memory: new values win, blanks never erase.

    Return the changes ({field: [old, new]}) and the touch (source fields) it carried.
    The company is left to the caller, who resolves it when email or company changed.
    """
    changes = _set_fields(lead, {k: v for k, v in cleaned.items() if k in CAPTURED_FIELDS and _captured(k, v)})
    touch = {name: cleaned[name] for name in TOUCH_FIELDS if cleaned.get(name)}
    if touch:
        for name in TOUCH_FIELDS:
            setattr(lead, f"latest_{name}", touch.get(name, ""))
    if cleaned.get("custom"):
        merged = {**lead.custom, **cleaned["custom"]}
        if merged != lead.custom:
            changes["custom"] = [lead.custom, merged]
            lead.custom = merged
    previous_consent = lead.consent_status
    if _apply_consent(lead, cleaned, now):
        changes["consent_status"] = [previous_consent, lead.consent_status]
    lead.updated_at = lead.last_activity_at = now
    lead.version += 1
    return changes, touch


def _capture_again(lead: Lead, cleaned: dict, actor, actor_type, channel: str) -> Lead:
    """Fold a new capture of a known person into their lead and record it on the timeline."""
    now = timezone.now()
    changes, touch = fold_capture(lead, cleaned, now)
    if "email" in changes or "company_name" in changes:
        lead.company = resolve_company(email=lead.email, company_name=lead.company_name)
    lead.save()
    qualification = qualification_changes(changes)
    timeline.record(
        lead,
        EventKind.CAPTURED,
        actor=actor,
        actor_type=actor_type,
        occurred_at=now,
        data={"channel": channel, "changes": changes, "touch": touch},
    )
    for data in qualification_events(qualification):
        timeline.record(
            lead, EventKind.QUALIFICATION_CHANGED, actor=actor, actor_type=actor_type, occurred_at=now, data=data
        )
    return lead


def _set_fields(lead: Lead, values: dict[str, Any]) -> dict[str, list]:
    """Set changed values on `lead` and return {field: [old, new]} for each change."""
    changes: dict[str, list] = {}
    for name, value in values.items():
        old = getattr(lead, name)
        if old != value:
            changes[name] = [old, value]
            setattr(lead, name, value)
    if "email" in changes:
        lead.email_key = email_key(lead.email)
    return changes


def update_lead(
    *,
    lead: Lead,
    changes: dict[str, Any],
    actor,
    expected: dict[str, Any] | None = None,
    if_version: int | None = None,
) -> Lead:
    """Edit a lead's fields; refuse if someone changed them since the editor loaded the lead.

    `expected` holds the values the editor saw for the fields being changed (the
    page sends these); `if_version` is the version the editor saw (the API's ETag).
    """
    cleaned = clean_lead_input(changes, allowed=EDITABLE_FIELDS)
    with transaction.atomic():
        current = Lead.objects.select_for_update().get(pk=lead.pk)
        _check_unchanged(current, expected=expected, if_version=if_version)
        if "email" in cleaned:
            _check_email_free(current, cleaned["email"])
        now = timezone.now()
        consent_changed = _apply_consent(current, cleaned, now)
        values = {k: v for k, v in cleaned.items() if k not in {"consent_status", "consent_source"}}
        diff = _set_fields(current, values)
        if consent_changed:
            diff["consent_status"] = [lead.consent_status, current.consent_status]
        if not diff:
            return current
        if "email" in diff or "company_name" in diff:
            current.company = resolve_company(email=current.email, company_name=current.company_name)
        current.updated_at = now
        current.version += 1
        current.save()
        qualification = qualification_changes(diff)
        if diff:
            data = {"changes": {name: [jsonable(old), jsonable(new)] for name, (old, new) in diff.items()}}
            timeline.record(current, EventKind.UPDATED, actor=actor, occurred_at=now, data=data)
        for data in qualification_events(qualification):
            timeline.record(current, EventKind.QUALIFICATION_CHANGED, actor=actor, occurred_at=now, data=data)
    return current


def _check_unchanged(current: Lead, *, expected: dict | None, if_version: int | None) -> None:
    stale: list[str] = []
    if expected:
        stale = [
            name
            for name, seen in expected.items()
            if name in EDITABLE_FIELDS and _as_text(getattr(current, name)) != _as_text(seen)
        ]
    if if_version is not None and current.version != if_version:
        stale = stale or ["version"]
    if not stale:
        return
    last = _last_change(current, stale, expected or {})
    who = _who(last)
    when = timezone.localtime(last.occurred_at) if last else None
    raise EditConflict(
        f"{who} changed this lead{f' at {when:%H:%M:%S}' if when else ''} after you opened it ({', '.join(stale)}); "
        "your change was not saved. Look at the current values and save again.",
        fields=stale,
        changed_by=who,
        changed_at=when,
    )


def _who(event: TimelineEvent | None) -> str:
    if event is not None and event.actor is not None:
        return str(event.actor)
    if event is not None and event.kind == EventKind.CAPTURED and event.data.get("channel"):
        return f"A new capture via {event.data['channel']}"
    return "someone else"


def _last_change(current: Lead, stale: list[str], expected: dict) -> TimelineEvent | None:
    """Return the newest event that changed one of the `stale` fields (any change, for a version)."""
    events = TimelineEvent.objects.filter(lead=current).select_related("actor").newest_first()
    named = [name for name in stale if name != "version"]
    if not named:
        return events.filter(kind__in=VERSION_KINDS).first()
    if all(name in QUALIFICATION_FIELDS for name in named):
        return events.filter(kind=EventKind.QUALIFICATION_CHANGED, data__field__in=named).first()
    events = events.filter(kind__in=[EventKind.UPDATED, EventKind.CAPTURED], data__changes__has_any_keys=named)
    if named == ["custom"] and isinstance(expected.get("custom"), dict):
        # Custom fields are one column: find the change to the keys this editor saw differently.
        seen, now = expected["custom"], current.custom
        keys = {key for key in {*seen, *now} if seen.get(key) != now.get(key)}
        touching = (event for event in events[:100] if _touches_custom(event.data["changes"]["custom"], keys))
        return next(touching, None) or events.first()
    return events.first()


def _touches_custom(pair: Any, keys: set[str]) -> bool:
    old, new = pair if isinstance(pair, list) and len(pair) == 2 else ({}, {})
    old, new = (old if isinstance(old, dict) else {}), (new if isinstance(new, dict) else {})
    return any(old.get(key) != new.get(key) for key in keys)


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    return value if isinstance(value, str) else str(value)


def _check_email_free(current: Lead, email: str) -> None:
    key = email_key(email)
    if key is None:
        return
    other = Lead.objects.filter(email_key=key).exclude(pk=current.pk).values_list("pk", flat=True)
    if other:
        raise LeadError(
            "duplicate_email",
            f"Lead #{other[0]} already has the email {email}; merge the two leads instead.",
            field="email",
        )


def assign_owner(*, lead: Lead, owner, actor) -> Lead:
    """Give the lead to `owner` (None puts it back in its team's queue)."""
    if actor is not None and not actor.may_assign_to(owner):
        raise LeadError("forbidden_owner", f"You may not assign leads to {owner or 'nobody'}.", field="owner")
    if owner is not None and not owner.is_active:
        raise LeadError("inactive_owner", f"{owner} is deactivated; pick someone else.", field="owner")
    with transaction.atomic():
        current = Lead.objects.select_for_update().get(pk=lead.pk)
        if current.owner_id == (owner.pk if owner else None):
            return current
        previous = current.owner
        current.owner = owner
        if owner is not None and owner.team_id:
            current.team_id = owner.team_id
        current.updated_at = timezone.now()
        current.version += 1
        current.save(update_fields=["owner", "team", "updated_at", "version"])
        timeline.record(
            current,
            EventKind.OWNER_CHANGED,
            actor=actor,
            data={
                "from": previous.pk if previous else None,
                "from_name": str(previous) if previous else "",
                "to": owner.pk if owner else None,
                "to_name": str(owner) if owner else "",
            },
        )
    return current


def bulk_assign(*, lead_ids: list[int], owner, actor) -> int:
    """Assign every lead in `lead_ids` the actor may change; return how many changed hands."""
    changed = 0
    for lead in bulk_targets(lead_ids, actor):
        before = lead.owner_id
        if assign_owner(lead=lead, owner=owner, actor=actor).owner_id != before:
            changed += 1
    return changed


def _touch(lead: Lead, when: datetime) -> None:
    Lead.objects.filter(pk=lead.pk, last_activity_at__lt=when).update(last_activity_at=when)


def add_note(*, lead: Lead, text: str, actor) -> TimelineEvent:
    """Add a note to the lead's timeline."""
    try:
        body = clean_text(text, limit=10_000, multiline=True)
    except ValueError as error:
        raise FieldErrors({"text": str(error)}) from error
    if not body:
        raise FieldErrors({"text": "Write something first."})
    with transaction.atomic():
        event = timeline.record(lead, EventKind.NOTE, actor=actor, data={"text": body})
        _touch(lead, event.occurred_at)
    return event


def log_call(
    *,
    lead: Lead,
    outcome: str,
    actor,
    duration_seconds: int = 0,
    notes: str = "",
    occurred_at: datetime | None = None,
) -> TimelineEvent:
    """Record a call with the lead: its outcome, length and notes."""
    errors: dict[str, str] = {}
    if outcome not in CallOutcome.values:
        errors["outcome"] = f"must be one of {', '.join(CallOutcome.values)}."
    if not isinstance(duration_seconds, int) or not 0 <= duration_seconds <= 86_400:
        errors["duration_seconds"] = "must be a whole number of seconds from 0 to 86400."
    try:
        notes = clean_text(notes, limit=10_000, multiline=True)
    except ValueError as error:
        errors["notes"] = str(error)
    if errors:
        raise FieldErrors(errors)
    with transaction.atomic():
        event = timeline.record(
            lead,
            EventKind.CALL,
            actor=actor,
            actor_type=ActorType.USER,
            occurred_at=occurred_at,
            data={"outcome": outcome, "duration_seconds": duration_seconds, "notes": notes},
        )
        _touch(lead, event.occurred_at)
    return event
