"""The rules engine: conditions, order, targets, availability, the Unrouted queue and the dry run."""

from __future__ import annotations

from collections import Counter
from datetime import timedelta

import pytest
from django.utils import timezone

from leadflow.leads.models import EventKind, Lead
from leadflow.routing import services
from leadflow.routing.models import Handover, SlaTimer, UnroutedLead
from tests.capture.conftest import submit_now
from tests.conftest import make_lead
from tests.routing.conftest import make_rule, set_availability

pytestmark = pytest.mark.django_db


def test_first_matching_rule_wins_and_the_timeline_says_why(alice, bob, east):
    make_rule(name="Big German companies", position=1, countries=["DE", "AT"], min_company_size=500, target_user=bob)
    make_rule(name="Everyone else", position=2, target_user=alice)
    lead = make_lead(country="DE", company_size=800)
    decision = services.route_lead(lead_id=lead.pk, trigger="created")
    lead.refresh_from_db()
    assert lead.owner == bob
    assert decision.rule.name == "Big German companies"
    routed = lead.events.get(kind=EventKind.ROUTED)
    assert routed.data["rule"] == "Big German companies"
    assert routed.data["reasons"] == ["country DE in territory", "company size 800 ≥ 500"]
    assert lead.events.filter(kind=EventKind.OWNER_CHANGED, actor__isnull=True).count() == 1


def test_every_condition_must_hold(alice, bob):
    make_rule(name="Hot webinar leads", position=1, min_score=50, sources=["Webinar"], target_user=bob)
    make_rule(name="Rest", position=2, target_user=alice)
    cold = make_lead(source="webinar")
    hot = make_lead(source="webinar")
    Lead.objects.filter(pk=hot.pk).update(score=70)
    services.route_lead(lead_id=cold.pk, trigger="created")
    services.route_lead(lead_id=hot.pk, trigger="created")
    assert Lead.objects.get(pk=cold.pk).owner == alice
    assert Lead.objects.get(pk=hot.pk).owner == bob


def test_stage_condition_and_form_condition(alice, bob, admin):
    from leadflow.capture import services as capture
    from tests.capture.conftest import SITE, make_form, post_data

    form = make_form(admin)
    make_rule(name="Demo requests", position=1, form=form, target_user=bob)
    make_rule(name="MQLs", position=2, stages=["mql"], target_user=alice)
    outcome = submit_now(form=form, raw=post_data(form), sender=capture.Sender(), site_host=SITE)
    assert services.evaluate(outcome.submission.lead).owner == bob
    other = make_lead(stage="mql")
    assert services.evaluate(other).owner == alice
    assert services.evaluate(make_lead()).owner is None


def test_no_match_goes_to_the_unrouted_queue(alice):
    make_rule(name="Only France", countries=["FR"], target_user=alice)
    lead = make_lead(country="US")
    services.route_lead(lead_id=lead.pk, trigger="created")
    lead.refresh_from_db()
    assert lead.owner is None
    assert UnroutedLead.objects.get(lead=lead).reason == "No rule matched."
    assert lead.events.get(kind=EventKind.ROUTED).data["outcome"] == "unrouted"


def test_round_robin_skips_inactive_out_of_office_and_full_reps_and_says_so(five_reps, east):
    rep0, rep1, rep2, rep3, rep4 = five_reps
    rep1.is_active = False
    rep1.save()
    set_availability(rep2, out_from=timezone.now() - timedelta(days=1), out_until=timezone.now() + timedelta(days=2))
    set_availability(rep3, capacity=1)
    make_lead(owner=rep3)
    make_rule(name="Team East", target_team=east)
    owners = []
    for _ in range(4):
        lead = make_lead()
        services.route_lead(lead_id=lead.pk, trigger="created")
        owners.append(Lead.objects.get(pk=lead.pk).owner)
    assert owners == [rep0, rep4, rep0, rep4]
    skipped = {s["name"]: s["reason"] for s in lead.events.get(kind=EventKind.ROUTED).data["skipped"]}
    assert skipped["Rep1"] == "deactivated"
    assert skipped["Rep2"].startswith("out of office until")
    assert skipped["Rep3"] == "at capacity (1 of 1 open leads)"


def test_a_rule_whose_reps_are_all_away_falls_through_to_the_next(alice, bob, east):
    set_availability(alice, out_from=timezone.now() - timedelta(hours=1))
    make_rule(name="Alice only", position=1, target_user=alice)
    make_rule(name="Bob backup", position=2, target_user=bob)
    lead = make_lead()
    decision = services.route_lead(lead_id=lead.pk, trigger="created")
    assert decision.owner == bob
    assert decision.passed_over == ["Alice only"]


def test_fair_share_over_a_thousand_leads_to_a_team_of_five(five_reps, east):
    make_rule(name="Team East", target_team=east)
    ids = [make_lead().pk for _ in range(1000)]
    for pk in ids:
        services.route_lead(lead_id=pk, trigger="created")
    shares = Counter(Lead.objects.filter(pk__in=ids).values_list("owner", flat=True))
    assert sum(shares.values()) == 1000
    assert set(shares) == {rep.pk for rep in five_reps}
    assert max(shares.values()) - min(shares.values()) <= 1


def test_weights_share_leads_proportionally(five_reps, east):
    for rep, weight in zip(five_reps, [1, 2, 3, 0, 4], strict=True):
        set_availability(rep, weight=weight)
    make_rule(name="Weighted", target_team=east, weighted=True)
    ids = [make_lead().pk for _ in range(200)]
    for pk in ids:
        services.route_lead(lead_id=pk, trigger="created")
    shares = Counter(Lead.objects.filter(pk__in=ids).values_list("owner", flat=True))
    assert [shares.get(rep.pk, 0) for rep in five_reps] == [20, 40, 60, 0, 80]


def test_dry_run_changes_nothing(alice, east, bob):
    rule = make_rule(name="Team East", target_team=east)
    lead = make_lead()
    before = list(lead.events.values_list("pk", flat=True))
    first = services.evaluate(lead)
    second = services.evaluate(lead)
    assert first.owner == second.owner == alice
    rule.refresh_from_db()
    assert rule.rotation == {} and rule.assigned_count == 0
    lead.refresh_from_db()
    assert lead.owner is None
    assert list(lead.events.values_list("pk", flat=True)) == before


def test_created_trigger_leaves_owned_leads_alone(alice, bob):
    make_rule(name="All to Bob", target_user=bob)
    lead = make_lead(owner=alice)
    assert services.route_lead(lead_id=lead.pk, trigger="created") is None
    assert Lead.objects.get(pk=lead.pk).owner == alice


def test_mql_routing_hands_over_once_with_a_note(alice, monkeypatch):
    monkeypatch.setattr(
        "leadflow.scoring.queries.score_breakdown",
        lambda lead: [{"name": "Visited pricing", "kind": "engagement", "points": 20, "when": None}],
    )
    make_rule(name="MQLs to Alice", stages=["mql"], target_user=alice, touch_minutes=30)
    lead = make_lead(stage="mql")
    Lead.objects.filter(pk=lead.pk).update(score=78, fit_score=40, engagement_score=38)
    services.route_lead(lead_id=lead.pk, trigger="mql")
    services.route_lead(lead_id=lead.pk, trigger="mql")
    handover = Handover.objects.get(lead=lead)
    assert handover.rep == alice and handover.status == "pending"
    assert "Score 78 (fit 40, engagement 38)" in handover.note
    assert "Visited pricing (+20)" in handover.note
    assert "Latest: Arrived via test" in handover.note
    lead.refresh_from_db()
    assert lead.assigned_at is not None
    assert lead.touch_due_at == lead.assigned_at + timedelta(minutes=30)
    assert SlaTimer.objects.filter(lead=lead).count() == 1
