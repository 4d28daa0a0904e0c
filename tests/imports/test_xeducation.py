"""The real X Education export, end to end: every row accounted for, each column in the right field."""

import csv
import itertools

import pytest

from leadflow.imports.mapping import suggest_mapping
from leadflow.imports.models import ImportJob
from leadflow.imports.services import register_path
from leadflow.leads.models import ConsentStatus, Lead
from tests.imports.conftest import run

FIRST = "7927b2df-8bba-4d29-b9a2-b6e0beafe620"


def rows_of(path) -> list[dict]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_suggested_mapping_keys_leads_by_prospect_id_and_keeps_every_column(xeducation):
    with open(xeducation, newline="", encoding="utf-8") as handle:
        reader = csv.reader(handle)
        headers = next(reader)
        samples = list(itertools.islice(reader, 200))
    rules = suggest_mapping(headers, samples, admin=True).columns
    chosen = {header: (rule.target, rule.name, rule.kind) for header, rule in rules.items()}
    assert chosen["Prospect ID"] == ("key", "prospect_id", "text")
    assert chosen["Lead Number"] == ("custom", "lead_number", "text")
    assert chosen["Lead Source"][0] == "source"
    assert chosen["Lead Origin"] == ("custom", "lead_origin", "text")
    assert chosen["Do Not Email"][0] == "do_not_email"
    assert chosen["Do Not Call"] == ("custom", "do_not_call", "flag")
    assert chosen["Converted"] == ("custom", "converted", "number")
    assert chosen["TotalVisits"] == ("custom", "totalvisits", "number")
    assert chosen["Total Time Spent on Website"] == ("custom", "total_time_spent_on_website", "number")
    assert chosen["Page Views Per Visit"] == ("custom", "page_views_per_visit", "number")
    assert chosen["Last Activity"] == ("custom", "last_activity", "text")
    assert chosen["Last Notable Activity"] == ("custom", "last_notable_activity", "text")
    assert all(rule.target for rule in rules.values()), "no column is dropped"


@pytest.mark.django_db
def test_xeducation_dry_run_and_import_account_for_every_row_with_fields_in_place(xeducation):
    file = register_path(path=str(xeducation))
    assert (file.format, file.encoding, file.delimiter, len(file.headers)) == ("csv", "UTF-8", ",", 37)
    dry = run(file, dry_run=True)
    assert Lead.objects.count() == 0
    job = run(file)
    expected = len(rows_of(xeducation))
    assert expected == 9237
    # Two rows give "Asia/Pacific Region" as their country: not a country, so those rows are refused.
    for result in (dry, job):
        assert (result.rows, result.created, result.updated, result.duplicates, result.errors) == (
            expected, expected - 2, 0, 0, 2,
        )  # fmt: skip
    assert result.created + result.updated + result.duplicates + result.errors == result.rows
    problems = [problem for batch in job.batches.all() for problem in batch.problems]
    assert [(row, column) for row, column, _ in problems] == [(4262, "Country"), (8636, "Country")]
    assert "“Asia/Pacific Region” is not a country" in problems[0][2]

    lead = Lead.objects.get(custom__prospect_id=FIRST)
    assert (lead.source, lead.medium, lead.first_name, lead.email) == ("Olark Chat", "", "", "")
    custom = lead.custom
    assert custom["lead_number"] == "660737"
    assert custom["lead_origin"] == "API"
    assert (custom["converted"], custom["totalvisits"], custom["page_views_per_visit"]) == (0, 0, 0)
    assert (custom["last_activity"], custom["last_notable_activity"]) == ("Page Visited on Website", "Modified")
    assert (custom["do_not_call"], custom["search"]) == (False, False)
    assert custom["tags"] == "Interested in other courses"
    assert "specialization" not in custom and "city" not in custom, "Select means nothing was chosen"
    assert "country" not in custom and lead.country == "", "a blank cell sets nothing"

    source_rows = [row for row in rows_of(xeducation) if row["Country"] != "Asia/Pacific Region"]
    assert Lead.objects.filter(custom__converted=1).count() == sum(r["Converted"] == "1" for r in source_rows)
    assert Lead.objects.filter(consent_status=ConsentStatus.WITHDRAWN).count() == sum(
        r["Do Not Email"] == "Yes" for r in source_rows
    )
    assert Lead.objects.filter(source="Google").count() == sum(r["Lead Source"] == "Google" for r in source_rows)
    assert not Lead.objects.filter(custom__city="Select").exists()
    assert not Lead.objects.filter(custom__specialization="Select").exists()
    assert Lead.objects.filter(custom__city="Mumbai").count() == sum(r["City"] == "Mumbai" for r in source_rows)
    assert Lead.objects.filter(country="IN").count() == sum(r["Country"] == "India" for r in source_rows)
    assert Lead.objects.filter(country="AE").count() == sum(r["Country"] == "United Arab Emirates" for r in source_rows)


@pytest.mark.django_db
def test_importing_the_export_again_updates_the_same_leads(xeducation, tmp_path):
    part = tmp_path / "xeducation_part.csv"
    with open(xeducation, newline="", encoding="utf-8") as handle:
        part.write_text("".join(itertools.islice(handle, 1201)), encoding="utf-8")
    first = run(register_path(path=str(part)))
    assert (first.created, first.rows) == (1200, 1200)
    lines = part.read_text(encoding="utf-8").splitlines(keepends=True)
    # The second export has one lead converted since, and one new lead added.
    changed = lines[1].replace(",No,No,0,0,0,0,", ",No,No,1,0,0,0,", 1)
    new = lines[2].replace("2a272436", "ffffffff", 1)
    part.write_text("".join([lines[0], changed, *lines[2:], new]), encoding="utf-8")
    again = run(register_path(path=str(part)))
    assert (again.rows, again.created, again.updated, again.errors) == (1201, 1, 1200, 0)
    assert Lead.objects.count() == 1201
    assert Lead.objects.get(custom__prospect_id=FIRST).custom["converted"] == 1
    assert ImportJob.objects.count() == 2
