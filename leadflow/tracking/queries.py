"""Reads for the collector (sites, cached briefly in the process) and for the lead page (visits by session)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime
from urllib.parse import urlsplit

from django.db.models import Count, F, Max, Min, Window
from django.db.models.functions import RowNumber

from leadflow.leads.models import Lead
from leadflow.tracking.models import PageView, Site, Visitor
from leadflow.tracking.origins import origin_of

SITE_CACHE_SECONDS = 30.0
SITE_CACHE_SIZE = 1000
SESSIONS_PER_PAGE = 10
PAGES_PER_SESSION = 50


@dataclass(frozen=True, slots=True)
class SiteInfo:
    """What the collector needs of a site, cheap to keep between requests."""

    id: int
    key: str
    origins: frozenset[str]
    require_consent: bool


_sites: dict[str, tuple[float, SiteInfo | None]] = {}
_origins: list[tuple[float, frozenset[str]]] = []


def site_for_key(key: str) -> SiteInfo | None:
    """Return the active site with this public key; answers are kept for SITE_CACHE_SECONDS."""
    now = time.monotonic()
    cached = _sites.get(key)
    if cached is not None and cached[0] > now:
        return cached[1]
    site = Site.objects.filter(key=key, is_active=True).first()
    info = SiteInfo(site.pk, site.key, frozenset(site.origin_list), site.require_consent) if site else None
    if len(_sites) >= SITE_CACHE_SIZE:
        # Random keys must not grow the cache without bound.
        _sites.clear()
    _sites[key] = (now + SITE_CACHE_SECONDS, info)
    return info


def allowed_origins() -> frozenset[str]:
    """Return every origin of every active site (for CORS answers that come before the site is known)."""
    now = time.monotonic()
    if _origins and _origins[0][0] > now:
        return _origins[0][1]
    origins = frozenset(
        origin for site in Site.objects.filter(is_active=True).only("origins") for origin in site.origin_list
    )
    _origins[:] = [(now + SITE_CACHE_SECONDS, origins)]
    return origins


def forget_cached_sites() -> None:
    """Drop the cached sites, so a change made in this process applies at once."""
    _sites.clear()
    _origins.clear()


def source_of(url: str, referrer: str, utm: dict[str, str]) -> str:
    """Return where a session came from: its UTM source and medium, else the referring host, else 'Direct'."""
    if utm.get("utm_source") or utm.get("utm_medium"):
        return " / ".join(value for value in (utm.get("utm_source"), utm.get("utm_medium")) if value)
    referring = origin_of(referrer)
    if referring and referring != origin_of(url):
        host = urlsplit(referrer).hostname or ""
        return host.removeprefix("www.")
    return "Direct"


@dataclass
class VisitSession:
    """One session of a visitor: pages in the order seen, where it came from, how long it lasted."""

    visitor_id: int
    key: str
    started_at: datetime
    ended_at: datetime
    page_count: int
    pages: list[PageView] = field(default_factory=list)

    @property
    def duration_seconds(self) -> int:
        return int((self.ended_at - self.started_at).total_seconds())

    @property
    def landing(self) -> PageView | None:
        return self.pages[0] if self.pages else None

    @property
    def utm(self) -> dict[str, str]:
        first = self.landing
        if first is None:
            return {}
        names = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
        return {name: getattr(first, name) for name in names if getattr(first, name)}

    @property
    def source(self) -> str:
        first = self.landing
        return source_of(first.url, first.referrer, self.utm) if first else ""

    @property
    def hidden_pages(self) -> int:
        return self.page_count - len(self.pages)


@dataclass
class VisitsPage:
    sessions: list[VisitSession]
    page: int
    has_next: bool
    total_views: int


def lead_family_ids(lead: Lead) -> list[int]:
    """Return the lead's id and the ids of every lead merged into it, directly or through earlier merges."""
    ids, frontier = [lead.pk], [lead.pk]
    while frontier:
        frontier = list(Lead.objects.filter(merged_into_id__in=frontier).values_list("pk", flat=True))
        frontier = [pk for pk in frontier if pk not in ids]
        ids.extend(frontier)
    return ids


def visits_for_lead(lead: Lead, *, page: int = 1, per_page: int = SESSIONS_PER_PAGE) -> VisitsPage:
    """Return one page of the lead's website sessions, newest first, each with its pages in order."""
    visitor_ids = list(Visitor.objects.filter(lead_id__in=lead_family_ids(lead)).values_list("pk", flat=True))
    if not visitor_ids:
        return VisitsPage([], page, False, 0)
    views = PageView.objects.filter(visitor_id__in=visitor_ids)
    rows = list(
        views.values("visitor_id", "session_key")
        .annotate(started_at=Min("occurred_at"), ended_at=Max("occurred_at"), page_count=Count("*"))
        .order_by("-started_at", "session_key")[(page - 1) * per_page : page * per_page + 1]
    )
    sessions = [VisitSession(key=row.pop("session_key"), **row) for row in rows[:per_page]]
    _attach_pages(views, sessions)
    return VisitsPage(sessions, page, len(rows) > per_page, views.count())


def _attach_pages(views, sessions: list[VisitSession]) -> None:
    """Fill in each session's first PAGES_PER_SESSION pages with one query."""
    if not sessions:
        return
    by_key = {(session.visitor_id, session.key): session for session in sessions}
    numbered = views.filter(session_key__in=[session.key for session in sessions]).annotate(
        number=Window(
            RowNumber(), partition_by=[F("visitor_id"), F("session_key")], order_by=[F("occurred_at"), F("id")]
        )
    )
    for view in numbered.filter(number__lte=PAGES_PER_SESSION).order_by("occurred_at", "id"):
        session = by_key.get((view.visitor_id, view.session_key))
        if session is not None:
            session.pages.append(view)
