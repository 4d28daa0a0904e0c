import re

import pytest
from playwright.sync_api import expect

from leadflow.imports import services
from leadflow.imports.models import ImportJob, JobStatus
from leadflow.imports.services import run as run_module
from leadflow.leads.models import Lead
from leadflow.lib import fakedata
from tests.conftest import make_lead
from tests.imports.conftest import run_worker

pytestmark = pytest.mark.django_db(transaction=True)


def fair_export(rows: int = 400) -> bytes:
    """A semicolon-separated export from an events tool, with a few bad rows and a formula."""
    lines = ["E-mail;First Name;Last Name;Company;Segment;Badge scanned;Visits"]
    for n in range(rows):
        first, last = fakedata.FIRST_NAMES[n % 50], fakedata.LAST_NAMES[n % 50]
        email = f"{first.lower()}.{last.lower()}{n}@expo.example"
        if n % 97 == 5:
            email = "not an email"
        company = (
            '=HYPERLINK("http://evil.example")'
            if n == 7
            else fakedata.COMPANY_WORDS_A[n % len(fakedata.COMPANY_WORDS_A)] + " Labs"
        )
        lines.append(
            f"{email};{first};{last};{company};{'Enterprise' if n % 3 else 'Select'};{'Yes' if n % 2 else 'No'};{n % 9}"
        )
    lines.append(lines[3])
    return ("\n".join(lines) + "\n").encode("utf-8-sig")


def test_upload_map_dry_run_import_watch_progress_download_errors_and_undo(
    page, live_server, sign_in, marketing, screenshot, tmp_path, monkeypatch
):
    known = make_lead(email="john.williams2@expo.example", first_name="Johnny", title="Buyer")
    path = tmp_path / "expo-scans.csv"
    path.write_bytes(fair_export())
    sign_in(marketing)
    page.goto(f"{live_server.url}/imports/")
    expect(page.get_by_role("heading", name="Import leads")).to_be_visible()
    screenshot("upload")

    page.set_input_files("input[name=file]", str(path))
    page.get_by_role("button", name="Upload and preview").click()
    expect(page).to_have_url(re.compile(r"/imports/files/\d+/$"))
    expect(page.locator(".import-facts")).to_contain_text("Semicolon")
    expect(page.locator(".import-facts")).to_contain_text("UTF-8 with BOM")
    expect(page.locator(".preview-table tbody tr")).to_have_count(10)
    assert page.get_by_label("Field for E-mail").input_value() == "email"
    assert page.get_by_label("Field for Badge scanned").input_value() == "custom:flag"
    page.get_by_label("Field for Segment").select_option("campaign")
    page.get_by_label("Save this mapping as").fill("Expo scans")
    screenshot("map")

    page.get_by_role("button", name="Check with a dry run").click()
    expect(page).to_have_url(re.compile(r"/imports/\d+/$"))
    expect(page.locator(".job-status")).to_contain_text("Waiting for a worker")
    run_worker()
    expect(page.locator(".job-status")).to_contain_text("Checked 401 rows", timeout=15_000)
    expect(page.locator(".count-card").first).to_contain_text("394")
    expect(page.locator(".problems-table")).to_contain_text("E-mail is not a valid email address")
    screenshot("dry-run")
    assert Lead.objects.count() == 1

    monkeypatch.setattr(run_module, "BATCH_ROWS", 40)
    page.get_by_role("button", name="Run this import").click()
    expect(page.locator(".job-status")).to_contain_text("Waiting for a worker")
    job = ImportJob.objects.filter(dry_run=False).get()
    ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    job.refresh_from_db()
    seen = {}

    def watch(job: ImportJob) -> None:
        """Halfway through, look at the page as someone waiting for it would, reload included."""
        if job.records_done == 200:
            bar = page.locator("#job-progress .progress")
            expect(bar).to_have_attribute("aria-valuenow", re.compile(r"^[1-9]\d?$"), timeout=15_000)
            page.reload()
            seen["halfway"] = int(page.locator("#job-progress .progress").get_attribute("aria-valuenow"))
            expect(page.locator(".job-status")).to_contain_text("rows imported so far")
            screenshot("progress")

    services.run_import(job, on_progress=watch)
    assert 30 <= seen["halfway"] <= 70
    expect(page.locator(".job-status")).to_contain_text("Imported 401 rows", timeout=15_000)
    expect(page.locator(".count-card").first).to_contain_text("394")
    screenshot("done")

    with page.expect_download() as download:
        page.get_by_role("link", name="Download the error report (CSV)").click()
    report = download.value.path().read_text(encoding="utf-8").splitlines()
    assert report[0] == "row,column,reason"
    assert len(report) == 1 + 5
    assert report[1].startswith("7,E-mail,E-mail is not a valid email address")
    assert Lead.objects.count() == 395
    assert Lead.objects.filter(custom__badge_scanned=True, campaign="Enterprise").exists()
    known.refresh_from_db()
    assert (known.first_name, known.title, known.custom) == ("John", "Buyer", {"badge_scanned": False, "visits": 2})

    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Undo this import").click()
    expect(page.locator(".undo-notice")).to_contain_text("Undoing")
    run_worker()
    expect(page.locator(".undo-notice")).to_contain_text("Removed 394 leads", timeout=15_000)
    expect(page.locator(".job-status")).to_contain_text("Undone")
    screenshot("undone")
    known.refresh_from_db()
    assert list(Lead.objects.values_list("pk", flat=True)) == [known.pk]
    assert (known.first_name, known.custom) == ("Johnny", {})
