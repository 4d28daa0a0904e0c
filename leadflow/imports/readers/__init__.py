"""Read the files people import: CSV and other delimited text, XLSX workbooks and vCards, one record at a time."""

from __future__ import annotations

from leadflow.imports.readers.base import ReadError, Record, Source, Table
from leadflow.imports.readers.detect import open_table

__all__ = ["ReadError", "Record", "Source", "Table", "open_table"]
