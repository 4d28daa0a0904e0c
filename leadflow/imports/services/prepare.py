"""Map and clean a file's rows before they are written; for a large file, in a second process meanwhile.

Mapping a row and cleaning its values (emails, phones, countries...) reads no
database, so a forked process can do it for the next batches while this process
writes the current one: on a machine with two cores the import then takes about
as long as its writing alone. The second process gets the rows as read and sends
back each row's lead input or why it was refused; it never touches the database.
"""

from __future__ import annotations

import collections
import multiprocessing
import queue
from collections.abc import Callable, Iterator
from typing import Any, NamedTuple

from django.conf import settings

from leadflow.imports.mapping import RowMapper
from leadflow.imports.readers import Record
from leadflow.leads.errors import FieldErrors, LeadError
from leadflow.leads.services.batch import clean_rows

# Batches the second process may have prepared or be preparing beyond the one being written.
AHEAD = 2
WAIT_S = 1.0


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
    mapper: RowMapper, batches: Iterator[list[Record]], progress: Callable[[], float], *, file_size: int
) -> Iterator[tuple[list[Prepared], float]]:
    """Yield each batch prepared, with how far into the file it ends; large files in a second process."""
    threshold = settings.LEADFLOW_IMPORT_SECOND_PROCESS_BYTES
    if threshold <= 0 or file_size < threshold or "fork" not in multiprocessing.get_all_start_methods():
        for records in batches:
            read_to = progress()
            yield prepare_records(mapper, records), read_to
        return
    second = _SecondProcess(mapper)
    try:
        yield from second.prepare(batches, progress)
    finally:
        second.stop()


def _serve(mapper: RowMapper, tasks, results) -> None:
    while (rows := tasks.get()) is not None:
        results.put(prepare_records(mapper, [Record(number, values, problem) for number, values, problem in rows]))


class _SecondProcess:
    """A forked process that prepares the batches it is sent, in order, a few ahead of the writer."""

    def __init__(self, mapper: RowMapper) -> None:
        context = multiprocessing.get_context("fork")
        self.tasks, self.results = context.Queue(), context.Queue()
        self.process = context.Process(target=_serve, args=(mapper, self.tasks, self.results), daemon=True)
        self.process.start()
        self.finished = False

    def prepare(self, batches: Iterator[list[Record]], progress: Callable[[], float]) -> Iterator:
        waiting: collections.deque[float] = collections.deque()
        for records in batches:
            self.tasks.put([(record.number, record.values, record.problem) for record in records])
            waiting.append(progress())
            if len(waiting) > AHEAD:
                yield self._receive(), waiting.popleft()
        while waiting:
            yield self._receive(), waiting.popleft()
        self.finished = True

    def _receive(self) -> list[Prepared]:
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
            self.tasks.put(None)
            self.process.join(timeout=10)
        self.tasks.cancel_join_thread()
        self.results.cancel_join_thread()
        if self.process.is_alive():
            self.process.terminate()
            self.process.join()
