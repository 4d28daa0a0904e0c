"""Score how likely two leads are one person: name similarity with rapidfuzz, and the rules that pair leads."""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from typing import Any, Protocol

from rapidfuzz import fuzz

THRESHOLD = 70
# Shared mailboxes say nothing about who wrote from them.
GENERIC_LOCAL_PARTS = frozenset(
    "info sales contact admin hello office support team mail marketing enquiries inquiries hr jobs careers billing "
    "accounts noreply no-reply webmaster help service customerservice newsletter press media".split()
)
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


def plain_name(text: str) -> str:
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
    f1, l1, f2, l2 = (plain_name(v) for v in (one.first_name, one.last_name, other.first_name, other.last_name))
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
    last, other_last, other_first = plain_name(one.last_name), plain_name(other.last_name), plain_name(other.first_name)
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
