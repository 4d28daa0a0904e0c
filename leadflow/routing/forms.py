"""Forms of the routing pages: they check shape only."""

from __future__ import annotations

from zoneinfo import available_timezones

from django import forms

from leadflow.accounts.models import Role, Team, User
from leadflow.leads.models import CallOutcome, Stage
from leadflow.routing.models import WEEKDAYS, AssignmentRule, Availability, TaskKind

INBOX_OUTCOMES = [
    (value, label)
    for value, label in CallOutcome.choices
    if value in {"connected", "voicemail", "no_answer", "wrong_number"}
]


class ListField(forms.CharField):
    """A comma-separated list typed in one box: 'DE, AT, CH'."""

    def __init__(self, *, upper: bool = False, **kwargs) -> None:
        self.upper = upper
        kwargs.setdefault("required", False)
        super().__init__(**kwargs)

    def prepare_value(self, value):
        return ", ".join(value) if isinstance(value, list) else value

    def to_python(self, value) -> list[str]:
        items = [item.strip() for item in (value or "").replace("\n", ",").split(",") if item.strip()]
        return [item.upper() if self.upper else item for item in items][:200]


class RuleForm(forms.ModelForm):
    sources = ListField(max_length=2000, help_text="Comma-separated, for example: webinar, google")
    countries = ListField(upper=True, max_length=2000, help_text="Two-letter codes, for example: DE, AT, CH")
    stages = forms.MultipleChoiceField(choices=Stage.choices, required=False, widget=forms.CheckboxSelectMultiple)

    class Meta:
        model = AssignmentRule
        fields = [
            "name",
            "is_active",
            "min_score",
            "sources",
            "countries",
            "min_company_size",
            "form",
            "stages",
            "target_user",
            "target_team",
            "weighted",
            "touch_minutes",
            "business_hours",
            "reassign_on_breach",
        ]

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target_user"].queryset = User.objects.filter(is_active=True).order_by("first_name", "username")
        self.fields["target_team"].queryset = Team.objects.order_by("name")
        for country in self.fields["countries"].to_python(self.data.get("countries", "")) if self.data else []:
            if len(country) != 2 or not country.isalpha():
                self.add_error("countries", f"“{country}” is not a two-letter country code.")

    def clean(self) -> dict:
        data = super().clean()
        if bool(data.get("target_user")) == bool(data.get("target_team")):
            raise forms.ValidationError("Pick either one person or a team to share the leads.")
        return data


class AvailabilityForm(forms.ModelForm):
    out_from = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    out_until = forms.DateTimeField(required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"}))
    weight = forms.IntegerField(min_value=0, max_value=100, initial=1)

    class Meta:
        model = Availability
        fields = ["out_from", "out_until", "capacity", "weight"]

    def clean(self) -> dict:
        data = super().clean()
        if data.get("out_from") and data.get("out_until") and data["out_until"] <= data["out_from"]:
            raise forms.ValidationError("“Back on” must come after “away from”.")
        return data


class ScheduleForm(forms.Form):
    time_zone = forms.ChoiceField(choices=[])
    webhook_url = forms.URLField(required=False, max_length=500, assume_scheme="https")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["time_zone"].choices = [(name, name) for name in sorted(available_timezones())]
        for index, day in enumerate(WEEKDAYS):
            self.fields[f"open_{index}"] = forms.TimeField(required=False, label=f"{day} from")
            self.fields[f"close_{index}"] = forms.TimeField(required=False, label=f"{day} to")

    def clean(self) -> dict:
        data = super().clean()
        hours = []
        for index, day in enumerate(WEEKDAYS):
            start, end = data.get(f"open_{index}"), data.get(f"close_{index}")
            if start and end and start >= end:
                self.add_error(f"close_{index}", f"{day}: the day must end after it starts.")
            hours.append([start.strftime("%H:%M"), end.strftime("%H:%M")] if start and end else None)
        data["hours"] = hours
        return data


class OutcomeForm(forms.Form):
    outcome = forms.ChoiceField(choices=INBOX_OUTCOMES)
    notes = forms.CharField(max_length=10_000, required=False, strip=False)
    next_kind = forms.ChoiceField(choices=[("", "No next step"), *TaskKind.choices], required=False)
    next_title = forms.CharField(max_length=200, required=False)
    next_due = forms.DateTimeField(required=False)


class TaskForm(forms.Form):
    kind = forms.ChoiceField(choices=TaskKind.choices)
    title = forms.CharField(max_length=200)
    due_at = forms.DateTimeField(required=False)


class RejectForm(forms.Form):
    reason = forms.CharField(max_length=500, error_messages={"required": "Say why the lead is not ready."})


def may_manage_routing(user: User) -> bool:
    """Admins and sales managers edit rules, availability and schedules."""
    return user.is_authenticated and (user.is_admin or user.role == Role.MANAGER)
