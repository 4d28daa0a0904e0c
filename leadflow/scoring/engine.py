"""The rule-score engine: pure Python over plain values, no database, no Django.

Every score in Leadflow comes from here: the refresh after a new timeline event,
the bulk rescore, the lead page's "why this score" card and `score_breakdown`.

Call it on plain dicts or rows::

    from datetime import datetime, timezone
    from leadflow.scoring import engine

    rules = [
        {"name": "Software", "condition": "industry_in", "value": "software, finance", "points": 15},
        {"name": "Pricing page", "condition": "page_visited", "value": "/pricing", "points": 10, "cap": 30},
    ]
    lead = {"industry": "Software", "company_size": 120, "email": "ana@acme.example", "custom": {}}
    events = [("page_viewed", "2025-03-01T12:00:00Z", {"url": "https://acme.example/pricing"})]
    result = engine.score(rules=rules, lead=lead, events=events,
                          now=datetime(2025, 3, 31, tzinfo=timezone.utc), half_life_days=30)
    result.total, result.fit, result.engagement   # 20, 15, 5
    result.contributions                          # one Contribution per rule that matched

To score many leads with the same rules (an imported data set, a ROC AUC), compile
once and reuse: ``scorer = engine.Scorer(rules, half_life_days=30)`` then
``scorer.score(lead, events, now)`` (or ``scorer.totals(...)`` for just (fit, engagement)).
``engine.DEFAULT_RULES`` is the rule set a fresh install starts with; the site's current
rules are ``[rule.as_engine_rule() for rule in ScoringRule.objects.filter(active=True)]``,
or compiled with its half-life by ``leadflow.scoring.services.refresh.load_config().scorer``.

- A rule is a mapping with `condition` (one of CONDITIONS), `points` (may be
  negative), and optionally `name`, `value` (text; lists are comma-separated, or a
  list), `key` (the custom field), `cap` (most points, in absolute value, the rule
  gives; None or 0 for no cap), `active` (default True) and `id`.
- A lead is a mapping with any of: industry, company_size, country, title, phone,
  source, email, custom (a dict or its JSON text). Missing keys count as blank.
- An event is a mapping with kind, occurred_at and data, or a (kind, occurred_at,
  data) tuple. occurred_at is a datetime (naive means UTC), ISO 8601 text or epoch
  seconds; data is a dict, its JSON text or None. Kinds are the timeline's
  (`page_viewed`, `form_submitted`, `email_opened`, ...). Order does not matter.
- `now` is a datetime or epoch seconds. An event's points halve every
  `half_life_days` days before `now` (0: no decay); events after `now` count fully.
- Fit rules (field conditions) give their points once when true. Engagement rules
  (event conditions) give their points for every event that matches, decayed, and
  the sum stops at the cap. Each rule's sum is rounded to a whole number; fit and
  engagement are the sums of their rules, total = fit + engagement.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

FIT, ENGAGEMENT = "fit", "engagement"
DAY_SECONDS = 86_400.0
FREE_MAIL_DOMAINS = frozenset(
    "gmail.com googlemail.com yahoo.com yahoo.co.uk yahoo.fr ymail.com hotmail.com hotmail.co.uk hotmail.fr "
    "outlook.com live.com msn.com icloud.com me.com mac.com aol.com gmx.com gmx.de gmx.net web.de mail.com "
    "proton.me protonmail.com pm.me zoho.com yandex.com yandex.ru mail.ru qq.com 163.com 126.com "
    "free.fr orange.fr laposte.net t-online.de libero.it rediffmail.com fastmail.com hey.com tutanota.com".split()
)


@dataclass(frozen=True)
class Condition:
    name: str
    kind: str
    label: str
    event_kind: str = ""
    needs_value: bool = False
    needs_key: bool = False
    help: str = ""


CONDITIONS: dict[str, Condition] = {
    c.name: c
    for c in (
        Condition("industry_in", FIT, "Industry is one of", needs_value=True, help="software, finance"),
        Condition("company_size_at_least", FIT, "Company size at least", needs_value=True, help="50"),
        Condition("company_size_at_most", FIT, "Company size at most", needs_value=True, help="10"),
        Condition("country_in", FIT, "Country is one of", needs_value=True, help="US, GB, DE"),
        Condition("title_contains", FIT, "Title contains any of", needs_value=True, help="Head, VP, Director"),
        Condition("has_phone", FIT, "Has a phone number"),
        Condition("source_in", FIT, "Source is one of", needs_value=True, help="google, linkedin"),
        Condition("corporate_email", FIT, "Email is not a free mail address"),
        Condition("custom_equals", FIT, "Custom field equals", needs_value=True, needs_key=True, help="yes"),
        Condition("custom_in", FIT, "Custom field is one of", needs_value=True, needs_key=True, help="gold, silver"),
        Condition(
            "page_visited", ENGAGEMENT, "Visited a page matching", "page_viewed", needs_value=True, help="/pricing"
        ),
        Condition("form_submitted", ENGAGEMENT, "Submitted a form", "form_submitted", help="blank: any form"),
        Condition("email_opened", ENGAGEMENT, "Opened an email", "email_opened"),
        Condition("email_clicked", ENGAGEMENT, "Clicked a link in an email", "email_clicked"),
        Condition("email_replied", ENGAGEMENT, "Replied to an email", "email_replied"),
        Condition("call_connected", ENGAGEMENT, "Had a connected call", "call"),
        Condition("meeting", ENGAGEMENT, "Had a meeting", "meeting"),
    )
}


DECISION_TITLES = "head, vp, vice president, director, chief, founder, owner"
DEFAULT_RULES: tuple[dict, ...] = tuple(
    {"name": name, "condition": condition, "value": value, "points": points, "cap": cap}
    for name, condition, value, points, cap in (
        ("Software or finance company", "industry_in", "software, finance", 15, None),
        ("Company of 50 people or more", "company_size_at_least", "50", 10, None),
        (
            "Decision-maker title",
            "title_contains",
            "head, vp, vice president, director, chief, founder, owner",
            15,
            None,
        ),
        ("Student or intern", "title_contains", "student, intern", -15, None),
        ("Corporate email address", "corporate_email", "", 10, None),
        ("Has a phone number", "has_phone", "", 5, None),
        ("Visited the pricing page", "page_visited", "/pricing", 10, 30),
        ("Visited the demo page", "page_visited", "/demo", 10, 20),
        ("Submitted a form", "form_submitted", "", 15, 30),
        ("Clicked a link in an email", "email_clicked", "", 5, 15),
        ("Replied to an email", "email_replied", "", 20, 20),
        ("Had a connected call", "call_connected", "", 10, 20),
        ("Had a meeting", "meeting", "", 20, 20),
    )
)
DEFAULT_HALF_LIFE_DAYS = 30
DEFAULT_MQL_THRESHOLD = 60


@dataclass(frozen=True)
class Contribution:
    """What one rule gave: whole points, and for events the latest that counted and how many did."""

    rule_id: int | None
    name: str
    kind: str
    points: int
    when: datetime | None = None
    events: int = 0


@dataclass
class Result:
    fit: int = 0
    engagement: int = 0
    contributions: list[Contribution] = field(default_factory=list)

    @property
    def total(self) -> int:
        return self.fit + self.engagement


class RuleError(ValueError):
    """A rule the engine cannot use: unknown condition or a value of the wrong shape."""


def split_values(value: Any) -> list[str]:
    """Return the comma-separated (or listed) values, trimmed and lowercased, blanks dropped."""
    items = value if isinstance(value, list | tuple) else str(value or "").split(",")
    return [str(item).strip().lower() for item in items if str(item).strip()]


def to_epoch(value: Any) -> float:
    """Return epoch seconds for a datetime (naive is UTC), ISO 8601 text or a number."""
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        value = datetime.fromisoformat(value.strip().replace(" ", "T", 1))
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.timestamp()
    raise TypeError(f"not a time: {value!r}")


def _custom(lead: Mapping) -> dict:
    custom = lead.get("custom") or {}
    if isinstance(custom, str):
        try:
            custom = json.loads(custom)
        except ValueError:
            return {}
    return custom if isinstance(custom, dict) else {}


def _text(lead: Mapping, name: str) -> str:
    value = lead.get(name)
    return "" if value is None else str(value).strip().lower()


def _size(lead: Mapping) -> int | None:
    value = lead.get("company_size")
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


def _number(value: Any) -> int:
    try:
        return int(str(value).strip())
    except ValueError as error:
        raise RuleError(f"{value!r} is not a whole number") from error


def _fit_test(condition: str, value: Any, key: str) -> Callable[[Mapping], bool]:
    values = split_values(value)
    wanted = frozenset(values)
    if condition in {"industry_in", "country_in", "source_in"}:
        name = condition.removesuffix("_in")
        return lambda lead: _text(lead, name) in wanted
    if condition == "company_size_at_least":
        least = _number(value)
        return lambda lead: (size := _size(lead)) is not None and size >= least
    if condition == "company_size_at_most":
        most = _number(value)
        return lambda lead: (size := _size(lead)) is not None and size <= most
    if condition == "title_contains":
        return lambda lead: (title := _text(lead, "title")) != "" and any(word in title for word in values)
    if condition == "has_phone":
        return lambda lead: _text(lead, "phone") != ""
    if condition == "corporate_email":
        return lambda lead: "@" in (email := _text(lead, "email")) and email.rsplit("@", 1)[1] not in FREE_MAIL_DOMAINS
    if condition in {"custom_equals", "custom_in"}:
        if not key:
            raise RuleError("a custom field condition needs the field's name")
        if condition == "custom_equals":
            wanted = frozenset([str(value or "").strip().lower()])
        return lambda lead: str(_custom(lead).get(key, "")).strip().lower() in wanted - {""}
    raise RuleError(f"unknown condition {condition!r}")


# An event test is (quick, full): quick(lowercased json_text) answers True/False when the
# raw text is enough, or None to ask full(parsed dict). Most events skip json.loads.
EventTest = tuple[Callable[[str], bool | None], Callable[[dict], bool]]


def _page_urls(data: dict) -> list[str]:
    urls = [data.get("url"), data.get("page_url"), data.get("path")]
    pages = data.get("pages")
    if isinstance(pages, list):
        urls += [page.get("url") for page in pages if isinstance(page, dict)]
    return [url.lower() for url in urls if isinstance(url, str) and url]


def _page_test(pattern: str) -> EventTest:
    pattern = pattern.strip().lower()
    if not pattern:
        raise RuleError("a page condition needs a pattern, for example /pricing")
    parts = pattern.split("*")
    matcher = re.compile(".*".join(re.escape(part) for part in parts))
    needle = max(parts, key=len)

    def quick(text: str) -> bool | None:
        if needle and needle.isascii() and needle not in text:
            return False
        return None

    return quick, lambda data: any(matcher.search(url) for url in _page_urls(data))


def _human(data: dict) -> bool:
    return data.get("machine") is not True


def _quick_human(text: str) -> bool | None:
    return True if '"machine"' not in text else None


def _event_test(condition: str, value: Any) -> EventTest:
    if condition == "page_visited":
        return _page_test(str(value or ""))
    if condition in {"email_opened", "email_clicked"}:
        return _quick_human, _human
    if condition == "form_submitted":
        form = str(value or "").strip().lower()
        if not form:
            return (lambda text: True), (lambda data: True)
        return (lambda text: None), (
            lambda data: str(data.get("form", "")).strip().lower() == form or str(data.get("form_id", "")) == form
        )
    if condition == "call_connected":
        return (lambda text: None if '"connected"' in text else False), (
            lambda data: data.get("outcome") == "connected"
        )
    if condition in {"email_replied", "meeting"}:
        return (lambda text: True), (lambda data: True)
    raise RuleError(f"unknown condition {condition!r}")


@dataclass
class _Compiled:
    rule_id: int | None
    name: str
    kind: str
    points: float
    cap: float | None
    fit_test: Callable[[Mapping], bool] | None = None
    event_kind: str = ""
    event_test: EventTest | None = None

    def points_for(self, total: float) -> int:
        """Return the whole points the rule gives for `total`: capped, then rounded."""
        if self.cap is not None:
            total = max(-self.cap, min(self.cap, total))
        return _round(total)


def _cap(value: Any) -> float | None:
    if value in (None, "", 0):
        return None
    return abs(float(value))


def compile_rule(rule: Mapping) -> _Compiled:
    """Return the rule ready to evaluate; raise RuleError if it cannot be."""
    condition = CONDITIONS.get(rule.get("condition", ""))
    if condition is None:
        raise RuleError(f"unknown condition {rule.get('condition')!r}")
    compiled = _Compiled(
        rule_id=rule.get("id"),
        name=str(rule.get("name") or condition.label),
        kind=condition.kind,
        points=float(rule.get("points") or 0),
        cap=_cap(rule.get("cap")),
    )
    if condition.kind == FIT:
        compiled.fit_test = _fit_test(condition.name, rule.get("value"), str(rule.get("key") or "").strip())
    else:
        compiled.event_kind = condition.event_kind
        compiled.event_test = _event_test(condition.name, rule.get("value"))
    return compiled


def _round(value: float) -> int:
    """Round half away from zero, the way people expect points to round."""
    return math.floor(abs(value) + 0.5) * (1 if value >= 0 else -1)


def _loads(data: Any) -> dict:
    if isinstance(data, dict):
        return data
    if not data:
        return {}
    try:
        parsed = json.loads(data)
    except ValueError:
        return {}
    return parsed if isinstance(parsed, dict) else {}


def _unpack(event: Any) -> tuple[str, Any, Any]:
    if isinstance(event, Mapping):
        return event.get("kind", ""), event.get("occurred_at"), event.get("data")
    return event[0], event[1], event[2]


class Scorer:
    """Rules compiled once, to score any number of leads."""

    def __init__(self, rules: Iterable[Mapping], *, half_life_days: float = 0) -> None:
        active = [rule for rule in rules if rule.get("active", True)]
        self.rules = [compile_rule(rule) for rule in active]
        self.half_life_s = float(half_life_days or 0) * DAY_SECONDS
        self.fit_rules = [(i, rule) for i, rule in enumerate(self.rules) if rule.kind == FIT]
        self.by_kind: dict[str, list[tuple[int, _Compiled]]] = {}
        for i, rule in enumerate(self.rules):
            if rule.kind == ENGAGEMENT:
                self.by_kind.setdefault(rule.event_kind, []).append((i, rule))

    @property
    def event_kinds(self) -> list[str]:
        """The timeline kinds any active rule reads; other events never change a score."""
        return sorted(self.by_kind)

    def score(self, lead: Mapping, events: Iterable[Any], now: Any) -> Result:
        """Return the lead's fit and engagement and what each rule gave."""
        sums, latest, counts = self._accumulate(lead, events, now)
        result = Result()
        for i, rule in enumerate(self.rules):
            if not counts[i]:
                continue
            points = rule.points_for(sums[i])
            when = datetime.fromtimestamp(latest[i], UTC) if latest[i] is not None else None
            result.contributions.append(Contribution(rule.rule_id, rule.name, rule.kind, points, when, counts[i]))
            if rule.kind == FIT:
                result.fit += points
            else:
                result.engagement += points
        return result

    def totals(self, lead: Mapping, events: Iterable[Any], now: Any) -> tuple[int, int]:
        """Return (fit, engagement) only: the same sums as score(), for bulk work."""
        sums, _, counts = self._accumulate(lead, events, now)
        fit = engagement = 0
        for i, rule in enumerate(self.rules):
            if counts[i]:
                if rule.kind == FIT:
                    fit += rule.points_for(sums[i])
                else:
                    engagement += rule.points_for(sums[i])
        return fit, engagement

    def _accumulate(self, lead: Mapping, events: Iterable[Any], now: Any) -> tuple[list, list, list]:
        now_s = now if type(now) is float else to_epoch(now)
        sums = [0.0] * len(self.rules)
        latest: list[float | None] = [None] * len(self.rules)
        counts = [0] * len(self.rules)
        for i, rule in self.fit_rules:
            if rule.fit_test(lead):
                sums[i], counts[i] = rule.points, 1
        if self.by_kind:
            self._events(events, now_s, sums, latest, counts)
        return sums, latest, counts

    def _events(self, events: Iterable[Any], now_s: float, sums: list, latest: list, counts: list) -> None:
        by_kind, half_life = self.by_kind, self.half_life_s
        for event in events:
            kind, occurred_at, data = event if type(event) is tuple else _unpack(event)
            matching = by_kind.get(kind)
            if matching is None:
                continue
            at = occurred_at if type(occurred_at) is float else to_epoch(occurred_at)
            parsed = data if type(data) is dict else None
            lowered = data.lower() if type(data) is str else None
            for i, rule in matching:
                quick, full = rule.event_test
                verdict = quick(lowered) if lowered is not None else None
                if verdict is None:
                    if parsed is None:
                        parsed = _loads(data)
                    verdict = full(parsed)
                if not verdict:
                    continue
                age = now_s - at
                sums[i] += rule.points * (0.5 ** (age / half_life) if half_life and age > 0 else 1.0)
                counts[i] += 1
                if latest[i] is None or at > latest[i]:
                    latest[i] = at


def score(
    *,
    rules: Sequence[Mapping],
    lead: Mapping,
    events: Iterable[Any],
    now: Any,
    half_life_days: float = 0,
) -> Result:
    """Score one lead: compile `rules` and evaluate them on `lead` and its `events` at `now`."""
    return Scorer(rules, half_life_days=half_life_days).score(lead, events, now)
