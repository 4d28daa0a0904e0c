"""Business hours: add working minutes to a moment, in a team's time zone and weekly hours."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from leadflow.routing.models import default_hours

Hours = list  # seven entries, Monday first: ["09:00", "18:00"] or None


def parse_hours(hours: Hours | None) -> list[tuple[time, time] | None]:
    """Return the seven days as (start, end) times, or None for a day off; bad entries count as off."""
    days: list[tuple[time, time] | None] = []
    source = hours if isinstance(hours, list) and len(hours) == 7 else default_hours()
    for entry in source:
        try:
            start, end = time.fromisoformat(entry[0]), time.fromisoformat(entry[1])
        except (TypeError, ValueError, IndexError):
            days.append(None)
            continue
        days.append((start, end) if start < end else None)
    return days


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def add_business_minutes(start: datetime, minutes: int, *, time_zone: str, hours: Hours | None) -> datetime:
    """Return the moment `minutes` working minutes after `start`.

    Work is counted on the wall clock of `time_zone` (so a day changing its offset
    still works 09:00 to 18:00); a start outside hours begins at the next opening.
    """
    days = parse_hours(hours)
    if not any(days):
        return start + timedelta(minutes=minutes)
    tz = zone(time_zone)
    local = start.astimezone(tz).replace(tzinfo=None)
    remaining = timedelta(minutes=max(minutes, 0))
    for _ in range(7 * 60):
        window = days[local.weekday()]
        if window is not None:
            opens = datetime.combine(local.date(), window[0])
            closes = datetime.combine(local.date(), window[1])
            if local < opens:
                local = opens
            if local < closes:
                available = closes - local
                if remaining <= available:
                    return _aware(local + remaining, tz)
                remaining -= available
        local = datetime.combine(local.date() + timedelta(days=1), time.min)
    return start + timedelta(minutes=minutes)


def _aware(local: datetime, tz: ZoneInfo) -> datetime:
    return local.replace(tzinfo=tz).astimezone(UTC)


def is_working_time(moment: datetime, *, time_zone: str, hours: Hours | None) -> bool:
    """Return True when `moment` falls inside the working hours."""
    local = moment.astimezone(zone(time_zone))
    window = parse_hours(hours)[local.weekday()]
    return window is not None and window[0] <= local.time() < window[1]
