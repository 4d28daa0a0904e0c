"""Run an import (or a dry run) in batches: stream rows, map them, record leads a thousand at a time, keep count."""

from __future__ import annotations

import gc
import itertools
import json
from collections.abc import Callable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from leadflow.accounts.models import User
from leadflow.imports.access import is_admin
from leadflow.imports.mapping import Mapping, MappingError, RowMapper, check_mapping
from leadflow.imports.models import ImportBatch, ImportFile, ImportJob, ImportMapping, JobStatus
from leadflow.imports.readers import ReadError, Record, open_table
from leadflow.imports.readers.text import fallback_count
from leadflow.imports.services.files import source_for
from leadflow.imports.services.memory import OwnerFinder, RunMemory
from leadflow.imports.services.prepare import Prepared, prepared_batches
from leadflow.leads.errors import FieldErrors, LeadError
from leadflow.leads.services import assign_owner
from leadflow.leads.services.batch import MAX_BATCH, BatchOutcome, record_cleaned_batch
from leadflow.lib.db import unsynced_transaction
from leadflow.lib.sqlite.checkpoints import checkpointing_in_background

# Rows recorded and committed together.
BATCH_ROWS = 5 * MAX_BATCH
STALLED_AFTER = timedelta(minutes=5)
# SQLite: how much WAL an import lets grow before copying it into the database (see _sqlite_for_bulk_writes).
IMPORT_WAL_BYTES = 256 * 1024 * 1024
# New objects between two runs of the youngest collection while importing (Python's default is 700).
GC_THRESHOLD = 50_000
# The lead fields an import can change; their values before and after are kept so undo can put them back.
TRACKED_FIELDS = (
    "first_name", "last_name", "email", "phone", "title", "company_name", "company_id",
    "latest_source", "latest_medium", "latest_campaign", "latest_referrer", "latest_landing_page",
    "custom", "consent_status", "consent_at", "consent_source",
    "country", "industry", "company_size", "time_zone",
    "budget", "budget_amount", "authority", "need", "need_notes", "purchase_timeline",
)  # fmt: skip


def may_use_mapping(user, mapping: Mapping, mapping_name: str = "") -> bool:
    """Return True when `user` may import with `mapping`: restricted columns need an admin's mapping."""
    if not mapping.restricted or is_admin(user):
        return True
    saved = ImportMapping.objects.filter(name=mapping_name, by_admin=True).first() if mapping_name else None
    return saved is not None and Mapping.from_json(saved.spec).as_json() == mapping.as_json()


def start_import(
    *, file: ImportFile, mapping: Mapping, user, dry_run: bool, mapping_name: str = "", enqueue: bool = True
) -> ImportJob:
    """Queue a run of `file` through `mapping`; a dry run reports what would happen and changes nothing."""
    check_mapping(mapping, file.headers, admin=may_use_mapping(user, mapping, mapping_name))
    with transaction.atomic():
        job = ImportJob.objects.create(
            file=file, user=user, mapping=mapping.as_json(), mapping_name=mapping_name, dry_run=dry_run
        )
        if enqueue:
            transaction.on_commit(partial(_enqueue, job.pk))
    return job


def _enqueue(job_id: int) -> None:
    from leadflow.imports import tasks

    tasks.run_import.enqueue(job_id=job_id)


def run_import_job(*, job_id: int) -> ImportJob | None:
    """Claim a queued job and run it to the end; a job claimed by another worker is left alone."""
    claimed = ImportJob.objects.filter(pk=job_id, status=JobStatus.QUEUED).update(
        status=JobStatus.RUNNING, updated_at=timezone.now()
    )
    if not claimed:
        return None
    job = ImportJob.objects.select_related("file", "user").get(pk=job_id)
    return run_import(job)


def run_import(job: ImportJob, on_progress: Callable[[ImportJob], None] | None = None) -> ImportJob:
    """Run a claimed job batch by batch from where it stopped; mark it done, or failed with the reason."""
    job.started_at = job.started_at or timezone.now()
    job.status = JobStatus.RUNNING
    job.save(update_fields=["started_at", "status"])
    try:
        _run(job, on_progress or (lambda job: None))
    except (ReadError, MappingError, LeadError) as error:
        _finish(job, JobStatus.FAILED, getattr(error, "message", None) or str(error))
    except Exception as error:
        _finish(job, JobStatus.FAILED, f"Stopped by an unexpected error: {error}")
        raise
    else:
        _finish(job, JobStatus.DONE)
    return job


def _finish(job: ImportJob, status: str, error: str = "") -> None:
    job.status, job.error, job.finished_at = status, error, timezone.now()
    job.updated_at = job.finished_at
    if status == JobStatus.DONE:
        job.progress = 1.0
    job.save(update_fields=["status", "error", "finished_at", "updated_at", "progress", "notes"])


@contextmanager
def _sqlite_for_bulk_writes() -> Iterator[Callable[[], None]]:
    """Set the import's SQLite connection for writing batch after batch; yield what to call after each commit.

    - Read the file through SQLite's bounded page cache, not a memory map. An import
      touches index pages all over a growing database; mapped, they count towards the
      importer's resident memory and grow with the file. The cache has a fixed size.
    - Copy the WAL into the database every IMPORT_WAL_BYTES rather than after every
      batch. A batch dirties index pages all over the indexes, and the next batches
      dirty many of the same pages again: a checkpoint copies each page once, however
      many batches changed it, so checkpointing less often copies fewer pages in all.
      The copy runs on a connection of its own beside the next batches (see
      leadflow.lib.sqlite.checkpoints).
    """
    if connection.vendor != "sqlite":
        yield _nothing
        return
    connection.ensure_connection()
    raw = connection.connection
    row = raw.execute("PRAGMA mmap_size").fetchone()
    if row is None:  # an in-memory database has no file to map or log to copy
        yield _nothing
        return
    raw.execute("PRAGMA mmap_size = 0")
    try:
        with checkpointing_in_background(raw, IMPORT_WAL_BYTES) as checkpoints:
            yield partial(checkpoints.after_commit, raw) if checkpoints is not None else _nothing
    finally:
        raw.execute(f"PRAGMA mmap_size = {int(row[0])}")


def _nothing() -> None:
    pass


@contextmanager
def _fewer_collections() -> Iterator[None]:
    """Run the cyclic garbage collector rarely while importing, and never over what existed before.

    An import allocates and drops millions of objects that hold no cycles (rows, leads,
    statement parameters); with the default thresholds the collector keeps walking
    every object in the process, Django's included, for nothing.
    """
    thresholds = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, *thresholds[1:])
    try:
        yield
    finally:
        gc.set_threshold(*thresholds)
        gc.unfreeze()


def _run(job: ImportJob, on_progress: Callable[[ImportJob], None]) -> None:
    table = open_table(source_for(job.file))
    try:
        if table.headers != job.file.headers:
            raise ReadError("The file's columns are not the ones it had when it was uploaded.")
        mapping = Mapping.from_json(job.mapping)
        mapper = RowMapper(mapping, table.headers)
        run = _Run(job, mapper, RunMemory.of(job))
        batches = _batches(_skip(table.rows, job.records_done), BATCH_ROWS)
        with (
            _fewer_collections(),
            _sqlite_for_bulk_writes() as after_commit,
            closing(
                prepared_batches(
                    mapper, batches, table.progress, file_size=job.file.size, readable_apart=bool(job.file.path)
                )
            ) as prepared,
        ):
            for rows, progress in prepared:
                run.batch(rows, progress)
                after_commit()
                on_progress(job)
        if fallback_count():
            job.notes = [*job.notes, f"{fallback_count():,} bytes were not UTF-8 and were read as Windows-1252."]
    finally:
        table.close()


def _skip(records: Iterator[Record], count: int) -> Iterator[Record]:
    """Skip the records a previous run committed: the file is read again from the start, in the same order."""
    return itertools.islice(records, count, None)


def _batches(records: Iterator[Record], size: int) -> Iterator[list[Record]]:
    while chunk := list(itertools.islice(records, size)):
        yield chunk


@dataclass
class _Pending:
    number: int
    data: dict[str, Any] | LeadError
    owner: User | None = None


class _Run:
    def __init__(self, job: ImportJob, mapper: RowMapper, memory: RunMemory) -> None:
        self.job, self.mapper, self.memory = job, mapper, memory
        self.owners = OwnerFinder()

    def batch(self, rows: list[Prepared], progress: float) -> None:
        """Record and count one prepared batch, and commit it with the job's progress: all of it or none.

        The commit does not wait for the disk (see unsynced_transaction): a crash of the
        process loses nothing, and a power cut can lose only the last batches together
        with the progress that counts them, so a resumed job reads those rows again.
        The job's final save waits for the disk and with it everything before it.
        """
        problems: list[list] = []
        pending = [item for row in rows if (item := self._pending(row, problems)) is not None]
        errors = len(rows) - len(pending)
        with unsynced_transaction():
            outcomes = self._record(pending)
            counts, created_ids, changes = self._account(pending, outcomes, problems)
            counts["errors"] += errors
            problems.sort(key=lambda problem: problem[0])
            self.memory.seq += 1
            ImportBatch.objects.create(
                job=self.job,
                seq=self.memory.seq,
                first_row=rows[0].number,
                last_row=rows[-1].number,
                created_ids=created_ids,
                changes=changes,
                problems=problems,
            )
            self._count(counts, len(rows), progress)

    def _record(self, pending: list[_Pending]) -> list[BatchOutcome]:
        return record_cleaned_batch(
            cleaned=[item.data for item in pending],
            actor=self.job.user,
            channel="import",
            dry_run=self.job.dry_run,
            key=self.mapper.key,
        )

    def _pending(self, row: Prepared, problems: list[list]) -> _Pending | None:
        problems.extend([row.number, column, reason] for column, reason in row.problems)
        owner = None
        if row.owner:
            owner = self.owners.find(row.owner)
            if owner is None:
                reason = f"No active user has the username or email “{row.owner[:80]}”."
                problems.append([row.number, self.mapper.column_of("owner"), reason])
        if row.problems or (row.owner and owner is None):
            return None
        return _Pending(row.number, row.lead_input(), owner)

    def _account(
        self, pending: list[_Pending], outcomes: list[BatchOutcome], problems: list[list]
    ) -> tuple[dict[str, int], list[int], list[dict]]:
        counts = {"created": 0, "updated": 0, "duplicates": 0, "errors": 0}
        created_ids: list[int] = []
        touched: dict[int, dict] = {}
        for item, outcome in zip(pending, outcomes, strict=True):
            kind = self._classify(item, outcome, created_ids, touched)
            if kind == "errors":
                problems.extend([item.number, column, reason] for column, reason in self._reasons(outcome.error))
            counts[kind] += 1
        if not self.job.dry_run:
            self._assign_owners(pending, outcomes, touched)
        changes = [change for change in (_change_record(lead_id, info) for lead_id, info in touched.items()) if change]
        return counts, created_ids, changes

    def _classify(self, item: _Pending, outcome: BatchOutcome, created_ids: list[int], touched: dict) -> str:
        lead, key = outcome.lead, self.mapper.key
        if outcome.action == "error":
            return "errors"
        if outcome.action == "duplicate":
            return "duplicates"
        if outcome.action == "created":
            if self.job.dry_run:
                if self.memory.would_exist(lead, key):
                    return "duplicates"
                self.memory.remember(lead, key)
                return "created"
            self.memory.created.add(lead.pk)
            created_ids.append(lead.pk)
            return "created"
        seen = lead.pk in self.memory.created or lead.pk in self.memory.touched
        kind = "duplicates" if seen else "updated"
        if not self.job.dry_run and lead.pk not in self.memory.created:
            info = touched.setdefault(lead.pk, {"lead": lead, "before": outcome.before, "rows": []})
            info["rows"].append(item.number)
        self.memory.touched.add(lead.pk)
        return kind

    def _reasons(self, error: LeadError | None) -> list[tuple[str, str]]:
        if isinstance(error, FieldErrors):
            return [
                (self._column(name), _sentence(self._column(name), message)) for name, message in error.errors.items()
            ]
        if error is None:
            return [("", "This row could not be imported.")]
        return [(self._column(error.field or ""), error.message)]

    def _column(self, field_name: str) -> str:
        if field_name == "custom":
            return "(custom fields)"
        return self.mapper.column_of(field_name) or field_name

    def _assign_owners(self, pending: list[_Pending], outcomes: list[BatchOutcome], touched: dict) -> None:
        for item, outcome in zip(pending, outcomes, strict=True):
            lead = outcome.lead
            if item.owner is None or lead is None or lead.owner_id == item.owner.pk:
                continue
            if lead.pk in touched and "owner_id" not in touched[lead.pk]:
                touched[lead.pk]["owner_id"] = lead.owner_id
            assigned = assign_owner(lead=lead, owner=item.owner, actor=self.job.user)
            lead.owner_id, lead.team_id = assigned.owner_id, assigned.team_id

    def _count(self, counts: dict[str, int], records: int, progress: float) -> None:
        job = self.job
        job.created += counts["created"]
        job.updated += counts["updated"]
        job.duplicates += counts["duplicates"]
        job.errors += counts["errors"]
        job.rows += records
        job.records_done += records
        job.progress, job.updated_at = progress, timezone.now()
        job.save(
            update_fields=[
                "created",
                "updated",
                "duplicates",
                "errors",
                "rows",
                "records_done",
                "progress",
                "updated_at",
            ]
        )


def _sentence(column: str, message: str) -> str:
    """Return 'Email is not a valid…' from a field error that says only 'is not a valid…'."""
    return f"{column} {message}" if column and message[:1].islower() else message


def plain(value: Any) -> Any:
    """Return a value as it is kept in JSON, so values read now compare equal to values kept earlier."""
    return json.loads(json.dumps(value, cls=DjangoJSONEncoder))


def _change_record(lead_id: int, info: dict) -> dict | None:
    """Return the before and after values of the fields a batch changed on an existing lead."""
    lead, before = info["lead"], info["before"] or {}
    old = plain({name: before.get(name) for name in TRACKED_FIELDS if name in before})
    new = plain({name: getattr(lead, name) for name in old})
    if "owner_id" in info:
        old["owner_id"], new["owner_id"] = info["owner_id"], lead.owner_id
    changed = [name for name in old if old[name] != new[name]]
    if not changed:
        return None
    return {
        "lead": lead_id,
        "rows": info["rows"],
        "before": {name: old[name] for name in changed},
        "after": {name: new[name] for name in changed},
    }


def is_stalled(job: ImportJob) -> bool:
    """Return True for a running job with no progress for a while: its worker died."""
    return job.status == JobStatus.RUNNING and timezone.now() - job.updated_at > STALLED_AFTER


def resume_import(*, job: ImportJob, actor) -> ImportJob:
    """Queue a stalled or failed job again; it continues after the last batch it committed."""
    if job.undo_status:
        raise LeadError("not_resumable", "This import was undone; map its file again to run it anew.")
    if not (is_stalled(job) or job.status == JobStatus.FAILED):
        raise LeadError("not_resumable", "Only a failed import, or one without progress for 5 minutes, can be resumed.")
    with transaction.atomic():
        if job.dry_run:
            # A dry run keeps what it would create in memory only: start it again from the top.
            job.batches.all().delete()
            ImportJob.objects.filter(pk=job.pk).update(
                records_done=0, rows=0, created=0, updated=0, duplicates=0, errors=0, progress=0.0
            )
        ImportJob.objects.filter(pk=job.pk).update(status=JobStatus.QUEUED, error="", updated_at=timezone.now())
        transaction.on_commit(partial(_enqueue, job.pk))
    job.refresh_from_db()
    return job
