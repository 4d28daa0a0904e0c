"""The `auto-reply` bench scenario end to end for a few seconds on SQLite, so it cannot rot unnoticed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_every_submission_gets_its_auto_reply_through_the_smtp_sink(tmp_path):
    env = {**os.environ, "LEADFLOW_BENCH_DIR": str(tmp_path), "LEADFLOW_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "bench", "auto-reply", "--duration", "2", "--json"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    figures = result["figures"]
    assert figures["submitted"] == 20
    assert figures["accepted"] == figures["auto_replies_received"] == 20
    assert figures["submission_to_smtp"]["count"] == 20
    names = {target["name"] for target in result["targets"]}
    assert names == {"p99 submission to SMTP receipt", "auto-replies missing", "submissions refused"}
