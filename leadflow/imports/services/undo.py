"""Undo an import: remove the leads it created and put back the values it changed, unless changed since."""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import ProtectedError, Q
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from leadflow.accounts.models import User
from leadflow.imports.models import ImportBatch, ImportJob, UndoStatus
from leadflow.imports.services.run import plain
from leadflow.leads import timeline
from leadflow.leads.errors import LeadError
from leadflow.leads.models import Company, EventKind, Lead, LeadStatus
from leadflow.leads.normalise import email_key
from leadflow.leads.services import assign_owner

DATETIME_FIELDS = frozenset({"consent_at"})


def may_undo(job: ImportJob, user) -> bool:
    """The person who ran an import, or an admin, may undo it."""
    return user is not None and (user.is_admin or job.user_id == user.pk)


def start_undo(*, job: ImportJob, actor, enqueue: bool = True) -> ImportJob:
    """Queue the undo of a finished import."""
    if not job.can_undo:
        raise LeadError("not_undoable", "Only a finished import that is not undone already can be undone.")
    with transaction.atomic():
        claimed = ImportJob.objects.filter(pk=job.pk, undo_status__in=[UndoStatus.NONE, UndoStatus.FAILED]).update(
            undo_status=UndoStatus.QUEUED, undone_by=actor, updated_at=timezone.now()
        )
        if not claimed:
            raise LeadError("not_undoable", "This import is being undone already.")
        if enqueue:
            transaction.on_commit(partial(_enqueue, job.pk))
    job.refresh_from_db()
    return job


def _enqueue(job_id: int) -> None:
    from leadflow.imports import tasks

    tasks.undo_import.enqueue(job_id=job_id)


def run_undo(*, job_id: int) -> ImportJob | None:
    """Undo a queued import batch by batch, newest first; each batch is undone in one transaction."""
    claimed = ImportJob.objects.filter(pk=job_id, undo_status=UndoStatus.QUEUED).update(undo_status=UndoStatus.RUNNING)
    if not claimed:
        return None
    job = ImportJob.objects.select_related("undone_by").get(pk=job_id)
    summary = {"deleted": 0, "restored": 0, "kept": 0, "kept_fields": 0}
    try:
        for batch in job.batches.order_by("-seq").iterator(chunk_size=20):
            with transaction.atomic():
                _undo_batch(job, batch, summary)
    except Exception as error:
        _finish(job, UndoStatus.FAILED, {**summary, "error": str(error)})
        raise
    _finish(job, UndoStatus.DONE, summary)
    return job


def _finish(job: ImportJob, status: str, summary: dict) -> None:
    job.undo_status, job.undo_summary = status, summary
    job.undone_at = timezone.now() if status == UndoStatus.DONE else None
    job.save(update_fields=["undo_status", "undo_summary", "undone_at"])


def _undo_batch(job: ImportJob, batch: ImportBatch, summary: dict) -> None:
    for change in reversed(batch.changes):
        _restore(job, change, summary)
    _delete_created(job, batch, summary)
    batch.changes, batch.created_ids = [], []
    batch.save(update_fields=["changes", "created_ids"])


def _delete_created(job: ImportJob, batch: ImportBatch, summary: dict) -> None:
    """Delete the leads this batch created, except those changed or used since the import finished."""
    ids = batch.created_ids
    if not ids:
        return
    untouched = Lead.objects.filter(pk__in=ids, status=LeadStatus.ACTIVE).exclude(
        Q(updated_at__gt=job.finished_at) | Q(last_activity_at__gt=job.finished_at)
    )
    deletable = list(untouched.exclude(merged_leads__isnull=False).values_list("pk", flat=True))
    try:
        with transaction.atomic():
            Lead.objects.filter(pk__in=deletable).delete()
    except ProtectedError:
        deletable = _delete_one_by_one(deletable)
    summary["deleted"] += len(deletable)
    summary["kept"] += len(ids) - len(deletable)


def _delete_one_by_one(ids: list[int]) -> list[int]:
    deleted = []
    for lead_id in ids:
        try:
            with transaction.atomic():
                Lead.objects.filter(pk=lead_id).delete()
        except ProtectedError:
            continue
        deleted.append(lead_id)
    return deleted


def _value(name: str, value: Any) -> Any:
    if name in DATETIME_FIELDS and isinstance(value, str):
        return parse_datetime(value)
    return value


def _restore(job: ImportJob, change: dict, summary: dict) -> None:
    """Put back each value the import changed on a lead, where the lead still holds what the import left."""
    lead = Lead.objects.select_for_update().filter(pk=change["lead"], status=LeadStatus.ACTIVE).first()
    if lead is None:
        summary["kept"] += 1
        return
    before, after = change["before"], change["after"]
    diff: dict[str, list] = {}
    kept = 0
    for name in before:
        if name == "owner_id":
            continue
        if name == "custom":
            kept += _restore_custom(lead, before["custom"] or {}, after["custom"] or {}, diff)
        elif plain(getattr(lead, name)) == after[name]:
            diff[name] = [after[name], before[name]]
            setattr(lead, name, _value(name, before[name]))
        else:
            kept += 1
    if "company_id" in diff and before["company_id"] and not Company.objects.filter(pk=before["company_id"]).exists():
        lead.company_id = None
    if "email" in diff:
        lead.email_key = email_key(lead.email)
    summary["kept_fields"] += kept
    if diff:
        _save_restored(job, lead, diff)
    if "owner_id" in before and lead.owner_id == after["owner_id"]:
        owner = User.objects.filter(pk=before["owner_id"]).first() if before["owner_id"] else None
        assign_owner(lead=lead, owner=owner, actor=job.undone_by)
        diff["owner_id"] = [after["owner_id"], before["owner_id"]]
    if diff:
        summary["restored"] += 1


def _restore_custom(lead: Lead, before: dict, after: dict, diff: dict) -> int:
    """Put back custom fields one by one; return how many were changed since and so left alone."""
    current = dict(lead.custom)
    kept = 0
    for key in {*before, *after}:
        if plain(current.get(key)) != after.get(key):
            kept += 1
        elif key in before:
            current[key] = before[key]
        else:
            current.pop(key, None)
    if current != lead.custom:
        diff["custom"] = [lead.custom, current]
        lead.custom = current
    return kept


def _save_restored(job: ImportJob, lead: Lead, diff: dict) -> None:
    now: datetime = timezone.now()
    lead.updated_at = now
    lead.version += 1
    try:
        with transaction.atomic():
            lead.save()
    except IntegrityError:
        if "email" not in diff:
            raise
        # The old email belongs to another lead now: keep the imported one rather than break one person, one lead.
        lead.email = diff.pop("email")[0]
        lead.email_key = email_key(lead.email)
        lead.save()
    timeline.record(
        lead,
        EventKind.UPDATED,
        actor=job.undone_by,
        occurred_at=now,
        data={"changes": {k: v for k, v in diff.items() if k != "company_id"}, "reason": f"Import #{job.pk} undone"},
    )
