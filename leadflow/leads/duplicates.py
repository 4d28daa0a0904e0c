"""Find leads that are likely one person: blocking keys on indexed columns, then rapidfuzz scoring.

A lead is compared only with the few leads that share a blocking key with it:
the same phone, the same company with a last or first name starting alike, or
the same email local part. Each key is a range or equality on an indexed column
and each block is capped, so finding a lead's duplicates costs a handful of
index look-ups however many leads there are. There is never a pairwise scan.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.db.models.functions import Lower
from django.utils import timezone
from django_tasks import task
from rapidfuzz import fuzz

from leadflow.leads.models import Lead, LeadStatus
from leadflow.leads.models_duplicates import DuplicatePair, DuplicateScan, PairStatus

THRESHOLD = 70
BLOCK_CAP = 100
BATCH_SIZE = 500
# Shared mailboxes say nothing about who wrote from them.
GENERIC_LOCAL_PARTS = frozenset(
    "info sales contact admin hello office support team mail marketing enquiries inquiries hr jobs careers billing "
    "accounts noreply no-reply webmaster help service customerservice newsletter press media".split()
)
REASON_TEXT = {
    "company_name": "Similar name at the same company",
    "phone": "Same phone, different email",
    "email_local": "Same email name at another domain",
}
LEAD_FIELDS = ("id", "first_name", "last_name", "email", "email_key", "phone", "company_id", "status")


class LeadFacts(Protocol):
    """What matching reads of a lead: a Lead, or a row of LEAD_FIELDS read without building a model."""

    id: int
    first_name: str
    last_name: str
    email_key: str | None
    phone: str
    company_id: int | None
    status: str


@dataclass
class Match:
    score: int
    reasons: list[dict[str, Any]]


def _plain(text: str) -> str:
    """Lowercase, without accents or punctuation: 'José-Luis' -> 'jose luis'."""
    decomposed = unicodedata.normalize("NFKD", text or "")
    letters = "".join(ch if ch.isalnum() else " " for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(letters.lower().split())


def _first_similarity(a: str, b: str) -> float:
    if a == b:
        return 100.0
    if not a or not b:
        return 70.0
    short, long = sorted((a, b), key=len)
    if len(short) == 1 and long.startswith(short):
        return 85.0
    if len(short) >= 3 and long.startswith(short):
        return 90.0
    return fuzz.ratio(a, b)


def name_similarity(one: LeadFacts, other: LeadFacts) -> float | None:
    """Return 0-100 for how alike two leads' names are, or None when either has no name."""
    f1, l1, f2, l2 = (_plain(v) for v in (one.first_name, one.last_name, other.first_name, other.last_name))
    if not (f1 or l1) or not (f2 or l2):
        return None
    if not (l1 and l2):
        return fuzz.token_sort_ratio(f"{f1} {l1}", f"{f2} {l2}")
    straight = (fuzz.ratio(l1, l2) + _first_similarity(f1, f2)) / 2
    swapped = (fuzz.ratio(l1, f2) + fuzz.ratio(f1, l2)) / 2 if f1 and f2 else 0.0
    return max(straight, swapped)


def local_part(lead: LeadFacts) -> str:
    """Return the lead's email local part when it could identify a person, else ''."""
    key = lead.email_key or ""
    local = key.rpartition("@")[0]
    if len(local) < 3 or local in GENERIC_LOCAL_PARTS:
        return ""
    return local


def _company_rule(one: LeadFacts, other: LeadFacts, names: float | None) -> tuple[float, dict] | None:
    if not one.company_id or one.company_id != other.company_id or names is None or names < 85:
        return None
    last, other_last, other_first = _plain(one.last_name), _plain(other.last_name), _plain(other.first_name)
    if last and other_last and max(fuzz.ratio(last, other_last), fuzz.ratio(last, other_first)) < 75:
        return None
    return 60 + 0.4 * names, {"code": "company_name", "similarity": round(names)}


def _phone_rule(one: LeadFacts, other: LeadFacts, names: float | None) -> tuple[float, dict] | None:
    # Colleagues share a switchboard number: a phone match with unlike names is two people.
    if not one.phone or one.phone != other.phone or not _emails_differ(one, other):
        return None
    if names is not None and names < 60:
        return None
    return (80 if names is None else 70 + 0.3 * names), {"code": "phone", "similarity": _round(names)}


def _email_local_rule(one: LeadFacts, other: LeadFacts, names: float | None) -> tuple[float, dict] | None:
    local = local_part(one)
    if not local or local != local_part(other) or not _emails_differ(one, other):
        return None
    alike = names >= 80 if names is not None else len(local) >= 6
    if not alike:
        return None
    return (80 if names is None else 65 + 0.35 * names), {"code": "email_local", "similarity": _round(names)}


def _emails_differ(one: LeadFacts, other: LeadFacts) -> bool:
    return bool(one.email_key and other.email_key and one.email_key != other.email_key)


RULES = (_company_rule, _phone_rule, _email_local_rule)


def score_pair(one: LeadFacts, other: LeadFacts) -> Match | None:
    """Return how likely two leads are one person, with the reasons, or None below the threshold.

    The strongest rule sets the score; each further rule that holds adds 5.
    """
    names = name_similarity(one, other)
    scored = [found for rule in RULES if (found := rule(one, other, names))]
    if not scored:
        return None
    score = min(100, round(max(value for value, _ in scored) + 5 * (len(scored) - 1)))
    return Match(score, [reason for _, reason in scored]) if score >= THRESHOLD else None


def _round(value: float | None) -> int | None:
    return None if value is None else round(value)


def _prefix_range(expression: str, prefix: str) -> Q:
    """Match values starting with `prefix` as a range, so an ordinary index serves it."""
    following = ord(prefix[-1]) + 1
    if 0xD800 <= following <= 0xDFFF:
        following = 0xE000  # surrogates are not text a database can compare
    after = prefix[:-1] + chr(min(following, 0x10FFFF))
    return Q(**{f"{expression}__gte": prefix, f"{expression}__lt": after})


def _name_prefixes(lead: LeadFacts) -> set[str]:
    return {_plain(name)[:2] for name in (lead.last_name, lead.first_name)} - {""}


def _live() -> QuerySet:
    return Lead.objects.filter(status=LeadStatus.ACTIVE).values_list(*LEAD_FIELDS, named=True)


def candidates(lead: LeadFacts) -> dict[int, LeadFacts]:
    """Return the leads sharing a blocking key with `lead`: a few capped index look-ups."""
    blocks: list[QuerySet] = []
    if lead.phone:
        blocks.append(_live().filter(phone=lead.phone))
    prefixes = _name_prefixes(lead)
    if lead.company_id and prefixes:
        # Either name starting like either of ours, so swapped first and last names meet too.
        starts = Q()
        for prefix in prefixes | {name.strip().lower()[:2] for name in (lead.last_name, lead.first_name)} - {""}:
            starts |= _prefix_range("last_key", prefix) | _prefix_range("first_key", prefix)
        at_company = _live().filter(company_id=lead.company_id)
        blocks.append(at_company.alias(last_key=Lower("last_name"), first_key=Lower("first_name")).filter(starts))
    local = local_part(lead)
    if local:
        blocks.append(_live().filter(_prefix_range("email_key", local), email_key__startswith=f"{local}@"))
    found: dict[int, LeadFacts] = {}
    for block in blocks:
        for other in block.exclude(id=lead.id).order_by("-id")[:BLOCK_CAP]:
            found.setdefault(other.id, other)
    return found


def find_duplicates_of(lead: Lead) -> list[DuplicatePair]:
    """Score `lead` against its candidates and keep the open pairs up to date; return its open pairs."""
    return _find_for_loaded(Lead.objects.values_list(*LEAD_FIELDS, named=True).get(id=lead.pk))


def _find_for_loaded(lead: LeadFacts) -> list[DuplicatePair]:
    if lead.status != LeadStatus.ACTIVE:
        close_pairs_of_inactive_leads(lead_ids=[lead.id])
        return []
    found = {pk: match for pk, other in candidates(lead).items() if (match := score_pair(lead, other))}
    if not found and not _pairs_of(lead.id).filter(status=PairStatus.OPEN).exists():
        return []  # the common case, without taking a write lock
    return _save_pairs(lead, found)


def _pairs_of(lead_id: int) -> QuerySet:
    return DuplicatePair.objects.filter(Q(lead_a_id=lead_id) | Q(lead_b_id=lead_id))


def _save_pairs(lead: LeadFacts, found: dict[int, Match]) -> list[DuplicatePair]:
    now = timezone.now()
    with transaction.atomic():
        existing = {
            (pair.lead_b_id if pair.lead_a_id == lead.id else pair.lead_a_id): pair
            for pair in _pairs_of(lead.id).select_for_update()
        }
        kept: list[DuplicatePair] = []
        for other_id, match in found.items():
            pair = existing.get(other_id)
            if pair is None:
                pair = _create_pair(lead.id, other_id, match, now)
            elif pair.status == PairStatus.OPEN and (pair.score, pair.reasons) != (match.score, match.reasons):
                pair.score, pair.reasons, pair.updated_at = match.score, match.reasons, now
                pair.save(update_fields=["score", "reasons", "updated_at"])
            if pair is not None and pair.status == PairStatus.OPEN:
                kept.append(pair)
        stale = [
            pair for other_id, pair in existing.items() if other_id not in found and pair.status == PairStatus.OPEN
        ]
        _drop_stale(lead, stale, kept)
    return kept


def _create_pair(lead_id: int, other_id: int, match: Match, now) -> DuplicatePair | None:
    low, high = sorted((lead_id, other_id))
    try:
        with transaction.atomic():
            return DuplicatePair.objects.create(
                lead_a_id=low, lead_b_id=high, score=match.score, reasons=match.reasons, found_at=now, updated_at=now
            )
    except IntegrityError:
        # Found at the same moment from the other lead's side: that row stands.
        return DuplicatePair.objects.filter(lead_a_id=low, lead_b_id=high).first()


def _drop_stale(lead: LeadFacts, stale: list[DuplicatePair], kept: list[DuplicatePair]) -> None:
    """Delete open pairs that no longer score, rechecked directly: a capped block may have missed them."""
    if not stale:
        return
    other_ids = {pair: pair.lead_a_id if pair.lead_b_id == lead.id else pair.lead_b_id for pair in stale}
    others = {row.id: row for row in _live().filter(id__in=list(other_ids.values()))}
    for pair, other_id in other_ids.items():
        other = others.get(other_id)
        if other is not None and score_pair(lead, other) is not None:
            kept.append(pair)
        else:
            pair.delete()


def close_pairs_of_inactive_leads(*, lead_ids: Iterable[int] | None = None) -> int:
    """Close open pairs where a lead was merged or erased; return how many were closed."""
    gone = Q(lead_a__status__in=[LeadStatus.MERGED, LeadStatus.ERASED]) | Q(
        lead_b__status__in=[LeadStatus.MERGED, LeadStatus.ERASED]
    )
    pairs = DuplicatePair.objects.filter(status=PairStatus.OPEN).filter(gone)
    if lead_ids is not None:
        ids = list(lead_ids)
        pairs = pairs.filter(Q(lead_a_id__in=ids) | Q(lead_b_id__in=ids))
    return DuplicatePair.objects.filter(pk__in=list(pairs.values_list("pk", flat=True)[:10_000])).update(
        status=PairStatus.CLOSED, updated_at=timezone.now()
    )


def find_duplicates_of_ids(lead_ids: Iterable[int]) -> int:
    """Find the duplicates of each lead in `lead_ids`; return how many open pairs they are in."""
    ids = list(lead_ids)
    total = 0
    for start in range(0, len(ids), BATCH_SIZE):
        chunk = ids[start : start + BATCH_SIZE]
        total += _find_for_batch(list(Lead.objects.filter(id__in=chunk).values_list(*LEAD_FIELDS, named=True)))
    return total


@dataclass
class _Blocks:
    """The blocks of a whole batch of leads, read with a few queries instead of a few per lead."""

    by_phone: dict[str, list]
    by_company: dict[int, list]
    by_local: dict[str, list]
    hot_phones: set[str]
    hot_companies: set[int]


def _find_for_batch(leads: list[LeadFacts]) -> int:
    """Find duplicates of a batch of leads; return how many open pairs they are in."""
    gone = [lead.id for lead in leads if lead.status != LeadStatus.ACTIVE]
    if gone:
        close_pairs_of_inactive_leads(lead_ids=gone)
    live = [lead for lead in leads if lead.status == LeadStatus.ACTIVE]
    if not live:
        return 0
    blocks = _batch_blocks(live)
    paired = _pairs_of_many([lead.id for lead in live])
    total = 0
    for lead in live:
        others = _batch_candidates(lead, blocks)
        found = {pk: match for pk, other in others.items() if (match := score_pair(lead, other))}
        if found or lead.id in paired:
            total += len(_save_pairs(lead, found))
    return total


def _pairs_of_many(lead_ids: list[int]) -> set[int]:
    """Return which of these leads are in an open pair."""
    rows = DuplicatePair.objects.filter(Q(lead_a_id__in=lead_ids) | Q(lead_b_id__in=lead_ids), status=PairStatus.OPEN)
    return {lead_id for pair in rows.values_list("lead_a_id", "lead_b_id") for lead_id in pair} & set(lead_ids)


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


def _batch_blocks(leads: list[LeadFacts]) -> _Blocks:
    phones = {lead.phone for lead in leads if lead.phone}
    companies = {lead.company_id for lead in leads if lead.company_id}
    hot_phones, hot_companies = _hot("phone", phones), _hot("company_id", companies)
    cool_phones, cool_companies = phones - hot_phones, companies - hot_companies
    by_phone = _grouped(_live().filter(phone__in=cool_phones), "phone") if cool_phones else {}
    by_company = _grouped(_live().filter(company_id__in=cool_companies), "company_id") if cool_companies else {}
    locals_ = sorted({local_part(lead) for lead in leads} - {""})
    by_local: dict[str, list] = {}
    for start in range(0, len(locals_), 100):
        chunk = locals_[start : start + 100]
        ranges = Q()
        for local in chunk:
            ranges |= _prefix_range("email_key", local)
        for row in _live().filter(ranges):
            local = (row.email_key or "").rpartition("@")[0]
            if local in chunk:
                by_local.setdefault(local, []).append(row)
    return _Blocks(by_phone, by_company, by_local, hot_phones, hot_companies)


def _batch_candidates(lead: LeadFacts, blocks: _Blocks) -> dict[int, LeadFacts]:
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


@task()
def find_duplicates_task(lead_ids: list[int]) -> None:
    find_duplicates_of_ids(lead_ids)


def schedule_detection(lead_ids: Iterable[int]) -> None:
    """Look for duplicates of these leads in the background once the current transaction commits."""
    ids = sorted({int(pk) for pk in lead_ids if pk})
    if ids:
        transaction.on_commit(partial(find_duplicates_task.enqueue, lead_ids=ids), robust=True)


@dataclass
class ScanProgress:
    scanned: int
    pairs: int
    done: bool


def scan(*, everything: bool = False, batch_size: int = BATCH_SIZE, limit: int | None = None) -> Iterator[ScanProgress]:
    """Find duplicates of every lead changed since the last scan (or of all leads), batch by batch.

    Leads are walked in (updated_at, id) order on an index, one batch in memory at
    a time; the position is saved after each batch, so a stopped scan resumes.
    """
    state, _ = DuplicateScan.objects.get_or_create(name="incremental")
    if everything:
        state.last_updated_at, state.last_lead_id = None, 0
    close_pairs_of_inactive_leads()
    scanned = pairs = 0
    while limit is None or scanned < limit:
        batch = _next_batch(state, batch_size if limit is None else min(batch_size, limit - scanned))
        if not batch:
            break
        pairs += _find_for_batch(batch)
        scanned += len(batch)
        state.last_updated_at, state.last_lead_id = batch[-1].updated_at, batch[-1].id
        state.save(update_fields=["last_updated_at", "last_lead_id"])
        yield ScanProgress(scanned, pairs, False)
    state.finished_at = timezone.now()
    state.save(update_fields=["finished_at"])
    yield ScanProgress(scanned, pairs, True)


def _next_batch(state: DuplicateScan, size: int) -> list:
    qs = Lead.objects.values_list(*LEAD_FIELDS, "updated_at", named=True)
    if state.last_updated_at is not None:
        qs = qs.filter(
            Q(updated_at__gt=state.last_updated_at) | Q(updated_at=state.last_updated_at, id__gt=state.last_lead_id)
        )
    return list(qs.order_by("updated_at", "id")[:size])


def open_pairs_for(user) -> QuerySet:
    """Return the open pairs whose two leads `user` can both see, most likely first."""
    visible = Lead.objects.visible_to(user)
    return (
        DuplicatePair.objects.filter(status=PairStatus.OPEN, lead_a__in=visible, lead_b__in=visible)
        .select_related("lead_a__owner", "lead_a__company", "lead_b__owner", "lead_b__company")
        .order_by("-score", "-id")
    )


def dismiss_pair(*, pair: DuplicatePair, actor) -> DuplicatePair:
    """Mark two leads as not the same person: the pair is never suggested again."""
    with transaction.atomic():
        pair = DuplicatePair.objects.select_for_update().get(pk=pair.pk)
        if pair.status == PairStatus.OPEN:
            pair.status, pair.decided_by, pair.decided_at = PairStatus.DISMISSED, actor, timezone.now()
            pair.updated_at = pair.decided_at
            pair.save(update_fields=["status", "decided_by", "decided_at", "updated_at"])
    return pair


def reason_texts(pair: DuplicatePair) -> list[str]:
    """Return the pair's reasons as short sentences for a person."""
    texts = []
    for reason in pair.reasons:
        text = REASON_TEXT.get(reason.get("code"), str(reason.get("code", "")))
        similarity = reason.get("similarity")
        texts.append(f"{text} (names {similarity}% alike)" if similarity is not None else text)
    return texts
