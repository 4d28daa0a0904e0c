"""Statements of the form-post hot paths, written where the ORM's query building was measured to dominate.

The form's version look-up and the submission's insert run on every public post
(through the ORM they cost about 0.35 ms of CPU, here a fifth of that). Marking a
batch of submissions recorded was most of the recording job's time as bulk_update's
CASE expressions. Inserts go through leadflow.lib.inserts' compiled statements.
Every value is a parameter; only quoted table and column names are put into the text.
"""

from __future__ import annotations

from functools import cache

from django.db import connection

from leadflow.capture.models import Form, Submission
from leadflow.lib.inserts import RowInserter

# The columns a new submission is inserted with; the rest (lead, reviewer, review time) start empty.
INSERTED = (
    "form", "status", "spam_reason", "channel", "dedupe_key", "fields", "source", "page_url", "visitor_id",
    "consent_wording", "consent_text", "consent_given", "ip", "user_agent", "fill_seconds", "created_at",
)  # fmt: skip


def form_version(slug: str) -> tuple[int, int] | None:
    """Return (id, version) of the form at `slug`, or None when there is none."""
    quote = connection.ops.quote_name
    sql = f"SELECT {quote('id')}, {quote('version')} FROM {quote(Form._meta.db_table)} WHERE {quote('slug')} = %s"  # noqa: S608
    with connection.cursor() as cursor:
        cursor.execute(sql, [slug])
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


@cache
def _submission_inserter() -> RowInserter:
    return RowInserter(Submission, fields=INSERTED)


class NewSubmission:
    """A submission to insert, its column values converted up front; `insert()` runs the one statement."""

    def __init__(self, submission: Submission) -> None:
        self.submission = submission
        self.values = _submission_inserter().values(submission)

    def insert(self) -> None:
        _submission_inserter().insert([self.submission], values=[self.values])


def update_recorded(submissions: list[Submission]) -> None:
    """Write each recorded submission's lead, status and spam reason with one prepared statement."""
    quote = connection.ops.quote_name
    sql = (
        f"UPDATE {quote(Submission._meta.db_table)} SET {quote('lead_id')} = %s, {quote('status')} = %s, "  # noqa: S608
        f"{quote('spam_reason')} = %s WHERE {quote('id')} = %s"
    )
    with connection.cursor() as cursor:
        cursor.executemany(sql, [(row.lead_id, row.status, row.spam_reason, row.pk) for row in submissions])
