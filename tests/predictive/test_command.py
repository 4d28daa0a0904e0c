"""`leadflow train-score`: train now, print the cross-validated AUC and the examples, fail clearly without data."""

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from leadflow.predictive.models import ScoreModel
from tests.predictive.conftest import closed_history

ROOT = Path(__file__).resolve().parents[2]


def test_train_score_prints_one_json_object(history):
    out = StringIO()
    call_command("train-score", "--json", stdout=out)
    summary = json.loads(out.getvalue())
    model = ScoreModel.objects.get()
    assert summary == {
        "auc": model.auc, "examples": 120, "positives": 60, "negatives": 60,
        "algorithm": "logistic_regression", "version": 1, "scored": 0,
    }  # fmt: skip


def test_train_score_says_the_auc_and_example_count(history):
    out = StringIO()
    call_command("train-score", stdout=out)
    assert (
        "cross-validated ROC AUC" in out.getvalue()
        and "on 120 examples (60 customers, 60 disqualified)" in out.getvalue()
    )


def test_train_score_with_too_little_data_fails_with_the_reason(db):
    closed_history(customers=3, disqualified=12)
    with pytest.raises(CommandError, match="there are 3 and 12"):
        call_command("train-score", "--json")


def test_the_leadflow_command_exits_non_zero_without_data(tmp_path):
    env = {**os.environ, "LEADFLOW_VAR_DIR": str(tmp_path), "LEADFLOW_SQLITE_PATH": str(tmp_path / "db.sqlite3")}
    env.pop("DATABASE_URL", None)
    leadflow = [sys.executable, "-m", "leadflow.cli"]
    subprocess.run([*leadflow, "migrate", "-v0"], env=env, cwd=ROOT, check=True, timeout=300)
    done = subprocess.run([*leadflow, "train-score"], env=env, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode != 0
    assert "Training needs at least 20 customers and 20 disqualified leads; there are 0 and 0." in done.stderr
