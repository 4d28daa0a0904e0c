"""Shapes of the scoring settings page: the settings and one row per rule."""

from __future__ import annotations

from django import forms

from leadflow.scoring.errors import ScoringError
from leadflow.scoring.models import ScoringRule, ScoringSettings
from leadflow.scoring.services.rules import check_rule


class SettingsForm(forms.ModelForm):
    class Meta:
        model = ScoringSettings
        fields = ["half_life_days", "mql_threshold"]
        labels = {"half_life_days": "Engagement half-life (days)", "mql_threshold": "MQL threshold (points)"}


class RuleForm(forms.ModelForm):
    class Meta:
        model = ScoringRule
        fields = ["active", "name", "condition", "key", "value", "points", "cap", "position"]
        widgets = {
            "name": forms.TextInput(attrs={"size": 20}),
            "key": forms.TextInput(attrs={"size": 8, "placeholder": "field"}),
            "value": forms.TextInput(attrs={"size": 18}),
            "points": forms.NumberInput(attrs={"class": "narrow"}),
            "cap": forms.NumberInput(attrs={"class": "narrow", "placeholder": "—", "title": "Blank: no cap"}),
            "position": forms.NumberInput(attrs={"class": "narrow"}),
        }

    def clean(self) -> dict:
        cleaned = super().clean()
        if self.errors or not cleaned.get("condition"):
            return cleaned
        try:
            check_rule(cleaned)
        except ScoringError as error:
            self.add_error(error.field if error.field in self.fields else None, error.message)
        return cleaned


RuleFormSet = forms.modelformset_factory(ScoringRule, form=RuleForm, extra=2, can_delete=True)
