"""Scores follow the timeline: the periodic job rescores, records SCORE_CHANGED and moves MQLs."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.db import connection
from django.utils import timezone

from leadflow.leads import timeline
from leadflow.leads.models import ActorType, EventKind, Lead, Stage
from leadflow.scoring.models import ScoringState
from tests.conftest import make_lead
from tests.scoring.conftest import run_event_job, set_rules


def score_events(lead) -> list[dict]:
    return list(lead.events.filter(kind=EventKind.SCORE_CHANGED).order_by("pk").values_list("data", flat=True))


def test_a_new_event_is_scored_by_the_periodic_job(simple_rules):
    lead = make_lead(industry="software", phone="+14155550100")
    assert run_event_job() >= 1
    lead.refresh_from_db()
    assert (lead.score, lead.fit_score, lead.engagement_score) == (30, 30, 0)
    assert score_events(lead) == [{"from": 0, "to": 30, "fit": 30, "engagement": 0}]

    timeline.record(lead, EventKind.PAGE_VIEWED, actor_type=ActorType.LEAD, data={"url": "https://a.example/pricing"})
    run_event_job()
    lead.refresh_from_db()
    assert (lead.score, lead.fit_score, lead.engagement_score) == (45, 30, 15)
    assert lead.score_updated_at is not None
    assert score_events(lead)[-1] == {"from": 30, "to": 45, "fit": 30, "engagement": 15}


def test_score_changed_events_do_not_trigger_another_rescore(simple_rules):
    lead = make_lead(industry="software")
    run_event_job()
    assert len(score_events(lead)) == 1
    # The job reads its own SCORE_CHANGED event, rescores nobody, and writes nothing more.
    assert run_event_job() == 1
    assert run_event_job() == 0
    assert len(score_events(lead)) == 1
    assert ScoringState.load().event_cursor == lead.events.order_by("-pk").first().pk


def test_an_unchanged_score_writes_no_event(simple_rules):
    lead = make_lead()
    timeline.record(lead, EventKind.NOTE, data={"text": "hello"})
    run_event_job()
    assert score_events(lead) == []


def test_a_worker_that_loses_the_cursor_race_scores_nothing(simple_rules):
    from leadflow.scoring.services import refresh

    lead = make_lead(industry="software")
    stale = ScoringState.load().event_cursor
    run_event_job()
    ScoringState.objects.filter(pk=1).update(event_cursor=stale)
    # Another worker moved the cursor between our read and our claim: the claim must fail.
    original = refresh._new_events

    def read_then_lose(cursor, limit, now):
        rows = original(cursor, limit, now)
        ScoringState.objects.filter(pk=1).update(event_cursor=rows[-1][0])
        return rows

    refresh._new_events = read_then_lose
    try:
        assert run_event_job() == 0
    finally:
        refresh._new_events = original
    assert len(score_events(lead)) == 1


def test_crossing_the_threshold_moves_the_lead_to_mql(simple_rules):
    lead = make_lead(industry="software", phone="+14155550100", stage=Stage.LEAD)
    run_event_job()
    timeline.record(lead, EventKind.EMAIL_REPLIED, actor_type=ActorType.LEAD, data={"subject": "Re: pricing"})
    run_event_job()
    lead.refresh_from_db()
    assert lead.score == 70
    assert lead.stage == Stage.MQL
    moved = lead.events.filter(kind=EventKind.STAGE_CHANGED).latest("pk")
    assert moved.data == {"from": "lead", "to": "mql", "reason": "Score 70 crossed the MQL threshold (60)"}


def test_a_lead_already_past_the_funnel_top_is_not_moved(simple_rules):
    lead = make_lead(industry="software", phone="+14155550100")
    Lead.objects.filter(pk=lead.pk).update(stage=Stage.SQL)
    timeline.record(lead, EventKind.EMAIL_REPLIED, actor_type=ActorType.LEAD, data={})
    run_event_job()
    lead.refresh_from_db()
    assert lead.score == 70
    assert lead.stage == Stage.SQL


def test_a_refused_stage_move_keeps_the_new_score(simple_rules, monkeypatch):
    from leadflow.leads.errors import LeadError
    from leadflow.scoring.services import refresh

    def refuse(**kwargs):
        raise LeadError("stage_gate", "MQL needs a company size.")

    monkeypatch.setattr(refresh, "change_stage", refuse)
    lead = make_lead(industry="software", phone="+14155550100")
    timeline.record(lead, EventKind.EMAIL_REPLIED, actor_type=ActorType.LEAD, data={})
    run_event_job()
    lead.refresh_from_db()
    assert (lead.score, lead.stage) == (70, Stage.LEAD)


def test_machine_opens_and_clicks_never_count(db):
    set_rules({"name": "Clicked", "condition": "email_clicked", "points": 5})
    lead = make_lead()
    timeline.record(lead, EventKind.EMAIL_CLICKED, data={"url": "https://a.example", "machine": True})
    run_event_job()
    lead.refresh_from_db()
    assert lead.score == 0
    timeline.record(lead, EventKind.EMAIL_CLICKED, data={"url": "https://a.example"})
    run_event_job()
    lead.refresh_from_db()
    assert lead.score == 5


def test_score_breakdown_lists_each_rule_newest_first(simple_rules):
    from leadflow.scoring.queries import score_breakdown

    lead = make_lead(industry="software")
    first = timeline.record(lead, EventKind.PAGE_VIEWED, data={"url": "https://a.example/pricing"})
    reply = timeline.record(lead, EventKind.EMAIL_REPLIED, data={})
    rows = score_breakdown(lead)
    assert [(row["rule"], row["kind"], row["points"]) for row in rows] == [
        ("Replied", "engagement", 40),
        ("Pricing page", "engagement", 15),
        ("Software company", "fit", 20),
    ]
    assert rows[0]["when"] == reply.occurred_at
    assert rows[1]["when"] == first.occurred_at
    assert rows[2]["when"] is None


def test_new_events_are_scored_within_seconds_and_never_skipped(simple_rules):
    from leadflow.scoring import schedule

    lead = make_lead(industry="software")
    handled = schedule.rescore_from_events()
    if connection.vendor == "postgresql":
        # A lower id may still be committing: the newest events wait out the short grace.
        assert handled == 0
        with time_machine.travel(timezone.now() + timedelta(seconds=3)):
            assert schedule.rescore_from_events() >= 1
    else:
        assert handled >= 1
    lead.refresh_from_db()
    assert lead.score == 20
