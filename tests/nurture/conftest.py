"""Builders for nurture tests: templates, sequences with steps, and a clock set to a weekday morning."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from leadflow.nurture.models import EmailTemplate, Sequence, SequenceStatus, Step, StepKind, TemplateKind

# A Monday, 10:00 UTC: inside the default sending window (Monday to Friday, 9 to 17).
MONDAY_10 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def make_template(name: str = "Welcome", *, subject: str = "Hi {{ first_name | \"there\" }}", body: str = "",
                  kind: str = TemplateKind.MARKETING) -> EmailTemplate:  # fmt: skip
    return EmailTemplate.objects.create(
        name=name, kind=kind, subject=subject, body=body or 'Hello **{{ first_name | "friend" }}**, welcome.'
    )


def make_sequence(*steps: tuple[str, dict], name: str = "Onboarding", status: str = SequenceStatus.ACTIVE,
                  **fields) -> Sequence:  # fmt: skip
    """Build a sequence from (kind, config) pairs; an email step's config may hold "template"."""
    sequence = Sequence.objects.create(name=name, status=status, **fields)
    for position, (kind, config) in enumerate(steps, start=1):
        config = dict(config)
        template = config.pop("template", None)
        if kind == StepKind.EMAIL and template is None:
            template = make_template(f"{name} email {position}")
        Step.objects.create(sequence=sequence, kind=kind, config=config, template=template, position=position)
    return sequence


@pytest.fixture
def monday():
    with time_machine.travel(MONDAY_10, tick=False) as traveller:
        yield traveller


@pytest.fixture(autouse=True)
def no_event_lag(settings):
    """Read events as soon as they are written (the lag guards concurrent commits, which tests do not have)."""
    settings.LEADFLOW_NURTURE_EVENT_LAG_MS = 0
