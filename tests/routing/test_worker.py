"""An MQL is routed through the real database queue, as `leadflow worker` runs it."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from leadflow.leads.models import EventKind, Lead
from leadflow.leads.services import change_stage
from leadflow.routing.models import Handover
from tests.conftest import make_lead
from tests.routing.conftest import make_rule

pytestmark = pytest.mark.django_db(transaction=True)


def run_worker() -> None:
    call_command("db_worker", batch=True, queue_name="*", startup_delay=False, verbosity=0)


def test_entering_mql_queues_routing_and_the_worker_hands_the_lead_over(alice, marketing):
    make_rule(name="MQLs to Alice", stages=["mql"], target_user=alice)
    lead = make_lead()
    change_stage(lead=lead, stage="mql", actor=marketing)
    assert Lead.objects.get(pk=lead.pk).owner is None
    run_worker()
    run_worker()
    assert Lead.objects.get(pk=lead.pk).owner == alice
    assert Handover.objects.filter(lead=lead, status="pending").count() == 1
    assert lead.events.filter(kind=EventKind.ROUTED).count() == 1
