"""Time pages in-process through Django's test client, as production serves them, and explain slow ones."""

from __future__ import annotations

import collections
import time
from dataclasses import dataclass, field
from typing import Any

from bench.database import log
from bench.report import Result, Target, percentile, summary


@dataclass
class Probe:
    """One request to time: what kind it is, who asks, and for what."""

    kind: str
    persona: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)


@dataclass
class Sample:
    ms: float
    cpu_ms: float
    sql_ms: float
    queries: int
    status: int
    statements: list[tuple[float, str, Any]]


class SqlRecorder:
    """Record each statement's duration while a request runs."""

    def __init__(self) -> None:
        self.statements: list[tuple[float, str, Any]] = []

    def __call__(self, execute, sql, params, many, context):
        started = time.perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            self.statements.append(((time.perf_counter() - started) * 1000, sql, params))


class PageTimer:
    """Serve probes through the test client, one signed-in client per persona.

    Each request is timed from the client's call to the response, which covers the
    middleware, the view, its queries and the template. Connections are closed after
    each request exactly as Django does between production requests (on SQLite,
    CONN_MAX_AGE is 0, so every request opens its own connection).
    """

    def __init__(self, users: dict[str, Any]) -> None:
        from django.test import Client

        self.clients = {}
        for persona, user in users.items():
            client = Client()
            client.force_login(user)
            self.clients[persona] = client
        self.samples: dict[str, list[Sample]] = collections.defaultdict(list)
        self.errors: dict[str, list[str]] = collections.defaultdict(list)

    def fetch(self, probe: Probe) -> Sample | None:
        from django.db import close_old_connections, connection

        recorder = SqlRecorder()
        status = 0
        started, cpu_started = time.perf_counter(), time.process_time()
        try:
            with connection.execute_wrapper(recorder):
                response = self.clients[probe.persona].get(probe.path, probe.params)
            status = response.status_code
        except Exception as error:
            self.errors[probe.kind].append(
                f"{probe.persona} {probe.path} {probe.params}: {type(error).__name__}: {error}"
            )
            return None
        finally:
            elapsed = (time.perf_counter() - started) * 1000
            cpu = (time.process_time() - cpu_started) * 1000
            close_old_connections()
        if status != 200:
            self.errors[probe.kind].append(f"{probe.persona} {probe.path} {probe.params}: HTTP {status}")
            return None
        sql_ms = sum(statement[0] for statement in recorder.statements)
        return Sample(elapsed, cpu, sql_ms, len(recorder.statements), status, recorder.statements)

    def run(self, probes: list[Probe], *, warmup: list[Probe]) -> float:
        """Serve `warmup` untimed, then time every probe; return the wall time of the timed part."""
        for probe in warmup:
            self.fetch(probe)
        self.errors.clear()
        started = time.perf_counter()
        step = max(1, len(probes) // 10)
        for number, probe in enumerate(probes, 1):
            if number % step == 0:
                log(f"bench: {number:,} of {len(probes):,} requests ({time.perf_counter() - started:.0f} s)")
            sample = self.fetch(probe)
            if sample is not None:
                self.samples[probe.kind].append(sample)
        return time.perf_counter() - started


def kind_figures(samples: list[Sample], errors: list[str]) -> dict[str, Any]:
    figures = summary([sample.ms for sample in samples])
    if samples:
        figures["sql_p95_ms"] = round(percentile([s.sql_ms for s in samples], 95), 2)
        # CPU time of this process (Python, and SQLite's own work): what the request costs without other load.
        figures["cpu_p50_ms"] = round(percentile([s.cpu_ms for s in samples], 50), 2)
        figures["cpu_p95_ms"] = round(percentile([s.cpu_ms for s in samples], 95), 2)
        figures["queries"] = round(sum(s.queries for s in samples) / len(samples), 1)
    figures["errors"] = len(errors)
    return figures


def explain(sql: str, params: Any) -> list[str]:
    """Return the database's plan for one statement: EXPLAIN QUERY PLAN or EXPLAIN ANALYZE."""
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "sqlite":
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            return [f"{'  ' * (parent and 1)}{detail}" for _, parent, _, detail in cursor.fetchall()]
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params)
        return [row[0] for row in cursor.fetchall()]


def replay_ms(sql: str, params: Any) -> float:
    """Run one read again and fetch every row: its whole cost, which on SQLite is mostly in the fetch."""
    from django.db import connection

    with connection.cursor() as cursor:
        started = time.perf_counter()
        cursor.execute(sql, params)
        cursor.fetchall()
        return (time.perf_counter() - started) * 1000


def diagnose(samples: list[Sample]) -> dict[str, Any]:
    """Return the slowest statement of the slowest request of a kind, with its plan.

    The request's reads are run again with all their rows fetched, since the time taken
    by execute() alone leaves out the work SQLite does while rows are fetched.
    """
    worst = max(samples, key=lambda sample: sample.ms)
    replayed = [
        (replay_ms(sql, params), ms, sql, params)
        for ms, sql, params in worst.statements
        if sql.lstrip().upper().startswith("SELECT")
    ] or [(0.0, ms, sql, params) for ms, sql, params in worst.statements]
    replay, ms, sql, params = max(replayed, key=lambda statement: (statement[0], statement[1]))
    return {
        "request_ms": round(worst.ms, 1),
        "request_sql_ms": round(worst.sql_ms, 1),
        "request_queries": worst.queries,
        "statement_ms": round(ms, 1),
        "statement_replayed_ms": round(replay, 1),
        "sql": sql,
        "params": [str(param) for param in params or ()],
        "plan": explain(sql, params),
    }


def report_pages(result: Result, timer: PageTimer, kinds: list[str], *, limit_ms: float, explain_all: bool) -> None:
    """Fill `result` with per-kind and overall figures, targets and plans of the kinds over the limit."""
    per_kind, diagnosis = {}, {}
    for kind in kinds:
        samples, errors = timer.samples.get(kind, []), timer.errors.get(kind, [])
        per_kind[kind] = kind_figures(samples, errors)
        p95 = per_kind[kind].get("p95_ms", 0.0)
        result.targets.append(Target(f"p95 {kind}", p95, limit_ms, unit=" ms"))
        if samples and (explain_all or p95 > limit_ms):
            diagnosis[kind] = diagnose(samples)
        if errors:
            result.notes.append(f"{kind}: {len(errors)} failed requests, first: {errors[0]}")
    everything = [sample.ms for kind in kinds for sample in timer.samples.get(kind, [])]
    overall = summary(everything)
    error_count = sum(len(errors) for errors in timer.errors.values())
    result.targets.insert(0, Target("p95 all requests", overall.get("p95_ms", 0.0), limit_ms, unit=" ms"))
    result.targets.append(Target("failed requests", error_count, 0))
    cpu = [sample.cpu_ms for kind in kinds for sample in timer.samples.get(kind, [])]
    result.figures["overall"] = {**overall, "cpu_p95_ms": round(percentile(cpu, 95), 2), "errors": error_count}
    result.figures["per_kind"] = per_kind
    if diagnosis:
        result.figures["slowest_statements"] = diagnosis
