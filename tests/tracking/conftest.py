"""Tracked sites, visitors and batches shaped like the snippet's."""

from __future__ import annotations

import itertools
import json
import secrets
from typing import Any

import pytest
from django.test import Client

from leadflow.tracking import queries, services
from leadflow.tracking.models import Site

ORIGIN = "https://shop.example"
_sessions = itertools.count(1)


@pytest.fixture(autouse=True)
def fresh_site_cache():
    queries.forget_cached_sites()
    yield
    queries.forget_cached_sites()


@pytest.fixture
def site(db) -> Site:
    """A site that tracks without asking for consent."""
    return services.add_site(name="Shop", origins=[ORIGIN, "https://www.shop.example"], require_consent=False)


@pytest.fixture
def consent_site(db) -> Site:
    """A site that asks its visitors for consent first."""
    return services.add_site(name="Strict shop", origins=["https://strict.example"], require_consent=True)


def new_visitor() -> str:
    return secrets.token_urlsafe(16)


def new_session() -> str:
    return f"session{next(_sessions):06d}"


def view(path: str = "/", *, session: str = "sessionAAAA", age_ms: int = 0, **extra: Any) -> dict[str, Any]:
    return {"type": "pageview", "url": ORIGIN + path, "title": f"Page {path}", "session": session, "age_ms": age_ms,
            **extra}  # fmt: skip


def batch(site: Site, visitor: str, events: list[dict], **extra: Any) -> dict[str, Any]:
    return {"site": site.key, "visitor": visitor, "consent": False, "events": events, **extra}


def post(body: Any, *, origin: str = ORIGIN, content_type: str = "text/plain;charset=UTF-8", **headers: str):
    """POST to the collector as a browser's sendBeacon does."""
    raw = body if isinstance(body, bytes | str) else json.dumps(body)
    extra = {"HTTP_ORIGIN": origin} if origin else {}
    return Client().generic("POST", "/t/collect", raw, content_type=content_type, **extra, **headers)
