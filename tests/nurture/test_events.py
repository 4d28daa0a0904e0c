"""Triggers, exits on stage changes and auto-replies, read from the timeline after a cursor."""

import pytest
from django.db import connection

from leadflow.capture import queries as capture_queries
from leadflow.capture.services import Sender
from leadflow.leads.models import EventKind, Lead, Stage, TimelineEvent
from leadflow.leads.services.records import change_stage
from leadflow.leads.timeline import record
from leadflow.mail.models import Kind, OutboxMessage
from leadflow.nurture import events, services
from leadflow.nurture.models import AutoReply, Enrollment, EnrollmentStatus, EventCursor, Trigger
from leadflow.nurture.models import StepKind as K
from tests.capture.conftest import ORIGIN, SITE, make_form, post_data, submit_now
from tests.conftest import make_lead
from tests.nurture.conftest import make_sequence, make_template

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def cursors_start_now(db):
    """Start both cursors before the test's events, as a worker that was already running would."""
    events.process_triggers()
    events.process_auto_replies()
    capture_queries.forget_public_forms()


def submit(form, **overrides):
    sender = Sender(ip="203.0.113.9", user_agent="Mozilla/5.0", origin=ORIGIN, channel="embed")
    outcome = submit_now(form=form, raw=post_data(form, **overrides), sender=sender, site_host=SITE)
    assert outcome.status == "accepted"
    return Lead.objects.get(email=overrides.get("email", "ana@acme.example"))


def active(sequence):
    return set(
        Enrollment.objects.filter(sequence=sequence, status=EnrollmentStatus.ACTIVE).values_list("lead_id", flat=True)
    )


def test_a_new_cursor_does_not_replay_history(admin):
    lead = make_lead()
    record(lead, EventKind.STAGE_CHANGED, data={"from": "lead", "to": "mql"})
    EventCursor.objects.all().delete()
    sequence = make_sequence((K.WAIT, {"days": 1}), trigger=Trigger.STAGE, trigger_stage=Stage.MQL)
    assert events.process_triggers() == 0
    assert active(sequence) == set()


def test_submitting_the_trigger_form_enrolls_the_lead_once(admin):
    form = make_form(admin)
    sequence = make_sequence((K.WAIT, {"days": 1}), trigger=Trigger.FORM, trigger_form=form)
    other_form = make_form(admin, name="Other", slug="other")
    lead = submit(form)
    submit(other_form, email="bo@acme.example")
    assert events.process_triggers() == 2
    assert active(sequence) == {lead.pk}
    enrollment = Enrollment.objects.get(sequence=sequence)
    assert enrollment.source == "trigger"
    # A second submission while still enrolled changes nothing.
    record(lead, EventKind.FORM_SUBMITTED, data={"form_id": form.pk})
    events.process_triggers()
    assert Enrollment.objects.filter(sequence=sequence).count() == 1


def test_entering_a_stage_or_crossing_a_score_enrolls(admin):
    by_stage = make_sequence((K.WAIT, {"days": 1}), name="MQL nurture", trigger=Trigger.STAGE, trigger_stage=Stage.MQL)
    by_score = make_sequence((K.WAIT, {"days": 1}), name="Warm", trigger=Trigger.SCORE, trigger_score=50)
    mql, warm, already, cold = make_lead(), make_lead(), make_lead(), make_lead()
    change_stage(lead=mql, stage=Stage.MQL, actor=admin)
    record(warm, EventKind.SCORE_CHANGED, data={"from": 40, "to": 55})
    record(already, EventKind.SCORE_CHANGED, data={"from": 60, "to": 70})
    record(cold, EventKind.SCORE_CHANGED, data={"from": 10, "to": 49})
    events.process_triggers()
    assert active(by_stage) == {mql.pk}
    assert active(by_score) == {warm.pk}


def test_draft_sequences_do_not_trigger(admin):
    sequence = make_sequence((K.WAIT, {"days": 1}), status="draft", trigger=Trigger.STAGE, trigger_stage=Stage.MQL)
    change_stage(lead=make_lead(), stage=Stage.MQL, actor=admin)
    events.process_triggers()
    assert active(sequence) == set()


@pytest.mark.parametrize(("stage", "reason"), [(Stage.SQL, "became_sql"), (Stage.DISQUALIFIED, "disqualified")])
def test_stage_changes_end_enrollments_at_once(admin, stage, reason):
    sequence = make_sequence((K.WAIT, {"days": 30}))
    lead = make_lead()
    services.enroll(sequence=sequence, lead=lead, actor=admin)
    Lead.objects.filter(pk=lead.pk).update(stage=stage)
    record(lead, EventKind.STAGE_CHANGED, data={"from": "lead", "to": stage})
    events.process_triggers()
    enrollment = Enrollment.objects.get(lead=lead)
    assert (enrollment.status, enrollment.exit_reason) == (EnrollmentStatus.EXITED, reason)
    exited = TimelineEvent.objects.get(lead=lead, kind=EventKind.SEQUENCE_EXITED)
    assert exited.data["reason"] == reason


def test_the_goal_stage_ends_as_goal_reached(admin):
    sequence = make_sequence((K.WAIT, {"days": 30}), goal_stage=Stage.MQL)
    other = make_sequence((K.WAIT, {"days": 30}), name="Other")
    lead = make_lead()
    services.enroll(sequence=sequence, lead=lead, actor=admin)
    services.enroll(sequence=other, lead=lead, actor=admin)
    change_stage(lead=lead, stage=Stage.MQL, actor=admin)
    events.process_triggers()
    assert Enrollment.objects.get(sequence=sequence).exit_reason == "goal_reached"
    assert Enrollment.objects.get(sequence=other).status == EnrollmentStatus.ACTIVE


def test_each_event_is_handled_once(admin):
    sequence = make_sequence((K.WAIT, {"days": 1}), trigger=Trigger.STAGE, trigger_stage=Stage.MQL)
    lead = make_lead()
    change_stage(lead=lead, stage=Stage.MQL, actor=admin)
    assert events.process_triggers() == 1
    services.exit_lead(lead_id=lead.pk, reason="removed")
    assert events.process_triggers() == 0
    assert active(sequence) == set()


def test_an_auto_reply_is_queued_once_per_submission_as_transactional(admin):
    form = make_form(admin)
    template = make_template("Thanks", subject="Thanks, {{ first_name }}", body="We got your request.")
    AutoReply.objects.create(form=form, template=template)
    lead = submit(form)
    assert events.process_auto_replies() == 1
    assert events.process_auto_replies() == 0
    message = OutboxMessage.objects.get()
    assert (message.kind, message.lead_id, message.to_email) == (Kind.TRANSACTIONAL, lead.pk, "ana@acme.example")
    assert message.subject == "Thanks, Ana"
    assert "We got your request." in message.html


def test_submissions_before_any_auto_reply_is_switched_on_are_passed_over_and_later_ones_answered(admin):
    form = make_form(admin)
    submit(form, email="early@acme.example")
    assert events.process_auto_replies() == 0
    cursor = EventCursor.objects.get(name="nurture.auto_replies")
    assert cursor.last_event_id == TimelineEvent.objects.order_by("-pk").values_list("pk", flat=True).first()
    AutoReply.objects.create(form=form, template=make_template("Thanks", subject="Thanks", body="Got it."))
    lead = submit(form, email="late@acme.example")
    assert events.process_auto_replies() == 1
    assert list(OutboxMessage.objects.values_list("lead_id", flat=True)) == [lead.pk]


def test_a_disabled_auto_reply_or_another_form_sends_nothing(admin):
    form = make_form(admin)
    other = make_form(admin, name="Other", slug="other")
    AutoReply.objects.create(form=form, template=make_template(), enabled=False)
    AutoReply.objects.create(form=other, template=make_template("B"), enabled=True)
    submit(form)
    events.process_auto_replies()
    assert OutboxMessage.objects.count() == 0


def test_on_postgresql_events_younger_than_the_lag_wait_for_the_next_run(admin, settings):
    from django.db import connection

    if connection.vendor != "postgresql":
        pytest.skip("SQLite commits one writer at a time, so ids never commit out of order there")
    settings.LEADFLOW_NURTURE_EVENT_LAG_MS = 60_000
    sequence = make_sequence((K.WAIT, {"days": 1}), trigger=Trigger.STAGE, trigger_stage=Stage.MQL)
    change_stage(lead=make_lead(), stage=Stage.MQL, actor=admin)
    assert events.process_triggers() == 0
    settings.LEADFLOW_NURTURE_EVENT_LAG_MS = 0
    assert events.process_triggers() == 1
    assert len(active(sequence)) == 1


def test_events_handled_by_another_worker_meanwhile_are_not_handled_again(admin, monkeypatch):
    """SQLite reads the batch before it takes the write lock; PostgreSQL locks the cursor row first."""
    if connection.features.has_select_for_update_skip_locked:
        pytest.skip("PostgreSQL reads the events after locking the cursor row")
    lead = make_lead()
    first = record(lead, EventKind.FORM_SUBMITTED, data={"form_id": 0})
    second = record(lead, EventKind.FORM_SUBMITTED, data={"form_id": 0})
    read = events._events_after

    def another_worker_takes_the_first(last_id, kinds, limit):
        found = read(last_id, kinds, limit)
        EventCursor.objects.filter(name="nurture.auto_replies").update(last_event_id=first.pk)
        monkeypatch.setattr(events, "_events_after", read)
        return found

    monkeypatch.setattr(events, "_events_after", another_worker_takes_the_first)
    handled = []
    count = events.read_after_cursor("nurture.auto_replies", (EventKind.FORM_SUBMITTED,), handled.extend)
    assert [event.pk for event in handled] == [second.pk]
    assert count == 1
    assert EventCursor.objects.get(name="nurture.auto_replies").last_event_id == second.pk
