"""The generated data set: made once per size, recorded in the bench_dataset table and reused."""

from __future__ import annotations

import collections
import multiprocessing
import os
import random
import time

from bench import rows
from bench.database import Database, log
from bench.load import loader_for

GENERATOR_VERSION = "2"
CHUNK_LEADS = 10_000
COMPANY_CHUNK = 20_000
TEAM_NAMES = ("East", "West", "North", "South", "Enterprise", "Mid-Market", "EMEA", "APAC")
REPS_PER_TEAM = 5
META_TABLE = "bench_dataset"


def read_meta() -> dict[str, str]:
    """Return what the bench_dataset table says about the data set, empty when there is none."""
    from django.db import connection

    if META_TABLE not in connection.introspection.table_names():
        return {}
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT key, value FROM {META_TABLE}")
        return dict(cursor.fetchall())


def write_meta(values: dict[str, object]) -> None:
    from django.db import connection, transaction

    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"CREATE TABLE IF NOT EXISTS {META_TABLE} (key varchar(64) PRIMARY KEY, value text NOT NULL)")
        for key, value in values.items():
            cursor.execute(f"DELETE FROM {META_TABLE} WHERE key = %s", [key])
            cursor.execute(f"INSERT INTO {META_TABLE} (key, value) VALUES (%s, %s)", [key, str(value)])


def matches(meta: dict[str, str], *, leads: int, events: int, seed: int) -> bool:
    wanted = {"complete": "1", "version": GENERATOR_VERSION, "leads": str(leads), "events": str(events)}
    return all(meta.get(key) == value for key, value in wanted.items()) and meta.get("seed") == str(seed)


def ensure(db: Database, *, leads: int, events: int, seed: int) -> tuple[dict[str, str], bool]:
    """Return (the data set's record, whether it was generated now); generate it unless it exists at this size."""
    from django.db import connections

    if db.exists():
        meta = read_meta()
        if matches(meta, leads=leads, events=events, seed=seed):
            log(f"bench: reusing the {leads:,}-lead data set in {db.path or db.name}")
            _migrate_if_behind()
            return meta, False
        connections.close_all()
    generate(db, leads=leads, events=events, seed=seed)
    return read_meta(), True


def _migrate() -> None:
    from django.core.management import call_command

    call_command("migrate", interactive=False, verbosity=0)


def _migrate_if_behind() -> None:
    """Bring a reused data set's schema up to the code's: migrations added since it was made are applied."""
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    executor = MigrationExecutor(connection)
    pending = executor.migration_plan(executor.loader.graph.leaf_nodes())
    if pending:
        log(f"bench: applying {len(pending)} migration(s) made since the data set was generated")
        _migrate()


def create_people(seed: int) -> rows.People:
    """Create ~50 users: an admin, a marketer, and per team a manager and reps."""
    from leadflow.accounts.models import Role, Team
    from leadflow.accounts.services import create_user
    from leadflow.lib import fakedata

    rng = random.Random(seed)
    create_user(username="bench-admin", role=Role.ADMIN, first_name="Ada", last_name="Admin")
    create_user(username="bench-marketing", role=Role.MARKETING, first_name="Mark", last_name="Eting")
    reps, managers, team_ids, weights = [], [], [], []
    for name in TEAM_NAMES:
        team = Team.objects.create(name=name)
        slug = name.lower()
        names = {"first_name": rng.choice(fakedata.FIRST_NAMES), "last_name": rng.choice(fakedata.LAST_NAMES)}
        manager = create_user(username=f"manager-{slug}", role=Role.MANAGER, team=team, **names)
        team.managers.add(manager)
        managers.append((manager.pk, team.pk))
        team_ids.append(team.pk)
        for n in range(1, REPS_PER_TEAM + 1):
            names = {"first_name": rng.choice(fakedata.FIRST_NAMES), "last_name": rng.choice(fakedata.LAST_NAMES)}
            rep = create_user(username=f"rep-{slug}-{n}", role=Role.REP, team=team, **names)
            reps.append((rep.pk, team.pk))
            # Some reps carry three times the book of others.
            weights.append(rng.uniform(1.0, 3.0))
    return rows.People(reps=reps, managers=managers, team_ids=team_ids, rep_weights=weights)


_maker: rows.ChunkMaker | None = None


def _init_worker(plan: rows.Plan) -> None:
    global _maker
    _maker = rows.ChunkMaker(plan)


def _make_chunk(bounds: tuple[int, int]) -> tuple[list[tuple], list[tuple]]:
    return _maker.chunk(*bounds)


def _chunks(plan: rows.Plan, workers: int):
    """Yield (leads, events) chunks in order, made by `workers` processes, a bounded number at a time."""
    bounds = [(start, min(start + CHUNK_LEADS, plan.leads)) for start in range(0, plan.leads, CHUNK_LEADS)]
    if workers <= 1 or len(bounds) <= 1:
        _init_worker(plan)
        for bound in bounds:
            yield _make_chunk(bound)
        return
    context = multiprocessing.get_context("spawn")
    with context.Pool(workers, initializer=_init_worker, initargs=(plan,)) as pool:
        pending: collections.deque = collections.deque()
        queue = iter(bounds)
        for bound in queue:
            pending.append(pool.apply_async(_make_chunk, (bound,)))
            if len(pending) >= workers * 2:
                yield pending.popleft().get()
        while pending:
            yield pending.popleft().get()


def generate(db: Database, *, leads: int, events: int, seed: int) -> None:
    """Make the data set from nothing: schema by migrate, people, companies, leads and events."""
    from django.db import connections

    started = time.perf_counter()
    log(f"bench: generating {leads:,} leads and {events:,} events in {db.path or db.name}")
    db.remove()
    db.create()
    _migrate()
    write_meta({"complete": 0, "version": GENERATOR_VERSION, "leads": leads, "events": events, "seed": seed})
    people = create_people(seed)
    connections.close_all()
    schema_s = time.perf_counter() - started
    plan = rows.Plan(leads=leads, events=events, seed=seed, now=time.time(), people=people)
    loader = loader_for(db)
    loader.begin()
    load_started = time.perf_counter()
    for start in range(0, plan.companies, COMPANY_CHUNK):
        loader.write(
            "leads_company",
            rows.COMPANY_COLUMNS,
            rows.company_rows(plan, start, min(start + COMPANY_CHUNK, plan.companies)),
        )
    loader.commit()
    written_leads = written_events = 0
    next_report = 0.0
    for lead_rows, event_rows in _chunks(plan, workers=min(2, os.cpu_count() or 1)):
        loader.write("leads_lead", rows.LEAD_COLUMNS, lead_rows)
        loader.write("leads_timelineevent", rows.EVENT_COLUMNS, event_rows)
        loader.commit()
        written_leads += len(lead_rows)
        written_events += len(event_rows)
        if written_leads / leads >= next_report:
            elapsed = time.perf_counter() - load_started
            log(f"bench: {written_leads:,} leads, {written_events:,} events written ({elapsed:.0f} s)")
            next_report += 0.1
    load_s = time.perf_counter() - load_started
    timings = loader.finish()
    total_s = time.perf_counter() - started
    write_meta(
        {
            "complete": 1,
            "companies": plan.companies,
            "users": len(people.reps) + len(people.managers) + 2,
            "teams": len(people.team_ids),
            "written_leads": written_leads,
            "written_events": written_events,
            "lead_page_lead_id": plan.lead_page_index + 1,
            "lead_page_events": plan.lead_page_events,
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(plan.now)),
            "schema_s": f"{schema_s:.1f}",
            "load_s": f"{load_s:.1f}",
            "indexes_s": f"{timings['indexes_s']:.1f}",
            "analyze_s": f"{timings['analyze_s']:.1f}",
            "total_s": f"{total_s:.1f}",
        }
    )
    log(f"bench: generated in {total_s:.0f} s")
