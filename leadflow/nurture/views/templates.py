"""Email templates and snippets: list, edit, preview with a chosen lead, test send to yourself."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from leadflow.leads.models import Lead
from leadflow.nurture import services
from leadflow.nurture.errors import NurtureError
from leadflow.nurture.forms import SignatureForm, TemplateForm
from leadflow.nurture.models import EmailTemplate, Signature, TemplateKind
from leadflow.nurture.rendering import FIELDS, TemplateError, render_source
from leadflow.nurture.views.access import manager_required

PREVIEW_LEADS = 50


def preview_leads(user) -> list[Lead]:
    """The leads offered in the preview picker: the user's most recently active ones."""
    return list(Lead.objects.visible_to(user, sorted_walk=True).order_by("-last_activity_at", "-id")[:PREVIEW_LEADS])


def chosen_lead(request: HttpRequest) -> Lead | None:
    raw = request.POST.get("lead") or request.GET.get("lead") or ""
    if not raw.isdigit():
        return None
    return Lead.objects.visible_to(request.user).select_related("owner").filter(pk=int(raw)).first()


@login_required
def templates_list(request: HttpRequest) -> HttpResponse:
    manage = services.may_manage(request.user)
    templates = EmailTemplate.objects.all() if manage else EmailTemplate.objects.filter(kind=TemplateKind.SNIPPET)
    signature = Signature.objects.filter(user=request.user).first()
    return render(
        request,
        "nurture/templates_list.html",
        {
            "templates": templates,
            "may_manage": manage,
            "signature_form": SignatureForm(initial={"text": signature.text if signature else ""}),
        },
    )


@require_POST
@login_required
def signature(request: HttpRequest) -> HttpResponse:
    form = SignatureForm(request.POST)
    if form.is_valid():
        services.save_signature(user=request.user, text=form.cleaned_data["text"])
        messages.success(request, "Your signature is saved.")
    return redirect("nurture:templates")


def _editor(request: HttpRequest, template: EmailTemplate | None, form: TemplateForm, status: int = 200):
    return render(
        request,
        "nurture/template_edit.html",
        {"template": template, "form": form, "fields": FIELDS, "leads": preview_leads(request.user)},
        status=status,
    )


@manager_required
@require_http_methods(["GET", "POST"])
def template_edit(request: HttpRequest, pk: int | None = None) -> HttpResponse:
    template = get_object_or_404(EmailTemplate, pk=pk) if pk else None
    if request.method == "GET":
        initial = {"kind": request.GET.get("kind", TemplateKind.MARKETING)}
        if template:
            initial = {"name": template.name, "kind": template.kind, "subject": template.subject, "body": template.body}
        return _editor(request, template, TemplateForm(initial=initial))
    form = TemplateForm(request.POST)
    if form.is_valid():
        try:
            template = services.save_template(template=template, actor=request.user, **form.cleaned_data)
        except NurtureError as error:
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, f"Saved “{template.name}”.")
            return redirect("nurture:template", template.pk)
    return _editor(request, template, form, status=422)


@require_POST
@manager_required
def template_delete(request: HttpRequest, pk: int) -> HttpResponse:
    template = get_object_or_404(EmailTemplate, pk=pk)
    try:
        services.delete_template(template=template, actor=request.user)
    except NurtureError as error:
        messages.error(request, error.message)
        return redirect("nurture:template", pk)
    messages.success(request, f"Deleted “{template.name}”.")
    return redirect("nurture:templates")


@require_POST
@login_required
def template_preview(request: HttpRequest) -> HttpResponse:
    """Render the posted subject and body for the chosen lead (htmx partial)."""
    lead = chosen_lead(request)
    context = {"lead": lead}
    try:
        context["rendered"] = render_source(
            subject=request.POST.get("subject", ""), body=request.POST.get("body", ""), lead=lead
        )
    except TemplateError as error:
        context["error"] = error.message
    return render(request, "nurture/template_edit.html#preview", context)


@require_POST
@login_required
def template_test(request: HttpRequest) -> HttpResponse:
    """Send the posted template, rendered for the chosen lead, to the user's own address."""
    lead = chosen_lead(request)
    try:
        services.send_test(
            template_subject=request.POST.get("subject", ""),
            template_body=request.POST.get("body", ""),
            lead=lead,
            actor=request.user,
        )
    except NurtureError as error:
        return render(request, "nurture/template_edit.html#test_result", {"ok": False, "message": error.message})
    message = f"Test sent to {request.user.email}."
    return render(request, "nurture/template_edit.html#test_result", {"ok": True, "message": message})
