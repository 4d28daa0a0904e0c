"""Create and change forms: the builder's one write."""

from __future__ import annotations

from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.text import slugify

from leadflow.capture import definition, queries
from leadflow.capture.models import ConsentMode, ConsentWording, Form, FormStatus, SuccessAction, wording_digest
from leadflow.capture.origins import is_allowed_redirect, parse_origins
from leadflow.leads.errors import FieldErrors, LeadError

SETTINGS = (
    "name",
    "slug",
    "status",
    "title",
    "intro",
    "submit_label",
    "consent_mode",
    "success_action",
    "success_message",
    "redirect_url",
    "min_fill_seconds",
    "ip_limit_per_hour",
    "form_limit_per_minute",
)
MAX_CONSENT = 2000


def may_build_forms(user) -> bool:
    """Admins and marketing build forms and review what they collect."""
    return bool(user is not None and user.is_authenticated and user.is_active and user.sees_all_leads)


def save_form(
    *,
    actor,
    form: Form | None,
    values: dict[str, Any],
    fields: list[dict[str, Any]],
    notify: list,
    site_host: str,
) -> Form:
    """Create a form (`form` None) or change one; raise FieldErrors naming every setting to fix.

    `values` holds SETTINGS plus `consent_text` and `allowed_origins` (text, one
    website per line); `site_host` is this site's host, where a redirect may always go.
    """
    if not may_build_forms(actor):
        raise LeadError("forbidden", "Only admins and marketing can build forms.")
    specs, errors = definition.check_fields(fields)
    origins, problems = parse_origins(values.get("allowed_origins", ""))
    if problems:
        errors["allowed_origins"] = " ".join(problems)
    slug = _free_slug(values, form, errors)
    consent_text = (values.get("consent_text") or "").strip()
    errors.update(_settings_problems(values, consent_text, origins, site_host))
    if any(not may_build_forms(user) for user in notify):
        errors["notify"] = "Only admins and marketing people can be notified here."
    if errors:
        raise FieldErrors(errors)
    try:
        with transaction.atomic():
            form = _store(form, actor, values, slug, specs, origins, consent_text)
            form.notify.set(notify)
            transaction.on_commit(queries.forget_public_forms)
    except IntegrityError:
        raise FieldErrors({"slug": "Another form took this address a moment ago; pick another."}) from None
    return form


def _free_slug(values: dict[str, Any], form: Form | None, errors: dict[str, str]) -> str:
    wanted = slugify(values.get("slug") or "")[:80]
    if values.get("slug") and not wanted:
        errors["slug"] = "Use letters, digits and hyphens."
        return ""
    if not wanted:
        base = slugify(values.get("name") or "")[:70] or "form"
        wanted, n = base, 2
        while Form.objects.filter(slug=wanted).exclude(pk=getattr(form, "pk", None)).exists():
            wanted, n = f"{base}-{n}", n + 1
        return wanted
    if Form.objects.filter(slug=wanted).exclude(pk=getattr(form, "pk", None)).exists():
        errors["slug"] = f"Another form already lives at /f/{wanted}/; pick another address."
    return wanted


def _settings_problems(values: dict[str, Any], consent_text: str, origins: list[str], site_host: str) -> dict:
    errors: dict[str, str] = {}
    if not (values.get("name") or "").strip():
        errors["name"] = "Give the form a name."
    if values.get("status") not in FormStatus.values:
        errors["status"] = "Pick a status."
    if values.get("consent_mode") not in ConsentMode.values:
        errors["consent_mode"] = "Pick how consent is asked."
    elif values["consent_mode"] != ConsentMode.NONE and not consent_text:
        errors["consent_text"] = "Write the words people agree to; they are kept with each submission."
    if len(consent_text) > MAX_CONSENT:
        errors["consent_text"] = f"Keep the wording under {MAX_CONSENT} characters."
    action = values.get("success_action")
    redirect = (values.get("redirect_url") or "").strip()
    if action not in SuccessAction.values:
        errors["success_action"] = "Pick what happens after sending."
    elif action == SuccessAction.REDIRECT and not redirect:
        errors["redirect_url"] = "Give the page to send people to."
    if redirect and not is_allowed_redirect(redirect, site_host=site_host, allowed_origins=origins):
        errors["redirect_url"] = (
            "Only a page on this site (like /thanks/) or on one of the allowed websites below can be used; "
            "add that website to the list first."
        )
    if action == SuccessAction.MESSAGE and not (values.get("success_message") or "").strip():
        errors["success_message"] = "Write the thank-you message."
    return errors


def _store(form, actor, values, slug, specs, origins, consent_text) -> Form:
    form = form or Form(created_by=actor)
    for name in SETTINGS:
        if name in values:
            setattr(form, name, values[name].strip() if isinstance(values[name], str) else values[name])
    form.slug = slug
    form.fields = [spec.as_dict() for spec in specs]
    form.allowed_origins = origins
    form.updated_at = timezone.now()
    if form.pk is not None:
        # Counted in the database, so two builders saving at once still give two new versions.
        form.version = F("version") + 1
    form.save()
    form.refresh_from_db(fields=["version"])
    wording = None
    if consent_text:
        wording, _ = ConsentWording.objects.get_or_create(
            form=form, digest=wording_digest(consent_text), defaults={"text": consent_text}
        )
    if form.consent_wording_id != getattr(wording, "pk", None):
        form.consent_wording = wording
        form.save(update_fields=["consent_wording"])
    return form
