"""Builders for predictive tests: a history of closed leads with a pattern (or none) to learn from."""

from __future__ import annotations

import itertools
import random

import pytest
from django.utils import timezone

from leadflow.leads.models import Lead, Stage

_numbers = itertools.count(1)
INDUSTRIES = ("Software", "Retail", "Healthcare", "Education")


def closed_history(
    *, customers: int, disqualified: int, signal: bool = True, seed: int = 1, **fields_by_outcome
) -> list[Lead]:
    """Create closed leads. With `signal`, industry and company size tell customers apart; without, nothing does.

    `fields_by_outcome` maps a field to a function (won, rng) -> value, set on every lead.
    """
    rng = random.Random(seed)
    now = timezone.now()
    leads = []
    for won in [True] * customers + [False] * disqualified:
        n = next(_numbers)
        if signal:
            industry = rng.choice(INDUSTRIES[:2] if won else INDUSTRIES[1:]) if rng.random() < 0.9 else "Other"
            size = rng.randint(50, 2000) if won else rng.randint(1, 800)
        else:
            industry, size = rng.choice(INDUSTRIES), rng.randint(1, 2000)
        stage = Stage.CUSTOMER if won else Stage.DISQUALIFIED
        lead = Lead(
            first_name="Past", last_name=f"Lead{n}", email=f"past{n}@example.com", email_key=f"past{n}@example.com",
            industry=industry, company_size=size, source=rng.choice(("google", "linkedin", "partner")),
            stage=stage, stage_entered_at={"lead": now.isoformat(), stage: now.isoformat()},
        )  # fmt: skip
        for name, make in fields_by_outcome.items():
            value = make(won, rng)
            if name.startswith("custom."):
                lead.custom[name.partition(".")[2]] = value
            else:
                setattr(lead, name, value)
        leads.append(lead)
    rng.shuffle(leads)
    return Lead.objects.bulk_create(leads)


@pytest.fixture
def history(db) -> list[Lead]:
    """A learnable history: 60 customers, 60 disqualified leads."""
    return closed_history(customers=60, disqualified=60)
