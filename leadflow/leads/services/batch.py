"""Record many captures at once (imports, bulk API, webhooks): same rules as record_lead, in batches."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models.fields.json import KeyTransform
from django.utils import timezone

from leadflow.leads import timeline
from leadflow.leads.errors import FieldErrors, LeadError
from leadflow.leads.fields import FIRMOGRAPHIC_FIELDS, INPUT_FIELDS, clean_lead_input
from leadflow.leads.lifecycle import QUALIFICATION_FIELDS
from leadflow.leads.models import ActorType, ErasedIdentity, EventKind, Lead, LeadStatus, TimelineEvent
from leadflow.leads.normalise import email_key
from leadflow.leads.services.companies import resolve_companies
from leadflow.leads.services.new_lead import lead_inserter
from leadflow.leads.services.privacy import identity_digest
from leadflow.leads.services.records import (
    build_new_lead,
    created_event_data,
    fold_capture,
    qualification_changes,
    qualification_events,
)
from leadflow.lib.inserts import InstanceBuilder

MAX_BATCH = 1000
SNAPSHOT = (
    "first_name", "last_name", "email", "email_key", "phone", "title", "company_name", "company_id",
    "latest_source", "latest_medium", "latest_campaign", "latest_referrer", "latest_landing_page",
    "custom", "consent_status", "consent_at", "consent_source", "updated_at", "last_activity_at", "version",
    *FIRMOGRAPHIC_FIELDS, *QUALIFICATION_FIELDS,
)  # fmt: skip


@dataclass
class BatchOutcome:
    """What became of one input row: created, updated, duplicate (of an earlier row) or error."""

    action: str
    lead: Lead | None = None
    error: LeadError | None = None
    changes: dict[str, list] = field(default_factory=dict)
    before: dict[str, Any] | None = None


@dataclass
class _State:
    by_email: dict[str, Lead]
    by_phone: dict[str, list[Lead]]
    erased: set[str]
    visible: set[int] | None
    key: str | None = None
    by_key: dict[str, Lead] = field(default_factory=dict)
    new: list[Lead] = field(default_factory=list)
    dirty: dict[int, Lead] = field(default_factory=dict)
    events: list[tuple[Lead, str, dict]] = field(default_factory=list)
    snapshots: dict[int, dict] = field(default_factory=dict)
    company_changed: dict[int, Lead] = field(default_factory=dict)


def _key_value(custom: dict, key: str | None) -> str | None:
    """Return the row's or lead's value of the identifying custom field `key`, as text."""
    value = custom.get(key) if key else None
    return None if value in (None, "") else str(value)


def _clean(row: dict, key: str | None) -> dict | LeadError:
    try:
        cleaned = clean_lead_input(row, allowed=INPUT_FIELDS)
    except LeadError as error:
        return error
    identified = _key_value(cleaned.get("custom", {}), key) is not None
    if not identified and not any(cleaned.get(name) for name in ("email", "phone", "first_name", "last_name")):
        return FieldErrors({"email": "Give at least an email, a phone number or a name."})
    return cleaned


def _load_state(rows: list[dict], actor, allow_erased: bool, key: str | None) -> _State:
    keys = {email_key(row["email"]) for row in rows if row.get("email")}
    phones = {row["phone"] for row in rows if row.get("phone")}
    live = Lead.objects.select_for_update().filter(status=LeadStatus.ACTIVE)
    by_email = {lead.email_key: lead for lead in live.filter(email_key__in=keys)} if keys else {}
    by_phone: dict[str, list[Lead]] = {}
    for lead in live.filter(phone__in=phones).order_by("id") if phones else []:
        by_phone.setdefault(lead.phone, []).append(by_email.get(lead.email_key, lead))
    by_key = _load_by_key(live, rows, key, [*by_email.values(), *(ld for group in by_phone.values() for ld in group)])
    erased: set[str] = set()
    if not allow_erased and (keys or phones) and ErasedIdentity.objects.exists():
        digests = {identity_digest(value) for value in keys | phones}
        erased = set(ErasedIdentity.objects.filter(digest__in=digests).values_list("digest", flat=True))
    visible = None
    if actor is not None:
        ids = {lead.pk for lead in by_email.values()} | {lead.pk for group in by_phone.values() for lead in group}
        ids |= {lead.pk for lead in by_key.values()}
        visible = set(Lead.objects.visible_to(actor).filter(pk__in=ids).values_list("pk", flat=True))
    return _State(by_email, by_phone, erased, visible, key, by_key)


def _load_by_key(live, rows: list[dict], key: str | None, loaded: list[Lead]) -> dict[str, Lead]:
    values = {_key_value(row.get("custom", {}), key) for row in rows} - {None}
    if not values:
        return {}
    same = {lead.pk: lead for lead in loaded}
    found = live.annotate(_key=KeyTransform(key, "custom")).filter(_key__in=sorted(values)).order_by("id")
    by_key: dict[str, Lead] = {}
    for lead in found:
        by_key.setdefault(_key_value(lead.custom, key), same.get(lead.pk, lead))
    return by_key


def _find(state: _State, cleaned: dict) -> Lead | None:
    value = _key_value(cleaned.get("custom", {}), state.key)
    if value is not None and value in state.by_key:
        return state.by_key[value]
    key = email_key(cleaned.get("email", ""))
    if key and key in state.by_email:
        return state.by_email[key]
    for lead in state.by_phone.get(cleaned.get("phone", ""), []):
        if not key or not lead.email_key:
            return lead
    return None


def _remember(state: _State, lead: Lead) -> None:
    value = _key_value(lead.custom, state.key)
    if value is not None:
        state.by_key.setdefault(value, lead)
    if lead.email_key:
        state.by_email[lead.email_key] = lead
    if lead.phone and lead not in state.by_phone.setdefault(lead.phone, []):
        state.by_phone[lead.phone].append(lead)


def _plan_row(state: _State, cleaned: dict, *, actor, owner, channel: str, now) -> BatchOutcome:
    key = email_key(cleaned.get("email", ""))
    if state.erased and any(identity_digest(v) in state.erased for v in (key, cleaned.get("phone")) if v):
        return BatchOutcome("error", error=LeadError("erased_person", "This person asked for their data to be erased."))
    lead = _find(state, cleaned)
    if lead is None:
        lead = build_new_lead(cleaned, actor=actor, owner=owner, now=now)
        state.new.append(lead)
        state.events.append((lead, EventKind.CREATED, created_event_data(cleaned, channel)))
        _remember(state, lead)
        return BatchOutcome("created", lead=lead)
    if lead.pk is not None and state.visible is not None and lead.pk not in state.visible:
        message = "A lead with this email or phone already exists and belongs to someone else."
        return BatchOutcome("error", error=LeadError("duplicate_not_visible", message, field="email"))
    if lead.pk is not None and lead.pk not in state.snapshots:
        state.snapshots[lead.pk] = {name: getattr(lead, name) for name in SNAPSHOT}
    changes, touch = fold_capture(lead, cleaned, now)
    qualification = qualification_changes(changes)
    captured = {"channel": channel, "changes": dict(changes), "touch": touch}
    state.events.append((lead, EventKind.CAPTURED, captured))
    state.events.extend((lead, EventKind.QUALIFICATION_CHANGED, data) for data in qualification_events(qualification))
    changes.update(qualification)
    if lead.pk is not None:
        state.dirty[lead.pk] = lead
        if "email" in changes or "company_name" in changes:
            state.company_changed[lead.pk] = lead
    _remember(state, lead)
    action = "updated" if lead.pk is not None else "duplicate"
    return BatchOutcome(action, lead=lead, changes=changes, before=state.snapshots.get(lead.pk))


def _write(state: _State, *, actor, actor_type) -> None:
    _set_companies(state.new)
    _set_companies(list(state.company_changed.values()))
    with lead_inserter().inserting(state.new):
        # The events are made while the new leads are inserted; those leads' keys come after.
        events = _events_of(state, actor=actor, actor_type=actor_type)
        rows = timeline.event_values(events)
    for lead in state.dirty.values():
        lead.save()
    timeline.insert_events(events, values=rows, leads=[lead for lead, _, _ in state.events])


def _set_companies(leads: list[Lead]) -> None:
    for lead, company in zip(leads, resolve_companies([(ld.email, ld.company_name) for ld in leads]), strict=True):
        lead.company = company


def _events_of(state: _State, *, actor, actor_type) -> list[TimelineEvent]:
    """Return the unsaved events of the batch, in order; a new lead's events get its key once it is inserted."""
    kind_of_actor = actor_type or (ActorType.USER if actor is not None else ActorType.SYSTEM)
    actor_id = actor.pk if actor is not None else None
    written_at = timezone.now()
    build = _new_events().build
    return [
        build(
            {
                "lead_id": lead.pk,
                "kind": kind,
                "actor_id": actor_id,
                "actor_type": kind_of_actor,
                "data": data,
                "occurred_at": lead.updated_at,
                "created_at": written_at,
            }
        )
        for lead, kind, data in state.events
    ]


@cache
def _new_events() -> InstanceBuilder:
    return InstanceBuilder(TimelineEvent)


def record_leads_batch(
    *,
    rows: list[dict[str, Any]],
    actor=None,
    actor_type: str | None = None,
    channel: str = "import",
    owner=None,
    allow_erased: bool = False,
    dry_run: bool = False,
    key: str | None = None,
) -> list[BatchOutcome]:
    """Create or update a lead for each row, in one transaction; one outcome per row, in order.

    Rows for the same person (same email, or same phone without a conflicting email)
    fold into one lead, whether the person is already known or appears twice in the
    batch. With `dry_run`, nothing is written and the outcomes say what would happen.
    With `key`, the custom field of that name identifies a person as well (an id from
    the system a file came from): a row carrying it matches the live lead with the same
    value first, and needs no email, phone or name.
    """
    if len(rows) > MAX_BATCH:
        raise LeadError("too_many", f"Send at most {MAX_BATCH} leads at a time.")
    return record_cleaned_batch(
        cleaned=clean_rows(rows, key=key), actor=actor, actor_type=actor_type, channel=channel, owner=owner,
        allow_erased=allow_erased, dry_run=dry_run, key=key,
    )  # fmt: skip


def clean_rows(rows: list[dict[str, Any]], *, key: str | None = None) -> list[dict | LeadError]:
    """Check and normalise each row as record_leads_batch does: the cleaned input, or the error it has.

    Reads no database, so it can run apart from the writing (in another process).
    """
    return [_clean(row, key) for row in rows]


def record_cleaned_batch(
    *,
    cleaned: list[dict | LeadError],
    actor=None,
    actor_type: str | None = None,
    channel: str = "import",
    owner=None,
    allow_erased: bool = False,
    dry_run: bool = False,
    key: str | None = None,
) -> list[BatchOutcome]:
    """Record rows that clean_rows has checked, as record_leads_batch does; an error stays that row's outcome.

    It takes batches larger than MAX_BATCH (an import records a few thousand rows at a
    time); every look-up is one statement per batch, so keep them to thousands.
    """
    for attempt in range(3):
        try:
            return _record_batch_once(cleaned, actor, actor_type, channel, owner, allow_erased, dry_run, key)
        except IntegrityError:
            # Someone created one of these people between our look-up and insert: plan again.
            if attempt == 2:
                raise
    raise AssertionError("unreachable")


def _record_batch_once(cleaned, actor, actor_type, channel, owner, allow_erased, dry_run, key) -> list[BatchOutcome]:
    with transaction.atomic():
        plan = _plan(cleaned, actor, actor_type, channel, owner, allow_erased, key)
        if dry_run:
            transaction.set_rollback(True)
        else:
            _write(plan.state, actor=actor, actor_type=actor_type)
    return plan.outcomes


@dataclass
class BatchPlan:
    """What record_cleaned_batch would write, decided from what it read (see plan_cleaned_batch)."""

    state: _State
    outcomes: list[BatchOutcome]
    read: tuple
    valid: list[dict]
    actor: Any
    actor_type: str | None
    allow_erased: bool


def _plan(cleaned, actor, actor_type, channel, owner, allow_erased, key) -> BatchPlan:
    valid = [row for row in cleaned if not isinstance(row, LeadError)]
    state = _load_state(valid, actor, allow_erased, key)
    read = _what_was_read(state)
    now = timezone.now()
    outcomes = [
        BatchOutcome("error", error=row)
        if isinstance(row, LeadError)
        else _plan_row(state, row, actor=actor, owner=owner, channel=channel, now=now)
        for row in cleaned
    ]
    return BatchPlan(state, outcomes, read, valid, actor, actor_type, allow_erased)


def _what_was_read(state: _State) -> tuple:
    """Every value the plan was decided on: the leads it matched, field by field, and who may see them."""
    leads = [*state.by_email.values(), *(lead for group in state.by_phone.values() for lead in group)]
    leads += state.by_key.values()
    fields = [field.attname for field in Lead._meta.concrete_fields]
    rows = {lead.pk: tuple(getattr(lead, name) for name in fields) for lead in leads}
    matches = (
        {email: lead.pk for email, lead in state.by_email.items()},
        {phone: [lead.pk for lead in group] for phone, group in state.by_phone.items()},
        {value: lead.pk for value, lead in state.by_key.items()},
    )
    return rows, matches, state.erased, state.visible


def plan_cleaned_batch(
    *,
    cleaned: list[dict | LeadError],
    actor=None,
    actor_type: str | None = None,
    channel: str = "import",
    owner=None,
    allow_erased: bool = False,
    key: str | None = None,
) -> BatchPlan:
    """Decide what record_cleaned_batch would do, reading without a transaction and writing nothing.

    On SQLite a transaction holds the database's only write lock from its start, so
    every other writer waits while a batch is decided. Planning first and then
    calling write_planned_batch in a short transaction keeps that wait to the writes.
    """
    return _plan(cleaned, actor, actor_type, channel, owner, allow_erased, key)


def write_planned_batch(plan: BatchPlan) -> list[BatchOutcome] | None:
    """In the caller's transaction, write `plan` if everything it read is still so; else None, writing nothing.

    The look-ups run again under the transaction's lock: a lead created, changed,
    erased or hidden meanwhile shows up as a difference, and the caller records the
    batch the ordinary way instead (record_cleaned_batch, which reads and writes
    under one lock).
    """
    now = _load_state(plan.valid, plan.actor, plan.allow_erased, plan.state.key)
    if _what_was_read(now) != plan.read:
        return None
    _write(plan.state, actor=plan.actor, actor_type=plan.actor_type)
    return plan.outcomes
