"""Builders for import tests: files written the way real tools write them, and ways to run an import."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from django.core.management import call_command

from leadflow.imports.mapping import Mapping, suggest_mapping
from leadflow.imports.models import ImportFile, ImportJob
from leadflow.imports.readers import Source, open_table
from leadflow.imports.services import run_import, start_import, store_upload

ROOT = Path(__file__).resolve().parents[2]
XEDUCATION = ROOT / ".." / "shared" / "datasets" / "xeducation_leads.csv"


def source(data: bytes, name: str = "leads.csv") -> Source:
    return Source(name, len(data), lambda: io.BytesIO(data))


def read_all(data: bytes, name: str = "leads.csv"):
    """Return (table, records) for a file held in memory."""
    table = open_table(source(data, name))
    try:
        return table, list(table.rows)
    finally:
        table.close()


def xlsx_bytes(rows: list[list]) -> bytes:
    import openpyxl

    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def upload(data: bytes, name: str = "leads.csv", user=None) -> ImportFile:
    return store_upload(stream=io.BytesIO(data), name=name, user=user)


def run(
    file: ImportFile, *, user=None, dry_run: bool = False, mapping: Mapping | None = None, name: str = ""
) -> ImportJob:
    """Run an import in this process, as the worker does, and return the finished job."""
    admin = user is None or user.is_admin
    mapping = mapping or suggest_mapping(file.headers, file.sample, admin=admin)
    job = start_import(file=file, mapping=mapping, user=user, dry_run=dry_run, mapping_name=name, enqueue=False)
    run_import(job)
    job.refresh_from_db()
    return job


def run_worker() -> None:
    """Run the real database queue until it is empty, as `leadflow worker` does."""
    call_command("db_worker", batch=True, queue_name="*", startup_delay=False, verbosity=0)


@pytest.fixture
def xeducation() -> Path:
    if not XEDUCATION.exists():
        pytest.fail(f"{XEDUCATION} is missing: the shared datasets sit beside the project")
    return XEDUCATION
