"""Forms of the nurture pages: shape only, the services check the rest."""

from __future__ import annotations

from django import forms

from leadflow.leads.models import Stage
from leadflow.nurture.models import EmailTemplate, Sequence, StepKind, TemplateKind, Trigger
from leadflow.nurture.steps import CONDITIONS, TASK_KINDS
from leadflow.nurture.windows import WEEKDAYS

STAGE_CHOICES = [("", "—"), *Stage.choices]


class TemplateForm(forms.Form):
    name = forms.CharField(max_length=120)
    kind = forms.ChoiceField(choices=TemplateKind.choices)
    subject = forms.CharField(max_length=300)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 14, "spellcheck": "true"}), strip=False)


class SignatureForm(forms.Form):
    text = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), required=False, max_length=2000)


class ComposeForm(forms.Form):
    subject = forms.CharField(max_length=300)
    body = forms.CharField(widget=forms.Textarea(attrs={"rows": 7}), strip=False, max_length=20_000)
    send_id = forms.CharField(max_length=40, required=False, widget=forms.HiddenInput)


class SequenceForm(forms.Form):
    name = forms.CharField(max_length=120)
    description = forms.CharField(widget=forms.Textarea(attrs={"rows": 2}), required=False)
    send_days = forms.TypedMultipleChoiceField(
        choices=list(enumerate(WEEKDAYS)), coerce=int, widget=forms.CheckboxSelectMultiple, required=False
    )
    send_start_hour = forms.IntegerField(min_value=0, max_value=23, initial=9)
    send_end_hour = forms.IntegerField(min_value=1, max_value=24, initial=17)
    trigger = forms.ChoiceField(choices=Trigger.choices, required=False)
    trigger_form = forms.ModelChoiceField(queryset=None, required=False, empty_label="—")
    trigger_stage = forms.ChoiceField(choices=STAGE_CHOICES, required=False)
    trigger_score = forms.IntegerField(required=False)
    goal_stage = forms.ChoiceField(choices=STAGE_CHOICES, required=False, help_text="Reaching it ends the sequence.")

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from leadflow.capture.models import Form

        self.fields["trigger_form"].queryset = Form.objects.order_by("name")


class StepForm(forms.Form):
    kind = forms.ChoiceField(choices=StepKind.choices)
    template = forms.ModelChoiceField(queryset=None, required=False, empty_label="Pick a template")
    mode = forms.ChoiceField(
        choices=[("days", "a number of days"), ("until", "until a weekday and time")], required=False
    )
    days = forms.DecimalField(min_value=0, max_value=3650, decimal_places=2, required=False, initial=2)
    weekday = forms.TypedChoiceField(choices=list(enumerate(WEEKDAYS)), coerce=int, required=False)
    time = forms.CharField(max_length=5, required=False, initial="09:00")
    condition = forms.ChoiceField(choices=[("", "—"), *CONDITIONS.items()], required=False)
    field = forms.CharField(max_length=60, required=False, help_text="For “a field equals”: first_name, custom.plan…")
    value = forms.CharField(max_length=200, required=False)
    then_step = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)
    title = forms.CharField(max_length=200, required=False)
    task_kind = forms.ChoiceField(choices=[(kind, kind.title()) for kind in TASK_KINDS], required=False)
    due_days = forms.DecimalField(min_value=0, max_value=365, decimal_places=1, required=False, initial=1)
    stage = forms.ChoiceField(choices=STAGE_CHOICES, required=False)
    sequence_id = forms.TypedChoiceField(coerce=int, required=False, empty_value=None)

    def __init__(self, *args, sequence: Sequence, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["template"].queryset = EmailTemplate.objects.filter(kind=TemplateKind.MARKETING)
        steps = list(sequence.steps.order_by("position", "id"))
        self.fields["then_step"].choices = [("", "—")] + [(s.pk, f"Step {n}") for n, s in enumerate(steps, 1)]
        others = Sequence.objects.exclude(pk=sequence.pk).order_by("name")
        self.fields["sequence_id"].choices = [("", "—")] + [(s.pk, s.name) for s in others]

    def config(self) -> dict:
        data = dict(self.cleaned_data)
        data.pop("kind", None)
        data.pop("template", None)
        return {key: (float(value) if hasattr(value, "as_tuple") else value) for key, value in data.items()}


class AutoReplyForm(forms.Form):
    form = forms.ModelChoiceField(queryset=None, empty_label="Pick a form")
    template = forms.ModelChoiceField(queryset=None, empty_label="Pick a template")
    enabled = forms.BooleanField(required=False, initial=True)

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        from leadflow.capture.models import Form

        self.fields["form"].queryset = Form.objects.order_by("name")
        self.fields["template"].queryset = EmailTemplate.objects.order_by("name")
