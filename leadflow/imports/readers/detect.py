"""Tell what kind of file this is from its first bytes and its name, and open it with the right reader."""

from __future__ import annotations

import os

from leadflow.imports.readers.base import ReadError, Source, Table
from leadflow.imports.readers.text import (
    SAMPLE_BYTES,
    decoded_sample,
    detect_encoding,
    open_delimited,
)
from leadflow.imports.readers.vcard import looks_like_vcard, open_vcard
from leadflow.imports.readers.xlsx import open_xlsx

ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
VCARD_EXTENSIONS = {".vcf", ".vcard"}


def detect_format(name: str, sample: bytes) -> str:
    """Return 'xlsx', 'vcard' or 'csv' for a file, or raise ReadError for one Leadflow cannot read."""
    extension = os.path.splitext(name.lower())[1]
    if sample.startswith(ZIP_MAGIC):
        return "xlsx"
    if sample.startswith(OLE_MAGIC):
        raise ReadError("Old Excel (.xls) workbooks cannot be read; save it as .xlsx or CSV and upload that.")
    if not sample:
        raise ReadError("This file is empty.")
    codec, bom = detect_encoding(sample)
    if extension in VCARD_EXTENSIONS or looks_like_vcard(decoded_sample(sample[:SAMPLE_BYTES], codec, bom)):
        return "vcard"
    return "csv"


def open_table(source: Source) -> Table:
    """Open `source` for reading: its header is read, its rows are read as they are asked for."""
    with source.open() as stream:
        sample = stream.read(SAMPLE_BYTES)
    kind = detect_format(source.name, sample)
    if kind == "xlsx":
        return open_xlsx(source)
    if kind == "vcard":
        return open_vcard(source, sample)
    return open_delimited(source, sample)
