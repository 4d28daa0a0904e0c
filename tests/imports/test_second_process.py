"""Large files are mapped and checked in a second process: the outcome is the one a single process gives."""

from __future__ import annotations

import gc
import os

import pytest

from leadflow.imports import queries, services
from leadflow.imports.models import ImportFile, ImportJob, JobStatus
from leadflow.imports.readers.text import SAMPLE_BYTES
from leadflow.imports.services import prepare
from leadflow.imports.services import run as run_module
from leadflow.imports.services.files import register_path
from leadflow.leads.models import EventKind, Lead, TimelineEvent
from tests.conftest import make_lead
from tests.imports.conftest import run, upload
from tests.imports.test_run import MIXED, mixed_mapping, outcome


@pytest.fixture
def second_process(settings, monkeypatch):
    """Send every file, however small, through the second process, and count the processes started."""
    settings.LEADFLOW_IMPORT_SECOND_PROCESS_BYTES = 1
    started = []
    original = prepare._SecondProcess.__init__

    def counted(self, *args, **kwargs):
        original(self, *args, **kwargs)
        started.append(self.process.pid)

    monkeypatch.setattr(prepare._SecondProcess, "__init__", counted)
    return started


def on_disk(data: bytes, folder, user) -> ImportFile:
    """Register a file on this machine, as `leadflow import` does: the second process reads it itself."""
    path = folder / "leads.csv"
    path.write_bytes(data)
    return register_path(path=str(path), user=user)


def summary(job: ImportJob) -> tuple:
    leads = sorted(Lead.objects.values_list("email_key", "first_name", "last_name", "company_name", "custom"))
    events = sorted(TimelineEvent.objects.values_list("lead__email_key", "kind"))
    return outcome(job), leads, events


def import_mixed(batch_rows: int, monkeypatch) -> tuple:
    monkeypatch.setattr(run_module, "BATCH_ROWS", batch_rows)
    make_lead(email="known@acme.example", title="CEO", last_name="Known")
    file = upload(MIXED.encode())
    dry = run(file, dry_run=True, mapping=mixed_mapping(file))
    real = run(file, mapping=mixed_mapping(file))
    assert outcome(dry) == outcome(real)
    return summary(real)


@pytest.mark.django_db
@pytest.mark.parametrize("batch_rows", [1000, 2])
def test_a_second_process_gives_the_same_leads_counts_and_problems(batch_rows, monkeypatch, settings, second_process):
    settings.LEADFLOW_IMPORT_SECOND_PROCESS_BYTES = 0
    alone = import_mixed(batch_rows, monkeypatch)
    assert second_process == []
    Lead.objects.all().delete()
    ImportJob.objects.all().delete()
    settings.LEADFLOW_IMPORT_SECOND_PROCESS_BYTES = 1
    together = import_mixed(batch_rows, monkeypatch)
    assert len(second_process) == 2  # the dry run and the import
    assert together == alone
    counts, leads, events = together
    assert counts[:5] == (9, 3, 1, 2, 3)
    assert len(leads) == 4 and (("new1@acme.example", EventKind.CREATED) in events)


@pytest.mark.django_db
def test_the_owner_column_and_row_problems_come_through_the_second_process(second_process, admin, alice):
    file = upload(b"Email,Owner,Phone\nnew@x.example,alice,\nx@x.example,nobody,\ny@x.example,,12\n", user=admin)
    from leadflow.imports.mapping import ColumnRule, Mapping

    mapping = Mapping({"Email": ColumnRule("email"), "Owner": ColumnRule("owner"), "Phone": ColumnRule("phone")})
    job = run(file, user=admin, mapping=mapping)
    assert second_process
    assert (job.created, job.errors) == (1, 2)
    problems = list(queries.problems_of(job))
    assert problems[0] == (3, "Owner", "No active user has the username or email “nobody”.")
    assert problems[1][:2] == (4, "Phone") and "is not a valid phone number" in problems[1][2]
    assert Lead.objects.get(email_key="new@x.example").owner == alice


@pytest.mark.django_db
def test_a_second_process_that_dies_fails_the_job_without_half_a_batch(second_process, monkeypatch, admin):
    monkeypatch.setattr(prepare, "prepare_records", lambda mapper, records: os._exit(3))
    file = upload(b"Email\na@x.example\nb@x.example\n", user=admin)
    with pytest.raises(RuntimeError, match="exit code 3"):
        run(file, user=admin)
    job = ImportJob.objects.get()
    assert (job.status, job.records_done, job.created) == (JobStatus.FAILED, 0, 0)
    assert "The process preparing rows stopped" in job.error
    assert Lead.objects.count() == 0
    services.resume_import(job=job, actor=admin)
    monkeypatch.undo()
    services.run_import_job(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.created) == (JobStatus.DONE, 2)


@pytest.mark.django_db
def test_the_collector_settings_are_put_back_after_an_import(admin):
    before = gc.get_threshold()
    run(upload(b"Email\na@x.example\n", user=admin), user=admin)
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0


@pytest.mark.django_db
def test_bytes_read_as_windows_1252_by_the_second_process_are_noted_on_the_job(second_process, admin, tmp_path):
    # Past the sample the encoding is detected from, and past the rows read when the file is described.
    rows = "".join(f"person{n}@example.com,Ana María\n" for n in range(SAMPLE_BYTES // 20))
    data = b"Email,First Name\n" + rows.encode() + b"late@x.example,Ren\xe9\n"
    job = run(on_disk(data, tmp_path, admin), user=admin)
    assert second_process
    assert job.created == SAMPLE_BYTES // 20 + 1
    assert Lead.objects.get(email_key="late@x.example").first_name == "René"
    assert "1 bytes were not UTF-8 and were read as Windows-1252." in job.notes


@pytest.mark.django_db
def test_a_resumed_job_read_by_the_second_process_goes_on_after_the_last_committed_batch(
    second_process, monkeypatch, admin, tmp_path
):
    monkeypatch.setattr(run_module, "BATCH_ROWS", 2)
    original = run_module._Run.batch
    calls = []

    def fail_the_second(self, rows, progress):
        calls.append(len(rows))
        if len(calls) == 2:
            raise OSError("disk full")
        original(self, rows, progress)

    monkeypatch.setattr(run_module._Run, "batch", fail_the_second)
    data = b"Email\n" + b"".join(f"p{n}@x.example\n".encode() for n in range(5))
    file = on_disk(data, tmp_path, admin)
    with pytest.raises(OSError):
        run(file, user=admin)
    job = ImportJob.objects.get()
    assert (job.status, job.records_done, job.created) == (JobStatus.FAILED, 2, 2)
    services.resume_import(job=job, actor=admin)
    services.run_import_job(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.records_done, job.created, job.duplicates) == (JobStatus.DONE, 5, 5, 0)
    assert sorted(Lead.objects.values_list("email_key", flat=True)) == [f"p{n}@x.example" for n in range(5)]
    assert len(second_process) == 2


@pytest.mark.django_db
def test_a_file_on_disk_read_by_the_second_process_gives_the_outcome_of_one_process(
    monkeypatch, settings, second_process, tmp_path
):
    monkeypatch.setattr(run_module, "BATCH_ROWS", 2)
    make_lead(email="known@acme.example", title="CEO", last_name="Known")
    outcomes = []
    for threshold in (0, 1):
        settings.LEADFLOW_IMPORT_SECOND_PROCESS_BYTES = threshold
        file = on_disk(MIXED.encode(), tmp_path, None)
        job = run(file, mapping=mixed_mapping(file))
        counts, leads, _ = summary(job)
        outcomes.append((counts, leads))
        Lead.objects.exclude(email_key="known@acme.example").delete()
    assert len(second_process) == 1
    assert outcomes[0] == outcomes[1]
    assert outcomes[1][0][:5] == (9, 3, 1, 2, 3)
