"""Who may open the nurture pages that change templates and sequences: admins and marketing."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from leadflow.nurture.services import may_manage


def manager_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Let signed-in admins and marketing through; send others to sign in, or answer 403."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not may_manage(request.user):
            raise PermissionDenied("Only admins and marketing work on sequences.")
        return view(request, *args, **kwargs)

    return wrapped
