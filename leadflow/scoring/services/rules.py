"""Edit the scoring rules and settings: who may, and what a valid rule is."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from leadflow.accounts.models import Role
from leadflow.scoring import engine
from leadflow.scoring.errors import ScoringError
from leadflow.scoring.models import ScoringRule, ScoringSettings

RULE_FIELDS = ("name", "condition", "key", "value", "points", "cap", "active", "position")


def may_edit(user) -> bool:
    """Admins and marketing set up scoring; nobody else sees the page."""
    return bool(user and user.is_authenticated and user.is_active and (user.is_admin or user.role == Role.MARKETING))


def _check_actor(actor) -> None:
    if not may_edit(actor):
        raise ScoringError("forbidden", "Only admins and marketing may change scoring.")


def check_rule(values: dict[str, Any]) -> None:
    """Raise ScoringError unless the engine can use a rule with these values."""
    condition = engine.CONDITIONS.get(values.get("condition", ""))
    if condition is None:
        raise ScoringError("invalid_condition", "Pick a condition.", field="condition")
    if condition.needs_key and not str(values.get("key") or "").strip():
        raise ScoringError("missing_key", "Name the custom field.", field="key")
    if condition.needs_value and not str(values.get("value") or "").strip():
        example = f"{condition.label}: give a value, for example {condition.help}."
        raise ScoringError("missing_value", example, field="value")
    try:
        engine.compile_rule(values)
    except (engine.RuleError, ValueError) as error:
        raise ScoringError("invalid_value", str(error), field="value") from error


def save_rules(*, rules: list[dict[str, Any]], delete_ids: list[int], actor) -> list[ScoringRule]:
    """Create or update the given rules (an `id` updates), delete `delete_ids`; return every rule.

    The scores do not change until a rescore: the caller offers one.
    """
    _check_actor(actor)
    for values in rules:
        check_rule(values)
    now = timezone.now()
    with transaction.atomic():
        ScoringRule.objects.filter(pk__in=delete_ids).delete()
        for values in rules:
            fields = {name: values[name] for name in RULE_FIELDS if name in values}
            rule_id = values.get("id")
            if rule_id:
                ScoringRule.objects.filter(pk=rule_id).update(**fields, updated_at=now)
            else:
                ScoringRule.objects.create(**fields, created_at=now, updated_at=now)
        ScoringSettings.load()
        ScoringSettings.objects.filter(pk=1).update(rules_changed_at=now)
    return list(ScoringRule.objects.all())


def update_settings(*, half_life_days: int, mql_threshold: int, actor) -> ScoringSettings:
    """Change the engagement half-life (days, 0 for none) and the MQL threshold."""
    _check_actor(actor)
    if half_life_days < 0 or half_life_days > 3650:
        raise ScoringError("invalid_half_life", "The half-life is 0 (no decay) to 3650 days.", field="half_life_days")
    if mql_threshold < 1 or mql_threshold > 10_000:
        raise ScoringError("invalid_threshold", "The MQL threshold is 1 to 10000 points.", field="mql_threshold")
    with transaction.atomic():
        settings = ScoringSettings.objects.select_for_update().get_or_create(pk=1)[0]
        changed = settings.half_life_days != half_life_days
        settings.half_life_days, settings.mql_threshold = half_life_days, mql_threshold
        settings.updated_at = timezone.now()
        if changed:
            settings.rules_changed_at = settings.updated_at
        settings.save()
    return settings
