"""XLSX workbooks: refuse a zip that unpacks to too much before parsing, then stream the first sheet's rows."""

from __future__ import annotations

import datetime
import warnings
import zipfile
from collections.abc import Iterator
from typing import Any, BinaryIO

from leadflow.imports.readers.base import (
    MAX_COLUMNS,
    ReadError,
    Record,
    Source,
    Table,
    clean_headers,
    trim_trailing_blanks,
)

MAX_ENTRIES = 10_000
MAX_UNCOMPRESSED = 1024**3
MAX_RATIO = 100
RATIO_CHECKED_FROM = 1024 * 1024
MAX_CELL_CHARS = 32_767


def _size(n: int) -> str:
    return f"{n / 1024**3:.1f} GB" if n >= 1024**3 else f"{n / 1024**2:.0f} MB"


def check_archive(stream: BinaryIO) -> None:
    """Refuse a workbook whose zip declares too many entries, too many bytes, or a ratio only a bomb has."""
    try:
        with zipfile.ZipFile(stream) as archive:
            entries = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ReadError(f"This XLSX workbook is damaged and cannot be opened ({error}).") from error
    if len(entries) > MAX_ENTRIES:
        raise ReadError(f"This workbook holds {len(entries):,} parts; the most accepted is {MAX_ENTRIES:,}.")
    total = sum(entry.file_size for entry in entries)
    if total > MAX_UNCOMPRESSED:
        raise ReadError(
            f"This workbook unpacks to {_size(total)}; the most accepted is {_size(MAX_UNCOMPRESSED)}. "
            "Split it, or save it as CSV."
        )
    for entry in entries:
        if entry.file_size > RATIO_CHECKED_FROM and entry.file_size > MAX_RATIO * max(entry.compress_size, 1):
            raise ReadError(
                f"This workbook's part {entry.filename} unpacks to {_size(entry.file_size)} from "
                f"{entry.compress_size:,} bytes, which only a zip bomb does; it was not opened."
            )
    if "xl/workbook.xml" not in {entry.filename for entry in entries}:
        raise ReadError("This zip file is not an XLSX workbook. Upload a CSV, an XLSX workbook or a vCard (.vcf).")


def cell_text(value: Any) -> str:
    """Return a cell as the text a person sees; a formula stays its text and is never worked out."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(sep=" ")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    return str(value)[:MAX_CELL_CHARS]


def open_xlsx(source: Source) -> Table:
    """Open the first worksheet of a workbook, read-only and streamed, with formulas kept as text."""
    import openpyxl

    stream = source.open()
    try:
        check_archive(stream)
        stream.seek(0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            workbook = openpyxl.load_workbook(stream, read_only=True, data_only=False, keep_links=False)
    except ReadError:
        stream.close()
        raise
    except Exception as error:
        stream.close()
        raise ReadError(f"This XLSX workbook could not be read ({error}).") from error

    def close() -> None:
        workbook.close()
        stream.close()

    try:
        if not workbook.worksheets:
            raise ReadError("This workbook has no worksheet.")
        sheet = workbook.worksheets[0]
        total = sheet.max_row or 0
        position = {"row": 0}
        rows = _numbered(sheet, position)
        headers = _header(rows)
    except ReadError:
        close()
        raise
    sheets = len(workbook.worksheets)
    notes = [f"Only the first sheet, “{sheet.title}”, was read; the workbook has {sheets}."] if sheets > 1 else []
    return Table(
        format="xlsx",
        headers=headers,
        rows=_records(rows, len(headers)),
        notes=notes,
        progress=lambda: min(1.0, position["row"] / total) if total else 0.0,
        close=close,
    )


def _numbered(sheet, position: dict[str, int]) -> Iterator[tuple[int, list[str]]]:
    for number, row in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
        position["row"] = number
        yield number, [cell_text(value) for value in row[:MAX_COLUMNS]]


def _header(rows: Iterator[tuple[int, list[str]]]) -> list[str]:
    for _, values in rows:
        values = trim_trailing_blanks(values)
        if values:
            return clean_headers(values)
    raise ReadError("The first sheet of this workbook is empty: it has no header row.")


def _records(rows: Iterator[tuple[int, list[str]]], width: int) -> Iterator[Record]:
    for number, values in rows:
        if any(value.strip() for value in values):
            values = values[:width]
            yield Record(number, values + [""] * (width - len(values)))
