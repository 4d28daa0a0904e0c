"""Reads for the form pages: the forms with their counts, submissions, quarantine, notices."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import Count, Max, Q
from django.utils import timezone

from leadflow.capture import statements
from leadflow.capture.models import Form, Submission, SubmissionNotice, SubmissionStatus
from leadflow.leads.models import Lead

PAGE_SIZE = 50
RECENT_DAYS = 30


# Public posts look the form up on every request. Each web process keeps the forms it served and
# reads only the form's version per request (one indexed look-up): the builder raises the version
# with every change it saves, so a closed or changed form takes effect in every process at once.
FORM_CACHE_SIZE = 500
_forms: dict[str, Form] = {}


def public_form(slug: str) -> Form | None:
    """Return the form at /f/<slug>/ with its consent wording, active or not; None when there is none."""
    current = statements.form_version(slug)
    if current is None:
        _forms.pop(slug, None)
        return None
    cached = _forms.get(slug)
    if cached is not None and (cached.pk, cached.version) == current:
        return cached
    form = Form.objects.select_related("consent_wording").filter(slug=slug).order_by().first()
    if form is None:
        return None
    if len(_forms) >= FORM_CACHE_SIZE:
        _forms.clear()
    _forms[slug] = form
    return form


def forget_public_forms() -> None:
    """Drop this process's copies of public forms, after a form changed."""
    _forms.clear()


def forms_overview(user) -> list[Form]:
    """Return the forms `user` may see, each with .recent (submissions in 30 days), .held and .last_at."""
    since = timezone.now() - timedelta(days=RECENT_DAYS)
    return list(
        Form.objects.visible_to(user).annotate(
            recent=Count("submissions", filter=Q(submissions__created_at__gte=since)),
            held=Count("submissions", filter=Q(submissions__status=SubmissionStatus.QUARANTINED)),
            last_at=Max("submissions__created_at"),
        )
    )


def held_count(user) -> int:
    return Submission.objects.filter(
        status=SubmissionStatus.QUARANTINED, form__in=Form.objects.visible_to(user)
    ).count()


def unread_notice_count(user) -> int:
    return SubmissionNotice.objects.filter(user=user, read_at__isnull=True).count()


@dataclass
class Page:
    rows: list
    next_before: int | None


def _page(qs, before: int | None, size: int = PAGE_SIZE) -> Page:
    if before:
        qs = qs.filter(pk__lt=before)
    rows = list(qs.order_by("-id")[: size + 1])
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, rows[-1].pk if more else None)


def submissions_of(form: Form, *, before: int | None = None, user=None) -> Page:
    """Return a page of the form's submissions, newest first, each with .lead_visible for `user`."""
    page = _page(Submission.objects.filter(form=form).select_related("lead", "reviewed_by"), before)
    _mark_visible_leads(page.rows, user)
    return page


def quarantined(user, *, form: Form | None = None, before: int | None = None) -> Page:
    """Return a page of held submissions on the forms `user` may see, newest first."""
    qs = Submission.objects.filter(status=SubmissionStatus.QUARANTINED, form__in=Form.objects.visible_to(user))
    if form is not None:
        qs = qs.filter(form=form)
    return _page(qs.select_related("form"), before)


def notices_for(user, *, before: int | None = None) -> Page:
    """Return a page of `user`'s form notices, newest first, each with .submission.lead_visible."""
    page = _page(
        SubmissionNotice.objects.filter(user=user).select_related("submission__form", "submission__lead"), before
    )
    _mark_visible_leads([notice.submission for notice in page.rows], user)
    return page


def _mark_visible_leads(submissions: list[Submission], user) -> None:
    ids = {submission.lead_id for submission in submissions if submission.lead_id}
    visible = set(Lead.objects.visible_to(user).filter(pk__in=ids).values_list("pk", flat=True)) if ids else set()
    for submission in submissions:
        submission.lead_visible = submission.lead_id in visible


def form_counts(form: Form) -> dict[str, int]:
    """Return how many submissions the form has: all, accepted, held."""
    counts = Submission.objects.filter(form=form).aggregate(
        total=Count("id"),
        held=Count("id", filter=Q(status=SubmissionStatus.QUARANTINED)),
    )
    return {"total": counts["total"], "held": counts["held"], "accepted": counts["total"] - counts["held"]}
