"""Lifecycle moves: the transition table, the qualification gate, the reasons and routing on MQL."""

import pytest
from django_tasks_db.models import DBTaskResult

from leadflow.leads import services
from leadflow.leads.errors import FieldErrors, LeadError
from leadflow.leads.lifecycle import TRANSITIONS, allowed_moves
from leadflow.leads.models import DisqualifyReason, EventKind, Lead, QualificationGate, Stage
from leadflow.leads.services import qualification as settings_services
from tests.conftest import make_lead
from tests.leads.qualified import QUALIFIED

pytestmark = pytest.mark.django_db


def at_stage(stage: str, **fields) -> Lead:
    """Return a lead placed at `stage` directly, as an import or older data would leave it."""
    lead = make_lead(**fields)
    Lead.objects.filter(pk=lead.pk).update(stage=stage)
    lead.refresh_from_db()
    return lead


def test_every_stage_has_a_row_in_the_transition_table():
    assert set(TRANSITIONS) == set(Stage.values)
    assert all(stage not in moves for stage, moves in TRANSITIONS.items())


@pytest.mark.parametrize(
    ("start", "target", "allowed"),
    [
        (Stage.SUBSCRIBER, Stage.LEAD, True),
        (Stage.LEAD, Stage.OPPORTUNITY, True),
        (Stage.SUBSCRIBER, Stage.CUSTOMER, True),
        (Stage.MQL, Stage.LEAD, False),
        (Stage.OPPORTUNITY, Stage.SQL, False),
        (Stage.SQL, Stage.RECYCLED, True),
        (Stage.OPPORTUNITY, Stage.DISQUALIFIED, True),
        (Stage.CUSTOMER, Stage.DISQUALIFIED, True),
        (Stage.CUSTOMER, Stage.RECYCLED, False),
        (Stage.CUSTOMER, Stage.LEAD, False),
        (Stage.DISQUALIFIED, Stage.LEAD, True),
        (Stage.DISQUALIFIED, Stage.MQL, True),
        (Stage.DISQUALIFIED, Stage.SQL, False),
        (Stage.DISQUALIFIED, Stage.RECYCLED, False),
        (Stage.RECYCLED, Stage.MQL, True),
        (Stage.RECYCLED, Stage.DISQUALIFIED, True),
        (Stage.RECYCLED, Stage.OPPORTUNITY, False),
    ],
)
def test_can_move_to_follows_the_table(start, target, allowed):
    lead = Lead(stage=start)
    assert lead.can_move_to(target) is allowed
    assert (target in allowed_moves(start)) is allowed


def test_refused_move_names_the_moves_that_are_allowed(alice):
    lead = at_stage(Stage.CUSTOMER, owner=alice)
    with pytest.raises(
        LeadError, match="A lead at Customer cannot move to Lead; from Customer it can move to Dis"
    ) as e:
        services.change_stage(lead=lead, stage=Stage.LEAD, actor=alice)
    assert e.value.code == "transition_not_allowed"
    lead.refresh_from_db()
    assert lead.stage == Stage.CUSTOMER
    assert not lead.events.filter(kind=EventKind.STAGE_CHANGED).exists()


def test_moving_back_down_the_funnel_is_refused(alice):
    lead = make_lead(owner=alice, **QUALIFIED)
    services.change_stage(lead=lead, stage=Stage.SQL, actor=alice)
    with pytest.raises(LeadError, match="cannot move to MQL") as e:
        services.change_stage(lead=lead, stage=Stage.MQL, actor=alice)
    assert e.value.code == "transition_not_allowed"


def test_gate_names_the_missing_fields_before_sql(alice):
    lead = make_lead(owner=alice, budget="approved", authority="influencer", need="high")
    with pytest.raises(LeadError) as e:
        services.change_stage(lead=lead, stage=Stage.SQL, actor=alice)
    assert e.value.code == "qualification_incomplete"
    assert e.value.message == "Timeline must be known before this lead can become an SQL."
    assert Lead.objects.get(pk=lead.pk).stage == Stage.LEAD


def test_gate_counts_no_need_as_not_known_and_applies_to_opportunity_and_customer(alice):
    lead = make_lead(owner=alice, **{**QUALIFIED, "need": "none", "budget": "unknown"})
    with pytest.raises(LeadError, match=r"^Budget and need must be known before this lead can become an opport"):
        services.change_stage(lead=lead, stage=Stage.OPPORTUNITY, actor=alice)
    with pytest.raises(LeadError, match="can become a customer"):
        services.change_stage(lead=lead, stage=Stage.CUSTOMER, actor=alice)


def test_no_budget_is_a_known_answer(alice):
    lead = make_lead(owner=alice, **{**QUALIFIED, "budget": "none"})
    assert services.change_stage(lead=lead, stage=Stage.SQL, actor=alice).stage == Stage.SQL


def test_gate_applies_to_the_system_too():
    lead = make_lead()
    with pytest.raises(LeadError, match="must be known") as e:
        services.change_stage(lead=lead, stage=Stage.SQL, actor=None)
    assert e.value.code == "qualification_incomplete"


def test_qualified_lead_moves_forward_skipping_steps_and_keeps_each_entry_time(alice):
    lead = make_lead(owner=alice, **QUALIFIED)
    moved = services.change_stage(lead=lead, stage=Stage.OPPORTUNITY, actor=alice, reason="Demo booked")
    assert moved.stage == Stage.OPPORTUNITY
    assert set(moved.stage_entered_at) == {"lead", "opportunity"}
    event = moved.events.get(kind=EventKind.STAGE_CHANGED)
    assert event.data == {"from": "lead", "to": "opportunity", "reason": "Demo booked"}
    assert moved.stage_reason == ""


def test_admin_can_loosen_the_gate(admin, alice):
    settings_services.update_gate(required={"budget", "need"}, actor=admin)
    lead = make_lead(owner=alice, budget="planned", need="low")
    assert services.change_stage(lead=lead, stage=Stage.SQL, actor=alice).stage == Stage.SQL
    gate = QualificationGate.current()
    assert (gate.name, gate.required, gate.updated_by) == ("Default pipeline", ("budget", "need"), admin)


def test_only_an_admin_changes_the_gate(manager):
    with pytest.raises(LeadError, match="Only admins") as e:
        settings_services.update_gate(required=set(), actor=manager)
    assert e.value.code == "admin_only"
    assert QualificationGate.current().required == ("budget", "authority", "need", "purchase_timeline")


def test_seeded_gate_and_reasons_are_there_after_migrating():
    assert QualificationGate.objects.get().name == "Default pipeline"
    assert list(DisqualifyReason.objects.active().values_list("label", flat=True)) == [
        "No budget",
        "Not a fit",
        "Chose a competitor",
        "No response",
        "Spam or fake",
        "Student or job seeker",
    ]


def test_disqualifying_needs_a_reason_from_the_list(alice):
    lead = make_lead(owner=alice)
    with pytest.raises(FieldErrors) as missing:
        services.change_stage(lead=lead, stage=Stage.DISQUALIFIED, actor=alice)
    assert missing.value.errors == {"reason": "Give a reason for disqualifying this lead."}
    with pytest.raises(FieldErrors, match="Pick one of the disqualify reasons: No budget, Not a fit"):
        services.change_stage(lead=lead, stage=Stage.DISQUALIFIED, actor=alice, reason="Rude on the phone")
    moved = services.change_stage(lead=lead, stage=Stage.DISQUALIFIED, actor=alice, reason="spam or FAKE")
    assert (moved.stage, moved.stage_reason) == (Stage.DISQUALIFIED, "Spam or fake")
    event = moved.events.get(kind=EventKind.STAGE_CHANGED)
    assert event.data == {"from": "lead", "to": "disqualified", "reason": "Spam or fake"}


def test_deactivated_reason_is_no_longer_accepted(admin, alice):
    reason = DisqualifyReason.objects.get(label="No response")
    settings_services.update_disqualify_reason(reason=reason, actor=admin, active=False)
    with pytest.raises(FieldErrors, match="Pick one of"):
        services.change_stage(lead=make_lead(owner=alice), stage=Stage.DISQUALIFIED, actor=alice, reason="No response")


def test_system_may_disqualify_in_its_own_words():
    lead = make_lead()
    moved = services.change_stage(lead=lead, stage=Stage.DISQUALIFIED, actor=None, reason="Hard bounce")
    assert moved.stage_reason == "Hard bounce"


def test_recycling_needs_a_short_reason_and_the_lead_can_come_back(alice):
    lead = make_lead(owner=alice)
    with pytest.raises(FieldErrors, match="Give a reason for recycling"):
        services.change_stage(lead=lead, stage=Stage.RECYCLED, actor=alice, reason="   ")
    with pytest.raises(FieldErrors, match="the most allowed is 200"):
        services.change_stage(lead=lead, stage=Stage.RECYCLED, actor=alice, reason="x" * 201)
    recycled = services.change_stage(lead=lead, stage=Stage.RECYCLED, actor=alice, reason="No project until spring")
    assert (recycled.stage, recycled.stage_reason) == (Stage.RECYCLED, "No project until spring")
    back = services.change_stage(lead=lead, stage=Stage.MQL, actor=alice)
    assert back.stage == Stage.MQL
    assert back.stage_reason == "No project until spring", "the latest reason is kept"
    assert set(back.stage_entered_at) == {"lead", "recycled", "mql"}


def test_entering_mql_queues_routing_once_committed(alice, django_capture_on_commit_callbacks):
    lead = make_lead(owner=alice)
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.change_stage(lead=lead, stage=Stage.MQL, actor=alice)
    assert len(callbacks) == 1
    task = DBTaskResult.objects.get()
    assert task.task_path == "leadflow.routing.tasks.route_lead"
    assert task.args_kwargs["kwargs"] == {"lead_id": lead.pk, "trigger": "mql"}


def test_other_moves_do_not_queue_routing(alice, django_capture_on_commit_callbacks):
    lead = make_lead(owner=alice, **QUALIFIED)
    with django_capture_on_commit_callbacks(execute=True):
        services.change_stage(lead=lead, stage=Stage.SQL, actor=alice)
        services.change_stage(lead=lead, stage=Stage.SQL, actor=alice)
    assert not DBTaskResult.objects.exists()


def test_bulk_move_skips_leads_that_may_not_move_and_counts_why(alice):
    ready = make_lead(owner=alice, **QUALIFIED)
    unqualified = make_lead(owner=alice)
    customer = at_stage(Stage.CUSTOMER, owner=alice, **QUALIFIED)
    already = at_stage(Stage.SQL, owner=alice, **QUALIFIED)
    result = services.bulk_change_stage(
        lead_ids=[ready.pk, unqualified.pk, customer.pk, already.pk], stage=Stage.SQL, actor=alice
    )
    assert (result.changed, result.unchanged, dict(result.skipped)) == (
        1,
        1,
        {"qualification_incomplete": 1, "transition_not_allowed": 1},
    )
    stages = dict(Lead.objects.values_list("pk", "stage"))
    assert (stages[ready.pk], stages[unqualified.pk], stages[customer.pk]) == ("sql", "lead", "customer")


def test_bulk_disqualify_without_a_reason_changes_nothing(alice):
    lead = make_lead(owner=alice)
    with pytest.raises(FieldErrors, match="Give a reason"):
        services.bulk_change_stage(lead_ids=[lead.pk], stage=Stage.DISQUALIFIED, actor=alice)
    assert Lead.objects.get(pk=lead.pk).stage == Stage.LEAD


def test_qualification_edits_are_on_the_timeline_one_event_per_field(alice):
    lead = make_lead(owner=alice)
    services.update_lead(
        lead=lead, changes={"budget": "approved", "budget_amount": "25000", "title": "CTO"}, actor=alice
    )
    events = {event.data["field"]: event.data for event in lead.events.filter(kind=EventKind.QUALIFICATION_CHANGED)}
    assert events == {
        "budget": {"field": "budget", "from": "unknown", "to": "approved"},
        "budget_amount": {"field": "budget_amount", "from": None, "to": "25000.00"},
    }
    updated = lead.events.get(kind=EventKind.UPDATED)
    assert updated.data == {"changes": {"title": ["", "CTO"]}}


def test_capture_fills_unknown_answers_but_never_erases_known_ones(alice):
    lead = make_lead(owner=alice, email="ana@example.com", budget="approved")
    services.record_lead(data={"email": "ana@example.com", "budget": "unknown", "need": "high"}, channel="form")
    lead.refresh_from_db()
    assert (lead.budget, lead.need) == ("approved", "high")
    change = lead.events.get(kind=EventKind.QUALIFICATION_CHANGED)
    assert change.data == {"field": "need", "from": "unknown", "to": "high"}
