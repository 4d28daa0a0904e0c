"""The upload form and the column mapping form (one row of fields per column of the file)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.core.files.uploadhandler import FileUploadHandler, StopUpload
from django.template.defaultfilters import filesizeformat

from leadflow.imports.mapping import KINDS, RESTRICTED_TARGETS, TARGET_LABELS, ColumnRule, Mapping, custom_name
from leadflow.imports.services.files import max_upload_bytes

ACCEPTED = ".csv,.tsv,.txt,.xlsx,.vcf,.vcard,text/csv,text/vcard"


class LimitedUploadHandler(FileUploadHandler):
    """Stop reading an upload as soon as it passes the size limit, before any of it reaches a disk."""

    def __init__(self, request=None) -> None:
        super().__init__(request)
        self.limit = max_upload_bytes()

    def receive_data_chunk(self, raw_data: bytes, start: int) -> bytes:
        if start + len(raw_data) > self.limit:
            self.request.import_too_large = True
            raise StopUpload(connection_reset=False)
        return raw_data

    def file_complete(self, file_size: int) -> None:
        return None


class UploadForm(forms.Form):
    file = forms.FileField(
        label="File", widget=forms.ClearableFileInput(attrs={"accept": ACCEPTED}), allow_empty_file=False
    )

    def __init__(self, *args, too_large: bool = False, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.too_large = too_large

    def clean_file(self) -> UploadedFile:
        upload = self.cleaned_data["file"]
        if upload.size > max_upload_bytes():
            raise forms.ValidationError(self.size_message())
        return upload

    def clean(self) -> dict | None:
        if self.too_large:
            raise forms.ValidationError(self.size_message())
        return super().clean()

    @staticmethod
    def size_message() -> str:
        return (
            f"This file is larger than {filesizeformat(max_upload_bytes())}, the most the page accepts. Split it, "
            "or import it on the server with: leadflow import FILE"
        )


@dataclass
class ColumnFields:
    header: str
    samples: list[str]
    target: forms.BoundField
    name: forms.BoundField | None


def target_choices(*, admin: bool, used: set[str]) -> list[tuple[str, str]]:
    """Return the choices for a column: lead fields, a custom field of each kind, and (for admins) key and owner."""
    choices = []
    for value, label in TARGET_LABELS.items():
        if value == "custom":
            choices.extend(
                (f"custom:{kind}", f"Custom field: {kind_label.lower()}") for kind, kind_label in KINDS.items()
            )
        elif admin or value not in RESTRICTED_TARGETS or value in used:
            choices.append((value, label))
    return choices


def _choice(rule: ColumnRule) -> str:
    return f"custom:{rule.kind}" if rule.target == "custom" else rule.target


class MappingForm(forms.Form):
    """Pick a field for each column, and name the custom fields; two form fields a column at most."""

    empty_values = forms.CharField(
        label="Values that mean “nothing here”",
        required=False,
        max_length=500,
        help_text="Separated by commas, in any column; for example Select, N/A.",
    )
    mapping_name = forms.CharField(required=False, widget=forms.HiddenInput)
    save_as = forms.CharField(label="Save this mapping as", required=False, max_length=80)
    action = forms.ChoiceField(choices=(("dry", "Check"), ("run", "Import")), initial="dry")

    def __init__(
        self, *args, headers: Sequence[str], samples: Sequence[Sequence[str]], mapping: Mapping, admin: bool, **kwargs
    ) -> None:
        super().__init__(*args, **kwargs)
        self.headers = list(headers)
        self.samples = samples
        self.named = len(self.headers) <= names_limit()
        choices = target_choices(admin=admin, used={rule.target for rule in mapping.columns.values()})
        self.initial.setdefault("empty_values", ", ".join(mapping.empty_values))
        for index, header in enumerate(self.headers):
            rule = mapping.columns.get(header, ColumnRule())
            self.fields[f"c{index}"] = forms.ChoiceField(
                choices=choices, required=False, initial=_choice(rule), label=f"Field for {header}"
            )
            if self.named:
                self.fields[f"n{index}"] = forms.CharField(
                    required=False, max_length=64, initial=rule.name or custom_name(header), label=f"Name for {header}"
                )

    def columns(self) -> list[ColumnFields]:
        rows = []
        for index, header in enumerate(self.headers):
            seen: list[str] = []
            for sample in self.samples:
                value = sample[index].strip() if index < len(sample) else ""
                if value and value not in seen:
                    seen.append(value)
                if len(seen) == 3:
                    break
            name = self[f"n{index}"] if self.named else None
            rows.append(ColumnFields(header, seen, self[f"c{index}"], name))
        return rows

    def mapping(self) -> Mapping:
        """Return the mapping the person chose (call after is_valid)."""
        data = self.cleaned_data
        columns = {}
        for index, header in enumerate(self.headers):
            target, _, kind = (data.get(f"c{index}") or "").partition(":")
            name = (data.get(f"n{index}") or "").strip() or custom_name(header)
            columns[header] = ColumnRule(target, name if target in {"custom", "key"} else "", kind or "text")
        empty = [value.strip() for value in (data.get("empty_values") or "").split(",") if value.strip()]
        return Mapping(columns, empty)


def names_limit() -> int:
    """Return how many columns can have a name field too, within the form-field limit of a request."""
    return (settings.DATA_UPLOAD_MAX_NUMBER_FIELDS - 10) // 2


def max_columns() -> int:
    return settings.DATA_UPLOAD_MAX_NUMBER_FIELDS - 10
