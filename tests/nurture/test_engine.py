from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.utils import timezone

from leadflow.leads.models import ConsentStatus, EventKind, Lead, Stage, TimelineEvent
from leadflow.leads.timeline import record
from leadflow.mail.models import EventType, Kind, MessageEvent, OutboxMessage, Status, Suppression
from leadflow.nurture import engine, services
from leadflow.nurture.errors import NurtureError
from leadflow.nurture.models import Enrollment, EnrollmentStatus, SequenceStatus, StepKind
from tests.conftest import make_lead
from tests.nurture.conftest import MONDAY_10, make_sequence, make_template

pytestmark = pytest.mark.django_db


def emails(lead=None):
    rows = OutboxMessage.objects.filter(kind=Kind.MARKETING)
    return list(rows.filter(lead=lead) if lead else rows)


def enrollment_of(lead, sequence=None) -> Enrollment:
    rows = Enrollment.objects.filter(lead=lead)
    return (rows.filter(sequence=sequence) if sequence else rows).latest("id")


def exited_events(lead):
    return list(TimelineEvent.objects.filter(lead=lead, kind=EventKind.SEQUENCE_EXITED).values_list("data", flat=True))


def test_email_wait_email_walks_the_lead_through_and_ends_with_completed(monday, admin):
    sequence = make_sequence((StepKind.EMAIL, {}), (StepKind.WAIT, {"days": 2}), (StepKind.EMAIL, {}))
    lead = make_lead(first_name="Dana")
    services.enroll(sequence=sequence, lead=lead, actor=admin)

    assert engine.run_due() == 1
    first = emails(lead)
    assert len(first) == 1
    assert first[0].subject == "Hi Dana"
    steps = list(sequence.steps.order_by("position"))
    assert first[0].meta == {
        "sequence_id": sequence.pk,
        "step_id": steps[0].pk,
        "enrollment_id": enrollment_of(lead).pk,
    }
    enrollment = enrollment_of(lead)
    assert enrollment.step_id == steps[1].pk
    assert enrollment.next_due_at == MONDAY_10 + timedelta(days=2)
    assert engine.run_due() == 0

    monday.move_to(MONDAY_10 + timedelta(days=2))
    assert engine.run_due() == 1
    assert len(emails(lead)) == 2
    enrollment.refresh_from_db()
    assert enrollment.status == EnrollmentStatus.COMPLETED
    assert exited_events(lead)[-1]["reason"] == "completed"


def test_enrolling_is_on_the_timeline_and_never_twice_at_once(admin):
    sequence = make_sequence((StepKind.EMAIL, {}))
    lead = make_lead()
    services.enroll(sequence=sequence, lead=lead, actor=admin)
    with pytest.raises(NurtureError) as caught:
        services.enroll(sequence=sequence, lead=lead, actor=admin)
    assert caught.value.code == "already_enrolled"
    event = TimelineEvent.objects.get(lead=lead, kind=EventKind.SEQUENCE_ENROLLED)
    assert event.data["sequence"] == "Onboarding"
    assert event.actor == admin


def test_the_database_refuses_a_second_active_enrollment(admin):
    from django.db import IntegrityError, transaction

    sequence = make_sequence((StepKind.EMAIL, {}))
    lead = make_lead()
    services.enroll(sequence=sequence, lead=lead, actor=admin)
    with pytest.raises(IntegrityError), transaction.atomic():
        Enrollment.objects.create(sequence=sequence, lead=lead)


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"consent_status": ConsentStatus.WITHDRAWN}, "consent_withdrawn"),
        ({"email": ""}, "no_email"),
    ],
)
def test_no_enrollment_without_consent_or_address(admin, change, code):
    sequence = make_sequence((StepKind.EMAIL, {}))
    lead = make_lead(phone="+14155550123")
    Lead.objects.filter(pk=lead.pk).update(**change)
    lead.refresh_from_db()
    with pytest.raises(NurtureError) as caught:
        services.enroll(sequence=sequence, lead=lead, actor=admin)
    assert caught.value.code == code


def test_no_enrollment_of_a_suppressed_address(admin):
    sequence = make_sequence((StepKind.EMAIL, {}))
    lead = make_lead(email="gone@example.com")
    Suppression.objects.create(email="gone@example.com", reason="unsubscribed")
    with pytest.raises(NurtureError, match="suppression list"):
        services.enroll(sequence=sequence, lead=lead, actor=admin)


def test_a_retry_of_the_same_step_never_queues_a_second_email(monday, admin):
    sequence = make_sequence((StepKind.EMAIL, {}), (StepKind.WAIT, {"days": 1}))
    lead = make_lead()
    services.enroll(sequence=sequence, lead=lead, actor=admin)
    engine.run_due()
    # As if the worker died after queueing but before moving on: the step runs again.
    first = sequence.steps.get(position=1)
    Enrollment.objects.filter(lead=lead).update(step=first, next_due_at=timezone.now(), wait_until=None)
    engine.run_due()
    assert len(emails(lead)) == 1


def test_outside_the_window_the_email_waits_for_the_leads_morning(admin):
    sequence = make_sequence((StepKind.EMAIL, {}))
    lead = make_lead(time_zone="America/New_York")
    with time_machine.travel(MONDAY_10, tick=False):  # 05:00 in New York
        services.enroll(sequence=sequence, lead=lead, actor=admin)
        engine.run_due()
        assert emails(lead) == []
        assert enrollment_of(lead).next_due_at == datetime(2026, 3, 2, 14, 0, tzinfo=UTC)  # 09:00 EST
    with time_machine.travel(datetime(2026, 3, 2, 14, 0, 1, tzinfo=UTC), tick=False):
        engine.run_due()
        assert len(emails(lead)) == 1


def test_at_the_weekend_the_email_waits_for_monday_in_the_sites_time_zone(admin, settings):
    settings.TIME_ZONE = "Europe/Berlin"
    sequence = make_sequence((StepKind.EMAIL, {}))
    lead = make_lead()
    saturday = datetime(2026, 3, 7, 12, 0, tzinfo=UTC)
    with time_machine.travel(saturday, tick=False):
        services.enroll(sequence=sequence, lead=lead, actor=admin)
        engine.run_due()
    assert emails(lead) == []
    assert enrollment_of(lead).next_due_at == datetime(2026, 3, 9, 8, 0, tzinfo=UTC)  # Monday 09:00 CET


def test_wait_until_a_weekday_and_time_in_the_leads_zone(monday, admin):
    sequence = make_sequence((StepKind.WAIT, {"mode": "until", "weekday": 3, "time": "09:30"}), (StepKind.EMAIL, {}))
    lead = make_lead(time_zone="Asia/Tokyo")
    services.enroll(sequence=sequence, lead=lead, actor=admin)
    engine.run_due()
    # Thursday 09:30 in Tokyo (UTC+9) is Thursday 00:30 UTC.
    assert enrollment_of(lead).next_due_at == datetime(2026, 3, 5, 0, 30, tzinfo=UTC)


def test_the_frequency_cap_holds_an_email_until_the_oldest_send_leaves_the_window(monday, admin, settings):
    from leadflow.mail.services import queue_email

    settings.LEADFLOW_NURTURE_CAP, settings.LEADFLOW_NURTURE_CAP_DAYS = 2, 7
    lead = make_lead()
    for n, days_ago in enumerate((1, 3)):
        row = queue_email(lead=lead, key=f"other-{n}", kind="marketing", subject="s", html="h", text="t")
        OutboxMessage.objects.filter(pk=row.pk).update(status=Status.SENT, sent_at=MONDAY_10 - timedelta(days=days_ago))
    sequence = make_sequence((StepKind.EMAIL, {}))
    services.enroll(sequence=sequence, lead=lead, actor=admin)
    engine.run_due()
    assert len(emails(lead)) == 2
    # The send of 3 days ago leaves the 7-day window in 4 days: Friday 10:00, inside the sending window.
    due = enrollment_of(lead).next_due_at
    assert MONDAY_10 + timedelta(days=4) <= due <= MONDAY_10 + timedelta(days=4, seconds=5)
    monday.move_to(due)
    engine.run_due()
    assert len(emails(lead)) == 3


def tasks_of(lead) -> list[str]:
    events = TimelineEvent.objects.filter(lead=lead, kind=EventKind.TASK_CREATED).order_by("id")
    return [str(event.data) for event in events]


@pytest.mark.parametrize("opened", [True, False])
def test_branch_on_opened_goes_to_the_chosen_step_or_onwards(monday, admin, alice, opened):
    sequence = make_sequence(
        (StepKind.EMAIL, {}),
        (StepKind.WAIT, {"days": 1}),
        (StepKind.BRANCH, {"condition": "opened"}),
        (StepKind.TASK, {"title": "Not engaged"}),
        (StepKind.TASK, {"title": "Engaged: call them", "task_kind": "call"}),
    )
    steps = list(sequence.steps.order_by("position"))
    steps[2].config = {"condition": "opened", "then_step": steps[4].pk}
    steps[2].save()
    lead = make_lead(owner=alice)
    services.enroll(sequence=sequence, lead=lead, actor=admin)
    engine.run_due()
    message = emails(lead)[0]
    MessageEvent.objects.create(message=message, type=EventType.OPEN, machine=True)  # a privacy proxy
    if opened:
        MessageEvent.objects.create(message=message, type=EventType.OPEN)
    monday.move_to(MONDAY_10 + timedelta(days=1))
    engine.run_due()
    titles = tasks_of(lead)
    # Onwards runs step 4 and then step 5; the jump skips step 4.
    assert "Not engaged" in titles[0] if not opened else "Engaged" in titles[0]
    assert any("Not engaged" in title for title in titles) is not opened


@pytest.mark.parametrize(
    ("condition", "holds"),
    [
        ({"condition": "score_at_least", "value": "50"}, True),
        ({"condition": "score_at_least", "value": "80"}, False),
        ({"condition": "field_equals", "field": "custom.plan", "value": "pro"}, True),
        ({"condition": "field_equals", "field": "industry", "value": "Retail"}, False),
        ({"condition": "stage_is", "value": "lead"}, True),
        ({"condition": "stage_is", "value": "mql"}, False),
    ],
)
def test_branch_conditions_on_the_lead(monday, admin, alice, condition, holds):
    sequence = make_sequence(
        (StepKind.BRANCH, condition),
        (StepKind.TASK, {"title": "Onwards"}),
        (StepKind.TASK, {"title": "Jumped"}),
    )
    steps = list(sequence.steps.order_by("position"))
    steps[0].config = {**condition, "then_step": steps[2].pk}
    steps[0].save()
    lead = make_lead(owner=alice, custom={"plan": "Pro"}, industry="Software")
    Lead.objects.filter(pk=lead.pk).update(score=60, stage=Stage.LEAD)
    services.enroll(sequence=sequence, lead=lead, actor=admin)
    engine.run_due()
    titles = tasks_of(lead)
    assert ("Jumped" in titles[0]) is holds
    assert any("Onwards" in title for title in titles) is not holds


def test_task_step_creates_a_task_for_the_owner(monday, admin, alice):
    sequence = make_sequence((StepKind.TASK, {"title": "Call about pricing", "task_kind": "call", "due_days": 1}))
    lead = make_lead(owner=alice)
    services.enroll(sequence=sequence, lead=lead, actor=admin)
    engine.run_due()
    event = TimelineEvent.objects.get(lead=lead, kind=EventKind.TASK_CREATED)
    assert "Call about pricing" in str(event.data)
    assert "alice" in str(event.data).lower()


def test_change_stage_step_moves_the_lead_and_a_refused_move_is_recorded_not_fatal(monday, admin):
    sequence = make_sequence((StepKind.STAGE, {"stage": Stage.MQL}), (StepKind.STAGE, {"stage": Stage.SUBSCRIBER}))
    lead = make_lead()
    services.enroll(sequence=sequence, lead=lead, actor=admin)
    engine.run_due()
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL
    enrollment = enrollment_of(lead)
    assert enrollment.status == EnrollmentStatus.COMPLETED
    assert "stage not changed" in enrollment.history[-1]["note"]


def test_enroll_step_puts_the_lead_in_another_sequence(monday, admin):
    other = make_sequence((StepKind.WAIT, {"days": 5}), name="Follow-up")
    sequence = make_sequence((StepKind.ENROLL, {"sequence_id": other.pk}))
    lead = make_lead()
    services.enroll(sequence=sequence, lead=lead, actor=admin)
    engine.run_due()
    assert enrollment_of(lead, other).status == EnrollmentStatus.ACTIVE
    assert enrollment_of(lead, other).source == "sequence"


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        (EventKind.EMAIL_REPLIED, "replied"),
        (EventKind.UNSUBSCRIBED, "unsubscribed"),
        (EventKind.EMAIL_BOUNCED, "bounced"),
    ],
)
def test_before_each_send_a_reply_unsubscribe_or_bounce_ends_the_enrollment(monday, admin, kind, reason):
    sequence = make_sequence((StepKind.WAIT, {"days": 1}), (StepKind.EMAIL, {}))
    lead = make_lead()
    services.enroll(sequence=sequence, lead=lead, actor=admin)
    engine.run_due()
    record(lead, kind, data={})
    monday.move_to(MONDAY_10 + timedelta(days=1))
    engine.run_due()
    assert emails(lead) == []
    assert enrollment_of(lead).exit_reason == reason
    assert exited_events(lead)[-1]["reason"] == reason


def test_a_suppression_added_after_enrolling_stops_the_next_email(monday, admin):
    sequence = make_sequence((StepKind.EMAIL, {}))
    lead = make_lead(email="later@example.com")
    services.enroll(sequence=sequence, lead=lead, actor=admin)
    Suppression.objects.create(email="later@example.com", reason="bounced")
    engine.run_due()
    assert emails(lead) == []
    assert enrollment_of(lead).exit_reason == "bounced"


@pytest.mark.parametrize(
    ("stage", "reason"),
    [(Stage.SQL, "became_sql"), (Stage.CUSTOMER, "became_customer"), (Stage.DISQUALIFIED, "disqualified")],
)
def test_a_lead_that_moved_on_is_not_emailed(monday, admin, stage, reason):
    sequence = make_sequence((StepKind.EMAIL, {}))
    lead = make_lead()
    services.enroll(sequence=sequence, lead=lead, actor=admin)
    Lead.objects.filter(pk=lead.pk).update(stage=stage)
    engine.run_due()
    assert emails(lead) == []
    assert enrollment_of(lead).exit_reason == reason


def test_reaching_the_goal_stage_ends_it_as_goal_reached(monday, admin):
    sequence = make_sequence((StepKind.STAGE, {"stage": Stage.MQL}), (StepKind.EMAIL, {}), goal_stage=Stage.MQL)
    lead = make_lead()
    services.enroll(sequence=sequence, lead=lead, actor=admin)
    engine.run_due()
    assert emails(lead) == []
    assert enrollment_of(lead).exit_reason == "goal_reached"


def test_exit_lead_ends_every_active_enrollment_with_the_reason(admin):
    lead = make_lead()
    for name in ("A", "B"):
        services.enroll(sequence=make_sequence((StepKind.EMAIL, {}), name=name), lead=lead, actor=admin)
    assert services.exit_lead(lead_id=lead.pk, reason="unsubscribed") == 2
    assert services.exit_lead(lead_id=lead.pk, reason="unsubscribed") == 0
    assert [data["reason"] for data in exited_events(lead)] == ["unsubscribed", "unsubscribed"]
    assert set(Enrollment.objects.filter(lead=lead).values_list("status", flat=True)) == {EnrollmentStatus.EXITED}


def test_a_paused_sequence_holds_everyone_in_place_until_resumed(monday, admin):
    sequence = make_sequence((StepKind.EMAIL, {}), (StepKind.EMAIL, {}))
    lead = make_lead()
    services.enroll(sequence=sequence, lead=lead, actor=admin)
    services.set_status(sequence=sequence, status=SequenceStatus.PAUSED, actor=admin)
    assert engine.run_due() == 0
    assert emails(lead) == []
    services.set_status(sequence=sequence, status=SequenceStatus.ACTIVE, actor=admin)
    assert engine.run_due() == 1
    assert len(emails(lead)) == 2


def test_removing_a_step_moves_the_people_on_it_to_the_next(monday, admin):
    sequence = make_sequence((StepKind.WAIT, {"days": 3}), (StepKind.EMAIL, {}), (StepKind.WAIT, {"days": 9}))
    leads = [make_lead() for _ in range(3)]
    for lead in leads:
        services.enroll(sequence=sequence, lead=lead, actor=admin)
    engine.run_due()
    wait = sequence.steps.get(position=1)
    assert Enrollment.objects.filter(step=wait).count() == 3
    assert services.remove_step(step=wait, actor=admin) == 3
    engine.run_due()
    assert len(emails()) == 3
    assert list(sequence.steps.order_by("position").values_list("position", "kind")) == [(1, "email"), (2, "wait")]


def test_editing_and_reordering_a_live_sequence_keeps_everyones_place(monday, admin):
    sequence = make_sequence((StepKind.WAIT, {"days": 2}), (StepKind.EMAIL, {}))
    lead = make_lead()
    services.enroll(sequence=sequence, lead=lead, actor=admin)
    engine.run_due()
    wait, email = sequence.steps.order_by("position")
    services.edit_step(step=email, config={}, template_id=make_template("New copy", subject="New!").pk, actor=admin)
    added = services.add_step(
        sequence=sequence, kind=StepKind.TASK, config={"title": "Call"}, template_id=None, actor=admin
    )
    services.move_step(step=added, direction=-1, actor=admin)
    assert enrollment_of(lead).step_id == wait.pk
    assert [s.pk for s in sequence.steps.order_by("position")] == [wait.pk, added.pk, email.pk]
    monday.move_to(MONDAY_10 + timedelta(days=2))
    engine.run_due()
    assert [m.subject for m in emails(lead)] == ["New!"]
    assert tasks_of(lead)


def test_two_runners_claim_disjoint_batches_and_a_lapsed_claim_is_taken_again(admin):
    sequence = make_sequence((StepKind.WAIT, {"days": 1}))
    for _ in range(6):
        services.enroll(sequence=sequence, lead=make_lead(), actor=admin)
    now = timezone.now()
    _, first = engine.claim_due(now=now, limit=4)
    _, second = engine.claim_due(now=now, limit=4)
    assert len(first) == 4 and len(second) == 2
    assert not set(first) & set(second)
    _, third = engine.claim_due(now=now, limit=4)
    assert third == []
    _, after_lease = engine.claim_due(now=now + engine.LEASE + timedelta(seconds=1), limit=10)
    assert sorted(after_lease) == sorted(first + second)


def test_a_step_that_fails_is_retried_later_and_others_go_on(monday, admin, monkeypatch):
    sequence = make_sequence((StepKind.EMAIL, {}))
    good, bad = make_lead(), make_lead()
    for lead in (good, bad):
        services.enroll(sequence=sequence, lead=lead, actor=admin)
    from leadflow.nurture import steps

    real = steps.RUNNERS[StepKind.EMAIL]

    def flaky(enrollment, step, now):
        if enrollment.lead_id == bad.pk:
            raise RuntimeError("boom")
        return real(enrollment, step, now)

    monkeypatch.setitem(steps.RUNNERS, StepKind.EMAIL, flaky)
    assert engine.run_due() == 2
    assert len(emails(good)) == 1
    stuck = enrollment_of(bad)
    assert stuck.status == EnrollmentStatus.ACTIVE
    assert stuck.next_due_at == MONDAY_10 + engine.RETRY_AFTER_ERROR


def test_unsubscribing_through_mail_ends_the_enrollment_at_once(monday, admin):
    from leadflow.mail.services.consent import unsubscribe

    sequence = make_sequence((StepKind.EMAIL, {}), (StepKind.WAIT, {"days": 2}), (StepKind.EMAIL, {}))
    lead = make_lead(email="leaving@example.com")
    services.enroll(sequence=sequence, lead=lead, actor=admin)
    engine.run_due()
    unsubscribe(email="leaving@example.com", source="one-click header", message=emails(lead)[0])
    enrollment = enrollment_of(lead)
    assert (enrollment.status, enrollment.exit_reason) == (EnrollmentStatus.EXITED, "unsubscribed")
    monday.move_to(MONDAY_10 + timedelta(days=2))
    engine.run_due()
    assert len(emails(lead)) == 1
