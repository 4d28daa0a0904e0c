"""Rows of realistic leads, companies and timeline events, made in chunks of constant size."""

from __future__ import annotations

import itertools
import json
import random
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from leadflow.lib import fakedata

DAY = 86_400.0
EPOCH = datetime(1970, 1, 1)
HISTORY_DAYS = 730
LEADS_PER_COMPANY = 20
LEAD_PAGE_EVENTS = 1000

# Where companies are: with the name words it makes about 55,000 distinct companies.
PLACES = (
    "Austin Boston Denver Dallas Seattle Portland Chicago Atlanta Miami Phoenix Detroit Houston Berlin "
    "Munich Hamburg Paris Lyon Lille Madrid Seville Lisbon Porto Milan Turin Rome Vienna Zurich Geneva "
    "Dublin Cork Leeds Bristol Glasgow Oslo Bergen Malmo Aarhus Helsinki Tallinn Riga Krakow Prague Brno "
    "Sofia Athens Izmir Cairo Lagos Accra Nairobi Pune Chennai Osaka Busan Taipei Manila Perth Auckland"
).split()

# The funnel: share of leads in each stage, and the stages each one went through.
STAGE_SHARES = (
    ("subscriber", 27),
    ("lead", 34),
    ("mql", 13),
    ("sql", 6),
    ("opportunity", 3),
    ("customer", 3),
    ("disqualified", 9),
    ("recycled", 5),
)
STAGE_PATHS = {
    "subscriber": ("subscriber",),
    "lead": ("lead",),
    "mql": ("lead", "mql"),
    "sql": ("lead", "mql", "sql"),
    "opportunity": ("lead", "mql", "sql", "opportunity"),
    "customer": ("lead", "mql", "sql", "opportunity", "customer"),
    "disqualified": ("lead", "disqualified"),
    "recycled": ("lead", "mql", "recycled"),
}
STAGE_SCORE = {
    "subscriber": 5,
    "lead": 15,
    "mql": 45,
    "sql": 60,
    "opportunity": 70,
    "customer": 75,
    "disqualified": 5,
    "recycled": 20,
}
SOURCE_WEIGHTS = (22, 16, 5, 10, 9, 10, 6, 5, 9, 4, 4)
REFERRERS = {
    "google": "https://www.google.com/",
    "bing": "https://www.bing.com/",
    "facebook": "https://www.facebook.com/",
    "linkedin": "https://www.linkedin.com/",
    "newsletter": "",
    "partner": "https://partner.example/resources",
    "event": "",
    "direct": "",
    "webinar": "https://events.example/webinars",
    "import": "",
}
COUNTRIES = (("US", "America/New_York"), ("US", "America/Los_Angeles"), ("GB", "Europe/London"),
             ("DE", "Europe/Berlin"), ("FR", "Europe/Paris"), ("IN", "Asia/Kolkata"), ("AU", "Australia/Sydney"),
             ("BR", "America/Sao_Paulo"), ("", ""))  # fmt: skip
SIZES = (5, 20, 50, 200, 1000, 5000)
QUALIFIED = {"sql", "opportunity", "customer"}
INDUSTRIES = ("software", "retail", "health", "finance", "education", "manufacturing", "logistics", "media")

# Timeline: the mix of kinds after the lead was created, and who does each.
EVENT_MIX = (
    ("page_viewed", 33, "lead"),
    ("email_sent", 17, "system"),
    ("email_opened", 13, "lead"),
    ("email_clicked", 5, "lead"),
    ("email_replied", 1, "lead"),
    ("form_submitted", 4, "lead"),
    ("note", 6, "user"),
    ("call", 6, "user"),
    ("meeting", 1, "user"),
    ("score_changed", 9, "system"),
    ("updated", 3, "user"),
    ("captured", 2, "lead"),
)
SUBJECTS = (
    "Welcome to Leadflow",
    "Your guide to lead scoring",
    "Five ways to shorten speed-to-lead",
    "Case study: how Harbor Logistics doubled demos",
    "Your trial ends in three days",
    "Webinar invitation: nurturing that works",
    "Pricing for teams",
)
NOTES = (
    "Asked for pricing for 20 seats.",
    "Interested in the API; wants a sandbox.",
    "Budget decided next quarter.",
    "Met at the conference booth, follow up in May.",
    "Prefers email over calls.",
    "Evaluating two other vendors.",
    "Champion is the head of marketing.",
)
CALL_OUTCOMES = ("connected", "voicemail", "no_answer", "busy", "connected", "connected")


def _dumps(value) -> str:
    return json.dumps(value, separators=(",", ":"))


def _payloads() -> dict[str, list[str]]:
    """Return a pool of JSON payloads for each kind, so rows do not pay for json.dumps."""
    rng = random.Random(7)
    pages = [_dumps({"url": f"https://www.leadflow.example{page}"}) for page in fakedata.PAGES]
    return {
        "page_viewed": pages,
        "email_sent": [_dumps({"subject": subject, "sequence": "onboarding"}) for subject in SUBJECTS],
        "email_opened": [_dumps({"subject": subject}) for subject in SUBJECTS],
        "email_clicked": [
            _dumps({"subject": subject, "url": "https://www.leadflow.example/demo"}) for subject in SUBJECTS
        ],
        "email_replied": [_dumps({"subject": f"Re: {subject}"}) for subject in SUBJECTS],
        "form_submitted": [
            _dumps({"form": form, "page": page}) for form in ("demo", "trial") for page in fakedata.PAGES
        ],
        "note": [_dumps({"text": note}) for note in NOTES],
        "call": [
            _dumps({"outcome": outcome, "duration": rng.randint(20, 1800), "notes": rng.choice(NOTES)})
            for outcome in CALL_OUTCOMES
            for _ in range(4)
        ],
        "meeting": [_dumps({"title": "Discovery call", "minutes": minutes}) for minutes in (15, 30, 45, 60)],
        "score_changed": [_dumps({"from": a, "to": a + rng.randint(-10, 25)}) for a in range(0, 100, 3)],
        "updated": [
            _dumps({"fields": fields}) for fields in (["title"], ["phone"], ["company_name"], ["title", "phone"])
        ],
        "captured": [_dumps({"channel": channel}) for channel in ("form", "import", "api")],
    }


def ts(seconds: float) -> str:
    """Return an epoch time as the UTC text both databases read: 2025-03-01 12:00:00.123456."""
    return (EPOCH + timedelta(seconds=seconds)).isoformat(" ")


def iso(seconds: float) -> str:
    return (EPOCH + timedelta(seconds=seconds)).isoformat(timespec="seconds") + "Z"


@dataclass
class People:
    """The users leads are assigned to: (user id, team id) of reps and managers, and team ids."""

    reps: list[tuple[int, int]]
    managers: list[tuple[int, int]]
    team_ids: list[int]
    rep_weights: list[float] = field(default_factory=list)


@dataclass
class Plan:
    leads: int
    events: int
    seed: int
    now: float
    people: People

    @property
    def companies(self) -> int:
        return max(1, self.leads // LEADS_PER_COMPANY)

    @property
    def min_events(self) -> int:
        """Every lead has its 'created' event when there are events enough for that."""
        return 1 if self.events >= self.leads else 0

    @property
    def lead_page_index(self) -> int:
        return self.leads // 3

    @property
    def lead_page_events(self) -> int:
        return max(0, min(LEAD_PAGE_EVENTS, self.events - self.min_events * (self.leads - 1)))

    def created_at(self, index: int) -> float:
        """Leads arrive over two years, more of them lately, in id order."""
        start = self.now - HISTORY_DAYS * DAY
        return start + HISTORY_DAYS * DAY * ((index + 0.5) / self.leads) ** 0.75


def company_rows(plan: Plan, start: int, stop: int) -> list[tuple]:
    """Return companies start..stop-1 as (id, name, domain, created_at), each name and domain unique."""
    a_words, b_words = fakedata.COMPANY_WORDS_A, fakedata.COMPANY_WORDS_B
    bases = len(a_words) * len(b_words)
    rng = random.Random(plan.seed * 31 + start)
    rows = []
    for index in range(start, stop):
        base, round_ = index % bases, index // bases
        name = f"{a_words[base % len(a_words)]} {b_words[base // len(a_words)]}"
        if round_:
            place = PLACES[(round_ - 1) % len(PLACES)]
            name = f"{name} {place}" if round_ <= len(PLACES) else f"{name} {place} {round_}"
        created = plan.now - rng.random() * HISTORY_DAYS * DAY
        rows.append((index + 1, name, fakedata.company_domain(name), ts(created)))
    return rows


class ChunkMaker:
    """Make leads and their events for a range of lead indexes; equal inputs give equal rows."""

    def __init__(self, plan: Plan) -> None:
        self.plan = plan
        self.payloads = _payloads()
        stages, shares = zip(*STAGE_SHARES, strict=True)
        self.stages, self.stage_cum = stages, list(itertools.accumulate(shares))
        self.source_cum = list(itertools.accumulate(SOURCE_WEIGHTS))
        kinds, weights, actors = zip(*EVENT_MIX, strict=True)
        self.kinds, self.kind_cum = kinds, list(itertools.accumulate(weights))
        self.kind_actor = dict(zip(kinds, actors, strict=True))
        self.rep_cum = list(itertools.accumulate(plan.people.rep_weights or [1.0] * len(plan.people.reps)))
        self.company_names = {}

    def company(self, index: int) -> tuple[str, str]:
        """Return (name, domain) of company `index` (0-based) without a database round trip."""
        cached = self.company_names.get(index)
        if cached is None:
            _, name, domain, _ = company_rows(self.plan, index, index + 1)[0]
            cached = self.company_names[index] = (name, domain)
        return cached

    def chunk(self, start: int, stop: int) -> tuple[list[tuple], list[tuple]]:
        """Return (lead rows, event rows sorted by time) for leads start..stop-1."""
        rng = random.Random(self.plan.seed * 1_000_003 + start)
        counts = self._event_counts(rng, start, stop)
        leads, events = [], []
        for index, count in zip(range(start, stop), counts, strict=True):
            lead, lead_events = self._lead(rng, index, count)
            leads.append(lead)
            events.extend(lead_events)
        events.sort(key=lambda row: row[2])
        return leads, events

    def _event_counts(self, rng: random.Random, start: int, stop: int) -> list[int]:
        """Return how many events each lead gets; the chunk's total is its exact share of the plan."""
        plan = self.plan
        floor = plan.min_events
        special = plan.lead_page_index if start <= plan.lead_page_index < stop else None
        budget = plan.events * stop // plan.leads - plan.events * start // plan.leads
        extra_mean = max(0.0, plan.events / plan.leads - floor)
        counts = [floor + int(rng.expovariate(1 / extra_mean)) if extra_mean else floor for _ in range(start, stop)]
        adjustable = [i for i in range(stop - start) if start + i != special]
        if special is not None:
            counts[special - start] = plan.lead_page_events
        self._rebalance(rng, counts, adjustable, budget, floor)
        return counts

    def _rebalance(self, rng: random.Random, counts: list[int], adjustable: list[int], budget: int, floor: int) -> None:
        diff = budget - sum(counts)
        while diff > 0 and adjustable:
            counts[adjustable[int(rng.random() * len(adjustable))]] += 1
            diff -= 1
        while diff < 0:
            reducible = [i for i in adjustable if counts[i] > floor]
            if not reducible:
                break
            for i in rng.sample(reducible, min(len(reducible), -diff)):
                counts[i] -= 1
                diff += 1

    def _owner(self, rng: random.Random) -> tuple[int | None, int | None]:
        """Return (owner id, team id): most leads belong to reps, some wait in a team's queue."""
        people = self.plan.people
        roll = rng.random()
        if roll < 0.10 and people.team_ids:
            return None, people.team_ids[int(rng.random() * len(people.team_ids))]
        if roll < 0.13 or not people.reps:
            return None, None
        if roll < 0.16 and people.managers:
            return people.managers[int(rng.random() * len(people.managers))]
        return rng.choices(people.reps, cum_weights=self.rep_cum)[0]

    def _lead(self, rng: random.Random, index: int, count: int) -> tuple[tuple, list[tuple]]:
        plan = self.plan
        lead_id = index + 1
        created = plan.created_at(index) + rng.uniform(-600, 600)
        created = min(created, plan.now - 60)
        first, last = rng.choice(fakedata.FIRST_NAMES), rng.choice(fakedata.LAST_NAMES)
        company_id, company_name, domain = None, "", rng.choice(fakedata.FREE_DOMAINS)
        if rng.random() < 0.75:
            company_index = int(plan.companies * rng.random() ** 2)
            company_id = company_index + 1
            company_name, company_domain = self.company(company_index)
            if rng.random() < 0.7:
                domain = company_domain
        email = fakedata.email_for(rng, first, last, domain, lead_id)
        phone = fakedata.phone_for(lead_id % 10_000_000) if rng.random() < 0.8 else ""
        owner_id, team_id = self._owner(rng)
        special = index == plan.lead_page_index
        if special and owner_id is None and plan.people.reps:
            owner_id, team_id = plan.people.reps[0]
        stage = rng.choices(self.stages, cum_weights=self.stage_cum)[0]
        source, medium = rng.choices(fakedata.SOURCES, cum_weights=self.source_cum)[0]
        campaign = rng.choice(fakedata.CAMPAIGNS) if medium in {"cpc", "paid_social", "email"} else ""
        landing = f"https://www.leadflow.example{rng.choice(fakedata.PAGES)}"
        latest = (source, medium, campaign, REFERRERS[source], landing)
        if rng.random() < 0.3:
            l_source, l_medium = rng.choices(fakedata.SOURCES, cum_weights=self.source_cum)[0]
            latest = (l_source, l_medium, rng.choice(fakedata.CAMPAIGNS), REFERRERS[l_source], landing)
        path = STAGE_PATHS[stage]
        step = rng.uniform(1, 20) * DAY
        stage_times = [min(created + i * step, plan.now - 1) for i in range(len(path))]
        stage_entered = _dumps({name: iso(at) for name, at in zip(path, stage_times, strict=True)})
        score = max(0, min(100, STAGE_SCORE[stage] + int(rng.gauss(0, 12))))
        consent_roll = rng.random()
        consent = "granted" if consent_roll < 0.55 else ("withdrawn" if consent_roll < 0.6 else "unknown")
        custom = "{}"
        country, time_zone = rng.choice(COUNTRIES)
        industry = rng.choice(INDUSTRIES) if rng.random() < 0.6 else ""
        size = rng.choice(SIZES) if rng.random() < 0.5 else None
        bant = ("unknown", "unknown", "unknown", "unknown")
        if stage in QUALIFIED:
            bant = (rng.choice(("planned", "approved")), rng.choice(("influencer", "decision_maker")), "high",
                    rng.choice(("month", "quarter", "year")))  # fmt: skip
        fit = min(score, int(score * rng.uniform(0.3, 0.7)))
        events = self._events(rng, lead_id, created, count, owner_id, path, stage_times)
        last_activity = max((row[2] for row in events), default=ts(created))
        status, merged_into, erased_at, email_key = "active", None, None, email.lower()
        status_roll = rng.random()
        if special:
            status_roll = 1.0
        if status_roll < 0.004 and index > 0:
            status, merged_into, email_key = "merged", 1 + int(rng.random() * index), None
        elif status_roll < 0.005:
            status, erased_at, email_key = "erased", ts(created + DAY), None
            first = last = email = phone = company_name = ""
            company_id = None
        title = rng.choice(fakedata.TITLES)
        created_text = ts(created)
        row = (
            lead_id, first, last, email, email_key, phone, title, company_id, company_name, owner_id, team_id,
            stage, stage_entered, source, medium, campaign, REFERRERS[source], landing, *latest,
            consent, created_text if consent == "granted" else None, "web form" if consent == "granted" else "",
            custom, score, status, merged_into, erased_at, 1, created_text, last_activity, last_activity,
            country, industry, size, time_zone, *bant, "", "", fit, score - fit,
            created_text if owner_id else None, created_text if owner_id and stage != "lead" else None,
        )  # fmt: skip
        return row, events

    def _events(
        self,
        rng: random.Random,
        lead_id: int,
        created: float,
        count: int,
        owner_id: int | None,
        path: tuple[str, ...],
        stage_times: list[float],
    ) -> list[tuple]:
        """Return the lead's events: created, its stage changes, its assignment, then a mix of activity."""
        if count <= 0:
            return []
        now = self.plan.now
        rows = [(lead_id, "created", ts(created), "lead", None, '{"channel":"form"}')]
        for previous, stage, at in zip(path, path[1:], stage_times[1:], strict=False):
            if len(rows) < count:
                payload = _dumps({"from": previous, "to": stage, "reason": ""})
                rows.append((lead_id, "stage_changed", ts(at), "user" if owner_id else "system", owner_id, payload))
        if owner_id and len(rows) < count:
            payload = _dumps({"from": None, "to": owner_id})
            rows.append((lead_id, "owner_changed", ts(created + 60), "system", None, payload))
        filler = count - len(rows)
        if filler > 0:
            span = now - created
            # Most activity follows soon after capture; a long-lived lead keeps it up all along.
            mean = span / 2 if count > 200 else min(span, 45 * DAY)
            for kind in rng.choices(self.kinds, cum_weights=self.kind_cum, k=filler):
                offset = rng.expovariate(1 / mean) if mean > 0 else 0.0
                at = created + (offset if offset < span else rng.random() * span)
                actor_type = self.kind_actor[kind]
                actor = owner_id if actor_type == "user" else None
                if actor_type == "user" and actor is None:
                    actor_type = "system"
                pool = self.payloads[kind]
                rows.append((lead_id, kind, ts(at), actor_type, actor, pool[int(rng.random() * len(pool))]))
        return [(lead, kind, at, actor_type, actor, data, at) for lead, kind, at, actor_type, actor, data in rows]


LEAD_COLUMNS = (
    "id", "first_name", "last_name", "email", "email_key", "phone", "title", "company_id", "company_name",
    "owner_id", "team_id", "stage", "stage_entered_at", "source", "medium", "campaign", "referrer", "landing_page",
    "latest_source", "latest_medium", "latest_campaign", "latest_referrer", "latest_landing_page",
    "consent_status", "consent_at", "consent_source", "custom", "score", "status", "merged_into_id", "erased_at",
    "version", "created_at", "updated_at", "last_activity_at",
    "country", "industry", "company_size", "time_zone", "budget", "authority", "need", "purchase_timeline",
    "need_notes", "stage_reason", "fit_score", "engagement_score", "assigned_at", "first_touched_at",
)  # fmt: skip
EVENT_COLUMNS = ("lead_id", "kind", "occurred_at", "actor_type", "actor_id", "data", "created_at")
COMPANY_COLUMNS = ("id", "name", "domain", "created_at")
