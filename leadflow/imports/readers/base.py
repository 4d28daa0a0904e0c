"""What every reader gives back: a header and records, read lazily from a source that can be opened again."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

MAX_COLUMNS = 500
MAX_HEADER_LENGTH = 200


class ReadError(Exception):
    """A file that cannot be read at all; the message says why and what to do."""


@dataclass
class Source:
    """A file to read: a name (for its extension), a size, and a way to open it from the start."""

    name: str
    size: int
    opener: Callable[[], BinaryIO]

    def open(self) -> BinaryIO:
        return self.opener()

    @classmethod
    def from_path(cls, path: str, name: str = "") -> Source:
        import os

        return cls(name or os.path.basename(path), os.path.getsize(path), lambda: open(path, "rb"))


@dataclass
class Record:
    """One row of a file: its number as a person would count it, and its values or why it could not be read."""

    number: int
    values: list[str] = field(default_factory=list)
    problem: str = ""


@dataclass
class Table:
    """An opened file: how it was read, its column names, and its records from the first data row on."""

    format: str
    headers: list[str]
    rows: Iterator[Record]
    encoding: str = ""
    delimiter: str = ""
    notes: list[str] = field(default_factory=list)
    progress: Callable[[], float] = lambda: 0.0
    close: Callable[[], None] = lambda: None


def clean_headers(raw: list[str]) -> list[str]:
    """Return usable column names: trimmed, never empty, never repeated."""
    names: list[str] = []
    seen: dict[str, int] = {}
    for position, value in enumerate(raw[:MAX_COLUMNS], start=1):
        name = " ".join(str(value or "").replace("\ufeff", "").split())[:MAX_HEADER_LENGTH] or f"Column {position}"
        count = seen.get(name.casefold(), 0) + 1
        seen[name.casefold()] = count
        names.append(name if count == 1 else f"{name} ({count})")
    return names


def trim_trailing_blanks(values: list[str]) -> list[str]:
    end = len(values)
    while end and not values[end - 1].strip():
        end -= 1
    return values[:end]
