"""Keep an uploaded file in the database in chunks, read it back as a stream, and describe it for the preview."""

from __future__ import annotations

import hashlib
import io
import itertools
import os
from collections.abc import Iterable
from typing import BinaryIO

from django.conf import settings
from django.db import transaction

from leadflow.imports.models import ImportChunk, ImportFile
from leadflow.imports.readers import ReadError, Source, open_table
from leadflow.imports.readers.text import fallback_count

CHUNK_BYTES = 1024 * 1024
SAMPLE_ROWS = 200
PREVIEW_ROWS = 10


def max_upload_bytes() -> int:
    """Return the largest file the web page accepts (the command line has no limit: it streams from disk)."""
    return getattr(settings, "LEADFLOW_IMPORT_MAX_UPLOAD_BYTES", 200 * 1024 * 1024)


class ChunkReader(io.RawIOBase):
    """A seekable, read-only stream over a stored file's chunks; holds one chunk in memory at a time."""

    def __init__(self, file_id: int, size: int) -> None:
        super().__init__()
        self.file_id, self.size = file_id, size
        self.position = 0
        self.cached_seq, self.cached = -1, b""

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self.position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self.position, io.SEEK_END: self.size}[whence]
        self.position = max(0, base + offset)
        return self.position

    def _chunk(self, seq: int) -> bytes:
        if seq != self.cached_seq:
            data = ImportChunk.objects.filter(file_id=self.file_id, seq=seq).values_list("data", flat=True).first()
            self.cached_seq, self.cached = seq, bytes(data or b"")
        return self.cached

    def readinto(self, buffer) -> int:
        if self.position >= self.size:
            return 0
        seq, offset = divmod(self.position, CHUNK_BYTES)
        piece = self._chunk(seq)[offset : offset + len(buffer)]
        buffer[: len(piece)] = piece
        self.position += len(piece)
        return len(piece)


def source_for(file: ImportFile) -> Source:
    """Return a way to read `file` from the start, wherever it is kept."""
    if file.path:
        return Source.from_path(file.path, file.name)
    return Source(file.name, file.size, lambda: io.BufferedReader(ChunkReader(file.pk, file.size), CHUNK_BYTES))


def _store_chunks(file: ImportFile, stream: Iterable[bytes]) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    for seq, data in enumerate(stream):
        digest.update(data)
        size += len(data)
        # One short transaction per chunk, so a large upload never holds the database's write lock for long.
        ImportChunk.objects.create(file=file, seq=seq, data=data)
    return size, digest.hexdigest()


def _chunks_of(stream: BinaryIO) -> Iterable[bytes]:
    while data := stream.read(CHUNK_BYTES):
        yield data


def store_upload(*, stream: BinaryIO, name: str, user) -> ImportFile:
    """Keep an uploaded file and describe it (format, encoding, delimiter, columns, first rows)."""
    file = ImportFile.objects.create(uploaded_by=user, name=os.path.basename(name)[:255] or "upload")
    try:
        file.size, file.sha256 = _store_chunks(file, _chunks_of(stream))
        describe(file)
    except ReadError:
        file.delete()
        raise
    file.complete = True
    file.save()
    return file


def register_path(*, path: str, user=None) -> ImportFile:
    """Describe a file on this machine for an import from the command line; it is read in place."""
    file = ImportFile(uploaded_by=user, name=os.path.basename(path), path=os.path.abspath(path))
    file.size = os.path.getsize(path)
    describe(file)
    file.complete = True
    with transaction.atomic():
        file.save()
    return file


def describe(file: ImportFile) -> None:
    """Fill in how the file reads: format, encoding, delimiter, columns and sample rows."""
    table = open_table(source_for(file))
    try:
        rows = [record for record in itertools.islice(table.rows, SAMPLE_ROWS)]
        replaced = fallback_count()
    finally:
        table.close()
    file.format, file.encoding, file.delimiter = table.format, table.encoding, table.delimiter
    file.headers = table.headers
    file.sample = [record.values for record in rows if not record.problem]
    file.notes = list(table.notes)
    if replaced:
        file.notes.append("Some characters were not UTF-8 and were read as Windows-1252.")
    if not file.sample and not rows:
        file.notes.append("The file has a header row but no rows below it.")
