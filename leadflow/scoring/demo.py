"""Demo of rule scores: engagement on some demo leads, then every lead scored and the MQLs moved."""

from __future__ import annotations

import random
from datetime import timedelta

from django.utils import timezone

from leadflow.accounts.models import User
from leadflow.leads import timeline
from leadflow.leads.models import ActorType, EventKind, Lead, LeadStatus
from leadflow.scoring.models import RescoreReason, ScoringState
from leadflow.scoring.services import bulk, promote_pending

SITE = "https://www.leadflow.example"
PAGES = ("/pricing", "/pricing#teams", "/demo", "/features", "/blog/lead-scoring", "/customers")


def _engage(lead: Lead, rng: random.Random) -> None:
    """Give the lead a burst of visits, a form, clicks and maybe a reply over the last weeks."""
    now = timezone.now()
    for _ in range(rng.randint(1, 5)):
        when = now - timedelta(days=rng.uniform(0, 60))
        pages = rng.sample(PAGES, rng.randint(1, 3))
        data = {"url": SITE + pages[0], "pages": [{"url": SITE + page, "title": page} for page in pages]}
        timeline.record(lead, EventKind.PAGE_VIEWED, actor_type=ActorType.LEAD, occurred_at=when, data=data)
    if rng.random() < 0.5:
        when = now - timedelta(days=rng.uniform(0, 30))
        data = {"form": rng.choice(("Demo request", "Pricing enquiry")), "page_url": SITE + "/demo", "fields": {}}
        timeline.record(lead, EventKind.FORM_SUBMITTED, actor_type=ActorType.LEAD, occurred_at=when, data=data)
    for _ in range(rng.randint(0, 3)):
        when = now - timedelta(days=rng.uniform(0, 20))
        data = {"subject": "Pricing for teams", "url": SITE + "/pricing", "machine": rng.random() < 0.2}
        timeline.record(lead, EventKind.EMAIL_CLICKED, actor_type=ActorType.LEAD, occurred_at=when, data=data)
    if rng.random() < 0.25:
        when = now - timedelta(days=rng.uniform(0, 10))
        data = {"subject": "Re: Pricing for teams"}
        timeline.record(lead, EventKind.EMAIL_REPLIED, actor_type=ActorType.LEAD, occurred_at=when, data=data)


def seed(*, rng: random.Random) -> None:
    """Add engagement to a third of the demo leads, score every lead, and move the MQLs."""
    leads = list(Lead.objects.filter(status=LeadStatus.ACTIVE).order_by("pk"))
    for lead in rng.sample(leads, len(leads) // 3):
        _engage(lead, rng)
    admin = User.objects.filter(username="admin").first()
    job = bulk.start_rescore(actor=admin, reason=RescoreReason.RULES, enqueue=False)
    bulk.run_rescore(job)
    while promote_pending():
        pass
    # The demo's own events are scored already: start the event job after them.
    last = timeline.TimelineEvent.objects.order_by("-pk").values_list("pk", flat=True).first() or 0
    ScoringState.load()
    ScoringState.objects.filter(pk=1).update(event_cursor=last)
