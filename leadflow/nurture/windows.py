"""Time in the lead's time zone: sending windows and "wait until a weekday and time"."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.conf import settings

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def lead_zone(lead) -> ZoneInfo:
    """Return the lead's time zone, or the site's (LEADFLOW_TIME_ZONE) when it has none or an unknown one."""
    for name in (getattr(lead, "time_zone", "") or "", settings.TIME_ZONE):
        if not name:
            continue
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            continue
    return ZoneInfo("UTC")


def in_window(moment: datetime, zone: ZoneInfo, *, days: list[int], start_hour: int, end_hour: int) -> bool:
    """Return True when `moment` falls on one of `days` between the hours, in `zone`."""
    local = moment.astimezone(zone)
    return local.weekday() in days and start_hour <= local.hour < end_hour


def next_window(moment: datetime, zone: ZoneInfo, *, days: list[int], start_hour: int, end_hour: int) -> datetime:
    """Return `moment` when it is inside the sending window, else when the window next opens."""
    if not days or start_hour >= end_hour:
        return moment
    if in_window(moment, zone, days=days, start_hour=start_hour, end_hour=end_hour):
        return moment
    local = moment.astimezone(zone)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        if day.weekday() not in days:
            continue
        opens = datetime.combine(day, time(start_hour), tzinfo=zone)
        if opens > local:
            return _resolve(opens, zone)
    return moment


def next_weekday_time(moment: datetime, zone: ZoneInfo, *, weekday: int, at: time) -> datetime:
    """Return the first `weekday` at `at` in `zone` strictly after `moment`."""
    local = moment.astimezone(zone)
    for offset in range(8):
        day = local.date() + timedelta(days=offset)
        if day.weekday() != weekday:
            continue
        candidate = _resolve(datetime.combine(day, at, tzinfo=zone), zone)
        if candidate > moment:
            return candidate
    return moment + timedelta(days=7)


def _resolve(local: datetime, zone: ZoneInfo) -> datetime:
    """Turn a wall-clock time into a real instant, moving a time skipped by a DST change forward."""
    utc = local.astimezone(ZoneInfo("UTC"))
    if utc.astimezone(zone).replace(tzinfo=None) != local.replace(tzinfo=None):
        return (local + timedelta(hours=1)).astimezone(ZoneInfo("UTC"))
    return utc
