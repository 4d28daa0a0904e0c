"""Uploaded files, saved column mappings, import runs and what each batch of a run did (for its report and undo)."""

from __future__ import annotations

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.urls import reverse
from django.utils import timezone


class ImportFile(models.Model):
    """A file to import: uploaded ones are kept in the database in chunks, so any worker can read them."""

    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="import_files"
    )
    name = models.CharField(max_length=255)
    size = models.BigIntegerField(default=0)
    sha256 = models.CharField(max_length=64, blank=True)
    path = models.CharField(max_length=4096, blank=True, help_text="A file on this machine (the command line).")
    format = models.CharField(max_length=8, blank=True)
    encoding = models.CharField(max_length=32, blank=True)
    delimiter = models.CharField(max_length=4, blank=True)
    headers = models.JSONField(default=list)
    sample = models.JSONField(default=list, help_text="The first rows, for the preview.")
    notes = models.JSONField(default=list)
    complete = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    def get_absolute_url(self) -> str:
        return reverse("imports:file", args=[self.pk])


class ImportChunk(models.Model):
    file = models.ForeignKey(ImportFile, on_delete=models.CASCADE, related_name="chunks")
    seq = models.PositiveIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["file", "seq"], name="import_chunk_seq")]

    def __str__(self) -> str:
        return f"{self.file_id}:{self.seq}"


class ImportMapping(models.Model):
    """A named column mapping, offered again for files with the same columns."""

    name = models.CharField(max_length=80, unique=True)
    signature = models.CharField(max_length=64, db_index=True, help_text="The columns it was made for.")
    headers = models.JSONField(default=list)
    spec = models.JSONField(default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    by_admin = models.BooleanField(default=False, help_text="Saved by an admin, so it may map owner and match key.")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


class UndoStatus(models.TextChoices):
    NONE = "", "Not undone"
    QUEUED = "queued", "Undo queued"
    RUNNING = "running", "Undoing"
    DONE = "done", "Undone"
    FAILED = "failed", "Undo failed"


class ImportJob(models.Model):
    """One run of a file through a mapping: a dry run that only reports, or the import itself."""

    file = models.ForeignKey(ImportFile, on_delete=models.CASCADE, related_name="jobs")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="import_jobs"
    )
    mapping = models.JSONField(default=dict)
    mapping_name = models.CharField(max_length=80, blank=True)
    dry_run = models.BooleanField(default=False)
    status = models.CharField(max_length=8, choices=JobStatus.choices, default=JobStatus.QUEUED)
    records_done = models.PositiveBigIntegerField(
        default=0, help_text="Records read and committed; a resume skips them."
    )
    rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    updated = models.PositiveIntegerField(default=0)
    duplicates = models.PositiveIntegerField(default=0)
    errors = models.PositiveIntegerField(default=0)
    progress = models.FloatField(default=0.0)
    error = models.TextField(blank=True)
    notes = models.JSONField(default=list)
    created_at = models.DateTimeField(default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(default=timezone.now)
    finished_at = models.DateTimeField(null=True, blank=True)
    undo_status = models.CharField(max_length=8, choices=UndoStatus.choices, default=UndoStatus.NONE, blank=True)
    undo_summary = models.JSONField(default=dict, blank=True)
    undone_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    undone_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        kind = "Dry run" if self.dry_run else "Import"
        return f"{kind} #{self.pk} of {self.file.name} ({self.get_status_display()})"

    def get_absolute_url(self) -> str:
        return reverse("imports:job", args=[self.pk])

    @property
    def percent(self) -> int:
        if self.status == JobStatus.DONE:
            return 100
        return min(99, int(self.progress * 100))

    @property
    def is_finished(self) -> bool:
        return self.status in {JobStatus.DONE, JobStatus.FAILED}

    @property
    def waiting_long(self) -> bool:
        """Return True for a job no worker has picked up for a minute."""
        return self.status == JobStatus.QUEUED and (timezone.now() - self.created_at).total_seconds() > 60

    @property
    def seconds(self) -> float:
        if not self.started_at:
            return 0.0
        return round(((self.finished_at or timezone.now()) - self.started_at).total_seconds(), 2)

    @property
    def can_undo(self) -> bool:
        return not self.dry_run and self.is_finished and self.undo_status in {UndoStatus.NONE, UndoStatus.FAILED}

    def summary(self) -> dict[str, int | float]:
        return {
            "created": self.created,
            "updated": self.updated,
            "duplicates": self.duplicates,
            "errors": self.errors,
            "rows": self.rows,
            "seconds": self.seconds,
        }


class ImportBatch(models.Model):
    """What one batch of a run did: leads created, before and after values of leads changed, rows refused."""

    job = models.ForeignKey(ImportJob, on_delete=models.CASCADE, related_name="batches")
    seq = models.PositiveIntegerField()
    first_row = models.PositiveBigIntegerField(default=0)
    last_row = models.PositiveBigIntegerField(default=0)
    created_ids = models.JSONField(default=list)
    changes = models.JSONField(default=list, encoder=DjangoJSONEncoder)
    problems = models.JSONField(default=list, help_text="[row, column, reason] for each refused row.")

    class Meta:
        ordering = ["job", "seq"]
        constraints = [models.UniqueConstraint(fields=["job", "seq"], name="import_batch_seq")]

    def __str__(self) -> str:
        return f"batch {self.seq} of import {self.job_id}"
