"""The stage-moves scenario end to end at a tiny size on SQLite."""

from __future__ import annotations

from tests.bench.test_harness import SIZE, bench_json


def test_stage_moves_time_moves_and_refusals_and_leave_the_data_as_it_was(tmp_path):
    bench_json(tmp_path, "generate", *SIZE)
    first = bench_json(tmp_path, "stage-moves", *SIZE)
    figures = first["figures"]
    assert figures["one move"]["count"] > 0
    assert figures["gate refuses: to sql unqualified"]["count"] > 0
    assert first["settings"]["refused"] >= figures["gate refuses: to sql unqualified"]["count"]
    assert figures["bulk"]["moved"] == figures["bulk"]["leads"] > 0
    assert [target["name"] for target in first["targets"]] == ["p95 of one stage move", "bulk move rate"]
    # Every move was rolled back, so a second run finds the same leads and moves them again.
    second = bench_json(tmp_path, "stage-moves", *SIZE)
    assert second["figures"]["bulk"]["moved"] == figures["bulk"]["moved"]
