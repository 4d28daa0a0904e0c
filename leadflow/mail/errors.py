"""Domain errors raised by mail services; views and the API turn them into answers."""

from __future__ import annotations


class MailError(Exception):
    """A mail action that cannot be done. `code` is stable, `message` is for a person."""

    status = 409

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
