"""The form builder: the list of forms, create and edit, and the codes to put a form on a website."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_GET, require_http_methods

from leadflow.capture import definition, queries, services
from leadflow.capture.forms import (
    FieldRowFormSet,
    FormSettingsForm,
    field_rows_initial,
    notifiable_users,
    ordered_rows,
)
from leadflow.capture.models import Form
from leadflow.capture.views.access import builder_required
from leadflow.capture.views.rendering import embed_snippet, html_snippet
from leadflow.leads.errors import FieldErrors

ROWS_PREFIX = "fields"


@require_GET
@builder_required
def form_list(request: HttpRequest) -> HttpResponse:
    context = {
        "forms": queries.forms_overview(request.user),
        "held": queries.held_count(request.user),
        "unread": queries.unread_notice_count(request.user),
    }
    return render(request, "capture/list.html", context)


@require_http_methods(["GET", "POST"])
@builder_required
def form_new(request: HttpRequest) -> HttpResponse:
    return _edit(request, None)


@require_http_methods(["GET", "POST"])
@builder_required
def form_edit(request: HttpRequest, pk: int) -> HttpResponse:
    return _edit(request, get_object_or_404(Form.objects.visible_to(request.user), pk=pk))


def _edit(request: HttpRequest, form: Form | None) -> HttpResponse:
    users = notifiable_users()
    fields_error = ""
    if request.method == "POST":
        settings = FormSettingsForm(request.POST, users=users)
        rows = FieldRowFormSet(request.POST, prefix=ROWS_PREFIX)
        if settings.is_valid() and rows.is_valid():
            kept = ordered_rows(rows)
            try:
                saved = services.save_form(
                    actor=request.user,
                    form=form,
                    values=settings.cleaned_data,
                    fields=[row.as_spec() for row in kept],
                    notify=settings.notify_users(),
                    site_host=request.get_host(),
                )
            except FieldErrors as error:
                fields_error = _attach_errors(error.errors, settings, kept)
            else:
                if form is None:
                    messages.success(request, f"“{saved.name}” is ready. Put it on your website with one of these.")
                    return redirect("capture:form_share", saved.pk)
                messages.success(request, f"Saved “{saved.name}”.")
                return redirect("capture:form_edit", saved.pk)
        fields_error = fields_error or " ".join(rows.non_form_errors())
        _arrange(rows)
    else:
        settings = FormSettingsForm(initial=FormSettingsForm.initial_for(form), users=users)
        rows = FieldRowFormSet(initial=field_rows_initial(form), prefix=ROWS_PREFIX)
    context = {
        "form_obj": form,
        "settings": settings,
        "rows": rows,
        "fields_error": fields_error,
        "counts": queries.form_counts(form) if form else None,
        "hosted_url": request.build_absolute_uri(reverse("capture:hosted", args=[form.slug])) if form else "",
        "site": request.build_absolute_uri("/").rstrip("/"),
    }
    return render(request, "capture/edit.html", context, status=400 if request.method == "POST" else 200)


def _arrange(rows) -> None:
    """Show posted rows again in the order the builder arranged them, not the order they were added."""

    def position(item: tuple[int, object]) -> tuple[int, int]:
        index, row = item
        value = str(row.data.get(row.add_prefix("position"), ""))
        return (int(value) if value.isdigit() else index, index)

    rows.forms[:] = [row for _, row in sorted(enumerate(rows.forms), key=position)]


def _attach_errors(errors: dict[str, str], settings: FormSettingsForm, kept: list) -> str:
    """Put each service error on the input it is about; return the errors about the field list as a whole."""
    general = []
    for key, message in errors.items():
        if key.startswith("fields."):
            _, index, attribute = key.split(".", 2)
            row = kept[int(index)]
            row.add_error(attribute if attribute in row.fields else None, message)
        elif key == "fields":
            general.append(message)
        elif key in settings.fields:
            settings.add_error(key, message)
        else:
            settings.add_error(None, message)
    return " ".join(general)


@require_GET
@builder_required
def form_share(request: HttpRequest, pk: int) -> HttpResponse:
    form = get_object_or_404(Form.objects.visible_to(request.user), pk=pk)
    context = {
        "form_obj": form,
        "hosted_url": request.build_absolute_uri(reverse("capture:hosted", args=[form.slug])),
        "embed_snippet": embed_snippet(request, form),
        "html_snippet": html_snippet(request, form),
        "form_json_url": request.build_absolute_uri(reverse("capture:form_json", args=[form.slug])),
        "submit_url": request.build_absolute_uri(reverse("capture:submit_json", args=[form.slug])),
        "example_fields": definition.specs_of(form.fields)[:4],
    }
    return render(request, "capture/share.html", context)
