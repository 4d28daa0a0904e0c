"""Domain errors of nurture services; views and the API turn them into answers."""

from __future__ import annotations


class NurtureError(Exception):
    """A change that cannot be made. `code` is stable, `message` is for a person."""

    status = 409

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field
