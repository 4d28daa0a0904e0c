"""The `nurture-send` bench scenario end to end at a tiny size on SQLite, so it cannot rot unnoticed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_nurture_send_delivers_each_message_once_despite_the_kill(tmp_path):
    env = {**os.environ, "LEADFLOW_BENCH_DIR": str(tmp_path), "LEADFLOW_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        [sys.executable, "-m", "bench", "nurture-send", "--leads", "600", "--json"],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout)
    figures = result["figures"]
    assert figures["emails"] == 600
    assert figures["received"] == 600
    assert (figures["missing"], figures["duplicates"], figures["unknown_ids"]) == (0, 0, 0)
    assert figures["killed_after_messages"] >= 300
    assert figures["still_queued"] == 0
    assert {target["name"] for target in result["targets"]} == {
        "seconds to hand every email to the SMTP sink",
        "Message-IDs never received",
        "Message-IDs received more than once",
    }
