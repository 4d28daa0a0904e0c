"""The routing demo seeds rules, routes leads and leaves work in the inbox."""

from __future__ import annotations

import random

import pytest

from leadflow.leads.models import Lead
from leadflow.routing import demo
from leadflow.routing.models import AssignmentRule, Handover, JobCursor, Task
from leadflow.routing.queries import inbox_for
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db


def test_demo_seed_routes_leads_and_gives_reps_work(alice, bob, carol, manager, east, west):
    for n in range(20):
        make_lead(team=east, country="US" if n % 4 == 0 else "DE", stage="mql" if n % 5 == 0 else "lead")
    demo.seed(rng=random.Random(7))
    assert AssignmentRule.objects.count() == 4
    assert Lead.objects.filter(owner__isnull=False).count() >= 12
    assert Handover.objects.filter(status="pending").exists()
    assert Task.objects.exists()
    assert inbox_for(alice) or inbox_for(bob)
    assert JobCursor.objects.get(name="routing.new_leads").position > 0
