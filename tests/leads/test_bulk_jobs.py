from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from leadflow.leads.errors import LeadError
from leadflow.leads.models import BulkJob, EventKind, JobStatus, Lead, Stage, TimelineEvent
from leadflow.leads.services import bulk
from tests.conftest import PASSWORD, make_lead
from tests.leads.qualified import QUALIFIED

pytestmark = pytest.mark.django_db(transaction=True)


def run_worker() -> None:
    """Run the real database queue until it is empty, as `leadflow worker` does."""
    call_command("db_worker", batch=True, queue_name="*", startup_delay=False, verbosity=0)


def test_worker_changes_every_matching_lead_in_batches(alice, carol, monkeypatch):
    monkeypatch.setattr(bulk, "BATCH_SIZE", 3)
    mine = [make_lead(owner=alice, source="webinar") for _ in range(7)]
    other_source = make_lead(owner=alice, source="google")
    not_mine = make_lead(owner=carol, source="webinar")
    job = bulk.start_bulk_job(actor=alice, query="source=webinar&cursor=abc", action="stage", value=Stage.MQL)
    assert job.total == 7
    run_worker()
    job.refresh_from_db()
    assert (job.status, job.processed, job.changed) == (JobStatus.DONE, 7, 7)
    assert set(Lead.objects.filter(stage=Stage.MQL).values_list("pk", flat=True)) == {lead.pk for lead in mine}
    assert Lead.objects.get(pk=other_source.pk).stage == Stage.LEAD
    assert Lead.objects.get(pk=not_mine.pk).stage == Stage.LEAD


def test_job_resumed_after_its_worker_died_changes_each_lead_once(alice, monkeypatch):
    monkeypatch.setattr(bulk, "BATCH_SIZE", 2)
    leads = [make_lead(owner=alice, **QUALIFIED) for _ in range(5)]
    job = bulk.start_bulk_job(actor=alice, query="", action="stage", value=Stage.SQL)
    run_worker()
    job.refresh_from_db()
    # Replay a worker killed after two leads: the job row says running, with old progress.
    BulkJob.objects.filter(pk=job.pk).update(
        status=JobStatus.RUNNING, processed=2, last_lead_id=leads[1].pk, updated_at=timezone.now() - timedelta(hours=1)
    )
    Lead.objects.filter(pk__in=[lead.pk for lead in leads[2:]]).update(stage=Stage.LEAD)
    job.refresh_from_db()
    assert bulk.is_stalled(job) is True
    bulk.resume_bulk_job(job=job, actor=alice)
    run_worker()
    job.refresh_from_db()
    assert (job.status, job.processed) == (JobStatus.DONE, 5)
    assert Lead.objects.filter(stage=Stage.SQL).count() == 5
    changes = TimelineEvent.objects.filter(kind=EventKind.STAGE_CHANGED, data__to=Stage.SQL)
    assert changes.count() == 5 + 3


def test_running_job_that_makes_progress_cannot_be_resumed_twice(alice):
    make_lead(owner=alice)
    job = bulk.start_bulk_job(actor=alice, query="", action="stage", value=Stage.SQL)
    BulkJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING)
    job.refresh_from_db()
    with pytest.raises(LeadError, match="can be resumed"):
        bulk.resume_bulk_job(job=job, actor=alice)


def test_rep_cannot_bulk_assign_to_a_rep_on_another_team(alice, carol):
    with pytest.raises(LeadError, match="may not assign"):
        bulk.start_bulk_job(actor=alice, query="", action="assign", value=str(carol.pk))
    assert BulkJob.objects.count() == 0


def test_progress_page_is_only_for_the_user_who_started_the_job(client, alice, bob):
    make_lead(owner=alice)
    job = bulk.start_bulk_job(actor=alice, query="", action="stage", value=Stage.SQL)
    client.login(username="bob", password=PASSWORD)
    assert client.get(f"/jobs/{job.pk}/").status_code == 404
    client.login(username="alice", password=PASSWORD)
    page = client.get(f"/jobs/{job.pk}/")
    assert "0 of 1 leads done" in page.content.decode()
    assert 'hx-trigger="every 2s"' in page.content.decode()
