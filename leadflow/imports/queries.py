"""Reads for the import pages and the command line: jobs someone may see, mappings for a file, error reports."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator, Sequence

from django.db.models import QuerySet

from leadflow.imports.mapping import Mapping, headers_signature
from leadflow.imports.models import ImportFile, ImportJob, ImportMapping

PREVIEW_ERRORS = 50
# A spreadsheet runs a cell that starts with one of these as a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def jobs_visible_to(user) -> QuerySet[ImportJob]:
    """Return the import runs `user` may see: their own, or every one for an admin."""
    jobs = ImportJob.objects.select_related("file", "user")
    return jobs if user.is_admin else jobs.filter(user=user)


def files_visible_to(user) -> QuerySet[ImportFile]:
    files = ImportFile.objects.filter(complete=True)
    return files if user.is_admin else files.filter(uploaded_by=user)


def mappings_for(headers: Sequence[str]) -> list[ImportMapping]:
    """Return the saved mappings made for these same columns, most recently saved first."""
    return list(ImportMapping.objects.filter(signature=headers_signature(headers)).order_by("-updated_at"))


def saved_mapping(name: str) -> Mapping | None:
    saved = ImportMapping.objects.filter(name=name).first()
    return Mapping.from_json(saved.spec) if saved else None


def problems_of(job: ImportJob, limit: int | None = None) -> Iterator[tuple[int, str, str]]:
    """Yield (row, column, reason) for every row the run refused, in file order."""
    count = 0
    for problems in job.batches.order_by("seq").values_list("problems", flat=True).iterator(chunk_size=50):
        for row, column, reason in problems:
            if limit is not None and count >= limit:
                return
            count += 1
            yield row, column, reason


def neutralise(value: object) -> str:
    """Return a cell a spreadsheet shows as text: a leading =, +, -, @ would make it a formula."""
    text = "" if value is None else str(value)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def error_report(job: ImportJob) -> Iterator[str]:
    """Yield the error report as CSV text, a few lines at a time (row number, column, reason)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["row", "column", "reason"])
    for row, column, reason in problems_of(job):
        writer.writerow([row, neutralise(column), neutralise(reason)])
        if buffer.tell() > 32_768:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()
