"""Engagement fades as time passes without new events: half-life and the daily sweep, in frozen time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import time_machine

from leadflow.leads import timeline
from leadflow.leads.models import EventKind
from leadflow.scoring import schedule
from leadflow.scoring.models import RescoreJob, RescoreReason, ScoringState
from leadflow.scoring.queries import score_breakdown
from leadflow.scoring.services import bulk
from tests.conftest import make_lead
from tests.scoring.conftest import run_event_job, set_rules

START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_a_reply_worth_ten_is_worth_five_one_half_life_later(db):
    set_rules({"name": "Replied", "condition": "email_replied", "points": 10}, half_life_days=14)
    with time_machine.travel(START, tick=False):
        lead = make_lead()
        timeline.record(lead, EventKind.EMAIL_REPLIED, data={})
        assert [row["points"] for row in score_breakdown(lead)] == [10]
    with time_machine.travel(START + timedelta(days=14), tick=False):
        (row,) = score_breakdown(lead)
        assert (row["points"], row["when"]) == (5, START)


def test_the_daily_sweep_lowers_stale_engagement(db):
    set_rules(
        {"name": "Software", "condition": "industry_in", "value": "software", "points": 20},
        {"name": "Replied", "condition": "email_replied", "points": 40},
        half_life_days=10,
    )
    with time_machine.travel(START, tick=False):
        lead = make_lead(industry="software")
        timeline.record(lead, EventKind.EMAIL_REPLIED, data={})
        run_event_job()
        lead.refresh_from_db()
        assert (lead.score, lead.engagement_score) == (60, 40)
        ScoringState.objects.filter(pk=1).update(sweep_claimed_at=START)
        assert schedule.start_daily_sweep() == 0
        assert not RescoreJob.objects.filter(reason=RescoreReason.DECAY).exists()

    with time_machine.travel(START + timedelta(days=10, minutes=1), tick=False):
        schedule.start_daily_sweep()
        # A second worker the same day finds the sweep claimed.
        schedule.start_daily_sweep()
        (job,) = RescoreJob.objects.filter(reason=RescoreReason.DECAY)
        bulk.run_rescore_job(job_id=job.pk)
    lead.refresh_from_db()
    assert (lead.score, lead.fit_score, lead.engagement_score) == (40, 20, 20)
    # A bulk sweep writes no timeline event for the fall.
    assert lead.events.filter(kind=EventKind.SCORE_CHANGED).count() == 1
