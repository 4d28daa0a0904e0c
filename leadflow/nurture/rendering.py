"""Render an email template for one lead: Markdown to HTML plus a plain-text part, with merge fields.

A merge field is `{{ name }}` or `{{ name | "fallback" }}`; the fallback is used when the
lead has no value. Only the names in `FIELDS` (and `custom.<key>`) are reachable: there
is no attribute walking, no filters and no template tags. The Markdown is rendered
first, with placeholders where the fields are; the lead's values are put in afterwards
as text (escaped in the HTML part), so a lead named `<script>` or `**bold**` shows
exactly that.
"""

from __future__ import annotations

import html
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from markdown_it import MarkdownIt

# Merge field name -> what it is, as shown on the templates page.
FIELDS: dict[str, str] = {
    "first_name": "First name",
    "last_name": "Last name",
    "full_name": "First and last name",
    "email": "Email address",
    "phone": "Phone number",
    "company": "Company name",
    "title": "Job title",
    "country": "Country code",
    "industry": "Industry",
    "company_size": "Number of employees",
    "stage": "Lifecycle stage",
    "score": "Score",
    "source": "First source",
    "campaign": "First campaign",
    "time_zone": "Time zone",
    "owner_name": "Owner's full name",
    "owner_first_name": "Owner's first name",
    "owner_email": "Owner's email address",
    "owner_signature": "Owner's signature",
}
CUSTOM_PREFIX = "custom."
FIELD_RE = re.compile(r"\{\{(.*?)\}\}", re.S)
EXPRESSION_RE = re.compile(r"""^\s*([a-z_]+(?:\.[A-Za-z0-9_\- ]+)?)\s*(?:\|\s*(?:"([^"]*)"|'([^']*)'))?\s*$""")
TAG_RE = re.compile(r"\{%|\{#")
PLACEHOLDER = "LFMERGE{}X"
PLACEHOLDER_RE = re.compile(r"LFMERGE(\d+)X")
LINK_RE = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
MARKDOWN = MarkdownIt("commonmark", {"html": False, "linkify": False, "breaks": True})


class TemplateError(ValueError):
    """A template that cannot be rendered; `code` is stable, the message says what to change."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True)
class MergeField:
    name: str
    fallback: str


@dataclass(frozen=True)
class Rendered:
    subject: str
    html: str
    text: str


def _parse_field(source: str) -> MergeField:
    match = EXPRESSION_RE.match(source)
    shown = "{{" + source.strip()[:60] + "}}"
    if not match:
        raise TemplateError("bad_field", f'{shown} is not a merge field; write {{{{ first_name | "there" }}}}.')
    name = match.group(1)
    if name.startswith(CUSTOM_PREFIX):
        if not name[len(CUSTOM_PREFIX) :].strip():
            raise TemplateError("bad_field", f"{shown} needs a custom field name after 'custom.'.")
    elif name not in FIELDS:
        raise TemplateError(
            "unknown_field", f"Unknown merge field '{name}' in {shown}; use one of {', '.join(FIELDS)} or custom.NAME."
        )
    return MergeField(name=name, fallback=match.group(2) or match.group(3) or "")


def fields_in(source: str) -> list[MergeField]:
    """Return the merge fields of `source`; raise TemplateError for anything else in braces."""
    if TAG_RE.search(source):
        raise TemplateError("template_tag", "Template tags ({% … %}, {# … #}) are not allowed; use merge fields only.")
    found = [_parse_field(match.group(1)) for match in FIELD_RE.finditer(source)]
    leftover = FIELD_RE.sub("", source)
    if "{{" in leftover or "}}" in leftover:
        raise TemplateError("unclosed_field", "A merge field is not closed: write {{ name }}.")
    return found


def validate(*, subject: str, body: str) -> None:
    """Raise TemplateError when the subject or the body has an unknown field or a tag."""
    fields_in(subject)
    fields_in(body)


def _owner_name(owner) -> str:
    return (owner.get_full_name() or owner.username) if owner is not None else ""


def lead_values(lead: Any, *, signature: Callable[[Any], str] | None = None) -> Callable[[str], str]:
    """Return a look-up of merge field values for `lead` (None gives every field empty)."""
    owner = getattr(lead, "owner", None) if lead is not None else None

    def value(name: str) -> str:
        if lead is None:
            return ""
        if name.startswith(CUSTOM_PREFIX):
            raw = (lead.custom or {}).get(name[len(CUSTOM_PREFIX) :].strip())
            return "" if raw is None or isinstance(raw, dict | list) else str(raw)
        simple = {
            "first_name": lead.first_name,
            "last_name": lead.last_name,
            "full_name": lead.full_name,
            "email": lead.email,
            "phone": lead.phone,
            "company": lead.company_name or (str(lead.company) if lead.company_id else ""),
            "title": lead.title,
            "country": lead.country,
            "industry": lead.industry,
            "company_size": "" if lead.company_size is None else str(lead.company_size),
            "stage": lead.get_stage_display(),
            "score": str(lead.score),
            "source": lead.source,
            "campaign": lead.campaign,
            "time_zone": lead.time_zone,
        }
        if name in simple:
            return simple[name] or ""
        if owner is None:
            return ""
        if name == "owner_name":
            return _owner_name(owner)
        if name == "owner_first_name":
            return owner.first_name or owner.username
        if name == "owner_email":
            return owner.email
        if name == "owner_signature":
            return signature(owner) if signature else ""
        return ""

    return value


def _signature_of(user) -> str:
    from leadflow.nurture.models import Signature

    return Signature.objects.filter(user=user).values_list("text", flat=True).first() or _owner_name(user)


def _substitute(source: str, values: list[str]) -> str:
    return PLACEHOLDER_RE.sub(lambda m: values[int(m.group(1))], source)


def render_source(*, subject: str, body: str, lead: Any, signature: Callable[[Any], str] | None = None) -> Rendered:
    """Render `subject` and the Markdown `body` for `lead`; raise TemplateError when they do not parse."""
    validate(subject=subject, body=body)
    value = lead_values(lead, signature=signature or _signature_of)
    fields: list[MergeField] = []

    def to_placeholder(match: re.Match) -> str:
        fields.append(_parse_field(match.group(1)))
        return PLACEHOLDER.format(len(fields) - 1)

    marked = FIELD_RE.sub(to_placeholder, body)
    raw = [value(field.name) or field.fallback for field in fields]
    escaped = [html.escape(item).replace("\n", "<br>\n") for item in raw]
    html_part = _substitute(MARKDOWN.render(marked), escaped)
    text_part = _substitute(LINK_RE.sub(r"\1 (\2)", marked), raw).strip() + "\n"
    subject_fields = fields_in(subject)
    subject_values = iter(value(field.name) or field.fallback for field in subject_fields)
    rendered_subject = FIELD_RE.sub(lambda m: next(subject_values), subject)
    return Rendered(subject=" ".join(rendered_subject.split())[:300], html=html_part, text=text_part)


def render_template(template: Any, lead: Any) -> Rendered:
    """Render an EmailTemplate for `lead`."""
    return render_source(subject=template.subject, body=template.body, lead=lead)
