"""Fixed-window rate limits counted in the database, so every web process shares them."""

from __future__ import annotations

import ipaddress
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache, lru_cache
from typing import Any

from django.db import connection

from leadflow.capture.models import RateCounter


@dataclass(frozen=True)
class Limit:
    key: str
    limit: int
    period: int

    def window(self, now: float) -> int:
        return int(now // self.period) * self.period


def ip_key(ip: str | None) -> str:
    """Return the part of an address that names one client: the address, or an IPv6 /64."""
    if not ip:
        return "unknown"
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return "unknown"
    if address.version == 6:
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False).network_address)
    return str(address)


@cache
def _hit_sql(vendor: str, rows: int) -> str:
    """Return the statement that counts one hit against `rows` limits (one text per database kind)."""
    quote = connection.ops.quote_name
    table, key, start, hits, expires = (
        quote(name) for name in (RateCounter._meta.db_table, "key", "window_start", "hits", "expires_at")
    )
    values = ", ".join(["(%s, %s, 1, %s)"] * rows)
    # Only quoted identifiers and placeholders are interpolated; every value is a parameter.
    return (
        f"INSERT INTO {table} ({key}, {start}, {hits}, {expires}) VALUES {values} "  # noqa: S608
        f"ON CONFLICT ({key}, {start}) DO UPDATE SET {hits} = {table}.{hits} + 1 RETURNING {key}, {hits}"
    )


@lru_cache(maxsize=256)
def _expiry(vendor: str, end: int) -> Any:
    """Return the end of a window as the database takes it (the same for every post in the window)."""
    return connection.ops.adapt_datetimefield_value(datetime.fromtimestamp(end, tz=UTC))


@dataclass(frozen=True)
class Hits:
    """The counts after a hit, by key, and the seconds to wait when a limit is exceeded (else 0)."""

    wait: int
    counts: dict[str, int]


class Counting:
    """One hit against every one of `limits` at `now`, its statement written before the write begins.

    One INSERT ... ON CONFLICT DO UPDATE ... RETURNING statement, atomic on SQLite
    (3.35+) and PostgreSQL alike. A form post runs it inside its write transaction,
    which on SQLite holds the one write lock of the database: only the statement
    itself should happen there.
    """

    def __init__(self, limits: list[Limit], now: float) -> None:
        self.limits, self.now = limits, now
        self.params = []
        for limit in limits:
            window = limit.window(now)
            self.params += [limit.key, window, _expiry(connection.vendor, window + limit.period)]
        self.sql = _hit_sql(connection.vendor, len(limits))

    def run(self) -> Hits:
        """Run the statement; return the counts and the seconds to wait (0 when within every limit)."""
        with connection.cursor() as cursor:
            cursor.execute(self.sql, self.params)
            counts = dict(cursor.fetchall())
        wait = 0
        for limit in self.limits:
            if counts.get(limit.key, 0) > limit.limit:
                wait = max(wait, int(limit.window(self.now) + limit.period - self.now) + 1)
        return Hits(wait, counts)


def purge_expired(*, now: float | None = None) -> int:
    """Delete counters whose window has ended; return how many."""
    moment = datetime.fromtimestamp(time.time() if now is None else now, tz=UTC)
    return RateCounter.objects.filter(expires_at__lt=moment).delete()[0]
