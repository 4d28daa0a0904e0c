"""Store batches of page views from the collector: validated already, written with two statements."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from functools import cache, partial

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from leadflow.lib.db import unsynced_transaction
from leadflow.tracking.batch import UTM_NAMES, Batch, BatchError
from leadflow.tracking.models import PageView, Visitor
from leadflow.tracking.queries import SiteInfo
from leadflow.tracking.services.stitching import TIMELINE_DELAY, schedule_sessions

# A recording still pending this long after it was due was lost (a failed task, a restore): schedule it again.
STALE_AFTER = timedelta(hours=1)
VIEW_COLUMNS = (
    "site_id",
    "visitor_id",
    "session_key",
    "occurred_at",
    "url",
    "title",
    "referrer",
    *UTM_NAMES,
)


def record_page_views(*, site: SiteInfo, batch: Batch, received_at: datetime | None = None) -> int:
    """Store the batch's page views: one statement for the visitor, one for all its views; return how many.

    The browser names only its own anonymous visitor id; which lead that visitor is
    (if any) is known here alone, from an earlier identification.
    """
    if site.require_consent and not batch.consent:
        raise BatchError(
            "consent_required", "This site asks for consent first: call leadflow('consent', true).", status=403
        )
    for index, event in enumerate(batch.events):
        if event.origin not in site.origins:
            raise BatchError("foreign_url", f"events[{index}].url: {event.origin} is not one of this site's origins.")
    now = received_at or timezone.now()
    times = [now - timedelta(milliseconds=event.age_ms) for event in batch.events]
    stored = _time_for_column()
    due = max(times) + TIMELINE_DELAY
    rows = [
        [site.id, None, event.session, stored(at), event.url, event.title, event.referrer, *event.utm]
        for event, at in zip(batch.events, times, strict=True)
    ]
    with _page_view_transaction():
        visitor_id, lead_id, pending_at = _touch_visitor(
            batch.visitor, stored(now), stored(due), stored(now - STALE_AFTER)
        )
        for row in rows:
            row[1] = visitor_id
        _insert_views(rows)
    # Enqueued once the views are stored, with the database's usual durability.
    if lead_id is not None and _moment(pending_at) == due:
        transaction.on_commit(partial(schedule_sessions, visitor_id, due))
    return len(rows)


def _time_for_column():
    """Return a function that turns an aware time into what the database takes for a DateTimeField.

    Django's own adapter reads settings on every call; a batch needs a dozen.
    """
    if connection.vendor == "sqlite" and settings.USE_TZ and connection.timezone_name == "UTC":
        # What Django's SQLite backend stores: naive UTC text.
        return lambda moment: str(moment.astimezone(UTC).replace(tzinfo=None))
    return connection.ops.adapt_datetimefield_value


def _page_view_transaction():
    """Open a transaction that commits without waiting for the disk, unless LEADFLOW_TRACKING_DURABLE is set.

    Page views come by the thousand a second; syncing every batch to disk would cap
    the collector at the disk's flush rate.
    """
    return unsynced_transaction(relax=not settings.LEADFLOW_TRACKING_DURABLE)


def _touch_visitor(key: str, seen_at, due, stale_before) -> tuple[int, int | None, object]:
    """Create or refresh the visitor; return its id, its lead, and when its sessions are due on the timeline.

    For a visitor joined to a lead, the due time becomes `due` when nothing was
    pending (or what was pending is long overdue, so its task was lost): it comes
    back equal to `due` exactly when a recording must be scheduled.
    """
    with connection.cursor() as cursor:
        cursor.execute(_visitor_upsert_sql(), [key, seen_at, seen_at, stale_before, due])
        return cursor.fetchone()


@cache
def _visitor_upsert_sql() -> str:
    q = connection.ops.quote_name
    table = q(Visitor._meta.db_table)
    due = f"{table}.{q('timeline_due_at')}"
    # Only names from the model go into the text; every value is a parameter.
    return (
        f"INSERT INTO {table} ({q('key')}, {q('identified_via')}, {q('first_seen_at')}, {q('last_seen_at')}) "  # noqa: S608
        f"VALUES (%s, '', %s, %s) ON CONFLICT ({q('key')}) DO UPDATE SET "
        f"{q('last_seen_at')} = excluded.{q('last_seen_at')}, "
        f"{q('timeline_due_at')} = CASE WHEN {table}.{q('lead_id')} IS NULL THEN NULL "
        f"WHEN {due} IS NULL OR {due} < %s THEN %s ELSE {due} END "
        f"RETURNING {q('id')}, {q('lead_id')}, {q('timeline_due_at')}"
    )


def _moment(value) -> datetime | None:
    """Return a timestamp read by raw SQL as an aware datetime (SQLite may give text)."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and timezone.is_naive(value):
        value = timezone.make_aware(value, UTC)
    return value


def _insert_views(rows: list[tuple]) -> None:
    with connection.cursor() as cursor:
        cursor.execute(_insert_views_sql(len(rows)), [value for row in rows for value in row])


@cache
def _insert_views_sql(count: int) -> str:
    q = connection.ops.quote_name
    row_marks = "(" + ", ".join(["%s"] * len(VIEW_COLUMNS)) + ")"
    # Only names from the model go into the text; every value is a parameter.
    columns = ", ".join(q(column) for column in VIEW_COLUMNS)
    return f"INSERT INTO {q(PageView._meta.db_table)} ({columns}) VALUES " + ", ".join([row_marks] * count)  # noqa: S608
