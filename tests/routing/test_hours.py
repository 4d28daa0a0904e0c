"""Business hours in a team's time zone, with frozen time."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
import time_machine

from leadflow.leads.models import Lead
from leadflow.routing import services
from leadflow.routing.hours import add_business_minutes, is_working_time
from leadflow.routing.models import TeamSchedule, default_hours
from tests.conftest import make_lead
from tests.routing.conftest import make_rule

BERLIN = ZoneInfo("Europe/Berlin")


def test_one_business_hour_from_friday_evening_lands_on_monday_morning():
    friday = datetime(2026, 11, 20, 17, 30, tzinfo=BERLIN)
    due = add_business_minutes(friday, 60, time_zone="Europe/Berlin", hours=default_hours())
    assert due.astimezone(BERLIN) == datetime(2026, 11, 23, 9, 30, tzinfo=BERLIN)


def test_a_start_before_opening_counts_from_opening():
    early = datetime(2026, 11, 24, 6, 0, tzinfo=BERLIN)
    due = add_business_minutes(early, 90, time_zone="Europe/Berlin", hours=default_hours())
    assert due.astimezone(BERLIN) == datetime(2026, 11, 24, 10, 30, tzinfo=BERLIN)


def test_working_minutes_span_days_and_skip_days_off():
    hours = [["09:00", "12:00"], None, ["14:00", "16:00"], None, None, None, None]
    monday = datetime(2026, 11, 23, 11, 0, tzinfo=UTC)
    due = add_business_minutes(monday, 120, time_zone="UTC", hours=hours)
    assert due == datetime(2026, 11, 25, 15, 0, tzinfo=UTC)


def test_wall_clock_hours_hold_across_a_daylight_saving_change():
    friday = datetime(2026, 3, 27, 17, 0, tzinfo=BERLIN)
    due = add_business_minutes(friday, 120, time_zone="Europe/Berlin", hours=default_hours())
    assert due.astimezone(BERLIN) == datetime(2026, 3, 30, 10, 0, tzinfo=BERLIN)
    assert due.utcoffset() == datetime(2026, 3, 30, 8, 0, tzinfo=UTC).utcoffset()
    assert due == datetime(2026, 3, 30, 8, 0, tzinfo=UTC)


def test_the_same_moment_is_in_hours_for_one_team_and_not_another():
    moment = datetime(2026, 11, 23, 8, 30, tzinfo=UTC)
    assert is_working_time(moment, time_zone="Europe/Berlin", hours=default_hours()) is True
    assert is_working_time(moment, time_zone="America/New_York", hours=default_hours()) is False


@pytest.mark.django_db
def test_routing_sets_the_deadline_in_the_owner_teams_hours(alice, east):
    TeamSchedule.objects.create(team=east, time_zone="Europe/Berlin")
    make_rule(name="Business hours", target_user=alice, touch_minutes=60, business_hours=True)
    with time_machine.travel(datetime(2026, 11, 20, 17, 30, tzinfo=BERLIN), tick=False):
        lead = make_lead()
        services.route_lead(lead_id=lead.pk, trigger="created")
    lead = Lead.objects.get(pk=lead.pk)
    assert lead.assigned_at == datetime(2026, 11, 20, 16, 30, tzinfo=UTC)
    assert lead.touch_due_at.astimezone(BERLIN) == datetime(2026, 11, 23, 9, 30, tzinfo=BERLIN)
