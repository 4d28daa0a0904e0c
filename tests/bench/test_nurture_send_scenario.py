"""The `nurture-send` bench scenario end to end at a tiny size on SQLite, so it cannot rot unnoticed."""

from __future__ import annotations

from tests.bench.run import bench_json


def test_nurture_send_delivers_each_message_once_despite_the_kill(tmp_path):
    result = bench_json(tmp_path, "nurture-send", "--leads", "600")
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
