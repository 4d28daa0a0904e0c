"""Demo of the predictive score: a year of closed leads with a real pattern, a trained model, every open lead scored."""

from __future__ import annotations

import math
import random
from datetime import timedelta

from django.utils import timezone

from leadflow.accounts.models import Role, User
from leadflow.leads import services as lead_services
from leadflow.leads import timeline
from leadflow.leads.lifecycle import Authority, Budget, Need, PurchaseTimeline
from leadflow.leads.models import ActorType, DisqualifyReason, EventKind, Stage
from leadflow.lib import fakedata
from leadflow.predictive import services

HISTORY = 240
SITE = "https://shop.example"
INDUSTRIES = {"Software": 1.0, "Financial services": 0.6, "Healthcare": 0.2, "Retail": -0.4, "Education": -0.8}
SOURCES = {("google", "cpc"): 0.3, ("linkedin", "paid_social"): 0.5, ("newsletter", "email"): 0.1,
           ("facebook", "paid_social"): -0.6, ("partner", "referral"): 0.9}  # fmt: skip
SIZES = (8, 25, 60, 140, 400, 1200)
TITLES = ("Head of Sales", "VP Marketing", "Operations Manager", "Student", "Intern", "Founder", "IT Director")


def _chance(industry: str, source: tuple[str, str], size: int, title: str, views: int) -> float:
    logit = -1.0 + INDUSTRIES[industry] + SOURCES[source] + 0.35 * math.log10(size) + 0.25 * views
    if any(word in title for word in ("Student", "Intern")):
        logit -= 1.5
    return 1 / (1 + math.exp(-logit))


def _past_lead(n: int, rng: random.Random, reps: list[User]) -> None:
    first, last = rng.choice(fakedata.FIRST_NAMES), rng.choice(fakedata.LAST_NAMES)
    company = fakedata.company_name(rng)
    industry, source, size = rng.choice(list(INDUSTRIES)), rng.choice(list(SOURCES)), rng.choice(SIZES)
    title = rng.choice(TITLES)
    data = {
        "first_name": first, "last_name": last, "title": title, "company_name": company,
        "email": fakedata.email_for(rng, first, last, fakedata.company_domain(company), 10_000 + n),
        "source": source[0], "medium": source[1], "industry": industry, "company_size": size,
    }  # fmt: skip
    owner = rng.choice(reps)
    lead = lead_services.record_lead(data=data, channel="demo", owner=owner).lead
    created = timezone.now() - timedelta(days=rng.randint(130, 365))
    lead.events.update(occurred_at=created)
    type(lead).objects.filter(pk=lead.pk).update(created_at=created)
    views = rng.randint(0, 6)
    for step in range(views):
        timeline.record(
            lead, EventKind.PAGE_VIEWED, actor_type=ActorType.LEAD,
            occurred_at=created + timedelta(hours=2 * step + 1), data={"url": SITE + rng.choice(fakedata.PAGES)},
        )  # fmt: skip
    if rng.random() < _chance(industry, source, size, title, views):
        answers = {
            "budget": Budget.APPROVED, "authority": Authority.DECISION_MAKER, "need": Need.HIGH,
            "purchase_timeline": PurchaseTimeline.QUARTER, "budget_amount": str(rng.choice((5_000, 25_000))),
        }  # fmt: skip
        lead = lead_services.update_lead(lead=lead, changes=answers, actor=owner)
        lead_services.change_stage(lead=lead, stage=Stage.CUSTOMER, actor=owner)
    else:
        reasons = list(DisqualifyReason.objects.active().values_list("label", flat=True)) or ["Not a fit"]
        lead_services.change_stage(lead=lead, stage=Stage.DISQUALIFIED, actor=owner, reason=rng.choice(reasons))


def seed(*, rng: random.Random) -> None:
    """Add a year of closed leads with a learnable pattern, train the model as marketing, score the open leads."""
    reps = list(User.objects.filter(role=Role.REP, is_active=True))
    if not reps:
        return
    for n in range(HISTORY):
        _past_lead(n, rng, reps)
    mark = User.objects.filter(username="mark").first()
    run = services.request_training(actor=mark, trigger="manual", enqueue=False)
    services.run_training(run_id=run.pk)
