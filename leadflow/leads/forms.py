"""Forms for the leads pages: they check the shape of input; services check the rest."""

from __future__ import annotations

from django import forms

from leadflow.accounts.models import User
from leadflow.leads.models import BulkAction, Stage

UNASSIGNED = "none"
MAX_OWNER_CHOICES = 500


def assignable_owners(user: User) -> list[User]:
    """Return the active users `user` may assign leads to, in one query (User.may_assign_to's rule)."""
    qs = User.objects.filter(is_active=True)
    if not user.sees_all_leads:
        team_ids = user.managed_team_ids()
        qs = qs.filter(team_id__in=team_ids) if team_ids else qs.filter(pk=user.pk)
    return list(qs.order_by("first_name", "last_name", "username")[:MAX_OWNER_CHOICES])


class OwnerField(forms.ChoiceField):
    """A choice of owner among `owners`, plus "Unassigned" when allowed; cleans to a User or None."""

    def __init__(self, *, owners: list[User], allow_unassigned: bool, placeholder: str = "", **kwargs) -> None:
        self.owners = {str(owner.pk): owner for owner in owners}
        choices = [("", placeholder)] if placeholder else []
        if allow_unassigned:
            choices.append((UNASSIGNED, "Unassigned"))
        choices += [(pk, str(owner)) for pk, owner in self.owners.items()]
        super().__init__(choices=choices, **kwargs)

    def clean(self, value):
        value = super().clean(value)
        if value in ("", UNASSIGNED):
            return None
        return self.owners[value]


class NewLeadForm(forms.Form):
    first_name = forms.CharField(max_length=150, required=False)
    last_name = forms.CharField(max_length=150, required=False)
    email = forms.CharField(max_length=320, required=False)
    phone = forms.CharField(max_length=40, required=False)
    company_name = forms.CharField(max_length=200, required=False, label="Company")
    title = forms.CharField(max_length=200, required=False)
    # A new lead starts before the qualification gate: it is qualified on its page, then moved on.
    stage = forms.ChoiceField(
        choices=[(stage, Stage(stage).label) for stage in (Stage.SUBSCRIBER, Stage.LEAD, Stage.MQL)],
        initial=Stage.LEAD,
    )
    source = forms.CharField(max_length=100, required=False)
    country = forms.CharField(max_length=100, required=False)
    industry = forms.CharField(max_length=100, required=False)
    company_size = forms.CharField(max_length=20, required=False, label="Company size")

    TEXT_FIELDS = (
        "first_name", "last_name", "email", "phone", "company_name", "title", "source",
        "country", "industry", "company_size",
    )  # fmt: skip

    def __init__(self, *args, user: User, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        owners = assignable_owners(user)
        may_unassign = user.may_assign_to(None)
        self.fields["owner"] = OwnerField(owners=owners, allow_unassigned=may_unassign, required=not may_unassign)
        if any(owner.pk == user.pk for owner in owners):
            self.fields["owner"].initial = str(user.pk)

    def clean(self) -> dict:
        cleaned = super().clean()
        if not any(cleaned.get(name) for name in ("first_name", "last_name", "email", "phone")):
            raise forms.ValidationError("Give at least a name, an email address or a phone number.")
        return cleaned

    def lead_data(self) -> dict[str, str]:
        """Return the fields for record_lead: the text typed, and the stage."""
        data = {name: self.cleaned_data[name] for name in self.TEXT_FIELDS if self.cleaned_data.get(name)}
        data["stage"] = self.cleaned_data["stage"]
        return data


class IdListField(forms.Field):
    """Lead ids sent as repeated fields or comma-separated; cleans to a list of ints."""

    widget = forms.MultipleHiddenInput

    def to_python(self, value) -> list[int]:
        parts = [part.strip() for item in value or [] for part in str(item).split(",") if part.strip()]
        if not all(part.isascii() and part.isdigit() and len(part) < 19 for part in parts):
            raise forms.ValidationError("The selected lead ids are not valid; reload the page and try again.")
        return [int(part) for part in parts]


class BulkActionForm(forms.Form):
    ASSIGN = BulkAction.ASSIGN
    STAGE = BulkAction.STAGE
    ALL_MATCHING = "all"

    action = forms.ChoiceField(choices=BulkAction.choices)
    stage = forms.ChoiceField(choices=[("", "—"), *Stage.choices], required=False)
    reason = forms.CharField(max_length=200, required=False)
    lead = IdListField(required=False)
    select_page = forms.BooleanField(required=False)
    page_ids = IdListField(required=False)
    scope = forms.ChoiceField(
        choices=[("", "The selected leads"), (ALL_MATCHING, "Every matching lead")], required=False
    )

    def __init__(self, *args, user: User, owners: list[User], **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["owner"] = OwnerField(
            owners=owners, allow_unassigned=user.may_assign_to(None), placeholder="Choose…", required=False
        )

    def clean(self) -> dict:
        cleaned = super().clean()
        action = cleaned.get("action")
        if action == self.ASSIGN and not self.data.get("owner"):
            self.add_error("owner", "Pick who gets the leads.")
        if action == self.STAGE and not cleaned.get("stage"):
            self.add_error("stage", "Pick the stage to move the leads to.")
        if cleaned.get("scope") != self.ALL_MATCHING and not self.lead_ids():
            raise forms.ValidationError("Select at least one lead first.")
        return cleaned

    @property
    def all_matching(self) -> bool:
        return self.cleaned_data.get("scope") == self.ALL_MATCHING

    def job_value(self) -> str:
        """Return the action's value as a bulk job stores it: the owner id ('' for nobody) or the stage."""
        if self.cleaned_data["action"] == self.STAGE:
            return self.cleaned_data["stage"]
        owner = self.cleaned_data["owner"]
        return str(owner.pk) if owner else ""

    def lead_ids(self) -> list[int]:
        if self.cleaned_data.get("select_page"):
            return self.cleaned_data.get("page_ids") or []
        return self.cleaned_data.get("lead") or []


class BulkEnrollForm(forms.Form):
    """Which leads of the list to put in a nurture sequence: the selection, or every matching lead."""

    sequence = forms.IntegerField(min_value=1, error_messages={"required": "Pick the sequence to enroll the leads in."})
    lead = IdListField(required=False)
    select_page = forms.BooleanField(required=False)
    page_ids = IdListField(required=False)
    scope = forms.ChoiceField(
        choices=[("", "The selected leads"), (BulkActionForm.ALL_MATCHING, "Every matching lead")], required=False
    )

    @property
    def all_matching(self) -> bool:
        return self.cleaned_data.get("scope") == BulkActionForm.ALL_MATCHING

    def clean(self) -> dict:
        cleaned = super().clean()
        if cleaned.get("scope") != BulkActionForm.ALL_MATCHING and not self.lead_ids():
            raise forms.ValidationError("Select at least one lead first.")
        return cleaned

    def lead_ids(self) -> list[int]:
        if self.cleaned_data.get("select_page"):
            return self.cleaned_data.get("page_ids") or []
        return self.cleaned_data.get("lead") or []


class SavedViewForm(forms.Form):
    name = forms.CharField(max_length=80)
    query = forms.CharField(max_length=2000, required=False)
