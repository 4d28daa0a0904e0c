"""Possible duplicates: pairs of leads that look like one person, to merge or dismiss."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from leadflow.leads import duplicates
from leadflow.leads.queries import capped_count


def _cursor(raw: str) -> tuple[int, int] | None:
    score, _, pk = raw.partition("-")
    if score.isdigit() and pk.isdigit() and len(score) <= 3 and len(pk) <= 18:
        return int(score), int(pk)
    return None


@require_GET
@login_required
def duplicate_list(request: HttpRequest) -> HttpResponse:
    """List the open pairs whose two leads the user can both see, most likely first, a page at a time."""
    pairs = duplicates.open_pairs_for(request.user)
    limit = settings.LEADFLOW_PAGE_SIZE
    after = _cursor(request.GET.get("after", ""))
    page = pairs
    if after is not None:
        score, pk = after
        page = pairs.filter(Q(score__lt=score) | Q(score=score, pk__lt=pk))
    rows = list(page[: limit + 1])
    next_after = f"{rows[limit - 1].score}-{rows[limit - 1].pk}" if len(rows) > limit else ""
    rows = rows[:limit]
    count, capped = capped_count(pairs)
    context = {
        "pairs": [(pair, duplicates.reason_texts(pair)) for pair in rows],
        "count": count,
        "count_capped": capped,
        "next_after": next_after,
        "is_later_page": after is not None,
    }
    return render(request, "leads/duplicates.html", context)


@require_POST
@login_required
def duplicate_dismiss(request: HttpRequest, pk: int) -> HttpResponse:
    """Mark a pair as two different people; it is never suggested again."""
    pair = get_object_or_404(duplicates.open_pairs_for(request.user), pk=pk)
    duplicates.dismiss_pair(pair=pair, actor=request.user)
    text = f"{pair.lead_a.display_name} and {pair.lead_b.display_name} are marked as different people."
    if request.htmx:
        return render(request, "leads/duplicates.html#dismissed", {"pair": pair, "text": text})
    messages.success(request, text)
    return redirect("leads:duplicates")
