"""Forms for the form builder: they check the shape of input; services.save_form checks the rest."""

from __future__ import annotations

from typing import Any

from django import forms

from leadflow.accounts.models import Role, User
from leadflow.capture import definition
from leadflow.capture.models import ConsentMode, Form, FormStatus, SuccessAction

MAP_CHOICES = [*definition.LEAD_TARGETS.items(), (definition.CUSTOM, "Custom field…")]
TYPE_CHOICES = list(definition.TYPE_LABELS.items())
MAX_FIELD_ROWS = definition.MAX_FIELDS


def notifiable_users() -> list[User]:
    """Return the active admins and marketing people, who may be told of submissions."""
    return list(
        User.objects.filter(is_active=True)
        .filter(role__in=[Role.ADMIN, Role.MARKETING])
        .order_by("first_name", "last_name", "username")
    )


class FormSettingsForm(forms.Form):
    name = forms.CharField(max_length=120)
    slug = forms.CharField(max_length=80, required=False, label="Address")
    status = forms.ChoiceField(choices=FormStatus.choices)
    title = forms.CharField(max_length=200, required=False, label="Heading")
    intro = forms.CharField(max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}))
    submit_label = forms.CharField(max_length=60, label="Button label")
    consent_mode = forms.ChoiceField(choices=ConsentMode.choices, widget=forms.RadioSelect, label="Consent")
    consent_text = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Consent wording"
    )
    success_action = forms.ChoiceField(choices=SuccessAction.choices, widget=forms.RadioSelect, label="After sending")
    success_message = forms.CharField(
        max_length=2000, required=False, widget=forms.Textarea(attrs={"rows": 2}), label="Thank-you message"
    )
    redirect_url = forms.CharField(max_length=2000, required=False, label="Page to send them to")
    allowed_origins = forms.CharField(
        max_length=5000, required=False, widget=forms.Textarea(attrs={"rows": 3}), label="Allowed websites"
    )
    min_fill_seconds = forms.IntegerField(min_value=0, max_value=60, label="Minimum time to fill (seconds)")
    ip_limit_per_hour = forms.IntegerField(min_value=1, max_value=1_000_000, label="Per address, per hour")
    form_limit_per_minute = forms.IntegerField(min_value=1, max_value=1_000_000, label="Whole form, per minute")
    notify = forms.TypedMultipleChoiceField(coerce=int, required=False, widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args, users: list[User], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.users = {user.pk: user for user in users}
        self.fields["notify"].choices = [(user.pk, str(user)) for user in users]

    @classmethod
    def initial_for(cls, form: Form | None) -> dict[str, Any]:
        if form is None:
            return {
                "status": FormStatus.ACTIVE,
                "submit_label": "Send",
                "consent_mode": ConsentMode.OPTIONAL,
                "consent_text": (
                    "Yes, send me occasional emails about products and events. I can unsubscribe at any time."
                ),
                "success_action": SuccessAction.MESSAGE,
                "success_message": "Thank you! We will be in touch soon.",
                "min_fill_seconds": 2,
                "ip_limit_per_hour": 30,
                "form_limit_per_minute": 600,
            }
        values = {name: getattr(form, name) for name in cls.base_fields if hasattr(form, name)}
        values["consent_text"] = form.consent_wording.text if form.consent_wording else ""
        values["allowed_origins"] = "\n".join(form.allowed_origins)
        values["notify"] = list(form.notify.values_list("pk", flat=True))
        return values

    def notify_users(self) -> list[User]:
        return [self.users[pk] for pk in self.cleaned_data.get("notify", []) if pk in self.users]


class FieldRowForm(forms.Form):
    label = forms.CharField(max_length=definition.MAX_LABEL, required=False)
    maps_to = forms.ChoiceField(choices=MAP_CHOICES, label="Fills")
    name = forms.CharField(max_length=40, required=False, label="Custom field name")
    type = forms.ChoiceField(choices=TYPE_CHOICES)
    required = forms.BooleanField(required=False)
    options = forms.CharField(
        max_length=20_000, required=False, label="Choices", widget=forms.Textarea(attrs={"rows": 3})
    )
    placeholder = forms.CharField(max_length=definition.MAX_PLACEHOLDER, required=False)
    position = forms.IntegerField(required=False, widget=forms.HiddenInput)

    def as_spec(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {
            "label": data["label"],
            "maps_to": data["maps_to"],
            "name": (data["name"] or "").strip(),
            "type": data["type"],
            "required": data["required"],
            "options": (data["options"] or "").splitlines(),
            "placeholder": data["placeholder"],
        }


FieldRowFormSet = forms.formset_factory(
    FieldRowForm, extra=0, can_delete=True, max_num=MAX_FIELD_ROWS, validate_max=True, absolute_max=MAX_FIELD_ROWS * 2
)


def field_rows_initial(form: Form | None) -> list[dict[str, Any]]:
    """Return the formset's rows for a form (a sensible start for a new one)."""
    if form is None:
        return [
            {"label": "First name", "maps_to": "first_name", "type": "text", "required": True},
            {"label": "Last name", "maps_to": "last_name", "type": "text"},
            {"label": "Email", "maps_to": "email", "type": "email", "required": True},
            {"label": "Company", "maps_to": "company_name", "type": "text"},
        ]
    rows = []
    for spec in definition.specs_of(form.fields):
        row = spec.as_dict()
        row["options"] = "\n".join(spec.options)
        if spec.maps_to != definition.CUSTOM:
            row["name"] = ""
        rows.append(row)
    return rows


def ordered_rows(formset) -> list[FieldRowForm]:
    """Return the kept rows of a valid formset in the order the builder arranged them."""
    kept = [
        (row.cleaned_data.get("position"), index, row)
        for index, row in enumerate(formset.forms)
        if row.cleaned_data and not row.cleaned_data.get("DELETE")
    ]
    kept.sort(key=lambda item: (item[0] if item[0] is not None else item[1], item[1]))
    return [row for _, _, row in kept]
