"""`leadflow import FILE [--mapping NAME] [--dry-run] [--json]`."""

import io
import json
import re
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from leadflow.imports import services
from leadflow.imports.mapping import ColumnRule, Mapping
from leadflow.imports.models import ImportJob
from leadflow.leads.models import Lead
from tests.imports.conftest import ROOT

CSV = "Email,Name,Tier\nana@x.example,Ana Silva,gold\nbo@x.example,Bo Berg,\nnot-an-email,Cy,\n"


@pytest.fixture
def leads_csv(tmp_path):
    path = tmp_path / "leads.csv"
    path.write_text(CSV)
    return path


def import_json(*args) -> dict:
    out = io.StringIO()
    call_command("import", *map(str, args), "--json", stdout=out, stderr=io.StringIO())
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_json_summary_counts_every_row(leads_csv):
    summary = import_json(leads_csv)
    assert {k: summary[k] for k in ("created", "updated", "duplicates", "errors", "rows")} == {
        "created": 2, "updated": 0, "duplicates": 0, "errors": 1, "rows": 3,
    }  # fmt: skip
    assert set(summary) == {"created", "updated", "duplicates", "errors", "rows", "seconds", "job", "dry_run"}
    assert summary["seconds"] >= 0
    assert Lead.objects.get(email_key="ana@x.example").custom == {"tier": "gold"}


@pytest.mark.django_db
def test_dry_run_changes_nothing_and_says_the_same(leads_csv):
    dry = import_json(leads_csv, "--dry-run")
    assert Lead.objects.count() == 0
    real = import_json(leads_csv)
    assert [dry[k] for k in ("created", "errors", "rows")] == [real[k] for k in ("created", "errors", "rows")]
    again = import_json(leads_csv)
    assert (again["created"], again["updated"]) == (0, 2)


@pytest.mark.django_db
def test_a_saved_mapping_is_used_by_name(leads_csv, admin):
    mapping = Mapping({"Email": ColumnRule("email"), "Name": ColumnRule("custom", "label")})
    services.save_mapping(name="labels", mapping=mapping, headers=["Email", "Name", "Tier"], actor=admin)
    summary = import_json(leads_csv, "--mapping", "labels")
    assert summary["created"] == 2
    assert Lead.objects.get(email_key="ana@x.example").custom == {"label": "Ana Silva"}
    assert ImportJob.objects.get().mapping_name == "labels"
    with pytest.raises(
        CommandError, match=re.escape("No saved mapping called 'nope' (saved for this file's columns: labels)")
    ):
        call_command("import", str(leads_csv), "--mapping", "nope")


@pytest.mark.django_db
def test_the_error_report_is_written_where_asked(leads_csv, tmp_path):
    report = tmp_path / "errors.csv"
    out = io.StringIO()
    call_command("import", str(leads_csv), "--errors", str(report), stdout=out, stderr=io.StringIO())
    assert "Imported 3 rows of leads.csv" in out.getvalue()
    assert "row 4 (Email): Email is not a valid email address" in out.getvalue()
    assert report.read_text().splitlines()[1].startswith("4,Email,Email is not a valid email")


@pytest.mark.django_db
def test_an_unreadable_file_is_a_clear_error(tmp_path):
    path = tmp_path / "book.xls"
    path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 64)
    with pytest.raises(CommandError, match="Old Excel"):
        call_command("import", str(path))


def test_the_leadflow_command_prints_progress_on_stderr_and_one_json_object_on_stdout(tmp_path, leads_csv):
    env = {"LEADFLOW_SQLITE_PATH": str(tmp_path / "cli.sqlite3"), "PATH": "/usr/bin:/bin"}
    leadflow = str(ROOT / ".venv" / "bin" / "leadflow") if (ROOT / ".venv" / "bin" / "leadflow").exists() else None
    command = [leadflow] if leadflow else [sys.executable, "-m", "leadflow.cli"]
    subprocess.run([*command, "migrate", "-v0"], env=env, cwd=ROOT, check=True, timeout=300)
    done = subprocess.run(
        [*command, "import", str(leads_csv), "--json"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["created"] == 2
    assert "100%" in done.stderr and "3 rows" in done.stderr
