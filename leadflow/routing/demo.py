"""Demo of routing: rules, team hours, availability, routed leads (some overdue), handovers and tasks."""

from __future__ import annotations

import random
from datetime import timedelta

from django.db.models import Max
from django.utils import timezone

from leadflow.accounts.models import Team, User
from leadflow.leads.models import Lead, LeadStatus, Stage, TimelineEvent
from leadflow.routing import services
from leadflow.routing.models import (
    OPEN_STEPS,
    AssignmentRule,
    Availability,
    JobCursor,
    SlaTimer,
    TaskKind,
    TeamSchedule,
)

TASK_TITLES = {
    TaskKind.CALL: ("Call back about pricing", "Check in after the demo", "Call the CFO"),
    TaskKind.EMAIL: ("Send the case study", "Send the quote", "Share the security paper"),
    TaskKind.MEETING: ("Demo with their team", "Contract walkthrough"),
    TaskKind.TODO: ("Look up their tech stack", "Prepare the proposal"),
}


def _setup(east: Team | None, west: Team | None) -> None:
    if east:
        TeamSchedule.objects.update_or_create(team=east, defaults={"time_zone": "Europe/Berlin"})
    if west:
        TeamSchedule.objects.update_or_create(team=west, defaults={"time_zone": "America/New_York"})
    users = {user.username: user for user in User.objects.filter(username__in=["alice", "bob", "carol"])}
    if "bob" in users:
        Availability.objects.update_or_create(user=users["bob"], defaults={"weight": 2})
    if "carol" in users:
        Availability.objects.update_or_create(user=users["carol"], defaults={"capacity": 60})
    rules = [
        {"name": "MQLs to East", "stages": [Stage.MQL], "target_team": east, "touch_minutes": 30},
        {"name": "North America", "countries": ["US", "CA"], "target_team": west, "touch_minutes": 60},
        {"name": "Enterprise", "min_company_size": 500, "target_team": east, "weighted": True},
        {"name": "Everyone else", "target_team": east, "touch_minutes": 120, "business_hours": False},
    ]
    for position, fields in enumerate(rules, start=1):
        if fields["target_team"] is None:
            continue
        AssignmentRule.objects.update_or_create(
            name=fields.pop("name"), defaults={"position": position, "reassign_on_breach": position == 1, **fields}
        )


def _route_some(rng: random.Random) -> list[Lead]:
    unowned = list(Lead.objects.filter(status=LeadStatus.ACTIVE, owner__isnull=True).order_by("pk")[:200])
    routed = []
    for lead in rng.sample(unowned, min(12, len(unowned))):
        trigger = "mql" if lead.stage == Stage.MQL else "created"
        if services.route_lead(lead_id=lead.pk, trigger=trigger) is not None:
            routed.append(lead)
    mqls = Lead.objects.filter(status=LeadStatus.ACTIVE, stage=Stage.MQL, handovers__isnull=True).order_by("pk")
    for lead in list(mqls[:6]):
        if services.route_lead(lead_id=lead.pk, trigger="mql") is not None:
            routed.append(lead)
    return routed


def _make_some_overdue(leads: list[Lead], rng: random.Random) -> None:
    """Move some assignments into the past, so deadlines show as due soon or overdue."""
    now = timezone.now()
    for lead in leads:
        minutes = rng.choice((5, 30, 90, 240, 600))
        assigned = now - timedelta(minutes=minutes)
        timer = SlaTimer.objects.filter(lead=lead, step__in=OPEN_STEPS).order_by("-pk").first()
        if timer is None:
            continue
        due = assigned + (timer.due_at - timer.started_at)
        Lead.objects.filter(pk=lead.pk).update(assigned_at=assigned, touch_due_at=due)
        SlaTimer.objects.filter(pk=timer.pk).update(started_at=assigned, due_at=due)


def _tasks(rng: random.Random) -> None:
    now = timezone.now()
    for rep in User.objects.filter(username__in=["alice", "bob", "carol"]):
        leads = list(Lead.objects.filter(owner=rep, status=LeadStatus.ACTIVE).order_by("pk")[:40])
        for lead in rng.sample(leads, min(6, len(leads))):
            kind = rng.choice(list(TASK_TITLES))
            due = now + timedelta(hours=rng.choice((-30, -3, 1, 4, 26, 72)))
            services.create_task(
                lead=lead, kind=kind, title=rng.choice(TASK_TITLES[kind]), due_at=due, assignee=rep, actor=rep
            )


def seed(*, rng: random.Random) -> None:
    """Set up rules, hours and availability; route a dozen leads and the MQLs; add tasks."""
    east, west = Team.objects.filter(name="East").first(), Team.objects.filter(name="West").first()
    _setup(east, west)
    routed = _route_some(rng)
    _make_some_overdue(routed, rng)
    _tasks(rng)
    # The demo's history is handled above: the periodic jobs start after it.
    last = TimelineEvent.objects.aggregate(last=Max("pk"))["last"] or 0
    for name in ("routing.new_leads", "routing.first_touch"):
        JobCursor.objects.update_or_create(name=name, defaults={"position": last})
