from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET


@require_GET
@login_required
def lead_panel(request: HttpRequest, pk: int) -> HttpResponse:
    """The routing card on the lead page, loaded after the page itself."""
    return HttpResponse("")
