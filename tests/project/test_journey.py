"""One lead's way through every step, driven by the worker's periodic jobs as in production.

Captured with a good fit → its visits and form push the score over the MQL threshold →
it becomes an MQL and is routed to a rep of the team with a first-touch deadline and a
handover → the rep's call stops the clock → the qualification gate holds the handover until
BANT is known → the lead becomes an SQL and leaves its nurture sequence.
"""

from __future__ import annotations

import inspect
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from leadflow.leads import timeline
from leadflow.leads.errors import LeadError
from leadflow.leads.models import ActorType, CallOutcome, EventKind, Lead, Stage
from leadflow.leads.services import records
from leadflow.lib import scheduler
from leadflow.nurture.enrollment import enroll
from leadflow.nurture.models import Enrollment, EnrollmentStatus, StepKind
from leadflow.routing.models import AssignmentRule, Handover, HandoverStatus
from leadflow.routing.services import accept_handover
from tests.nurture.conftest import make_sequence

pytestmark = pytest.mark.django_db(transaction=True)


def _worker_jobs() -> list:
    """The periodic jobs of every app, as `leadflow worker` runs them."""
    import leadflow.mail.schedule
    import leadflow.nurture.schedule
    import leadflow.predictive.schedule
    import leadflow.routing.schedule
    import leadflow.scoring.schedule

    modules = {leadflow.scoring.schedule, leadflow.routing.schedule, leadflow.nurture.schedule,
               leadflow.mail.schedule, leadflow.predictive.schedule}  # fmt: skip
    return [job.function for job in scheduler.JOBS.values() if inspect.getmodule(job.function) in modules]


def _run_worker_jobs(rounds: int = 3) -> None:
    """Run every periodic job a few seconds after the events, a few rounds, as the worker would."""
    jobs = _worker_jobs()
    assert len(jobs) >= 10, "every app's schedule should be registered"
    with time_machine.travel(timezone.now() + timedelta(seconds=5), tick=False):
        for _ in range(rounds):
            for job in jobs:
                job()


def _route_queued_mqls() -> None:
    """Run the route_lead tasks that change_stage queued, as the task worker would."""
    from django_tasks_db.models import DBTaskResult

    from leadflow.routing import services

    for result in DBTaskResult.objects.filter(task_path__endswith="route_lead"):
        services.route_lead(**result.args_kwargs["kwargs"])


def test_a_good_fit_lead_is_scored_routed_touched_qualified_and_leaves_nurture(east, alice, bob, marketing):
    AssignmentRule.objects.create(name="Hot leads to East", position=1, min_score=60, target_team=east,
                                  touch_minutes=5, business_hours=False)  # fmt: skip
    lead = records.record_lead(
        data={"first_name": "Ines", "last_name": "Moreau", "email": "ines@northwind.example",
              "phone": "+33 1 42 68 53 00", "title": "VP Operations", "company_name": "Northwind"},
        channel="form",
    ).lead  # fmt: skip
    Lead.objects.filter(pk=lead.pk).update(industry="software", company_size=200)
    sequence = make_sequence((StepKind.WAIT, {"mode": "days", "days": 3}), name="Warm-up")
    enroll(sequence=sequence, lead=lead, actor=marketing)

    timeline.record(lead, EventKind.FORM_SUBMITTED, actor_type=ActorType.LEAD, data={"form": "Demo request"})
    timeline.record(lead, EventKind.PAGE_VIEWED, actor_type=ActorType.LEAD,
                    data={"url": "https://northwind.example/pricing", "pages": []})  # fmt: skip
    _run_worker_jobs()
    _route_queued_mqls()
    _run_worker_jobs()

    lead.refresh_from_db()
    assert lead.score >= 60, "fit and engagement should cross the MQL threshold"
    assert lead.stage == Stage.MQL
    assert lead.owner in {alice, bob}
    assert lead.touch_due_at is not None and lead.first_touched_at is None
    assert lead.events.filter(kind=EventKind.ROUTED).exists()
    handover = Handover.objects.get(lead=lead, status=HandoverStatus.PENDING)
    assert "Score" in handover.note or handover.reasons

    rep = lead.owner
    records.log_call(lead=lead, outcome=CallOutcome.CONNECTED, actor=rep, notes="Wants a demo next week")
    _run_worker_jobs()
    lead.refresh_from_db()
    assert lead.first_touched_at is not None

    with pytest.raises(LeadError) as refused:
        accept_handover(handover=handover, actor=rep)
    assert refused.value.code == "qualification_incomplete"
    Lead.objects.filter(pk=lead.pk).update(budget="approved", authority="decision_maker", need="high",
                                           purchase_timeline="quarter")  # fmt: skip
    accept_handover(handover=Handover.objects.get(pk=handover.pk), actor=rep)
    _run_worker_jobs()

    lead.refresh_from_db()
    assert lead.stage == Stage.SQL
    enrollment = Enrollment.objects.get(lead=lead, sequence=sequence)
    assert enrollment.status == EnrollmentStatus.EXITED
    assert lead.events.filter(kind=EventKind.SEQUENCE_EXITED).exists()
