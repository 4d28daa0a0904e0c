"""Domain errors raised by lead services; views and the API turn them into answers."""

from __future__ import annotations


class LeadError(Exception):
    """A change that cannot be made. `code` is stable, `message` is for a person."""

    status = 409

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.field = field


class FieldErrors(LeadError):
    """Input that does not fit: one message per field."""

    status = 422

    def __init__(self, errors: dict[str, str]) -> None:
        summary = "; ".join(f"{field}: {message}" for field, message in errors.items())
        super().__init__("invalid", summary)
        self.errors = errors


class EditConflict(LeadError):
    """Someone else changed the lead since the editor loaded it."""

    def __init__(self, message: str, *, fields: list[str], changed_by: str = "", changed_at=None) -> None:
        super().__init__("edit_conflict", message)
        self.fields = fields
        self.changed_by = changed_by
        self.changed_at = changed_at
