"""Delimited text: find the encoding and the delimiter, then stream records with their row and line numbers."""

from __future__ import annotations

import codecs
import csv
import io
import itertools
import re
import threading
from collections.abc import Iterator
from typing import BinaryIO

from leadflow.imports.readers.base import ReadError, Record, Source, Table, clean_headers, trim_trailing_blanks

SAMPLE_BYTES = 64 * 1024
DELIMITERS = (",", ";", "\t", "|")
DELIMITER_NAMES = {",": "comma", ";": "semicolon", "\t": "tab", "|": "pipe"}
# A quoted value longer than this is an opening quote that was never closed, not a value.
MAX_RECORD_LINES = 200
MAX_RECORD_CHARS = 64 * 1024
ENCODING_NAMES = {
    "utf-8": "UTF-8",
    "utf-8-sig": "UTF-8 with BOM",
    "utf-16-le": "UTF-16 LE",
    "utf-16-be": "UTF-16 BE",
    "utf-32-le": "UTF-32 LE",
    "utf-32-be": "UTF-32 BE",
    "cp1252": "Windows-1252",
    "latin-1": "Latin-1",
}
BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)
CP1252_UNDEFINED = frozenset(b"\x81\x8d\x8f\x90\x9d")
_fallbacks = threading.local()
CONTROL = re.compile(r"[\x00-\x08\x0b\x0e-\x1f\x7f]")


def _utf8_fallback(error: UnicodeDecodeError) -> tuple[str, int]:
    """Read a byte that is not UTF-8 as Windows-1252 (Latin-1 where that has no character), and count it."""
    _fallbacks.count = getattr(_fallbacks, "count", 0) + 1
    bad = error.object[error.start : error.start + 1]
    text = bad.decode("latin-1") if bad[0] in CP1252_UNDEFINED else bad.decode("cp1252")
    return text, error.start + 1


codecs.register_error("leadflow-utf8-fallback", _utf8_fallback)


def detect_encoding(sample: bytes) -> tuple[str, int]:
    """Return (codec, length of its byte order mark) for the start of a file."""
    for bom, codec in BOMS:
        if sample.startswith(bom):
            return ("utf-8" if codec == "utf-8-sig" else codec), len(bom)
    head = sample[:4096]
    if len(head) >= 4:
        even_nuls, odd_nuls = head[0::2].count(0), head[1::2].count(0)
        if odd_nuls > len(head) // 8 and even_nuls == 0:
            return "utf-16-le", 0
        if even_nuls > len(head) // 8 and odd_nuls == 0:
            return "utf-16-be", 0
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return ("latin-1" if CP1252_UNDEFINED & set(sample) else "cp1252"), 0
    return "utf-8", 0


def encoding_label(codec: str, bom: int) -> str:
    return ENCODING_NAMES.get("utf-8-sig" if codec == "utf-8" and bom else codec, codec)


def _score(sample_text: str, delimiter: str) -> tuple[bool, float, int]:
    """Return how well `delimiter` splits the sample: several columns, the same count on every row."""
    reader = csv.reader(io.StringIO(sample_text), delimiter=delimiter)
    try:
        rows = [row for row in itertools.islice(reader, 50) if any(cell.strip() for cell in row)]
    except csv.Error:
        return (False, 0.0, 0)
    if len(rows) > 1:
        rows = rows[:-1]  # the last row of a sample may be cut short
    if not rows:
        return (False, 0.0, 0)
    width = len(rows[0])
    consistent = sum(1 for row in rows if len(row) == width) / len(rows)
    return (width > 1, consistent, width)


def detect_delimiter(sample_text: str) -> str:
    """Return the delimiter of a delimited text: csv.Sniffer's guess when it splits as well as the best count."""
    first = sample_text.split("\n", 1)[0].strip()
    if first.lower().startswith("sep=") and len(first) == 5:
        return first[4]
    scores = {delimiter: _score(sample_text, delimiter) for delimiter in DELIMITERS}
    best = max(DELIMITERS, key=lambda delimiter: scores[delimiter])
    try:
        sniffed = csv.Sniffer().sniff(sample_text[:16384], delimiters="".join(DELIMITERS)).delimiter
    except csv.Error:
        sniffed = ""
    if sniffed in scores and scores[sniffed] >= scores[best]:
        return sniffed
    return best if scores[best][0] else ","


class _Lines:
    """The lines of a text stream, numbered, with the lines of the record being read kept for a retry."""

    def __init__(self, text: io.TextIOBase) -> None:
        self.source = iter(text)
        self.number = 0
        self.replay: list[tuple[int, str]] = []
        self.pending: list[tuple[int, str]] = []
        self.pending_chars = 0

    def __iter__(self) -> Iterator[str]:
        return self

    def __next__(self) -> str:
        if self.replay:
            number, line = self.replay.pop(0)
        else:
            line = next(self.source)
            self.number += 1
            number = self.number
        self.pending.append((number, line))
        self.pending_chars += len(line)
        if len(self.pending) > MAX_RECORD_LINES or self.pending_chars > MAX_RECORD_CHARS:
            raise csv.Error("runaway")
        return line

    def start_record(self) -> None:
        self.pending, self.pending_chars = [], 0

    def first_line(self) -> int:
        return self.pending[0][0] if self.pending else self.number + 1

    def skip_failed_line(self) -> None:
        """Drop the first line of the failed record and read the rest of it again."""
        self.replay = self.pending[1:] + self.replay
        self.start_record()


def _problem(error: csv.Error, line: int) -> str:
    if str(error) == "runaway" or "unexpected end of data" in str(error):
        return (
            f"A quote opened on line {line} is never closed, so this row could not be read; "
            "the rows after it were read from the next line on."
        )
    return f"Line {line} could not be read ({error}); check its quotes."


def csv_records(text: io.TextIOBase, delimiter: str) -> Iterator[tuple[int, list[str] | None, str]]:
    """Yield (first line number, values, problem) for each record; a row that cannot be read has values None."""
    lines = _Lines(text)
    reader = csv.reader(lines, delimiter=delimiter, strict=True)
    while True:
        lines.start_record()
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as error:
            line = lines.first_line()
            yield line, None, _problem(error, line)
            lines.skip_failed_line()
            reader = csv.reader(lines, delimiter=delimiter, strict=True)
            continue
        yield lines.first_line(), values, ""


def open_text(binary: BinaryIO, codec: str, bom: int) -> io.TextIOWrapper:
    binary.read(bom)
    errors = "leadflow-utf8-fallback" if codec == "utf-8" else "replace"
    return io.TextIOWrapper(binary, encoding=codec, errors=errors, newline="")


def read_sample(source: Source) -> bytes:
    with source.open() as binary:
        return binary.read(SAMPLE_BYTES)


def decoded_sample(sample: bytes, codec: str, bom: int) -> str:
    errors = "leadflow-utf8-fallback" if codec == "utf-8" else "replace"
    text = codecs.getincrementaldecoder(codec)(errors=errors).decode(sample[bom:], final=False)
    if len(sample) == SAMPLE_BYTES and "\n" in text:
        text = text[: text.rindex("\n") + 1]
    return text


def looks_binary(text: str) -> bool:
    """Return True when decoded text is full of control characters: it was never text."""
    controls = len(CONTROL.findall(text[:16384]))
    return "\x00" in text or controls > max(10, len(text[:16384]) // 200)


def open_delimited(source: Source, sample: bytes) -> Table:
    """Open a delimited text file: detect its encoding and delimiter and read its header."""
    codec, bom = detect_encoding(sample)
    sample_text = decoded_sample(sample, codec, bom)
    if looks_binary(sample_text):
        raise ReadError("This file holds binary data, not text. Upload a CSV, an XLSX workbook or a vCard (.vcf).")
    delimiter = detect_delimiter(sample_text)
    binary = source.open()
    _fallbacks.count = 0
    text = open_text(binary, codec, bom)
    records = csv_records(text, delimiter)
    headers, header_row = _header(records)
    table = Table(
        format="csv",
        headers=headers,
        rows=_rows(records, header_row, len(headers)),
        encoding=encoding_label(codec, bom),
        delimiter=delimiter,
        progress=lambda: min(1.0, binary.tell() / source.size) if source.size else 1.0,
        close=text.close,
    )
    return table


def _header(records: Iterator[tuple[int, list[str] | None, str]]) -> tuple[list[str], int]:
    """Return the column names and the row number of the header: the first row with a value."""
    for number, (_, values, problem) in enumerate(records, start=1):
        if values is None:
            raise ReadError(f"The header row could not be read: {problem}")
        if number == 1 and values and values[0].strip().lower().startswith("sep=") and not any(values[1:]):
            continue
        values = trim_trailing_blanks(values)
        if values:
            return clean_headers(values), number
    raise ReadError("This file is empty: it has no header row.")


def _rows(records: Iterator[tuple[int, list[str] | None, str]], header_row: int, width: int) -> Iterator[Record]:
    """Number rows as a spreadsheet shows them: one per record, blank ones skipped but counted."""
    for number, (line, values, problem) in enumerate(records, start=header_row + 1):
        if values is None:
            yield Record(number, problem=problem)
        elif len(values) > width and any(value.strip() for value in values[width:]):
            yield Record(
                number,
                problem=f"This row (line {line}) has {len(values)} values but the header has {width}; "
                "a value may hold an unquoted delimiter.",
            )
        elif any(value.strip() for value in values):
            yield Record(number, values[:width] + [""] * (width - len(values)))


def fallback_count() -> int:
    """Return how many bytes the last UTF-8 file read in this thread held that were not UTF-8."""
    return getattr(_fallbacks, "count", 0)


def set_fallback_count(count: int) -> None:
    """Set what fallback_count returns in this thread: the count of a file another process read for it."""
    _fallbacks.count = count
