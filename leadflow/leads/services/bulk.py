"""Bulk actions over every lead matching a filter: a job row, worked through in batches."""

from __future__ import annotations

from datetime import timedelta
from functools import partial

from django.db import transaction
from django.http import QueryDict
from django.utils import timezone

from leadflow.accounts.models import User
from leadflow.leads import queries
from leadflow.leads.errors import FieldErrors, LeadError
from leadflow.leads.models import BulkAction, BulkJob, JobStatus, Lead, Stage
from leadflow.leads.services.records import bulk_assign
from leadflow.leads.services.stages import bulk_change_stage, clean_reason

BATCH_SIZE = 500
STALLED_AFTER = timedelta(minutes=5)
IGNORED_PARAMS = ("cursor", "sort", "page")


def _filters_query(query: str) -> str:
    params = QueryDict(query, mutable=True)
    for name in IGNORED_PARAMS:
        params.pop(name, None)
    return params.urlencode()


def _matching(job: BulkJob) -> Lead.objects.__class__:
    filters = queries.parse_filters(QueryDict(job.query))
    return queries.apply_filters(Lead.objects.visible_to(job.user), filters, job.user)


def _owner(value: str) -> User | None:
    if value == "":
        return None
    owner = User.objects.filter(pk=int(value) if value.isdigit() else -1, is_active=True).first()
    if owner is None:
        raise FieldErrors({"owner": "No active user with that id."})
    return owner


def _check_value(actor, action: str, value: str, reason: str) -> str:
    """Check the action's value; return the reason to store (cleaned, for a stage that needs one)."""
    if action == BulkAction.STAGE:
        if value not in Stage.values:
            raise FieldErrors({"stage": f"must be one of {', '.join(Stage.values)}."})
        return clean_reason(stage=value, reason=reason, actor=actor)
    elif action == BulkAction.ASSIGN:
        owner = _owner(value)
        if not actor.may_assign_to(owner):
            raise LeadError("forbidden_owner", f"You may not assign leads to {owner or 'nobody'}.", field="owner")
    else:
        raise FieldErrors({"action": f"must be one of {', '.join(BulkAction.values)}."})
    return ""


def start_bulk_job(*, actor, query: str, action: str, value: str, reason: str = "") -> BulkJob:
    """Queue `action` for every lead the actor sees that matches the filters in `query`.

    A stage change to disqualified or recycled needs its `reason`; leads the lifecycle
    rules or the qualification gate keep where they are are skipped and counted by why.
    """
    reason = _check_value(actor, action, value, reason)
    job = BulkJob(user=actor, action=action, query=_filters_query(query), value=value, reason=reason)
    job.total = _matching(job).count()
    with transaction.atomic():
        job.save()
        transaction.on_commit(partial(_enqueue, job.pk))
    return job


def _enqueue(job_id: int) -> None:
    from leadflow.leads import tasks

    tasks.run_bulk_job.enqueue(job_id=job_id)


def run_bulk_job(*, job_id: int) -> BulkJob | None:
    """Work through a queued job batch by batch; a rerun continues after the last lead done."""
    claimed = BulkJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, updated_at=timezone.now()
    )
    if not claimed:
        return None
    job = BulkJob.objects.select_related("user").get(pk=job_id)
    try:
        while _run_batch(job):
            pass
    except (LeadError, FieldErrors) as error:
        _finish(job, JobStatus.FAILED, error.message)
    except Exception as error:
        _finish(job, JobStatus.FAILED, f"Stopped by an unexpected error: {error}")
        raise
    else:
        _finish(job, JobStatus.DONE)
    return job


def _run_batch(job: BulkJob) -> bool:
    ids = list(_matching(job).filter(pk__gt=job.last_lead_id).order_by("pk").values_list("pk", flat=True)[:BATCH_SIZE])
    if not ids:
        return False
    if job.action == BulkAction.ASSIGN:
        changed = bulk_assign(lead_ids=ids, owner=_owner(job.value), actor=job.user)
    else:
        moved = bulk_change_stage(lead_ids=ids, stage=job.value, actor=job.user, reason=job.reason)
        changed = moved.changed
        for code, count in moved.skipped.items():
            job.skipped[code] = job.skipped.get(code, 0) + count
    job.processed += len(ids)
    job.changed += changed
    job.last_lead_id = ids[-1]
    job.total = max(job.total, job.processed)
    job.updated_at = timezone.now()
    job.save(update_fields=["processed", "changed", "skipped", "last_lead_id", "total", "updated_at"])
    return True


def _finish(job: BulkJob, status: str, error: str = "") -> None:
    job.status, job.error, job.finished_at = status, error, timezone.now()
    job.updated_at = job.finished_at
    job.save(update_fields=["status", "error", "finished_at", "updated_at"])


def is_stalled(job: BulkJob) -> bool:
    """Return True for a running job with no progress for a while: its worker died."""
    return job.status == JobStatus.RUNNING and timezone.now() - job.updated_at > STALLED_AFTER


def resume_bulk_job(*, job: BulkJob, actor) -> BulkJob:
    """Queue a stalled or failed job again; it continues after the last lead it finished."""
    if not (is_stalled(job) or job.status == JobStatus.FAILED):
        raise LeadError("not_resumable", "Only a failed job, or one without progress for 5 minutes, can be resumed.")
    with transaction.atomic():
        BulkJob.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED, error="", updated_at=timezone.now())
        transaction.on_commit(partial(_enqueue, job.pk))
    job.refresh_from_db()
    return job
