"""Run `python -m bench` in a subprocess on a throwaway bench directory, as the bench tests do."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def bench(tmp_path: Path, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "LEADFLOW_BENCH_DIR": str(tmp_path), "LEADFLOW_VAR_DIR": str(tmp_path)}
    env.pop("DATABASE_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "bench", *args], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300
    )


def bench_json(tmp_path: Path, *args: str) -> dict:
    done = bench(tmp_path, *args, "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)
