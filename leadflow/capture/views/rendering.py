"""What the public form pages, the embed script and the copy-paste snippets are drawn from."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest
from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse

from leadflow.capture import definition, tokens
from leadflow.capture.definition import FieldSpec
from leadflow.capture.models import Form


@dataclass
class FieldRow:
    spec: FieldSpec
    id: str
    value: Any = ""
    error: str = ""

    @property
    def checked(self) -> bool:
        return definition.is_checked(self.value)


def field_rows(form: Form, *, values: dict[str, Any], errors: dict[str, str], prefix: str) -> list[FieldRow]:
    """Return one row per visible field with its value and error, ids starting with `prefix`."""
    rows = []
    for spec in definition.specs_of(form.fields):
        value = values.get(spec.name, "")
        rows.append(
            FieldRow(spec, f"{prefix}-{spec.name}", value if isinstance(value, str) else "", errors.get(spec.name, ""))
        )
    return rows


def hidden_values(request: HttpRequest) -> dict[str, str]:
    """Return the hidden source fields of the hosted page, from its own address and the page before it."""
    hidden = {name: request.GET.get(name, "")[:200] for name in definition.SOURCE_LIMITS}
    page = request.build_absolute_uri()
    hidden["referrer"] = definition.web_url(request.headers.get("Referer", ""))
    hidden["landing_page"] = page
    hidden[definition.PAGE] = page
    return {name: value for name, value in hidden.items() if value}


def public_config(request: HttpRequest, form: Form) -> dict[str, Any]:
    """Return what a browser needs to draw and post the form: fields, consent, labels and a fresh token."""
    consent = form.consent_text
    return {
        "slug": form.slug,
        "title": form.title,
        "intro": form.intro,
        "submitLabel": form.submit_label,
        "submitUrl": request.build_absolute_uri(reverse("capture:submit_json", args=[form.slug])),
        "token": tokens.mint(form_id=form.pk, wording_id=form.consent_wording_id),
        "fields": [{**spec.as_dict(), "autocomplete": spec.autocomplete} for spec in definition.specs_of(form.fields)],
        "consent": {"mode": form.consent_mode, "text": consent} if consent else {"mode": "none", "text": ""},
        "successMessage": form.success_message,
        "honeypot": definition.HONEYPOT,
        "hidden": [*definition.SOURCE_FIELDS, definition.PAGE, definition.VISITOR],
    }


def embed_snippet(request: HttpRequest, form: Form) -> str:
    url = request.build_absolute_uri(reverse("capture:embed_js", args=[form.slug]))
    return f'<script src="{url}" async></script>'


def html_snippet(request: HttpRequest, form: Form) -> str:
    """Return the plain <form> to paste into a page: it posts with JavaScript off, and fills its
    hidden source fields when JavaScript is on."""
    context = {
        "form": form,
        "rows": field_rows(form, values={}, errors={}, prefix=f"lf-{form.slug}"),
        "action": request.build_absolute_uri(reverse("capture:hosted", args=[form.slug])),
        "hidden_names": [*definition.SOURCE_FIELDS, definition.PAGE, definition.VISITOR],
        "wording_id": form.consent_wording_id if form.consent_text else None,
        "css_url": request.build_absolute_uri(static("capture/form.css")),
    }
    html = render_to_string("capture/snippet_html.html", context)
    return "\n".join(line for line in html.splitlines() if line.strip()) + "\n"
