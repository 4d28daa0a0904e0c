"""The signed-in user's own settings: personal API tokens."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from leadflow.accounts.models import ApiToken, Scope
from leadflow.accounts.services import AccountError, create_token, parse_scopes, revoke_token


@login_required
def tokens(request: HttpRequest) -> HttpResponse:
    """List the user's tokens; a POST creates one and shows its secret this once."""
    context = {"scopes": Scope.choices, "new_token": None, "error": ""}
    if request.method == "POST":
        name = request.POST.get("name", "").strip()[:120]
        try:
            token, raw = create_token(user=request.user, scopes=parse_scopes(request.POST.getlist("scopes")), name=name)
        except AccountError as error:
            context["error"] = error.message
        else:
            context["new_token"] = raw
            context["new_token_obj"] = token
    context["tokens"] = ApiToken.objects.filter(user=request.user)
    return render(request, "accounts/tokens.html", context)


@require_POST
@login_required
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = get_object_or_404(ApiToken, pk=pk, user=request.user)
    revoke_token(token=token)
    messages.success(request, f"Token {token.hint}… is revoked; it no longer works.")
    return redirect("tokens")
