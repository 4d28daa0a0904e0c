"""Read one batch posted by the tracking snippet: its shape and limits only, no database.

A batch is one JSON object (sent as text/plain by sendBeacon)::

    {"site": "KEY", "visitor": "VISITOR-ID", "consent": true,
     "events": [{"type": "pageview", "url": "https://…", "title": "…", "referrer": "…",
                 "session": "SESSION-ID", "age_ms": 1200}]}

`age_ms` is how long ago the page was seen, so a wrong clock in the browser does not matter.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import parse_qsl, urlsplit

from leadflow.tracking.origins import origin_of

MAX_BODY_BYTES = 64 * 1024
MAX_EVENTS = 50
MAX_URL = 2000
MAX_TITLE = 300
MAX_AGE_MS = 24 * 3600 * 1000
MAX_UTM = 200
UTM_NAMES = ("utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content")
VISITOR_KEY = re.compile(r"[A-Za-z0-9_-]{16,64}")
SESSION_KEY = re.compile(r"[A-Za-z0-9_-]{8,64}")
# What no column may hold: NUL and the other control characters, and lone UTF-16 surrogates
# (valid in JSON escapes, but not text any database stores).
UNSAFE = re.compile(r"[\x00-\x1f\x7f\ud800-\udfff]")


class BatchError(Exception):
    """A batch refused as a whole. `code` is stable, `message` says what to fix."""

    def __init__(self, code: str, message: str, *, status: int = 400) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status


@dataclass(slots=True)
class PageViewIn:
    url: str
    origin: str
    title: str
    referrer: str
    session: str
    age_ms: int
    utm: tuple[str, str, str, str, str]


@dataclass(slots=True)
class Batch:
    site: str
    visitor: str
    consent: bool
    events: list[PageViewIn]
    # The signed parameter of an email click (leadflow.mail), joining this visitor to the email's lead.
    identify: str = ""


def parse_batch(body: bytes) -> Batch:
    """Return the batch in `body`, or raise BatchError naming the first thing wrong with it."""
    if len(body) > MAX_BODY_BYTES:
        raise BatchError(
            "too_large", f"The batch is larger than {MAX_BODY_BYTES} bytes; send fewer events.", status=413
        )
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as error:
        raise BatchError("bad_json", f"The body is not valid JSON: {error}.") from None
    if not isinstance(data, dict):
        raise BatchError("bad_shape", "The body must be a JSON object with site, visitor and events.")
    site = _text(data, "site", 64, required=True)
    visitor = _text(data, "visitor", 64, required=True)
    if not VISITOR_KEY.fullmatch(visitor):
        raise BatchError("bad_visitor", "visitor: use 16 to 64 letters, digits, '-' or '_'.")
    consent = data.get("consent", False)
    if not isinstance(consent, bool):
        raise BatchError("bad_consent", "consent: use true or false.")
    events = data.get("events")
    if not isinstance(events, list) or not events:
        raise BatchError("no_events", "events: send a list of one or more events.")
    if len(events) > MAX_EVENTS:
        raise BatchError("too_many_events", f"events: send at most {MAX_EVENTS} events in one batch.", status=413)
    identify = _text(data, "identify", 200)
    return Batch(site, visitor, consent, [_page_view(event, index) for index, event in enumerate(events)], identify)


def _text(data: dict, name: str, limit: int, *, required: bool = False, where: str = "") -> str:
    value = data.get(name, "")
    label = f"{where}{name}"
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise BatchError("bad_field", f"{label}: must be text.")
    if required and not value:
        raise BatchError("missing_field", f"{label}: is required.")
    if len(value) > limit:
        raise BatchError("too_long", f"{label}: longer than {limit} characters.")
    if UNSAFE.search(value):
        raise BatchError("bad_characters", f"{label}: contains NUL, control characters or broken Unicode.")
    return value


def _page_view(event: object, index: int) -> PageViewIn:
    where = f"events[{index}]."
    if not isinstance(event, dict):
        raise BatchError("bad_event", f"events[{index}]: must be an object.")
    if event.get("type", "pageview") != "pageview":
        raise BatchError("bad_event", f"{where}type: only 'pageview' is recorded.")
    url = _text(event, "url", MAX_URL, required=True, where=where)
    parts = _http_url(url, where)
    session = _text(event, "session", 64, required=True, where=where)
    if not SESSION_KEY.fullmatch(session):
        raise BatchError("bad_session", f"{where}session: use 8 to 64 letters, digits, '-' or '_'.")
    age = event.get("age_ms", 0)
    if isinstance(age, bool) or not isinstance(age, int) or not 0 <= age <= MAX_AGE_MS:
        raise BatchError("bad_age", f"{where}age_ms: a whole number of milliseconds from 0 to {MAX_AGE_MS}.")
    return PageViewIn(
        url=url,
        origin=parts,
        title=_text(event, "title", MAX_TITLE, where=where),
        referrer=_text(event, "referrer", MAX_URL, where=where),
        session=session,
        age_ms=age,
        utm=utm_of(url),
    )


def _http_url(url: str, where: str) -> str:
    """Return the URL's origin ('https://host:port', lower case), or refuse a URL that is not http(s)."""
    origin = origin_of(url)
    if not origin:
        raise BatchError("bad_url", f"{where}url: must be an absolute http or https URL.")
    return origin


def utm_of(url: str) -> tuple[str, str, str, str, str]:
    """Return the URL's utm_source, utm_medium, utm_campaign, utm_term and utm_content ('' when absent)."""
    if "utm_" not in url:
        return ("", "", "", "", "")
    found: dict[str, str] = {}
    for name, value in parse_qsl(urlsplit(url).query, errors="replace"):
        if name in UTM_NAMES and name not in found:
            found[name] = UNSAFE.sub("", value).strip()[:MAX_UTM]
    return tuple(found.get(name, "") for name in UTM_NAMES)  # type: ignore[return-value]
