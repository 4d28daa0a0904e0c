"""Read, map and clean a file's rows before they are written; for a large file, in a second process meanwhile.

Reading a row, mapping it and cleaning its values (emails, phones, countries...)
reads no database, so a forked process can do it for the next batches while this
process writes the current one: on a machine with two cores the import then takes
about as long as its writing alone. The second process reads a file on disk itself,
from where the job resumes, a few batches ahead of the writer at most (a file kept
in the database is read by the writer and its rows sent over), and sends back each
row's lead input or why it was refused; it never touches the database.
"""

from __future__ import annotations

import collections
import multiprocessing
import queue
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from django.conf import settings

from leadflow.imports.mapping import RowMapper
from leadflow.imports.readers import ReadError, Record
from leadflow.imports.readers.text import fallback_count, set_fallback_count
from leadflow.leads.errors import FieldErrors, LeadError
from leadflow.leads.services.batch import clean_rows

# Batches the second process may have prepared or be preparing beyond the one being written.
AHEAD = 2
WAIT_S = 1.0
# What the second process sends: a prepared batch, the end of the file, or why it stopped.
_BATCH, _END, _UNREADABLE, _FAILED = "batch", "end", "unreadable", "failed"


class Prepared(NamedTuple):
    """One record made ready for recording: its lead input, or why it was refused."""

    number: int
    # (column, reason) for each problem found while reading or mapping the row.
    problems: list[tuple[str, str]]
    owner: str = ""
    cleaned: dict[str, Any] | None = None
    # Why cleaning refused the row: (code, message, field, errors by field or None).
    error: tuple | None = None

    def lead_input(self) -> dict[str, Any] | LeadError:
        """Return the cleaned input, or the error record_cleaned_batch reports for the row."""
        if self.error is None:
            return self.cleaned or {}
        code, message, field, errors = self.error
        return FieldErrors(errors) if errors is not None else LeadError(code, message, field=field)


def prepare_records(mapper: RowMapper, records: list[Record]) -> list[Prepared]:
    """Map and clean each record; reads no database."""
    prepared: list[Prepared] = []
    for record in records:
        if record.problem:
            prepared.append(Prepared(record.number, [("", record.problem)]))
            continue
        mapped = mapper.map(record.values)
        if mapped.errors:
            prepared.append(Prepared(record.number, mapped.errors, mapped.owner))
            continue
        cleaned = clean_rows([mapped.data], key=mapper.key)[0]
        if isinstance(cleaned, LeadError):
            errors = cleaned.errors if isinstance(cleaned, FieldErrors) else None
            error = (cleaned.code, cleaned.message, cleaned.field, errors)
            prepared.append(Prepared(record.number, [], mapped.owner, error=error))
        else:
            prepared.append(Prepared(record.number, [], mapped.owner, cleaned))
    return prepared


def prepared_batches(
    mapper: RowMapper,
    batches: Iterator[list[Record]],
    progress: Callable[[], float],
    *,
    file_size: int,
    readable_apart: bool = True,
) -> Iterator[tuple[list[Prepared], float]]:
    """Yield each batch prepared, with how far into the file it ends; large files in a second process.

    `batches` and `progress` read the file. With `readable_apart` (a file on this
    machine's disk) only the second process calls them, and the count of bytes it read
    as Windows-1252 comes back to this thread's fallback_count at the end. A file kept
    in the database is read here, since the second process never touches the database,
    and its rows are sent over.
    """
    threshold = settings.LEADFLOW_IMPORT_SECOND_PROCESS_BYTES
    if threshold <= 0 or file_size < threshold or "fork" not in multiprocessing.get_all_start_methods():
        for records in batches:
            read_to = progress()
            yield prepare_records(mapper, records), read_to
        return
    second = _SecondProcess(mapper, batches, progress, reads_file=readable_apart)
    try:
        yield from second.prepare()
    finally:
        second.stop()


def _serve(mapper: RowMapper, batches: Iterator[list[Record]], progress: Callable[[], float] | None, results) -> None:
    """Prepare every batch in order; end with the fallback count (when it read the file), or with why it stopped."""
    try:
        for records in batches:
            prepared = prepare_records(mapper, records)
            results.put((_BATCH, prepared, progress() if progress else 0.0))
    except ReadError as error:
        results.put((_UNREADABLE, str(error)))
    except Exception as error:  # sent to the writer, which fails the job with it
        results.put((_FAILED, f"{type(error).__name__}: {error}"))
    else:
        results.put((_END, fallback_count() if progress else None))


def _sent(tasks) -> Iterator[list[Record]]:
    """The batches the writer sends, until it sends None."""
    while (rows := tasks.get()) is not None:
        yield [Record(number, values, problem) for number, values, problem in rows]


class _SecondProcess:
    """A forked process that prepares the batches in order, at most AHEAD ahead of the writer.

    It reads the file itself (`reads_file`), or prepares the batches this process reads
    and sends it.
    """

    def __init__(
        self, mapper: RowMapper, batches: Iterator[list[Record]], progress: Callable[[], float], *, reads_file: bool
    ) -> None:
        context = multiprocessing.get_context("fork")
        self.results = context.Queue(maxsize=AHEAD)
        self.tasks = None if reads_file else context.Queue()
        self.batches, self.progress = batches, progress
        source = (batches, progress) if reads_file else (_sent(self.tasks), None)
        self.process = context.Process(target=_serve, args=(mapper, *source, self.results), daemon=True)
        self.process.start()
        self.finished = False

    def prepare(self) -> Iterator[tuple[list[Prepared], float]]:
        if self.tasks is None:
            while (batch := self._next()) is not None:
                yield batch
            return
        waiting: collections.deque[float] = collections.deque()
        for records in self.batches:
            self.tasks.put([(record.number, record.values, record.problem) for record in records])
            waiting.append(self.progress())
            if len(waiting) > AHEAD:
                yield self._next()[0], waiting.popleft()
        self.tasks.put(None)
        while waiting:
            yield self._next()[0], waiting.popleft()
        self._next()

    def _next(self) -> tuple[list[Prepared], float] | None:
        """Return the next prepared batch and how far it reads, or None at the end of the file."""
        kind, *message = self._receive()
        if kind == _BATCH:
            return message[0], message[1]
        if kind == _END:
            if message[0] is not None:
                set_fallback_count(message[0])
            self.finished = True
            return None
        if kind == _UNREADABLE:
            raise ReadError(message[0])
        raise RuntimeError(f"The process preparing rows stopped: {message[0]}")

    def _receive(self) -> tuple:
        while True:
            try:
                return self.results.get(timeout=WAIT_S)
            except queue.Empty:
                if not self.process.is_alive():
                    raise RuntimeError(
                        f"The process preparing rows stopped (exit code {self.process.exitcode})."
                    ) from None

    def stop(self) -> None:
        """End the process: let it finish after a complete run, stop it at once otherwise."""
        if self.finished:
            self.process.join(timeout=10)
        if self.tasks is not None:
            self.tasks.cancel_join_thread()
        self.results.cancel_join_thread()
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()
