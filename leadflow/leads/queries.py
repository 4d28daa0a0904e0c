"""Reads of leads shared by the pages, the API and reports."""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db import connections
from django.db.models import CharField, F, Q, QuerySet
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.dateparse import parse_date, parse_datetime

from leadflow.leads.models import Company, EventKind, Lead, Stage, TimelineEvent
from leadflow.leads.normalise import email_key, phone_search_key

CharField.register_lookup(Lower)

# Sort names people and clients use, mapped to (lookup for ordering/keyset, value on a row).
SORTS: dict[str, str] = {
    "created": "created_at",
    "updated": "updated_at",
    "activity": "last_activity_at",
    "score": "score",
    "name": "last_name__lower",
}
DEFAULT_SORT = "-created"
FILTER_NAMES = frozenset(
    {"q", "stage", "owner", "source", "score_min", "score_max", "created_from", "created_to", "sort", "cursor"}
)
COUNT_CAP = 1_000
# On SQLite a search matching at least this many leads is checked while walking the sort index: see _search_filters.
DENSE_SEARCH = 2_000
MAX_SEARCH_TERMS = 5
# On SQLite a score range holding at least this many leads is checked while walking the sort index.
DENSE_SCORE_RANGE = 5_000


class FilterError(ValueError):
    """Filters that cannot be applied; `errors` says which and why."""

    code = "invalid_filter"

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__("; ".join(f"{k}: {v}" for k, v in errors.items()))
        self.errors = errors


@dataclass
class LeadFilters:
    q: str = ""
    stage: list[str] = field(default_factory=list)
    owner: str = ""
    source: str = ""
    score_min: int | None = None
    score_max: int | None = None
    created_from: date | None = None
    created_to: date | None = None
    sort: str = DEFAULT_SORT
    cursor: str = ""

    @property
    def is_filtered(self) -> bool:
        return bool(
            self.q
            or self.stage
            or self.owner
            or self.source
            or self.created_from
            or self.created_to
            or self.score_min is not None
            or self.score_max is not None
        )


def _one(params, name: str) -> str:
    value = params.get(name, "")
    if isinstance(value, list):
        value = value[-1] if value else ""
    return str(value or "").strip()


def _int_param(params, name: str, errors: dict) -> int | None:
    raw = _one(params, name)
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        errors[name] = f"{raw[:40]!r} is not a whole number."
        return None


def _date_param(params, name: str, errors: dict) -> date | None:
    raw = _one(params, name)
    if not raw:
        return None
    try:
        parsed = parse_date(raw)
    except ValueError:
        parsed = None
    if parsed is None:
        errors[name] = f"{raw[:40]!r} is not a date; use YYYY-MM-DD."
    return parsed


def _stages(params, errors: dict) -> list[str]:
    raw = params.getlist("stage") if hasattr(params, "getlist") else params.get("stage") or []
    if isinstance(raw, str):
        raw = [raw]
    stages = [item for value in raw for item in str(value).split(",") if item]
    unknown = [item for item in stages if item not in Stage.values]
    if unknown:
        errors["stage"] = f"unknown stage {unknown[0][:40]!r}; use one of {', '.join(Stage.values)}."
    return stages


def parse_filters(params, *, strict: bool = False) -> LeadFilters:
    """Return the list filters in `params`; raise FilterError for values that do not fit.

    With `strict`, parameters that are not filters are errors too (the API); the
    pages ignore them, since links carry all sorts of tracking parameters.
    """
    errors: dict[str, str] = {}
    if strict:
        for name in params:
            if name not in FILTER_NAMES and name != "limit":
                errors[name] = f"is not a filter; use one of {', '.join(sorted(FILTER_NAMES))}."
    sort = _one(params, "sort") or DEFAULT_SORT
    if sort.lstrip("-") not in SORTS:
        errors["sort"] = f"cannot sort by {sort[:40]!r}; use one of {', '.join(SORTS)} (prefix - for descending)."
    owner = _one(params, "owner")
    if owner and owner not in {"me", "none"} and not (owner.isascii() and owner.isdigit() and len(owner) <= 18):
        errors["owner"] = "use a user id, 'me' or 'none'."
    q = _one(params, "q")
    if "\x00" in q or len(q) > 200:
        errors["q"] = "search text must be under 200 characters, without NUL bytes."
    filters = LeadFilters(
        q=q,
        stage=_stages(params, errors),
        owner=owner,
        source=_one(params, "source")[:100],
        score_min=_int_param(params, "score_min", errors),
        score_max=_int_param(params, "score_max", errors),
        created_from=_date_param(params, "created_from", errors),
        created_to=_date_param(params, "created_to", errors),
        sort=sort,
        cursor=_one(params, "cursor"),
    )
    if errors:
        raise FilterError(errors)
    return filters


def _prefix(lookup: str, term: str) -> Q:
    """Match values starting with `term` as a range, so an ordinary index serves it."""
    after = ord(term[-1]) + 1
    if 0xD800 <= after <= 0xDFFF:
        after = 0xE000  # surrogates are not text a database can compare
    if after > 0x10FFFF:
        return Q(**{f"{lookup}__gte": term})
    return Q(**{f"{lookup}__gte": term, f"{lookup}__lt": term[:-1] + chr(after)})


NAME_LOOKUPS = ("first_name__lower", "last_name__lower", "company_name__lower", "email_key")


def _terms(text: str) -> list[str]:
    return text.split()[:MAX_SEARCH_TERMS]


def _term_ranges(term: str) -> list[Q]:
    """Return the index ranges a search word matches: a phone, an email, or the start of a name."""
    phone = phone_search_key(term)
    if phone:
        return [_prefix("phone", phone)]
    lowered = term.lower()
    if "@" in term:
        return [_prefix("email_key", email_key(term.strip()) or lowered)]
    return [_prefix(lookup, lowered) for lookup in NAME_LOOKUPS]


def _term_q(term: str) -> Q:
    query = Q()
    for condition in _term_ranges(term):
        query |= condition
    return query


def search(qs: QuerySet, text: str) -> QuerySet:
    """Keep leads whose name, company, email or phone start with each word of `text`."""
    for term in _terms(text):
        qs = qs.filter(_term_q(term))
    return qs


def matching_ids(text: str) -> QuerySet:
    """Return the ids of leads matching every word of `text`, read from the search indexes alone.

    Each word is a union of index ranges and the words are intersected, so no lead row is
    read to find them: on SQLite that is what makes a search of two common words
    ("thomas walker") quick, where checking the second word on each lead of the first is not.
    """
    per_term = []
    for term in _terms(text):
        ranges = [Lead.objects.filter(condition).values("id") for condition in _term_ranges(term)]
        per_term.append(ranges[0].union(*ranges[1:], all=True) if len(ranges) > 1 else ranges[0])
    return per_term[0].intersection(*per_term[1:]) if len(per_term) > 1 else per_term[0]


def _planner_lacks_statistics(qs: QuerySet) -> bool:
    """Return True when the database plans without statistics on what a condition keeps (SQLite).

    SQLite knows how big its indexes are but not how many rows a range or an expression
    keeps, so for a sorted page some conditions are shaped to steer it to the sort index
    (see _score_range and _narrowed). PostgreSQL estimates them from its statistics, which include
    the expression indexes and the statistics of leads migration 0006, and picks the
    plan itself: steered, it would walk the sort index even where few rows match.
    """
    return connections[qs.db].vendor == "sqlite"


def _day_start(day: date) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def _score_bounds(filters: LeadFilters) -> dict[str, int]:
    bounds = {}
    if filters.score_min is not None:
        bounds["gte"] = filters.score_min
    if filters.score_max is not None:
        bounds["lte"] = filters.score_max
    return bounds


def is_dense_score_range(filters: LeadFilters) -> bool:
    """Return True when many leads score within the range, counted cheaply through the score index."""
    bounds = {f"score__{op}": value for op, value in _score_bounds(filters).items()}
    return Lead.objects.filter(**bounds).order_by()[:DENSE_SCORE_RANGE].count() >= DENSE_SCORE_RANGE


def _score_range(qs: QuerySet, filters: LeadFilters, *, sorted_walk: bool) -> QuerySet:
    bounds = _score_bounds(filters)
    if not bounds:
        return qs
    field = "score"
    walk = sorted_walk and filters.sort.lstrip("-") != "score" and _planner_lacks_statistics(qs)
    if walk and is_dense_score_range(filters):
        # Without range statistics SQLite would pick the score index for a wide range and
        # then sort every match; as an expression the range is checked while walking the
        # sort index. A narrow range (high scores are rare) is quicker through the index.
        qs, field = qs.alias(score_value=F("score") + 0), "score_value"
    return qs.filter(**{f"{field}__{op}": value for op, value in bounds.items()})


def apply_filters(qs: QuerySet, filters: LeadFilters, user, *, sorted_walk: bool = False) -> QuerySet:
    """Narrow `qs` by every filter set in `filters`.

    With `sorted_walk`, conditions are shaped for a page read in the order of its sort
    index (see _planner_lacks_statistics); without it, for counts and whole sets.
    """
    if filters.q:
        qs = search(qs, filters.q)
    if filters.stage:
        qs = qs.filter(stage__in=filters.stage)
    if filters.owner == "me":
        qs = qs.filter(owner_id=user.pk)
    elif filters.owner == "none":
        qs = qs.filter(owner__isnull=True)
    elif filters.owner:
        qs = qs.filter(owner_id=int(filters.owner))
    if filters.source:
        qs = qs.filter(source=filters.source)
    qs = _score_range(qs, filters, sorted_walk=sorted_walk)
    if filters.created_from:
        qs = qs.filter(created_at__gte=_day_start(filters.created_from))
    if filters.created_to and filters.created_to < date.max:
        qs = qs.filter(created_at__lt=_day_start(filters.created_to + timedelta(days=1)))
    return qs


def _sort_value(lead: Lead, lookup: str) -> Any:
    value = lead.last_name.lower() if lookup == "last_name__lower" else getattr(lead, lookup)
    return value.isoformat() if isinstance(value, datetime) else value


def encode_cursor(value: Any, pk: int) -> str:
    raw = json.dumps([value, pk], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, lookup: str) -> tuple[Any, int]:
    """Return (sort value, id) from a cursor; FilterError when it was not made by us."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value, pk = json.loads(base64.urlsafe_b64decode(padded.encode()))
        if not isinstance(pk, int):
            raise ValueError
        if lookup.endswith("_at"):
            value = parse_datetime(value)
            if value is None:
                raise ValueError
        elif (lookup == "score" and not isinstance(value, int)) or (
            lookup == "last_name__lower" and not isinstance(value, str)
        ):
            raise ValueError
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError):
        raise FilterError({"cursor": "is not a cursor from a previous page; start from the first page."}) from None
    return value, pk


@dataclass
class LeadPage:
    leads: list[Lead]
    next_cursor: str | None
    count: int | None
    count_capped: bool


def ordering(sort: str) -> tuple[str, bool]:
    """Return (lookup, descending) for a sort name such as '-created'."""
    return SORTS[sort.lstrip("-")], sort.startswith("-")


def _order_by(lookup: str, descending: bool) -> list:
    if lookup == "last_name__lower":
        expr = Lower("last_name")
        return [expr.desc() if descending else expr.asc(), "-id" if descending else "id"]
    sign = "-" if descending else ""
    return [f"{sign}{lookup}", f"{sign}id"]


def _after_cursor(qs: QuerySet, filters: LeadFilters, lookup: str, descending: bool) -> QuerySet:
    """Keep the rows after the cursor in the sort: (sort value, id) past the cursor's pair.

    Where the database compares row values (PostgreSQL), the pair is compared as one
    row, which a (sort column, id) index starts from, so a page deep inside a run of
    equal scores or names starts at once. Elsewhere (SQLite) the comparison is spelt
    out, with a bound on the sort column alone so its index scan starts at the cursor.
    """
    if not filters.cursor:
        return qs
    value, pk = decode_cursor(filters.cursor, lookup)
    column = Lower("last_name") if lookup == "last_name__lower" else F(lookup)
    after = (TupleLessThan if descending else TupleGreaterThan)(Tuple(column, F("id")), (value, pk))
    if connections[qs.db].features.supports_tuple_lookups:
        return qs.filter(after)
    return qs.filter(Q(**{f"{lookup}__{'lt' if descending else 'gt'}e": value}), after)


def _rows(qs: QuerySet, filters: LeadFilters, lookup: str, descending: bool, limit: int) -> list[Lead]:
    qs = qs.select_related("owner", "company").order_by(*_order_by(lookup, descending))
    return list(_after_cursor(qs, filters, lookup, descending)[: limit + 1])


@dataclass
class Matches:
    """The leads a search matches on SQLite: their ids when few, else the query that finds them."""

    query: QuerySet
    few: set[int] | None


def _search_matches(filters: LeadFilters) -> Matches | None:
    """Return what the search matches on SQLite (see _narrowed); None without a search or on PostgreSQL."""
    if not filters.q or not _planner_lacks_statistics(Lead.objects.all()):
        return None
    matches = matching_ids(filters.q)
    found = [row["id"] for row in matches[:DENSE_SEARCH]]
    return Matches(matches, set(found) if len(found) < DENSE_SEARCH else None)


def _narrowed(user, filters: LeadFilters, matches: Matches | None, *, sorted_walk: bool) -> QuerySet:
    """Return the leads `user` may see that match `filters`; see apply_filters for `sorted_walk`.

    On SQLite a search is first turned into the ids of the leads it matches. When fewer
    than DENSE_SEARCH match, those leads are read by id. When more match ("mar"), a
    sorted page walks the sort index and checks each lead's id against the matches,
    which finds the first page at once, where reading and sorting them all is slow.
    PostgreSQL makes that choice itself from its statistics on the name indexes.
    """
    qs = Lead.objects.visible_to(user, sorted_walk=sorted_walk)
    if matches is None:
        return apply_filters(qs, filters, user, sorted_walk=sorted_walk)
    if matches.few is not None:
        qs = qs.filter(id__in=matches.few)
    elif sorted_walk:
        qs = qs.alias(matched_id=F("id") + 0).filter(matched_id__in=matches.query)
    else:
        qs = qs.filter(id__in=matches.query)
    return apply_filters(qs, replace(filters, q=""), user, sorted_walk=sorted_walk)


def lead_page(*, user, filters: LeadFilters, limit: int, with_count: bool = True) -> LeadPage:
    """Return one page of the leads `user` may see, filtered, sorted, from the cursor on."""
    matches = _search_matches(filters)
    lookup, descending = ordering(filters.sort)
    rows = _rows(_narrowed(user, filters, matches, sorted_walk=True), filters, lookup, descending, limit)
    next_cursor = None
    if len(rows) > limit:
        rows = rows[:limit]
        next_cursor = encode_cursor(_sort_value(rows[-1], lookup), rows[-1].pk)
    if not filters.cursor and next_cursor is None:
        return LeadPage(rows, None, len(rows), False)
    count, capped = (None, False)
    if with_count:
        count, capped = capped_count(_narrowed(user, filters, matches, sorted_walk=False))
    return LeadPage(rows, next_cursor, count, capped)


def count_leads(*, user, filters: LeadFilters) -> tuple[int, bool]:
    """Count the leads `user` may see that match `filters`, up to COUNT_CAP."""
    return capped_count(_narrowed(user, filters, _search_matches(filters), sorted_walk=False))


def capped_count(qs: QuerySet) -> tuple[int, bool]:
    """Count up to COUNT_CAP rows: exact for small sets, 'more than' for large ones."""
    count = qs.order_by()[: COUNT_CAP + 1].count()
    return min(count, COUNT_CAP), count > COUNT_CAP


def timeline_for(
    lead: Lead, *, kinds: list[str] | None = None, before: int | None = None, limit: int = 100
) -> tuple[list[TimelineEvent], int | None]:
    """Return the lead's events newest first, and the id to continue from, if more."""
    qs = TimelineEvent.objects.filter(lead=lead).select_related("actor").newest_first()
    if kinds:
        qs = qs.filter(kind__in=[kind for kind in kinds if kind in EventKind.values])
    if before is not None:
        anchor = TimelineEvent.objects.filter(pk=before, lead=lead).values("occurred_at").first()
        if anchor:
            qs = qs.filter(
                Q(occurred_at__lt=anchor["occurred_at"]) | Q(occurred_at=anchor["occurred_at"], id__lt=before)
            )
    events = list(qs[: limit + 1])
    more = events[limit].pk if len(events) > limit else None
    return events[:limit], (events[limit - 1].pk if more else None)


def possible_matches(*, user, email: str = "", phone: str = "", exclude: int | None = None) -> list[Lead]:
    """Return visible live leads with this email or phone: duplicates flagged while typing."""
    conditions = Q()
    if email:
        conditions |= Q(email_key=email_key(email))
    if phone:
        conditions |= Q(phone=phone)
    if not conditions:
        return []
    qs = Lead.objects.visible_to(user).filter(conditions)
    if exclude:
        qs = qs.exclude(pk=exclude)
    return list(qs.select_related("owner")[:5])


def exists_elsewhere(*, email: str = "", phone: str = "") -> bool:
    """Return True when a live lead has this email or phone, whoever can see it."""
    conditions = Q()
    if email:
        conditions |= Q(email_key=email_key(email))
    if phone:
        conditions |= Q(phone=phone)
    return bool(conditions) and Lead.objects.active().filter(conditions).exists()


def companies_page(*, user, q: str = "", limit: int = 100) -> list[Company]:
    """Return companies with at least one lead `user` can see, with those leads counted.

    The page's companies are picked first, walking the name index, and only their
    leads are counted: grouping every visible lead took seconds at a million leads.
    """
    from django.db.models import Count, Exists, OuterRef

    visible = Lead.objects.visible_to(user)
    qs = Company.objects.filter(Exists(visible.filter(company=OuterRef("pk")))).order_by(Lower("name"), "id")
    if q:
        qs = qs.filter(_prefix("name__lower", q.lower()) | Q(domain__startswith=q.lower()))
    companies = list(qs[:limit])
    counted = visible.filter(company__in=companies).order_by().values("company").annotate(n=Count("id"))
    counts = {row["company"]: row["n"] for row in counted}
    for company in companies:
        company.lead_count = counts.get(company.pk, 0)
    return companies
