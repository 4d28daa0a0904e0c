"""The `form-submit` bench scenario end to end for a few seconds on SQLite, so it cannot rot unnoticed."""

from __future__ import annotations

import shutil

import pytest

from tests.bench.run import bench_json

pytestmark = pytest.mark.skipif(shutil.which("wrk") is None, reason="form-submit needs wrk on PATH")


def test_every_accepted_post_becomes_exactly_one_lead_and_the_lag_is_reported(tmp_path):
    result = bench_json(tmp_path, "form-submit", "--duration", "2")
    figures = result["figures"]
    assert figures["paced"]["sent"] == figures["paced"]["status"]["200"] == 600
    stored = figures["stored"]
    assert stored["submissions"] == stored["accepted"] == stored["leads"] == stored["form_events"]
    assert stored["received"] == 0
    recording = figures["recording"]
    assert recording["lag_paced"]["count"] == 600
    assert recording["received_left"] == 0
    assert recording["accepted_without_lead"] == recording["accepted_sharing_a_lead"] == 0
    assert recording["leads_not_from_one_post"] == recording["form_events_off_by"] == 0
    targets = {target["name"]: target for target in result["targets"]}
    assert targets["posts not recorded as exactly one lead"]["value"] == 0
    assert "submission-to-lead p99 at 300/s" in targets
