"""The predictive-xeducation scenario end to end on a slice of the export, so it cannot rot unnoticed."""

from __future__ import annotations

from tests.bench.test_harness import bench_json


def test_predictive_xeducation_reports_an_honest_auc_and_the_leaky_one_beside_it(tmp_path):
    result = bench_json(tmp_path, "predictive-xeducation", "--leads", "1500")
    figures = result["figures"]
    assert figures["import"]["rows"] == 1500
    assert figures["examples"]["positives"] + figures["examples"]["negatives"] == figures["import"]["created"]
    assert 0.75 <= figures["cv_roc_auc"] < figures["cv_roc_auc_with_sales_fields"]
    assert figures["cv_roc_auc_with_sales_fields"] >= 0.95, "the sales-filled columns give the answer away"
    assert len(figures["cv_roc_auc_folds"]) == 5
    assert "rule_score" in figures and "rule_score_roc_auc" in figures
    assert {target["name"] for target in result["targets"]} == {"5-fold CV ROC AUC", "rows not accounted for"}
