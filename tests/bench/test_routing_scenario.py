"""The `routing` bench scenario end to end at a tiny size on SQLite, so it cannot rot unnoticed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_routing_scenario_routes_fairly_and_sweeps_every_deadline(tmp_path):
    env = {**os.environ, "LEADFLOW_BENCH_DIR": str(tmp_path), "LEADFLOW_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "bench", "routing", "--leads", "50", "--rounds", "2", "--json"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    figures = result["figures"]
    assert figures["route_lead"]["count"] == 50
    assert figures["shares"] == [10, 10, 10, 10, 10]
    assert figures["sla_sweep"]["breached"] == 50
    assert {target["name"] for target in result["targets"]} == {
        "p95 of route_lead",
        "p95 of a rep's inbox",
        "SLA sweep per overdue lead",
        "largest minus smallest share",
    }
    assert result["notes"] == []
