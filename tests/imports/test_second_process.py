"""Large files are mapped and checked in a second process: the outcome is the one a single process gives."""

from __future__ import annotations

import gc
import os

import pytest

from leadflow.imports import queries, services
from leadflow.imports.models import ImportJob, JobStatus
from leadflow.imports.services import prepare
from leadflow.imports.services import run as run_module
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

    def counted(self, mapper):
        original(self, mapper)
        started.append(self.process.pid)

    monkeypatch.setattr(prepare._SecondProcess, "__init__", counted)
    return started


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
