"""Auto-replies: one template per capture form, sent seconds after each submission."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from leadflow.nurture import services
from leadflow.nurture.forms import AutoReplyForm
from leadflow.nurture.models import AutoReply
from leadflow.nurture.views.access import manager_required


@manager_required
@require_http_methods(["GET", "POST"])
def auto_replies(request: HttpRequest) -> HttpResponse:
    form = AutoReplyForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        services.save_auto_reply(actor=request.user, **form.cleaned_data)
        messages.success(request, f"Auto-reply for “{form.cleaned_data['form']}” saved.")
        return redirect("nurture:auto_replies")
    replies = AutoReply.objects.select_related("form", "template")
    return render(
        request, "nurture/auto_replies.html", {"replies": replies, "form": form}, status=422 if form.errors else 200
    )


@require_POST
@manager_required
def auto_reply_toggle(request: HttpRequest, pk: int) -> HttpResponse:
    reply = get_object_or_404(AutoReply.objects.select_related("form", "template"), pk=pk)
    services.save_auto_reply(form=reply.form, template=reply.template, enabled=not reply.enabled, actor=request.user)
    return redirect("nurture:auto_replies")
