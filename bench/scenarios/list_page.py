"""list-page: the lead list at full size, over a realistic mix of searches, filters, sorts and pages."""

from __future__ import annotations

import random
from datetime import timedelta
from typing import Any

from bench import dataset
from bench.measure import PageTimer, Probe, report_pages
from bench.report import Result

NAME = "list-page"
DESCRIPTION = "lead list page (search, filter, sort, cursor pages) as admin, manager and rep: p95 <= 150 ms"
DATABASE = "dataset"
TARGET_MS = 150.0
PERSONAS = {"admin": "bench-admin", "manager": "manager-east", "rep": "rep-east-1"}
SORT_NAMES = ("created", "updated", "activity", "score", "name")
STAGES = ("subscriber", "lead", "mql", "sql", "opportunity", "customer", "disqualified", "recycled")


def personas() -> dict[str, Any]:
    from leadflow.accounts.models import User

    users = {user.username: user for user in User.objects.filter(username__in=PERSONAS.values())}
    return {persona: users[username] for persona, username in PERSONAS.items()}


def visible_samples(user, rng: random.Random, count: int, max_id: int) -> list[dict[str, Any]]:
    """Return `count` random leads `user` can see: what people search for is usually theirs to see."""
    from leadflow.leads.models import Lead

    fields = ("id", "first_name", "last_name", "email", "phone", "company_name", "owner_id")
    visible = Lead.objects.visible_to(user).exclude(email="").order_by("id").values(*fields)
    samples = []
    for _ in range(count * 3):
        row = visible.filter(id__gte=rng.randint(1, max_id)).first()
        if row:
            samples.append(row)
        if len(samples) >= count:
            break
    return samples or list(visible[:count])


def _phone_as_typed(rng: random.Random, e164: str) -> str:
    digits = e164[2:]
    return rng.choice(
        (e164, f"({digits[:3]}) {digits[3:6]}-{digits[6:]}", f"{digits[:3]}-{digits[3:6]}-{digits[6:]}", digits[:6])
    )


class Mix:
    """Make the parameters of each kind of list request for one persona."""

    def __init__(self, rng: random.Random, persona: str, user, samples: list[dict], context: dict) -> None:
        self.rng, self.persona, self.user, self.samples, self.context = rng, persona, user, samples, context

    def sample(self) -> dict[str, Any]:
        return self.rng.choice(self.samples)

    def kinds(self) -> dict[str, Any]:
        rng, ctx = self.rng, self.context
        return {
            "first-page": lambda: {},
            "search-name": lambda: {"q": self._name_prefix()},
            "search-full-name": lambda: {"q": f"{self.sample()['first_name']} {self.sample()['last_name']}"},
            "search-email": lambda: {"q": self.sample()["email"]},
            "search-company": lambda: {"q": self._company_word()},
            "search-phone": lambda: {"q": _phone_as_typed(rng, self._phone())},
            "filter-stage": lambda: {"stage": ",".join(rng.sample(STAGES, rng.choice((1, 1, 2))))},
            "filter-owner": lambda: {"owner": self._owner()},
            "filter-source": lambda: {"source": rng.choice(ctx["sources"])},
            "filter-score": lambda: self._score_range(),
            "filter-date": lambda: self._date_range(30),
            "filter-combined": lambda: {
                "stage": rng.choice(STAGES),
                "source": rng.choice(ctx["sources"]),
                "score_min": rng.choice((20, 40, 60)),
                **self._date_range(120),
            },
            **{f"sort-{name}": (lambda name=name: {"sort": rng.choice(("", "-")) + name}) for name in SORT_NAMES},
            "next-page": lambda: self._next_page(),
            "deep-page": lambda: self._deep_page(),
        }

    def _name_prefix(self) -> str:
        row = self.sample()
        name = self.rng.choice((row["first_name"], row["last_name"])) or row["email"]
        return name[: self.rng.randint(3, max(3, len(name)))]

    def _company_word(self) -> str:
        for _ in range(10):
            company = self.sample()["company_name"]
            if company:
                return company.split()[0]
        return "Acme"

    def _phone(self) -> str:
        for _ in range(20):
            phone = self.sample()["phone"]
            if phone:
                return phone
        return "+14155550123"

    def _owner(self) -> str:
        if self.persona == "rep":
            return self.rng.choice(("me", "me", "none"))
        return str(self.rng.choice(self.context["owners"][self.persona]))

    def _score_range(self) -> dict[str, Any]:
        low = self.rng.randrange(0, 90, 5)
        return {"score_min": low, "score_max": low + self.rng.choice((5, 10, 20))}

    def _date_range(self, days: int) -> dict[str, Any]:
        first, last = self.context["created_range"]
        start = first + timedelta(days=self.rng.randint(0, max(0, (last - first).days - days)))
        return {"created_from": start.isoformat(), "created_to": (start + timedelta(days=days)).isoformat()}

    def _filters(self) -> dict[str, Any]:
        extra = self.rng.choice(
            ({}, {}, {"stage": self.rng.choice(STAGES)}, {"source": self.rng.choice(self.context["sources"])})
        )
        return {"sort": self.rng.choice(("", "-")) + self.rng.choice(SORT_NAMES), **extra}

    def _next_page(self) -> dict[str, Any]:
        """Follow the cursor one to three pages on from the first page, as someone paging does."""
        from django.conf import settings

        from leadflow.leads import queries

        params = self._filters()
        for _ in range(self.rng.randint(1, 3)):
            page = queries.lead_page(
                user=self.user,
                filters=queries.parse_filters(params),
                limit=settings.LEADFLOW_PAGE_SIZE,
                with_count=False,
            )
            if not page.next_cursor:
                break
            params = {**params, "cursor": page.next_cursor}
        return params

    def _deep_page(self) -> dict[str, Any]:
        """Start a page at a random lead's place in the sort: a page far into the list."""
        from leadflow.leads import queries
        from leadflow.leads.models import Lead

        params = self._filters()
        lookup, _ = queries.ordering(params["sort"] or queries.DEFAULT_SORT)
        lead = Lead.objects.get(pk=self.sample()["id"])
        params["cursor"] = queries.encode_cursor(sort_value(lead, lookup), lead.pk)
        return params


def sort_value(lead, lookup: str) -> Any:
    """Return the value a cursor carries for `lead` under the sort `lookup`."""
    if lookup == "last_name__lower":
        return lead.last_name.lower()
    value = getattr(lead, lookup)
    return value.isoformat() if hasattr(value, "isoformat") else value


def build_probes(
    users: dict[str, Any], rng: random.Random, rounds: int, meta: dict[str, str]
) -> tuple[list[Probe], list[str]]:
    from django.urls import reverse

    from leadflow.accounts.models import User
    from leadflow.leads.models import Lead
    from leadflow.lib import fakedata

    max_id = int(meta.get("leads", "1")) or 1
    first = Lead.objects.order_by("created_at").values_list("created_at", flat=True).first()
    last = Lead.objects.order_by("-created_at").values_list("created_at", flat=True).first()
    manager_team = users["manager"].managed_team_ids()
    context = {
        "sources": sorted({source for source, _ in fakedata.SOURCES}),
        "created_range": (first.date(), last.date()),
        "owners": {
            "admin": list(Lead.objects.exclude(owner=None).values_list("owner_id", flat=True).distinct()[:60]),
            "manager": list(User.objects.filter(team_id__in=manager_team).values_list("id", flat=True)),
        },
    }
    path = reverse("leads:list")
    probes, kinds = [], []
    for persona, user in users.items():
        mix = Mix(rng, persona, user, visible_samples(user, rng, max(10, rounds * 3), max_id), context)
        makers = mix.kinds()
        kinds = list(makers)
        for _ in range(rounds):
            probes.extend(
                Probe(kind, persona, path, {k: v for k, v in make().items() if v != ""})
                for kind, make in makers.items()
            )
    return probes, kinds


def run(ctx) -> Result:
    from django.core.management import call_command

    meta, _ = dataset.ensure(ctx.db, leads=ctx.args.leads, events=ctx.args.events, seed=ctx.args.seed)
    # The data set may predate tables the page reads (its nav and bulk bar read other apps)
    # and the list's newest indexes and statistics: add them in place.
    call_command("migrate", interactive=False, verbosity=0)
    rng = random.Random(ctx.args.seed)
    users = personas()
    probes, kinds = build_probes(users, rng, ctx.args.rounds, meta)
    rng.shuffle(probes)
    timer = PageTimer(users)
    warmup = probes[: max(1, len(probes) // 10)]
    wall = timer.run(probes, warmup=warmup)
    result = Result(NAME, ctx.db.vendor, dataset=dataset_figures(meta))
    report_pages(result, timer, kinds, limit_ms=TARGET_MS, explain_all=ctx.args.explain)
    result.figures["requests_per_s"] = round(len(probes) / wall, 1) if wall else 0
    result.settings.update(
        {
            "rounds": ctx.args.rounds,
            "requests": len(probes),
            "warmup_requests": len(warmup),
            "personas": PERSONAS,
            "seed": ctx.args.seed,
        }
    )
    return result


def dataset_figures(meta: dict[str, str]) -> dict[str, Any]:
    keys = ("leads", "events", "companies", "users", "teams", "lead_page_lead_id", "generated_at")
    return {key: meta.get(key) for key in keys}
