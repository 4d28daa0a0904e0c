"""Load demo data: teams, users of every role and a few hundred leads with their history."""

import importlib
import random
import secrets
from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from leadflow.accounts.models import Role, Team, User
from leadflow.accounts.services import create_user
from leadflow.leads import services
from leadflow.leads.lifecycle import GATED_STAGES, Authority, Budget, Need, PurchaseTimeline
from leadflow.leads.models import CallOutcome, DisqualifyReason, EventKind, Lead, Stage
from leadflow.leads.timeline import record
from leadflow.lib import fakedata

# Where demo leads are and what their organisations look like.
PLACES = (
    ("US", "America/New_York"),
    ("US", "America/Los_Angeles"),
    ("GB", "Europe/London"),
    ("DE", "Europe/Berlin"),
    ("FR", "Europe/Paris"),
    ("NL", "Europe/Amsterdam"),
    ("CA", "America/Toronto"),
    ("AU", "Australia/Sydney"),
)
INDUSTRIES = ("Software", "Manufacturing", "Retail", "Healthcare", "Financial services", "Education", "Logistics")
RECYCLE_REASONS = ("No project before next year", "Went quiet after the demo", "Budget frozen until Q3")

PERSONAS = (
    ("maria", Role.MANAGER, "East", "Maria", "Lopez"),
    ("alice", Role.REP, "East", "Alice", "Nguyen"),
    ("bob", Role.REP, "East", "Bob", "Okafor"),
    ("carol", Role.REP, "West", "Carol", "Smith"),
    ("mark", Role.MARKETING, None, "Mark", "Jensen"),
)


class Command(BaseCommand):
    help = "Load demo data (once) and print how to sign in."

    def add_arguments(self, parser) -> None:
        parser.add_argument("--leads", type=int, default=300)
        parser.add_argument("--seed", type=int, default=7)

    def handle(self, *args, leads: int, seed: int, **options) -> None:
        login_file = settings.VAR_DIR / "demo-login.txt"
        if not User.objects.filter(username="admin").exists():
            password = secrets.token_urlsafe(10)
            self._create_people(password)
            self._create_leads(leads, random.Random(seed))
            self._seed_apps(random.Random(seed))
            login_file.parent.mkdir(parents=True, exist_ok=True)
            login_file.write_text(password)
            login_file.chmod(0o600)
            self.stdout.write(f"Loaded demo data: {Lead.objects.count()} leads.")
        password = login_file.read_text().strip() if login_file.exists() else "(set with: leadflow createadmin --reset)"
        self.stdout.write(
            f"Sign in as admin / {password}  (demo users maria, alice, bob, carol and mark share this password)"
        )

    def _seed_apps(self, rng: random.Random) -> None:
        """Let each step of the journey add its demo: forms, scores, routing, nurture, email, the predictive model."""
        for app in ("capture", "scoring", "routing", "nurture", "mail", "predictive"):
            module = importlib.import_module(f"leadflow.{app}.demo")
            module.seed(rng=rng)

    def _create_people(self, password: str) -> None:
        teams = {name: Team.objects.get_or_create(name=name)[0] for name in ("East", "West")}
        create_user(username="admin", password=password, role=Role.ADMIN, first_name="Ada", last_name="Admin")
        for username, role, team, first, last in PERSONAS:
            user = create_user(
                username=username,
                password=password,
                role=role,
                team=teams.get(team),
                first_name=first,
                last_name=last,
                email=f"{username}@leadflow.example",
            )
            if role == Role.MANAGER:
                teams[team].managers.add(user)

    @transaction.atomic
    def _create_leads(self, count: int, rng: random.Random) -> None:
        reps = list(User.objects.filter(role=Role.REP))
        stages = [s for s in Stage.values if s != Stage.SUBSCRIBER]
        for n in range(count):
            first, last = rng.choice(fakedata.FIRST_NAMES), rng.choice(fakedata.LAST_NAMES)
            company = fakedata.company_name(rng)
            work = rng.random() < 0.7
            domain = fakedata.company_domain(company) if work else rng.choice(fakedata.FREE_DOMAINS)
            source, medium = rng.choice(fakedata.SOURCES)
            data = {
                "first_name": first,
                "last_name": last,
                "email": fakedata.email_for(rng, first, last, domain, n),
                "phone": fakedata.phone_for(n) if rng.random() < 0.6 else "",
                "title": rng.choice(fakedata.TITLES),
                "company_name": company if work else "",
                "source": source,
                "medium": medium,
                "campaign": rng.choice(fakedata.CAMPAIGNS),
                "landing_page": "https://shop.example" + rng.choice(fakedata.PAGES),
            }
            if work:
                country, zone = rng.choice(PLACES)
                data.update(
                    country=country,
                    time_zone=zone,
                    industry=rng.choice(INDUSTRIES),
                    company_size=rng.choice((8, 25, 60, 140, 400, 1200, 5000)),
                )
            owner = rng.choice(reps) if rng.random() < 0.75 else None
            lead = services.record_lead(data=data, channel="demo", owner=owner).lead
            if owner is None:
                lead.team = rng.choice(reps).team
            self._backdate(lead, rng)
            self._history(lead, rng, owner, stages)

    def _backdate(self, lead: Lead, rng: random.Random) -> None:
        created = timezone.now() - timedelta(days=rng.randint(0, 120), minutes=rng.randint(0, 1440))
        lead.created_at = created
        lead.score = rng.randint(0, 100)
        lead.save(update_fields=["created_at", "score", "team"])
        lead.events.update(occurred_at=created)

    def _history(self, lead: Lead, rng: random.Random, owner, stages) -> None:
        when = lead.created_at
        for _ in range(rng.randint(0, 6)):
            when += timedelta(hours=rng.randint(1, 72))
            if when > timezone.now():
                break
            kind = rng.choice((EventKind.PAGE_VIEWED, EventKind.EMAIL_OPENED, EventKind.CALL, EventKind.NOTE))
            if kind == EventKind.PAGE_VIEWED:
                record(
                    lead,
                    kind,
                    actor_type="lead",
                    occurred_at=when,
                    data={"url": "https://shop.example" + rng.choice(fakedata.PAGES)},
                )
            elif kind == EventKind.EMAIL_OPENED:
                record(lead, kind, actor_type="lead", occurred_at=when, data={"subject": "Getting started"})
            elif owner is not None:
                if kind == EventKind.CALL:
                    services.log_call(
                        lead=lead,
                        outcome=rng.choice(CallOutcome.values),
                        actor=owner,
                        duration_seconds=rng.randint(0, 900),
                        occurred_at=when,
                    )
                else:
                    services.add_note(lead=lead, text="Asked for pricing for their team.", actor=owner)
        if rng.random() < 0.6:
            self._move(lead, rng, owner, rng.choice(stages))

    def _move(self, lead: Lead, rng: random.Random, owner, stage: str) -> None:
        """Move the lead as a person would: qualify it first for SQL and later, give a reason to drop it."""
        reason = ""
        if stage in GATED_STAGES:
            answers = {
                "budget": rng.choice((Budget.PLANNED, Budget.APPROVED)),
                "authority": rng.choice((Authority.INFLUENCER, Authority.DECISION_MAKER)),
                "need": rng.choice((Need.LOW, Need.HIGH)),
                "purchase_timeline": rng.choice((PurchaseTimeline.MONTH, PurchaseTimeline.QUARTER)),
                "budget_amount": str(rng.choice((5_000, 12_000, 25_000, 60_000))),
            }
            lead = services.update_lead(lead=lead, changes=answers, actor=owner)
        elif stage == Stage.DISQUALIFIED:
            reason = rng.choice(
                list(DisqualifyReason.objects.active().values_list("label", flat=True)) or ["Not a fit"]
            )
        elif stage == Stage.RECYCLED:
            reason = rng.choice(RECYCLE_REASONS)
        services.change_stage(lead=lead, stage=stage, actor=owner, reason=reason)
