"""Rescoring every lead: in batches, with progress, resumable, agreeing with the per-lead refresh."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import timezone

from leadflow.leads import timeline
from leadflow.leads.models import EventKind, Lead, Stage
from leadflow.scoring.models import JobStatus, PendingPromotion, RescoreJob, ScoringRule, ScoringState
from leadflow.scoring.services import bulk, promote_pending
from leadflow.scoring.services.refresh import evaluate, load_config
from tests.conftest import make_lead


@pytest.fixture
def leads(simple_rules) -> list[Lead]:
    made = []
    for n in range(12):
        lead = make_lead(industry="software" if n % 2 else "retail", phone=f"+1415555{n:04d}" if n % 3 else "")
        if n % 4 == 0:
            timeline.record(lead, EventKind.PAGE_VIEWED, data={"url": "https://a.example/pricing"})
        if n == 5:
            timeline.record(lead, EventKind.EMAIL_REPLIED, data={})
        made.append(lead)
    return made


def stored(lead: Lead) -> tuple[int, int, int]:
    lead.refresh_from_db()
    return lead.score, lead.fit_score, lead.engagement_score


def test_bulk_rescore_writes_what_the_engine_computes(leads, monkeypatch):
    monkeypatch.setattr(bulk, "BATCH_SIZE", 5)
    seen = []
    job = bulk.start_rescore(actor=None, enqueue=False)
    assert job.total == 12
    bulk.run_rescore(job, on_progress=lambda job: seen.append(job.processed))
    assert seen == [5, 10, 12, 12]
    assert (job.status, job.processed, job.percent) == (JobStatus.DONE, 12, 100)
    config, now = load_config(), timezone.now()
    for lead in leads:
        result = evaluate(lead, config.scorer, now)
        assert stored(lead) == (result.total, result.fit, result.engagement)
    assert job.changed == sum(1 for lead in leads if lead.score != 0)
    assert ScoringState.load().last_full_rescore_at == job.finished_at


def test_a_second_rescore_changes_nothing(leads):
    bulk.run_rescore(bulk.start_rescore(actor=None, enqueue=False))
    again = bulk.run_rescore(bulk.start_rescore(actor=None, enqueue=False))
    assert (again.processed, again.changed) == (12, 0)


def test_bulk_rescore_writes_no_score_events_but_queues_mql_moves(leads):
    lead = leads[5]  # software, phone, reply: 70
    job = bulk.run_rescore(bulk.start_rescore(actor=None, enqueue=False))
    assert stored(lead)[0] == 70
    assert Lead.objects.get(pk=lead.pk).stage == Stage.LEAD
    assert not lead.events.filter(kind=EventKind.SCORE_CHANGED).exists()
    assert job.crossed == 1
    assert list(PendingPromotion.objects.values_list("lead_id", flat=True)) == [lead.pk]

    assert promote_pending() == 1
    lead.refresh_from_db()
    assert lead.stage == Stage.MQL
    changed = lead.events.get(kind=EventKind.SCORE_CHANGED)
    assert changed.data == {"from": 0, "to": 70, "fit": 30, "engagement": 40, "rescore": True}
    assert PendingPromotion.objects.count() == 0


def test_an_interrupted_rescore_resumes_after_the_last_lead_done(leads, monkeypatch):
    monkeypatch.setattr(bulk, "BATCH_SIZE", 5)
    job = bulk.start_rescore(actor=None, enqueue=False)
    real = bulk._score_batch
    calls = []

    def crash_on_second(*args):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("worker killed")
        return real(*args)

    monkeypatch.setattr(bulk, "_score_batch", crash_on_second)
    with pytest.raises(RuntimeError):
        bulk.run_rescore(job)
    job.refresh_from_db()
    assert (job.status, job.processed, job.last_lead_id) == (JobStatus.FAILED, 5, leads[4].pk)
    assert stored(leads[-1]) == (0, 0, 0)

    monkeypatch.setattr(bulk, "_score_batch", real)
    bulk.resume_rescore(job=job, enqueue=False)
    bulk.run_rescore_job(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.processed) == (JobStatus.DONE, 12)
    assert stored(leads[-1]) != (0, 0, 0)


def test_rescore_command_prints_how_many_changed(leads):
    out, err = StringIO(), StringIO()
    call_command("rescore", stdout=out, stderr=err)
    assert "Rescored 12 leads" in out.getvalue()
    changed = sum(1 for lead in leads if stored(lead)[0] != 0)
    assert f"{changed} changed" in out.getvalue()
    assert "100%" in err.getvalue()
    ScoringRule.objects.filter(condition="has_phone").update(points=11)
    out = StringIO()
    call_command("rescore", stdout=out, stderr=StringIO())
    with_phone = sum(1 for n in range(12) if n % 3)
    assert f"{with_phone} changed" in out.getvalue()


def test_the_task_claims_a_queued_job_once(leads):
    job = bulk.start_rescore(actor=None, enqueue=False)
    assert bulk.run_rescore_job(job_id=job.pk) is not None
    assert bulk.run_rescore_job(job_id=job.pk) is None
    assert RescoreJob.objects.get(pk=job.pk).status == JobStatus.DONE
