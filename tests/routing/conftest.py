"""Builders for routing tests: rules, reps on a team, availability."""

from __future__ import annotations

import pytest

from leadflow.accounts.models import Role
from leadflow.accounts.services import create_user
from leadflow.routing.models import AssignmentRule, Availability
from tests.conftest import PASSWORD


def make_rule(**fields) -> AssignmentRule:
    fields.setdefault("name", "Everyone")
    fields.setdefault("business_hours", False)
    return AssignmentRule.objects.create(**fields)


def set_availability(user, **fields) -> Availability:
    availability, _ = Availability.objects.update_or_create(user=user, defaults=fields)
    return availability


@pytest.fixture
def five_reps(east):
    return [
        create_user(username=f"rep{n}", password=PASSWORD, role=Role.REP, team=east, first_name=f"Rep{n}")
        for n in range(5)
    ]
