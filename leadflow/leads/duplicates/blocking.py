"""Blocking: the few leads worth comparing with a lead, read through indexed columns in capped blocks.

A lead is compared only with leads sharing a key with it: the same phone, the
same company with a first or last name starting alike, or the same email local
part. Each key is an equality or a range on an indexed column and each block is
capped, so a lead's candidates cost a handful of index look-ups however many
leads there are. A batch of leads reads its blocks together, a few queries per
batch; a key shared by more leads than a block holds falls back to capped
look-ups lead by lead.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Lower

from leadflow.leads.duplicates.matching import LEAD_FIELDS, LeadFacts, local_part, plain_name
from leadflow.leads.models import Lead, LeadStatus

BLOCK_CAP = 100


def _prefix_range(expression: str, prefix: str) -> Q:
    """Match values starting with `prefix` as a range, so an ordinary index serves it."""
    following = ord(prefix[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:
        following = 0xE000  # surrogates are not text a database can compare
    after = prefix[:-1] + chr(min(following, 0x10FFFF))
    return Q(**{f"{expression}__gte": prefix, f"{expression}__lt": after})


def _name_prefixes(lead: LeadFacts) -> set[str]:
    return {plain_name(name)[:2] for name in (lead.last_name, lead.first_name)} - {""}


def live_rows() -> QuerySet:
    return Lead.objects.filter(status=LeadStatus.ACTIVE).values_list(*LEAD_FIELDS, named=True)


def candidates(lead: LeadFacts) -> dict[int, LeadFacts]:
    """Return the leads sharing a blocking key with `lead`: a few capped index look-ups."""
    blocks: list[QuerySet] = []
    if lead.phone:
        blocks.append(live_rows().filter(phone=lead.phone))
    prefixes = _name_prefixes(lead)
    if lead.company_id and prefixes:
        # Either name starting like either of ours, so swapped first and last names meet too.
        starts = Q()
        for prefix in prefixes | {name.strip().lower()[:2] for name in (lead.last_name, lead.first_name)} - {""}:
            starts |= _prefix_range("last_key", prefix) | _prefix_range("first_key", prefix)
        at_company = live_rows().filter(company_id=lead.company_id)
        blocks.append(at_company.alias(last_key=Lower("last_name"), first_key=Lower("first_name")).filter(starts))
    local = local_part(lead)
    if local:
        blocks.append(live_rows().filter(_prefix_range("email_key", local), email_key__startswith=f"{local}@"))
    found: dict[int, LeadFacts] = {}
    for block in blocks:
        for other in block.exclude(id=lead.id).order_by("-id")[:BLOCK_CAP]:
            found.setdefault(other.id, other)
    return found


@dataclass
class Blocks:
    """The blocks of a whole batch of leads, read with a few queries instead of a few per lead."""

    by_phone: dict[str, list]
    by_company: dict[int, list]
    by_local: dict[str, list]
    hot_phones: set[str]
    hot_companies: set[int]


def _hot(column: str, values: set) -> set:
    """Return the values shared by more live leads than a block holds: those are looked up lead by lead."""
    if not values:
        return set()
    counts = (
        Lead.objects.filter(status=LeadStatus.ACTIVE, **{f"{column}__in": values})
        .values(column)
        .annotate(n=Count("id"))
        .filter(n__gt=BLOCK_CAP)
    )
    return {row[column] for row in counts}


def _grouped(rows: Iterable, column: str) -> dict[Any, list]:
    groups: dict[Any, list] = {}
    for row in rows:
        groups.setdefault(getattr(row, column), []).append(row)
    return groups


def batch_blocks(leads: list[LeadFacts]) -> Blocks:
    phones = {lead.phone for lead in leads if lead.phone}
    companies = {lead.company_id for lead in leads if lead.company_id}
    hot_phones, hot_companies = _hot("phone", phones), _hot("company_id", companies)
    cool_phones, cool_companies = phones - hot_phones, companies - hot_companies
    by_phone = _grouped(live_rows().filter(phone__in=cool_phones), "phone") if cool_phones else {}
    by_company = _grouped(live_rows().filter(company_id__in=cool_companies), "company_id") if cool_companies else {}
    locals_ = sorted({local_part(lead) for lead in leads} - {""})
    by_local: dict[str, list] = {}
    for start in range(0, len(locals_), 100):
        chunk = locals_[start : start + 100]
        ranges = Q()
        for local in chunk:
            ranges |= _prefix_range("email_key", local)
        for row in live_rows().filter(ranges):
            local = (row.email_key or "").rpartition("@")[0]
            if local in chunk:
                by_local.setdefault(local, []).append(row)
    return Blocks(by_phone, by_company, by_local, hot_phones, hot_companies)


def batch_candidates(lead: LeadFacts, blocks: Blocks) -> dict[int, LeadFacts]:
    if lead.phone in blocks.hot_phones or lead.company_id in blocks.hot_companies:
        return candidates(lead)
    groups = [blocks.by_phone.get(lead.phone, []) if lead.phone else []]
    prefixes = _name_prefixes(lead)
    if lead.company_id and prefixes:
        at_company = blocks.by_company.get(lead.company_id, [])
        groups.append([row for row in at_company if _name_prefixes(row) & prefixes])
    local = local_part(lead)
    groups.append(blocks.by_local.get(local, []) if local else [])
    found: dict[int, LeadFacts] = {}
    for group in groups:
        for other in sorted((row for row in group if row.id != lead.id), key=lambda row: -row.id)[:BLOCK_CAP]:
            found.setdefault(other.id, other)
    return found
