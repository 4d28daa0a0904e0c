"""The pure engine: conditions, caps, negative points, decay."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import pytest

from leadflow.scoring import engine

NOW = datetime(2026, 3, 31, 12, 0, tzinfo=UTC)


def rule(condition: str, points: int = 10, **extra) -> dict:
    return {"name": extra.pop("name", condition), "condition": condition, "points": points, **extra}


def fit_of(rules: list[dict], **lead) -> int:
    return engine.score(rules=rules, lead=lead, events=[], now=NOW).fit


@pytest.mark.parametrize(
    ("condition", "value", "lead", "expected"),
    [
        ("industry_in", "software, finance", {"industry": "Finance"}, 10),
        ("industry_in", "software, finance", {"industry": "retail"}, 0),
        ("company_size_at_least", "50", {"company_size": 50}, 10),
        ("company_size_at_least", "50", {"company_size": 49}, 0),
        ("company_size_at_least", "50", {"company_size": None}, 0),
        ("company_size_at_most", "10", {"company_size": 8}, 10),
        ("country_in", "us, gb", {"country": "GB"}, 10),
        ("country_in", "us, gb", {"country": "DE"}, 0),
        ("title_contains", "Head, VP, Director", {"title": "Head of Growth"}, 10),
        ("title_contains", "Head, VP, Director", {"title": "Marketing intern"}, 0),
        ("has_phone", "", {"phone": "+14155550100"}, 10),
        ("has_phone", "", {"phone": ""}, 0),
        ("source_in", "google, linkedin", {"source": "LinkedIn"}, 10),
        ("corporate_email", "", {"email": "ana@acme.example"}, 10),
        ("corporate_email", "", {"email": "ana@Gmail.com"}, 0),
        ("corporate_email", "", {"email": ""}, 0),
    ],
)
def test_field_conditions(condition, value, lead, expected):
    assert fit_of([rule(condition, value=value)], **lead) == expected


def test_custom_field_conditions_read_the_custom_dict_or_its_json():
    equals = rule("custom_equals", key="plan", value="Gold")
    one_of = rule("custom_in", 5, key="plan", value="gold, silver")
    assert fit_of([equals, one_of], custom={"plan": "gold"}) == 15
    assert fit_of([equals, one_of], custom='{"plan": "silver"}') == 5
    assert fit_of([equals, one_of], custom={}) == 0


def at(days_ago: float) -> datetime:
    return NOW - timedelta(days=days_ago)


def test_event_conditions_count_matching_events():
    rules = [
        rule("page_visited", 10, value="/pricing"),
        rule("form_submitted", 15, value="Demo request"),
        rule("email_clicked", 5),
        rule("email_opened", 1),
        rule("email_replied", 20),
        rule("call_connected", 10),
        rule("meeting", 20),
    ]
    events = [
        ("page_viewed", at(1), {"url": "https://acme.example/", "pages": [{"url": "https://acme.example/pricing?x"}]}),
        ("page_viewed", at(1), {"url": "https://acme.example/blog"}),
        ("form_submitted", at(1), {"form": "Demo request", "form_id": 3}),
        ("form_submitted", at(1), {"form": "Newsletter", "form_id": 4}),
        ("email_clicked", at(1), '{"url": "https://acme.example/demo"}'),
        ("email_clicked", at(1), {"url": "https://acme.example/demo", "machine": True}),
        ("email_opened", at(1), {"machine": True}),
        ("email_replied", at(1), {}),
        ("call", at(1), {"outcome": "connected"}),
        ("call", at(1), {"outcome": "no_answer"}),
        ("meeting", at(1), None),
        ("score_changed", at(1), {"from": 0, "to": 90}),
    ]
    result = engine.score(rules=rules, lead={}, events=events, now=NOW)
    by_rule = {c.name: c.points for c in result.contributions}
    assert by_rule == {
        "page_visited": 10,
        "form_submitted": 15,
        "email_clicked": 5,
        "email_replied": 20,
        "call_connected": 10,
        "meeting": 20,
    }
    assert result.engagement == 80
    assert result.total == 80


def test_page_patterns_take_wildcards():
    rules = [rule("page_visited", 10, value="/blog/*scoring")]
    events = [("page_viewed", at(0), {"url": "https://a.example/blog/lead-scoring"})]
    assert engine.score(rules=rules, lead={}, events=events, now=NOW).engagement == 10
    events = [("page_viewed", at(0), '{"url": "https://a.example/blog/crm"}')]
    assert engine.score(rules=rules, lead={}, events=events, now=NOW).engagement == 0


def test_a_cap_stops_a_rule_and_negative_points_subtract():
    rules = [rule("email_clicked", 5, cap=12), rule("title_contains", -15, value="student")]
    events = [("email_clicked", at(0), {})] * 5
    result = engine.score(rules=rules, lead={"title": "PhD Student"}, events=events, now=NOW)
    assert result.engagement == 12
    assert result.fit == -15
    assert result.total == -3


def test_a_cap_bounds_negative_rules_too():
    rules = [rule("email_opened", -4, cap=10)]
    result = engine.score(rules=rules, lead={}, events=[("email_opened", at(0), {})] * 5, now=NOW)
    assert result.engagement == -10


def test_inactive_rules_give_nothing():
    assert fit_of([rule("has_phone", active=False)], phone="+1") == 0


def test_an_event_one_half_life_old_is_worth_half():
    rules = [rule("email_replied", 10)]
    events = [{"kind": "email_replied", "occurred_at": at(30), "data": {}}]
    assert engine.score(rules=rules, lead={}, events=events, now=NOW, half_life_days=30).engagement == 5
    assert engine.score(rules=rules, lead={}, events=events, now=NOW, half_life_days=0).engagement == 10
    two_half_lives = [{"kind": "email_replied", "occurred_at": at(60).isoformat(), "data": {}}]
    assert engine.score(rules=rules, lead={}, events=two_half_lives, now=NOW, half_life_days=30).engagement == 3


def test_contributions_say_when_the_latest_counted_event_happened():
    rules = [rule("page_visited", 10, value="/pricing", cap=30, id=7, name="Pricing")]
    events = [
        ("page_viewed", at(3), {"url": "https://a.example/pricing"}),
        ("page_viewed", at(1), {"url": "https://a.example/pricing"}),
        ("page_viewed", at(0), {"url": "https://a.example/about"}),
    ]
    (part,) = engine.score(rules=rules, lead={}, events=events, now=NOW).contributions
    assert (part.rule_id, part.name, part.kind, part.points, part.events) == (7, "Pricing", "engagement", 20, 2)
    assert part.when == at(1)


def test_times_can_be_epoch_seconds_or_naive_utc_text():
    rules = [rule("meeting", 8)]
    events = [("meeting", at(10).timestamp(), None), ("meeting", "2026-03-21 12:00:00", None)]
    result = engine.score(rules=rules, lead={}, events=events, now=NOW.timestamp(), half_life_days=10)
    assert result.engagement == 8


def test_unknown_conditions_and_bad_values_are_refused():
    with pytest.raises(engine.RuleError, match="unknown condition"):
        engine.Scorer([rule("shoe_size")])
    with pytest.raises(engine.RuleError, match="not a whole number"):
        engine.Scorer([rule("company_size_at_least", value="fifty")])


def test_the_scorer_names_only_the_event_kinds_its_rules_read():
    scorer = engine.Scorer([rule("email_clicked"), rule("page_visited", value="/demo"), rule("has_phone")])
    assert scorer.event_kinds == ["email_clicked", "page_viewed"]


def test_the_default_rules_match_what_a_fresh_install_seeds():
    migration = importlib.import_module("leadflow.scoring.migrations.0001_initial")
    seeded = [
        {"name": name, "condition": condition, "value": value, "points": points, "cap": cap}
        for name, condition, value, points, cap in migration.DEFAULT_RULES
    ]
    assert seeded == list(engine.DEFAULT_RULES)
    assert len(engine.Scorer(engine.DEFAULT_RULES).rules) == 13
