"""The rescore scenario end to end at a tiny size on SQLite."""

from __future__ import annotations

from tests.bench.test_harness import SIZE, bench_json


def test_rescore_scores_every_lead_and_reports_the_time(tmp_path):
    bench_json(tmp_path, "generate", *SIZE)
    first = bench_json(tmp_path, "rescore", *SIZE)
    assert first["figures"]["leads"] > 290
    assert first["figures"]["changed"] > 0
    assert [target["name"] for target in first["targets"]] == ["rescore every lead"]
    assert first["targets"][0]["pass"] is True
    # Each run tunes the has-a-phone rule, so a second run rewrites the scores again.
    second = bench_json(tmp_path, "rescore", *SIZE)
    assert second["figures"]["changed"] > 0
    assert second["settings"]["rule change"] != first["settings"]["rule change"]
