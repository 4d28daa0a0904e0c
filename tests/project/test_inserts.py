"""RowInserter writes the same rows as the ORM would, many per statement, and reads back their keys."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leadflow.leads.models import EventKind, Lead, TimelineEvent
from leadflow.lib.inserts import RowInserter

pytestmark = pytest.mark.django_db


def _lead(n: int, now: dt.datetime) -> Lead:
    return Lead(
        first_name=f"Ana{n}",
        last_name="<b>Lopez</b>",
        email=f"ana{n}@example.com",
        email_key=f"ana{n}@example.com",
        custom={"plan": "pro", "seats": n, "note": "ünïcode"},
        stage_entered_at={"lead": now.isoformat()},
        created_at=now,
        updated_at=now,
        last_activity_at=now,
    )


def test_rows_read_back_exactly_as_the_orm_reads_them():
    now = timezone.now().replace(microsecond=123456)
    leads = [_lead(n, now) for n in range(3)]
    RowInserter(Lead).insert(leads)
    assert all(lead.pk for lead in leads)
    stored = {lead.pk: lead for lead in Lead.objects.filter(pk__in=[lead.pk for lead in leads])}
    for lead in leads:
        again = stored[lead.pk]
        assert again.first_name == lead.first_name
        assert again.last_name == "<b>Lopez</b>"
        assert again.custom == lead.custom
        assert again.created_at == now
        assert again.stage_entered_at == {"lead": now.isoformat()}


def test_keys_follow_the_given_order_and_events_can_point_at_them():
    now = timezone.now()
    leads = [_lead(n, now) for n in range(50)]
    RowInserter(Lead).insert(leads)
    events = [
        TimelineEvent(lead=lead, kind=EventKind.CREATED, data={"n": n}, occurred_at=now) for n, lead in enumerate(leads)
    ]
    RowInserter(TimelineEvent).insert(events)
    for n, lead in enumerate(leads):
        assert Lead.objects.get(pk=lead.pk).first_name == f"Ana{n}"
        assert list(lead.events.values_list("data", flat=True)) == [{"n": n}]


def test_many_rows_go_in_few_statements():
    now = timezone.now()
    leads = [_lead(n, now) for n in range(600)]
    inserter = RowInserter(Lead)
    with CaptureQueriesContext(connection) as queries:
        inserter.insert(leads)
    inserts = [q for q in queries.captured_queries if q["sql"].startswith("INSERT")]
    assert len(inserts) == -(-600 // inserter.rows_per_statement())
    assert len(inserts) <= 2
    assert Lead.objects.filter(first_name__startswith="Ana").count() == 600
