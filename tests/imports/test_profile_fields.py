"""Importing country, industry, company size, time zone and BANT answers into their own fields."""

import pytest

from leadflow.imports import queries
from leadflow.imports.mapping import suggest_mapping
from leadflow.leads.models import EventKind, Lead
from tests.conftest import make_lead
from tests.imports.conftest import run, upload

pytestmark = pytest.mark.django_db

FILE = (
    "Email,Country,Industry,Employees,Time zone,Budget,Timeline\n"
    'ana@acme.example,Germany,Manufacturing,"1,200",europe/berlin,Approved,Within three months\n'
    "bo@acme.example,us,Retail,40,America/New_York,,\n"
    "cy@acme.example,Atlantis,Retail,12,Europe/Paris,,\n"
    "di@acme.example,FR,Retail,many,Europe/Paris,,\n"
    "ed@acme.example,FR,Retail,5,Mars/Base,,\n"
    "fay@acme.example,unknown,Software,7,,planned,month\n"
)


def test_columns_are_suggested_for_the_new_fields():
    file = upload(FILE.encode())
    rules = suggest_mapping(file.headers, file.sample, admin=False).columns
    assert {header: rule.target for header, rule in rules.items()} == {
        "Email": "email",
        "Country": "country",
        "Industry": "industry",
        "Employees": "company_size",
        "Time zone": "time_zone",
        "Budget": "budget",
        "Timeline": "purchase_timeline",
    }


def test_values_land_in_their_fields_and_bad_ones_are_reported_by_column():
    job = run(upload(FILE.encode()))
    assert (job.rows, job.created, job.errors) == (6, 3, 3)
    ana = Lead.objects.get(email="ana@acme.example")
    assert (ana.country, ana.industry, ana.company_size, ana.time_zone) == (
        "DE",
        "Manufacturing",
        1200,
        "Europe/Berlin",
    )
    assert (ana.budget, ana.purchase_timeline) == ("approved", "quarter")
    bo = Lead.objects.get(email="bo@acme.example")
    assert (bo.country, bo.company_size, bo.budget) == ("US", 40, "unknown")
    fay = Lead.objects.get(email="fay@acme.example")
    assert (fay.country, fay.budget, fay.purchase_timeline) == ("", "planned", "month")
    problems = [(row, column, reason) for row, column, reason in queries.problems_of(job)]
    assert [(row, column) for row, column, _ in problems] == [(4, "Country"), (5, "Employees"), (6, "Time zone")]
    assert "“Atlantis” is not a country" in problems[0][2]
    assert "“many” is not a whole number of employees" in problems[1][2]
    assert "“Mars/Base” is not a time zone" in problems[2][2]


def test_import_into_a_known_lead_records_qualification_changes(alice):
    lead = make_lead(owner=alice, email="ana@acme.example", budget="none")
    run(upload(b"Email,Budget,Country\nana@acme.example,Approved,Japan\n"))
    lead.refresh_from_db()
    assert (lead.budget, lead.country) == ("approved", "JP")
    change = lead.events.get(kind=EventKind.QUALIFICATION_CHANGED)
    assert change.data == {"field": "budget", "from": "none", "to": "approved"}
    captured = lead.events.get(kind=EventKind.CAPTURED)
    assert captured.data["changes"] == {"country": ["", "JP"]}
