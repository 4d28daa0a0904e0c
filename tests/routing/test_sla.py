"""Speed-to-lead driven by the periodic jobs: first touch, breach, managers, reassignment."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from leadflow.leads import services as lead_services
from leadflow.leads import timeline
from leadflow.leads.models import ActorType, EventKind, Lead
from leadflow.lib import scheduler
from leadflow.routing import schedule, services
from leadflow.routing.models import Notification, SlaStep, SlaTimer
from tests.conftest import make_lead
from tests.routing.conftest import make_rule

pytestmark = pytest.mark.django_db
START = datetime(2026, 11, 24, 10, 0, tzinfo=UTC)


def run_jobs() -> None:
    """Run every routing job once, as a worker's scheduler does."""
    for job in (
        schedule.route_new_leads,
        schedule.detect_first_touches,
        schedule.sweep_deadlines,
        schedule.send_task_reminders,
    ):
        job()


def test_schedule_registers_the_jobs():
    names = set(scheduler.discover())
    assert "leadflow.routing.schedule.sweep_deadlines" in names
    assert "leadflow.routing.schedule.route_new_leads" in names


def test_a_new_lead_without_owner_is_routed_by_the_job_and_only_once(alice):
    make_rule(name="All to Alice", target_user=alice, touch_minutes=15)
    with time_machine.travel(START, tick=False) as clock:
        lead = make_lead()
        owned = make_lead(owner=alice)
        clock.shift(timedelta(seconds=5))
        run_jobs()
        run_jobs()
    lead.refresh_from_db()
    assert lead.owner == alice
    assert lead.touch_due_at == START + timedelta(seconds=5, minutes=15)
    assert lead.events.filter(kind=EventKind.ROUTED).count() == 1
    assert owned.events.filter(kind=EventKind.ROUTED).count() == 0


def test_the_job_waits_for_events_that_may_not_be_committed_yet(alice):
    make_rule(name="All to Alice", target_user=alice)
    with time_machine.travel(START, tick=False):
        lead = make_lead()
        assert services.route_new_leads() == 0
    with time_machine.travel(START + timedelta(seconds=3), tick=False):
        assert services.route_new_leads() == 1
    assert Lead.objects.get(pk=lead.pk).owner == alice


def test_a_call_after_assignment_is_the_first_touch_and_stops_the_clock(alice):
    make_rule(name="All to Alice", target_user=alice, touch_minutes=30)
    with time_machine.travel(START, tick=False) as clock:
        lead = make_lead()
        services.route_lead(lead_id=lead.pk, trigger="created")
        clock.shift(timedelta(minutes=10))
        timeline.record(lead, EventKind.EMAIL_SENT, actor_type=ActorType.SYSTEM, data={"subject": "Welcome"})
        clock.shift(timedelta(seconds=5))
        run_jobs()
        assert Lead.objects.get(pk=lead.pk).first_touched_at is None
        lead_services.log_call(lead=lead, outcome="connected", actor=alice)
        clock.shift(timedelta(seconds=5))
        run_jobs()
        clock.shift(timedelta(hours=2))
        run_jobs()
    lead.refresh_from_db()
    assert lead.first_touched_at == START + timedelta(minutes=10, seconds=5)
    assert SlaTimer.objects.get(lead=lead).step == SlaStep.TOUCHED
    assert not lead.events.filter(kind=EventKind.SLA_BREACHED).exists()


def test_one_to_one_email_and_meeting_count_as_touches(alice):
    make_rule(name="All to Alice", target_user=alice)
    with time_machine.travel(START, tick=False) as clock:
        first, second = make_lead(), make_lead()
        for lead in (first, second):
            services.route_lead(lead_id=lead.pk, trigger="created")
        clock.shift(timedelta(minutes=1))
        timeline.record(first, EventKind.EMAIL_SENT, actor=alice, data={"subject": "Hello"})
        timeline.record(second, EventKind.MEETING, actor=alice, data={"subject": "Intro"})
        clock.shift(timedelta(seconds=5))
        assert services.detect_first_touches() == 2
    assert Lead.objects.filter(pk__in=[first.pk, second.pk], first_touched_at__isnull=False).count() == 2


def test_breach_tells_the_rep_then_the_managers_then_reassigns(alice, bob, manager, east, settings):
    settings.LEADFLOW_SLA_GRACE_MINUTES = 30
    make_rule(name="Team East", target_team=east, touch_minutes=60, reassign_on_breach=True)
    with time_machine.travel(START, tick=False) as clock:
        lead = make_lead()
        services.route_lead(lead_id=lead.pk, trigger="created")
        first_owner = Lead.objects.get(pk=lead.pk).owner
        other = bob if first_owner == alice else alice
        clock.shift(timedelta(minutes=59))
        run_jobs()
        assert not lead.events.filter(kind=EventKind.SLA_BREACHED).exists()

        clock.shift(timedelta(minutes=2))
        run_jobs()
        run_jobs()
        assert lead.events.filter(kind=EventKind.SLA_BREACHED).count() == 1
        assert Notification.objects.filter(user=first_owner, subject__startswith="First touch overdue").count() == 1
        assert not Notification.objects.filter(user=manager).exists()

        clock.shift(timedelta(minutes=31))
        run_jobs()
        run_jobs()
        assert Notification.objects.filter(user=manager, subject__contains="missed a first touch").count() == 1
        assert Lead.objects.get(pk=lead.pk).owner == first_owner

        clock.shift(timedelta(minutes=31))
        run_jobs()
        run_jobs()
    lead.refresh_from_db()
    assert lead.owner == other
    assert lead.first_touched_at is None
    assert lead.touch_due_at == START + timedelta(minutes=59 + 2 + 31 + 31 + 60)
    assert Notification.objects.filter(user=other, subject__startswith="Lead reassigned to you").count() == 1
    assert lead.events.filter(kind=EventKind.ROUTED, data__outcome="reassigned").count() == 1
    timers = list(SlaTimer.objects.filter(lead=lead).order_by("id").values_list("step", flat=True))
    assert timers == [SlaStep.REASSIGNED, SlaStep.OPEN]


def test_without_reassignment_the_lead_stays_and_stays_counted(alice, manager, settings):
    from leadflow.routing.queries import inbox_counts, team_overview

    make_rule(name="Alice", target_user=alice, touch_minutes=5)
    with time_machine.travel(START, tick=False) as clock:
        lead = make_lead()
        services.route_lead(lead_id=lead.pk, trigger="created")
        for _ in range(4):
            clock.shift(timedelta(hours=1))
            run_jobs()
        assert Lead.objects.get(pk=lead.pk).owner == alice
        assert inbox_counts(alice)["overdue"] == 1
        assert inbox_counts(alice)["never_touched"] == 1
        row = next(row for row in team_overview(manager) if row["rep"] == alice)
        assert (row["never_touched"], row["overdue"]) == (1, 1)
    assert SlaTimer.objects.get(lead=lead).step == SlaStep.MANAGER_NOTIFIED


def test_each_escalation_step_is_claimed_once(alice, manager):
    make_rule(name="Alice", target_user=alice, touch_minutes=5)
    with time_machine.travel(START, tick=False) as clock:
        lead = make_lead()
        services.route_lead(lead_id=lead.pk, trigger="created")
        timer = SlaTimer.objects.get(lead=lead)
        clock.shift(timedelta(minutes=10))
        from leadflow.routing.services.sla import _claim_step

        assert _claim_step(timer, SlaStep.OPEN, SlaStep.REP_NOTIFIED, START) is True
        assert _claim_step(timer, SlaStep.OPEN, SlaStep.REP_NOTIFIED, START) is False


def test_a_lead_handed_to_someone_else_by_hand_stops_the_old_clock(alice, bob, manager):
    from leadflow.leads.services import assign_owner

    make_rule(name="Alice", target_user=alice, touch_minutes=5)
    with time_machine.travel(START, tick=False) as clock:
        lead = make_lead()
        services.route_lead(lead_id=lead.pk, trigger="created")
        assign_owner(lead=lead, owner=bob, actor=manager)
        clock.shift(timedelta(hours=1))
        run_jobs()
    assert not lead.events.filter(kind=EventKind.SLA_BREACHED).exists()
    assert not Notification.objects.filter(user=alice, subject__startswith="First touch overdue").exists()
    assert SlaTimer.objects.get(lead=lead).step == SlaStep.CLOSED
