"""Find the lead a person already has; store a new lead together with its CREATED event.

On PostgreSQL both rows go in with one statement (the event's INSERT takes the
lead's key from a data-modifying WITH), so outside a transaction the pair costs
one round trip and commits by itself, atomically. Elsewhere the caller holds a
transaction and the two rows go in with one compiled INSERT each.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache

from django.db import connection
from django.db.models import Q

from leadflow.leads import timeline
from leadflow.leads.models import Lead, LeadStatus, TimelineEvent
from leadflow.leads.normalise import email_key
from leadflow.lib.compiled import CompiledSelect
from leadflow.lib.db import fetch_rows
from leadflow.lib.inserts import RowInserter

CANDIDATE_COLUMNS = ("pk", "email_key", "phone")


def _by_email_or_phone_query(key: str, phone: str):
    return (
        Lead.objects.filter(Q(email_key=key) | Q(phone=phone), status=LeadStatus.ACTIVE)
        .order_by()
        .values_list(*CANDIDATE_COLUMNS)[:20]
    )


def _by_email_query(key: str):
    return Lead.objects.filter(email_key=key, status=LeadStatus.ACTIVE).order_by().values_list(*CANDIDATE_COLUMNS)[:20]


def _by_phone_query(phone: str):
    return Lead.objects.filter(phone=phone, status=LeadStatus.ACTIVE).order_by().values_list(*CANDIDATE_COLUMNS)[:20]


def candidate_query(key: str | None, phone: str):
    """Return the build function (as CompiledSelect takes it) of the candidates' query, or None when
    there is nothing to match by. It takes `key` and `phone` as its argument names say."""
    if key and phone:
        return _by_email_or_phone_query
    if key:
        return _by_email_query
    return _by_phone_query if phone else None


@cache
def _compiled_candidates(build) -> CompiledSelect:
    return CompiledSelect(build)


def _candidates(key: str | None, phone: str) -> list[tuple]:
    if key and phone:
        return _compiled_candidates(_by_email_or_phone_query).rows(key=key, phone=phone)
    if key:
        return _compiled_candidates(_by_email_query).rows(key=key)
    if phone:
        return _compiled_candidates(_by_phone_query).rows(phone=phone)
    return []


def matching_lead_id(*, email: str, phone: str) -> int | None:
    """Return the id of the live lead this email (or, lacking a match, phone) belongs to.

    One narrow query finds the candidates, so creating a new person (the common case)
    costs a single index look-up.
    """
    key = email_key(email)
    return chosen_match(key, phone, _candidates(key, phone))


def chosen_match(key: str | None, phone: str, candidates: list[tuple]) -> int | None:
    """Return the id of the lead among `candidates` (CANDIDATE_COLUMNS rows) this email key or phone belongs to."""
    chosen = next((pk for pk, other_key, _ in candidates if key and other_key == key), None)
    if chosen is None and phone:
        # Same phone with a different email is a possible duplicate, not the same person.
        same_phone = sorted(
            pk for pk, other_key, other_phone in candidates if other_phone == phone and not (key and other_key)
        )
        chosen = same_phone[0] if same_phone else None
    return chosen


def find_match(*, email: str, phone: str) -> Lead | None:
    """Return the live lead this email (or, lacking a match, phone) belongs to, locked."""
    chosen = matching_lead_id(email=email, phone=phone)
    if chosen is None:
        return None
    return Lead.objects.select_for_update().get(pk=chosen)


@cache
def lead_inserter() -> RowInserter:
    return RowInserter(Lead)


def insert_leads(leads: Sequence[Lead]) -> None:
    """Insert unsaved leads with as few compiled statements as fit, and set their ids."""
    lead_inserter().insert(leads)


def stores_in_one_statement() -> bool:
    """Return True when insert_new_lead needs no transaction around it on this database."""
    return connection.vendor == "postgresql"


def insert_new_lead(lead: Lead, event: TimelineEvent) -> None:
    """Insert the unsaved `lead` and its unsaved first `event`, and set both keys."""
    if stores_in_one_statement():
        _insert_both(lead, event)
        return
    insert_leads([lead])
    event.lead = lead
    timeline.event_inserter().insert([event])


@cache
def _both_statement() -> tuple[str, int]:
    """Return the one-statement INSERT of a lead and its event, and where the event's lead key sits."""
    leads, events = lead_inserter(), timeline.event_inserter()
    lead_key = events.attnames.index("lead_id")
    quote = connection.ops.quote_name
    columns = ", ".join(quote(field.column) for field in events.fields)
    new_lead_key = f"(SELECT {quote(Lead._meta.pk.column)} FROM new_lead)"  # noqa: S608
    values = ", ".join(new_lead_key if index == lead_key else "%s" for index in range(len(events.fields)))
    table = quote(TimelineEvent._meta.db_table)
    returning = f"{quote(TimelineEvent._meta.get_field('lead').column)}, {quote(TimelineEvent._meta.pk.column)}"
    # Only quoted model metadata and placeholders go into the text; values are parameters.
    sql = f"WITH new_lead AS ({leads.statement(1)}) INSERT INTO {table} ({columns}) VALUES ({values}) RETURNING {returning}"  # noqa: S608, E501
    return sql, lead_key


def _insert_both(lead: Lead, event: TimelineEvent) -> None:
    sql, lead_key = _both_statement()
    event_values = timeline.event_inserter().values(event)
    del event_values[lead_key]
    params = [*lead_inserter().values(lead), *event_values]
    ((lead_id, event_id),) = fetch_rows(connection, sql, params, prepare=True)
    for obj, pk in ((lead, lead_id), (event, event_id)):
        obj.pk = pk
        obj._state.adding = False
        obj._state.db = connection.alias
    event.lead = lead
