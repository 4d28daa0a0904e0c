"""The `routing` bench scenario end to end at a tiny size on SQLite, so it cannot rot unnoticed."""

from __future__ import annotations

from tests.bench.run import bench_json


def test_routing_scenario_routes_fairly_and_sweeps_every_deadline(tmp_path):
    result = bench_json(tmp_path, "routing", "--leads", "50", "--rounds", "2")
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
