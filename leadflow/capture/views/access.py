"""Who may open the form builder pages: admins and marketing; everyone else gets 403."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse

from leadflow.capture import services


def builder_required(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Let signed-in admins and marketing through; send others to sign in, or answer 403."""

    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not services.may_build_forms(request.user):
            raise PermissionDenied("Only admins and marketing work on forms.")
        return view(request, *args, **kwargs)

    return wrapped
