"""The `auto-reply` bench scenario end to end for a few seconds on SQLite, so it cannot rot unnoticed."""

from __future__ import annotations

from tests.bench.run import bench_json


def test_every_submission_gets_its_auto_reply_through_the_smtp_sink(tmp_path):
    result = bench_json(tmp_path, "auto-reply", "--duration", "2")
    figures = result["figures"]
    assert figures["submitted"] == 20
    assert figures["accepted"] == figures["auto_replies_received"] == 20
    assert figures["submission_to_smtp"]["count"] == 20
    names = {target["name"] for target in result["targets"]}
    assert names == {"p99 submission to SMTP receipt", "auto-replies missing", "submissions refused"}
