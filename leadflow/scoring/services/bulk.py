"""Recompute every lead's rule score in batches: after a rule change, daily for decay, or from the terminal.

Constant memory: leads are read in id order, BATCH_SIZE at a time, with the events the
rules read for that id range in one raw query; the engine scores each lead, and only
the leads whose score changed are written, with one executemany per batch guarded by
the old values (a lead rescored by the event job meanwhile is left alone). The job row
keeps the last lead id done, in the same transaction as the batch's writes, so a
killed run resumes where it stopped.

A bulk rescore writes no SCORE_CHANGED events: a rule change can move most of a million
scores at once, and a million timeline rows that all say "the rules changed" would bury
each lead's real history. The job row records who started it, when, how many leads were
scored and changed. The exception is a lead pushed over the MQL threshold: it is queued
(PendingPromotion) and the worker records its SCORE_CHANGED and moves it to MQL, so the
timeline explains every stage change.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from functools import partial

from django.db import connection, transaction
from django.utils import timezone

from leadflow.scoring.models import JobStatus, PendingPromotion, RescoreJob, RescoreReason, ScoringState
from leadflow.scoring.services.refresh import LEAD_FIELDS, PROMOTABLE_STAGES, Config, crossed, load_config

BATCH_SIZE = 5000
STALLED_AFTER = timedelta(minutes=5)
LEAD_COLUMNS = ("id", *LEAD_FIELDS, "score", "fit_score", "engagement_score", "stage")


def start_rescore(*, actor, reason: str = RescoreReason.RULES, enqueue: bool = True) -> RescoreJob:
    """Queue a recompute of every lead's score; the worker runs it and the page shows its progress."""
    job = RescoreJob(reason=reason, started_by=actor, total=_active_leads())
    with transaction.atomic():
        job.save()
        if enqueue:
            transaction.on_commit(partial(_enqueue, job.pk))
    return job


def _enqueue(job_id: int) -> None:
    from leadflow.scoring import tasks

    tasks.run_rescore_job.enqueue(job_id=job_id)


def _active_leads() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM leads_lead WHERE status = 'active'")
        return cursor.fetchone()[0]


def run_rescore_job(*, job_id: int) -> RescoreJob | None:
    """Claim a queued job and run it to the end; None if another worker has it."""
    claimed = RescoreJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, updated_at=timezone.now()
    )
    if not claimed:
        return None
    return run_rescore(RescoreJob.objects.get(pk=job_id))


def run_rescore(
    job: RescoreJob, *, on_progress: Callable[[RescoreJob], None] | None = None, now: datetime | None = None
) -> RescoreJob:
    """Work through the job batch by batch from its last lead; mark it done or failed."""
    config = load_config()
    try:
        while _run_batch(job, config, now or timezone.now()):
            if on_progress:
                on_progress(job)
    except Exception as error:
        _finish(job, JobStatus.FAILED, f"Stopped by an unexpected error: {error}")
        raise
    _finish(job, JobStatus.DONE)
    ScoringState.load()
    ScoringState.objects.filter(pk=1).update(last_full_rescore_at=job.finished_at)
    if on_progress:
        on_progress(job)
    return job


def _finish(job: RescoreJob, status: str, error: str = "") -> None:
    job.status, job.error, job.finished_at = status, error, timezone.now()
    job.updated_at = job.finished_at
    job.total = max(job.total, job.processed)
    job.save(update_fields=["status", "error", "finished_at", "updated_at", "total"])


def _run_batch(job: RescoreJob, config: Config, now: datetime) -> bool:
    leads = _lead_rows(job.last_lead_id, BATCH_SIZE)
    if not leads:
        return False
    events = _event_rows(leads[0][0], leads[-1][0], config.scorer.event_kinds)
    changed, promotions = _score_batch(leads, events, config, now)
    with transaction.atomic():
        if changed:
            _write_scores(changed, now)
        if promotions:
            PendingPromotion.objects.bulk_create(
                [PendingPromotion(job_id=job.pk, created_at=now, **values) for values in promotions]
            )
        job.processed += len(leads)
        job.changed += len(changed)
        job.crossed += len(promotions)
        job.last_lead_id = leads[-1][0]
        job.updated_at = timezone.now()
        job.save(update_fields=["processed", "changed", "crossed", "last_lead_id", "updated_at"])
    return True


def _lead_rows(after_id: int, limit: int) -> list[tuple]:
    columns = ", ".join(LEAD_COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM leads_lead WHERE id > %s AND status = 'active' ORDER BY id LIMIT %s",  # noqa: S608
            [after_id, limit],
        )
        return cursor.fetchall()


def _event_rows(first_id: int, last_id: int, kinds: list[str]) -> list[tuple]:
    """Return (lead_id, kind, epoch seconds, data text) of the rules' kinds for leads first..last."""
    if not kinds:
        return []
    marks = ", ".join(["%s"] * len(kinds))
    if connection.vendor == "sqlite":
        # INDEXED BY: walk the lead's index; the planner would otherwise pick the kind index.
        sql = (
            "SELECT lead_id, kind, (julianday(occurred_at) - 2440587.5) * 86400.0, data "  # noqa: S608
            "FROM leads_timelineevent INDEXED BY event_lead_time "
            f"WHERE lead_id >= %s AND lead_id <= %s AND kind IN ({marks})"
        )
    else:
        sql = (
            "SELECT lead_id, kind, EXTRACT(EPOCH FROM occurred_at)::float8, data::text "  # noqa: S608
            f"FROM leads_timelineevent WHERE lead_id >= %s AND lead_id <= %s AND kind IN ({marks})"
        )
    with connection.cursor() as cursor:
        cursor.execute(sql, [first_id, last_id, *kinds])
        return cursor.fetchall()


def _score_batch(leads: list[tuple], events: list[tuple], config: Config, now: datetime):
    by_lead: dict[int, list[tuple]] = {}
    for lead_id, kind, at, data in events:
        by_lead.setdefault(lead_id, []).append((kind, at, data))
    scorer, threshold, now_s = config.scorer, config.threshold, now.timestamp()
    changed, promotions = [], []
    field_count = len(LEAD_FIELDS)
    for row in leads:
        lead_id = row[0]
        values = dict(zip(LEAD_FIELDS, row[1 : 1 + field_count], strict=True))
        score, fit, engagement, stage = row[1 + field_count :]
        new_fit, new_engagement = scorer.totals(values, by_lead.get(lead_id, ()), now_s)
        total = new_fit + new_engagement
        if (total, new_fit, new_engagement) == (score, fit, engagement):
            continue
        changed.append((total, new_fit, new_engagement, lead_id, score, fit, engagement))
        if crossed(score, total, threshold) and stage in PROMOTABLE_STAGES:
            promotions.append(
                {"lead_id": lead_id, "from_score": score, "to_score": total, "fit": new_fit,
                 "engagement": new_engagement}
            )  # fmt: skip
    return changed, promotions


def _write_scores(changed: list[tuple], now: datetime) -> None:
    """Write the new scores, each guarded by the old ones: a lead rescored meanwhile is left alone."""
    if connection.vendor == "postgresql":
        # One statement per batch: the rows travel as seven arrays.
        columns = [list(column) for column in zip(*changed, strict=True)]
        sql = (
            "UPDATE leads_lead AS l SET score = v.total, fit_score = v.fit, engagement_score = v.eng, "
            "score_updated_at = %s "
            "FROM unnest(%s::int[], %s::int[], %s::int[], %s::bigint[], %s::int[], %s::int[], %s::int[]) "
            "AS v(total, fit, eng, id, old, old_fit, old_eng) "
            "WHERE l.id = v.id AND l.score = v.old AND l.fit_score = v.old_fit AND l.engagement_score = v.old_eng"
        )
        with connection.cursor() as cursor:
            cursor.execute(sql, [now, *columns])
        return
    stamp = now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
    sql = (
        "UPDATE leads_lead SET score = %s, fit_score = %s, engagement_score = %s, score_updated_at = %s "
        "WHERE id = %s AND score = %s AND fit_score = %s AND engagement_score = %s"
    )
    rows = [(total, fit, eng, stamp, *rest) for total, fit, eng, *rest in changed]
    with connection.cursor() as cursor:
        cursor.executemany(sql, rows)


def is_stalled(job: RescoreJob) -> bool:
    """Return True for a running job with no progress for a while: its worker died."""
    return job.status == JobStatus.RUNNING and timezone.now() - job.updated_at > STALLED_AFTER


def resume_rescore(*, job: RescoreJob, enqueue: bool = True) -> RescoreJob:
    """Queue a stalled or failed job again; it continues after the last lead it finished."""
    RescoreJob.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED, error="", updated_at=timezone.now())
    if enqueue:
        transaction.on_commit(partial(_enqueue, job.pk))
    job.refresh_from_db()
    return job
