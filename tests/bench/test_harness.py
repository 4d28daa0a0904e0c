"""The benchmark harness end to end at a tiny size on SQLite, so it cannot rot unnoticed."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from tests.bench.run import ROOT, bench, bench_json

SIZE = ["--leads", "300", "--events", "3000"]


def test_list_names_every_scenario(tmp_path):
    done = bench(tmp_path, "--list")
    names = {line.split()[0] for line in done.stdout.splitlines()}
    assert names >= {"generate", "list-page", "lead-page", "api-create"}


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> tuple[Path, dict]:
    directory = tmp_path_factory.mktemp("bench")
    return directory, bench_json(directory, "generate", *SIZE)


def test_generator_makes_exactly_the_requested_data_set(generated):
    directory, result = generated
    counts = result["figures"]["counts"]
    assert (counts["leads"], counts["events"], counts["companies"], counts["users"]) == (300, 3000, 15, 50)
    assert result["figures"]["lead_page_lead"]["events"] == "1000"
    db = sqlite3.connect(directory / "dataset.sqlite3")
    distinct = db.execute("SELECT count(DISTINCT email_key), count(email_key) FROM leads_lead").fetchone()
    assert distinct[0] == distinct[1]
    phones = db.execute("SELECT count(DISTINCT phone), count(*) FROM leads_lead WHERE phone != ''").fetchone()
    assert phones[0] == phones[1]
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_generator_reuses_a_data_set_of_the_same_size(generated):
    directory, _ = generated
    assert bench_json(directory, "generate", *SIZE)["figures"]["generated_now"] is False


def test_list_page_serves_every_kind_without_error(generated):
    directory, _ = generated
    result = bench_json(directory, "list-page", *SIZE, "--rounds", "1")
    assert set(result["machine"]) >= {"cores", "memory_gib", "cpu", "python", "db", "db_version"}
    assert result["figures"]["overall"]["errors"] == 0, result["notes"]
    assert all(figures["count"] == 3 for figures in result["figures"]["per_kind"].values())
    assert {target["name"] for target in result["targets"]} >= {"p95 all requests", "p95 search-email"}


def test_a_reused_data_set_gets_the_migrations_made_since_it_was_generated(generated):
    directory, _ = generated
    database = directory / "dataset.sqlite3"
    env = {**os.environ, "LEADFLOW_SQLITE_PATH": str(database), "DJANGO_SETTINGS_MODULE": "leadflow.settings"}
    env.pop("DATABASE_URL", None)
    rollback = [sys.executable, "-m", "django", "migrate", "capture", "0002", "--verbosity", "0"]
    subprocess.run(rollback, env=env, cwd=ROOT, check=True, capture_output=True, timeout=120)
    applied = "SELECT count(*) FROM django_migrations WHERE app = 'capture' AND name = '0003_submission_fewer_indexes'"
    assert sqlite3.connect(database).execute(applied).fetchone()[0] == 0

    done = bench(directory, "generate", *SIZE, "--json")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["figures"]["generated_now"] is False
    assert "applying 1 migration(s)" in done.stderr
    assert sqlite3.connect(database).execute(applied).fetchone()[0] == 1
