"""CompiledSelect and CompiledLookUps run the ORM's statement with new values and reads rows back as the ORM does."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.db.models import Q
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from leadflow.leads.models import Company, Lead, LeadStatus
from leadflow.lib.compiled import CompiledLookUps, CompiledSelect
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db

COLUMNS = ("pk", "email_key", "custom", "created_at", "company_size")


def _by_email() -> CompiledSelect:
    return CompiledSelect(
        lambda key: Lead.objects.filter(email_key=key, status=LeadStatus.ACTIVE).order_by().values_list(*COLUMNS)
    )


def test_rows_come_back_converted_as_the_orm_reads_them():
    lead = make_lead(email="ana@acme.example", custom={"plan": "pro", "seats": 3})
    Lead.objects.filter(pk=lead.pk).update(created_at=timezone.now().replace(microsecond=123456), company_size=40)
    expected = list(Lead.objects.filter(pk=lead.pk).values_list(*COLUMNS))
    assert _by_email().rows(key="ana@acme.example") == expected
    created_at = expected[0][3]
    assert isinstance(created_at, dt.datetime)
    assert created_at.tzinfo is not None


def test_the_same_statement_answers_for_each_new_value():
    ana = make_lead(email="ana@acme.example")
    bo = make_lead(email="bo@acme.example")
    lookup = _by_email()
    assert [row[0] for row in lookup.rows(key="ana@acme.example")] == [ana.pk]
    assert [row[0] for row in lookup.rows(key="bo@acme.example")] == [bo.pk]
    assert lookup.rows(key="nobody@acme.example") == []


def test_values_are_parameters_never_text_of_the_statement():
    make_lead(email="ana@acme.example")
    assert _by_email().rows(key="x' OR '1'='1") == []


def test_statements_show_up_where_queries_are_recorded():
    make_lead(email="ana@acme.example")
    with CaptureQueriesContext(connection) as queries:
        _by_email().rows(key="ana@acme.example")
    assert len(queries) == 1
    assert "email_key" in queries[0]["sql"]


def test_a_value_the_lookup_would_change_is_refused():
    lookup = CompiledSelect(lambda name: Lead.objects.filter(first_name__icontains=name).values_list("pk"))
    with pytest.raises(ValueError, match="compared as they are"):
        lookup.rows(name="ana")


def test_a_value_the_statement_does_not_use_is_refused():
    lookup = CompiledSelect(lambda key: Lead.objects.filter(status=LeadStatus.ACTIVE).values_list("pk"))
    with pytest.raises(ValueError, match="not found in the statement"):
        lookup.rows(key="ana@acme.example")


def _person_look_ups() -> CompiledLookUps:
    return CompiledLookUps(
        {
            "company": lambda domain: Company.objects.filter(domain=domain).values_list("pk", "name", "created_at")[:1],
            "leads": lambda key, phone: (
                Lead.objects.filter(Q(email_key=key) | Q(phone=phone)).order_by("pk").values_list(*COLUMNS)[:20]
            ),
        }
    )


def test_look_ups_answer_each_part_in_one_statement_converted_as_the_orm_reads_them():
    acme = Company.objects.create(domain="acme.example", name="Acme")
    ana = make_lead(email="ana@acme.example", custom={"plan": "pro"})
    bo = make_lead(email="bo@acme.example", phone="+14155550100")
    with CaptureQueriesContext(connection) as queries:
        found = _person_look_ups().rows(domain="acme.example", key="ana@acme.example", phone="+14155550100")
    assert len(queries) == 1
    assert found["company"] == list(Company.objects.filter(pk=acme.pk).values_list("pk", "name", "created_at"))
    assert found["leads"] == list(Lead.objects.filter(pk__in=[ana.pk, bo.pk]).order_by("pk").values_list(*COLUMNS))
    assert isinstance(found["leads"][0][2], dict)
    assert isinstance(found["company"][0][2], dt.datetime)


def test_a_part_that_finds_nothing_answers_no_rows_while_the_others_answer():
    make_lead(email="ana@acme.example")
    lookups = _person_look_ups()
    found = lookups.rows(domain="globex.example", key="ana@acme.example", phone="")
    assert found["company"] == []
    assert [row[1] for row in found["leads"]] == ["ana@acme.example"]
    assert lookups.rows(domain="x' OR '1'='1", key="nobody@acme.example", phone="x' OR '1'='1") == {
        "company": [],
        "leads": [],
    }
