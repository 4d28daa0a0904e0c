"""Domain errors raised by scoring services; views turn them into form errors."""

from __future__ import annotations


class ScoringError(Exception):
    """A scoring change that cannot be made. `code` is stable, `message` is for a person."""

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
