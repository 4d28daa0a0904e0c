"""The `collector` bench scenario end to end for a second, so it cannot rot unnoticed."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.skipif(not shutil.which("wrk"), reason="the collector scenario drives wrk")
def test_collector_scenario_stores_every_view_it_was_answered_for(tmp_path):
    env = {**os.environ, "LEADFLOW_BENCH_DIR": str(tmp_path), "LEADFLOW_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    args = ["collector", "--json", "--duration", "1", "--threads", "1", "--connections", "2", "--workers", "1"]
    done = subprocess.run(
        [sys.executable, "-m", "bench", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    figures = result["figures"]
    assert figures["flat_out_batches_of_10"]["non_2xx"] == figures["flat_out_one_view_per_beacon"]["non_2xx"] == 0
    assert figures["flat_out_batches_of_10"]["ok_2xx"] > 0
    assert figures["views_stored"] >= figures["views_answered_200"] > 10
    assert {target["name"] for target in result["targets"]} >= {
        "page views/s flat out (batches of 10)",
        "p99 at 3000 page views/s",
    }
    assert result["figures"]["paced_3000_views_per_s"]["non_2xx"] == 0
    assert len(result["notes"]) == 1, result["notes"]
