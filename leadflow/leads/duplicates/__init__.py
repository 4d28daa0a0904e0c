"""Find leads that are likely one person, keep the pairs, and let people merge or dismiss them.

Matching (matching.py) scores two leads; blocking (blocking.py) picks the few
leads worth scoring against a lead through indexed keys, so there is never a
pairwise scan. Pairs are kept in DuplicatePair: re-detection refreshes an open
pair but never reopens a dismissed or closed one.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import partial

from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.utils import timezone
from django_tasks import task

from leadflow.leads.duplicates.blocking import batch_blocks, batch_candidates, candidates, live_rows
from leadflow.leads.duplicates.matching import (
    LEAD_FIELDS,
    THRESHOLD,
    LeadFacts,
    Match,
    name_similarity,
    score_pair,
)
from leadflow.leads.models import Lead, LeadStatus
from leadflow.leads.models_duplicates import DuplicatePair, DuplicateScan, PairStatus

__all__ = [
    "THRESHOLD",
    "candidates",
    "close_pairs_of_inactive_leads",
    "dismiss_pair",
    "find_duplicates_of",
    "find_duplicates_of_ids",
    "find_duplicates_task",
    "name_similarity",
    "open_pairs_for",
    "reason_texts",
    "scan",
    "schedule_detection",
    "score_pair",
]

BATCH_SIZE = 500
REASON_TEXT = {
    "company_name": "Similar name at the same company",
    "phone": "Same phone, different email",
    "email_local": "Same email name at another domain",
}


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
    others = {row.id: row for row in live_rows().filter(id__in=list(other_ids.values()))}
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


def _find_for_batch(leads: list[LeadFacts]) -> int:
    """Find duplicates of a batch of leads; return how many open pairs they are in."""
    gone = [lead.id for lead in leads if lead.status != LeadStatus.ACTIVE]
    if gone:
        close_pairs_of_inactive_leads(lead_ids=gone)
    live = [lead for lead in leads if lead.status == LeadStatus.ACTIVE]
    if not live:
        return 0
    blocks = batch_blocks(live)
    paired = _pairs_of_many([lead.id for lead in live])
    total = 0
    for lead in live:
        others = batch_candidates(lead, blocks)
        found = {pk: match for pk, other in others.items() if (match := score_pair(lead, other))}
        if found or lead.id in paired:
            total += len(_save_pairs(lead, found))
    return total


def _pairs_of_many(lead_ids: list[int]) -> set[int]:
    """Return which of these leads are in an open pair."""
    rows = DuplicatePair.objects.filter(Q(lead_a_id__in=lead_ids) | Q(lead_b_id__in=lead_ids), status=PairStatus.OPEN)
    return {lead_id for pair in rows.values_list("lead_a_id", "lead_b_id") for lead_id in pair} & set(lead_ids)


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
