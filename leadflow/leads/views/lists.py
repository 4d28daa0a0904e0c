"""The leads table, saved views, bulk actions, the quick New lead form, and companies."""

from __future__ import annotations

from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.cache import patch_vary_headers
from django.utils.html import format_html
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseClientRedirect

from leadflow.leads import queries, services
from leadflow.leads.errors import FieldErrors, LeadError
from leadflow.leads.fields import CONTROL_CHARS
from leadflow.leads.forms import BulkActionForm, BulkEnrollForm, NewLeadForm, SavedViewForm, assignable_owners
from leadflow.leads.lifecycle import skip_summary
from leadflow.leads.models import Company, DisqualifyReason, Lead, SavedView, Stage
from leadflow.leads.normalise import NormaliseError, email_key, normalise_email, normalise_phone
from leadflow.leads.services import bulk as bulk_jobs
from leadflow.leads.views.detail_fields import COUNTRY_CHOICES

LIST_PARAMS = ("q", "stage", "owner", "source", "score_min", "score_max", "created_from", "created_to", "sort")
FILTER_LABELS = {
    "q": "Search",
    "stage": "Stage",
    "owner": "Owner",
    "source": "Source",
    "score_min": "Score from",
    "score_max": "Score to",
    "created_from": "Created from",
    "created_to": "Created to",
    "sort": "Sort",
    "cursor": "Page",
}
COLUMNS = (
    ("name", "Name"),
    ("company", "Company"),
    ("email", "Email"),
    ("phone", "Phone"),
    ("stage", "Stage"),
    ("owner", "Owner"),
    ("source", "Source"),
    ("score", "Score"),
    ("created", "Created"),
)
# Sortable columns and the direction of their first click: names A to Z, the rest highest first.
FIRST_SORT = {"name": "name", "score": "-score", "created": "-created"}
MAX_SAVED_VIEWS = 50
MAX_PAGE_NUMBER = 100_000
COMPANY_LIMIT = 100
COMPANY_LEADS_LIMIT = 100


def _selected_stages(params) -> list[str]:
    return [part for value in params.getlist("stage") for part in value.split(",") if part]


def filter_params(params) -> list[tuple[str, str]]:
    """Return the list filters in `params` as (name, value) pairs in a stable order, without blanks."""
    pairs = []
    for name in LIST_PARAMS:
        values = _selected_stages(params) if name == "stage" else [params.get(name, "")]
        for value in values:
            value = value.strip()
            if value and not (name == "sort" and value == queries.DEFAULT_SORT):
                pairs.append((name, value))
    return pairs


def _here(params) -> list[tuple[str, str]]:
    """Return the filters and the position in the list, to come back to the same page."""
    cursor = params.get("cursor", "").strip()
    return filter_params(params) + ([("cursor", cursor), ("page", str(_page_number(params)))] if cursor else [])


def _list_url(pairs: list[tuple[str, str]]) -> str:
    base = reverse("leads:list")
    return f"{base}?{urlencode(pairs)}" if pairs else base


def _page_number(params) -> int:
    raw = params.get("page", "")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 6):
        return 1
    return max(1, min(int(raw), MAX_PAGE_NUMBER))


def _columns(pairs: list[tuple[str, str]], sort: str) -> list[dict]:
    """Return the table's columns, each sortable one with the link that sorts by it."""
    unsorted = [(name, value) for name, value in pairs if name != "sort"]
    current, descending = sort.lstrip("-"), sort.startswith("-")
    columns = []
    for key, label in COLUMNS:
        column = {"key": key, "label": label}
        if key in FIRST_SORT:
            next_sort = FIRST_SORT[key]
            if key == current:
                column["direction"] = "descending" if descending else "ascending"
                next_sort = key if descending else f"-{key}"
            extra = [] if next_sort == queries.DEFAULT_SORT else [("sort", next_sort)]
            column["url"] = _list_url(unsorted + extra)
        columns.append(column)
    return columns


def _form_values(params) -> dict:
    values = {name: params.get(name, "").strip() for name in LIST_PARAMS if name != "stage"}
    values["stage"] = _selected_stages(params)
    values["sort"] = values["sort"] or queries.DEFAULT_SORT
    return values


def _list_context(request: HttpRequest, params) -> dict:
    """Return everything the list page shows for the filters in `params`."""
    user = request.user
    pairs = filter_params(params)
    context = {
        "query": urlencode(pairs),
        "values": _form_values(params),
        "owners": assignable_owners(user),
        "may_unassign": user.may_assign_to(None),
        "stages": Stage.choices,
        "disqualify_reasons": DisqualifyReason.objects.active(),
        "sequences": _enrollable_sequences(user),
        "default_sort": queries.DEFAULT_SORT,
        "saved_views": SavedView.objects.filter(user=user)[:MAX_SAVED_VIEWS],
    }
    size = settings.LEADFLOW_PAGE_SIZE
    try:
        filters = queries.parse_filters(params)
        # The count comes in its own request (leads:count), so the rows are never kept waiting.
        page = queries.lead_page(user=user, filters=filters, limit=size, with_count=False)
    except queries.FilterError as error:
        return {**context, "filter_errors": [(FILTER_LABELS.get(k, k), v) for k, v in error.errors.items()]}
    number = _page_number(params) if filters.cursor else 1
    start = (number - 1) * size + 1
    return {
        **context,
        "filters": filters,
        "page": page,
        "start": start,
        "end": start + len(page.leads) - 1,
        "first_url": _list_url(pairs),
        "next_url": _list_url([*pairs, ("cursor", page.next_cursor), ("page", str(number + 1))])
        if page.next_cursor
        else "",
        "here_query": urlencode(_here(params)),
        "page_ids": ",".join(str(lead.pk) for lead in page.leads),
        "columns": _columns(pairs, filters.sort),
        "more_than_page": bool(page.next_cursor or filters.cursor),
    }


def _wants_results(request: HttpRequest) -> bool:
    htmx = request.htmx
    return bool(htmx) and not htmx.history_restore_request and htmx.target == "results"


@require_GET
@login_required
def lead_list(request: HttpRequest) -> HttpResponse:
    context = _list_context(request, request.GET)
    if _wants_results(request):
        response = render(request, "leads/list.html#results", {**context, "oob": True})
    else:
        response = render(request, "leads/list.html", context)
    patch_vary_headers(response, ("HX-Request",))
    return response


def _count(number: int, noun: str = "lead") -> str:
    return f"{number:,} {noun}{'' if number == 1 else 's'}"


def _run_bulk(form: BulkActionForm, user) -> tuple[str, bool]:
    """Apply the form's action to the selected leads; return a message and whether it worked."""
    if not form.is_valid():
        return " ".join(str(error) for errors in form.errors.values() for error in errors), False
    ids = form.lead_ids()
    try:
        if form.cleaned_data["action"] == form.ASSIGN:
            owner = form.cleaned_data["owner"]
            changed = services.bulk_assign(lead_ids=ids, owner=owner, actor=user)
            done = f"assigned to {owner}" if owner else "moved to the unassigned queue"
        else:
            return _run_bulk_stage(form, ids, user)
    except LeadError as error:
        return error.message, False
    if changed == len(ids):
        return f"{_count(changed)} {done}.", True
    return f"{changed:,} of {_count(len(ids), 'selected lead')} {done}; the others needed no change.", True


def _run_bulk_stage(form: BulkActionForm, ids: list[int], user) -> tuple[str, bool]:
    """Move the selected leads; say how many moved and how many were skipped, and why."""
    stage = form.cleaned_data["stage"]
    try:
        result = services.bulk_change_stage(lead_ids=ids, stage=stage, actor=user, reason=form.cleaned_data["reason"])
    except FieldErrors as error:
        return " ".join(error.errors.values()), False
    done = f"moved to {Stage(stage).label}"
    if result.changed == len(ids):
        return f"{_count(result.changed)} {done}.", True
    message = f"{result.changed:,} of {_count(len(ids), 'selected lead')} {done}"
    if not result.skipped_total:
        return f"{message}; the others needed no change.", True
    message = f"{message}. {skip_summary(result.skipped)}"
    if result.unchanged:
        message += f" {result.unchanged:,} already there."
    return message, bool(result.changed)


def _start_bulk_job(request: HttpRequest, form: BulkActionForm, query: str) -> HttpResponse:
    """Queue the action for every lead matching `query` and send the browser to its progress page."""
    job = bulk_jobs.start_bulk_job(
        actor=request.user,
        query=query,
        action=form.cleaned_data["action"],
        value=form.job_value(),
        reason=form.cleaned_data.get("reason", ""),
    )
    url = reverse("leads:job", args=[job.pk])
    return HttpResponseClientRedirect(url) if request.htmx else redirect(url)


ENROLL_WORDS = {
    "enrolled": "enrolled",
    "queued": "queued to enroll in the background",
    "already_enrolled": "already in it",
    "suppressed": "not emailable (unsubscribed, bounced or erased)",
    "consent_withdrawn": "who withdrew consent",
    "lead_inactive": "merged or erased",
    "no_email": "without an email address",
}


def _enrollable_sequences(user) -> list:
    """The nurture sequences the bulk bar offers."""
    from leadflow.nurture import queries as nurture_queries

    return nurture_queries.enrollable_sequences()


def _run_bulk_enroll(request: HttpRequest, back: QueryDict) -> tuple[str, bool]:
    """Put the selected (or every matching) lead in the chosen nurture sequence."""
    from leadflow.nurture import queries as nurture_queries
    from leadflow.nurture import services as nurture

    form = BulkEnrollForm(request.POST)
    if not form.is_valid():
        return " ".join(str(error) for errors in form.errors.values() for error in errors), False
    sequences = {sequence.pk: sequence for sequence in nurture_queries.enrollable_sequences()}
    sequence = sequences.get(form.cleaned_data["sequence"])
    if sequence is None:
        return "That sequence is gone or still a draft; reload the page and pick another.", False
    ids = [] if form.all_matching else form.lead_ids()
    try:
        counts = nurture.enroll_from_list(
            sequence=sequence, actor=request.user, lead_ids=ids, query=urlencode(filter_params(back))
        )
    except queries.FilterError as error:
        return f"These filters have errors ({error}); correct them first.", False
    parts = [f"{count:,} {ENROLL_WORDS.get(code, code.replace('_', ' '))}" for code, count in counts.items() if count]
    ok = bool(counts.get("enrolled") or counts.get("queued"))
    return f"“{sequence.name}”: {', '.join(parts) or 'nobody to enroll'}.", ok


@require_POST
@login_required
def bulk_action(request: HttpRequest) -> HttpResponse:
    form = BulkActionForm(request.POST, user=request.user, owners=assignable_owners(request.user))
    back = QueryDict(request.POST.get("next", "")[:4000])
    if request.POST.get("action") == "enroll":
        message, ok = _run_bulk_enroll(request, back)
    elif form.is_valid() and form.all_matching:
        try:
            return _start_bulk_job(request, form, urlencode(filter_params(back)))
        except FieldErrors as error:
            message, ok = " ".join(error.errors.values()), False
        except LeadError as error:
            message, ok = error.message, False
        except queries.FilterError as error:
            message, ok = f"These filters have errors ({error}); correct them first.", False
    else:
        message, ok = _run_bulk(form, request.user)
    if request.htmx:
        context = {**_list_context(request, back), "bulk_message": message, "bulk_ok": ok, "oob": True}
        return render(request, "leads/list.html#results", context)
    messages.add_message(request, messages.SUCCESS if ok else messages.ERROR, message)
    return redirect(_list_url(_here(back)))


def _saved_views_response(request: HttpRequest, query: str, message: str, ok: bool) -> HttpResponse:
    if request.htmx:
        context = {
            "saved_views": SavedView.objects.filter(user=request.user)[:MAX_SAVED_VIEWS],
            "query": query,
            "view_message": message,
            "view_ok": ok,
        }
        return render(request, "leads/list.html#saved_views", context)
    messages.add_message(request, messages.SUCCESS if ok else messages.ERROR, message)
    return redirect(_list_url(filter_params(QueryDict(query))))


def _save(user, name: str, query: str) -> tuple[str, bool]:
    params = QueryDict(query)
    try:
        queries.parse_filters(params)
    except queries.FilterError:
        return "These filters have errors; correct them before saving the view.", False
    query = urlencode(filter_params(params))
    if not query:
        return "Search, filter or sort the list first, then save that as a view.", False
    if len(query) > SavedView._meta.get_field("query").max_length:
        return "These filters are too long to save; use a shorter search.", False
    views = SavedView.objects.filter(user=user)
    if views.count() >= MAX_SAVED_VIEWS and not views.filter(name=name).exists():
        return f"You have {MAX_SAVED_VIEWS} saved views, the most allowed; delete one first.", False
    _, created = SavedView.objects.update_or_create(user=user, name=name, defaults={"query": query})
    return (f"Saved the view “{name}”." if created else f"Updated the view “{name}”."), True


def _posted_query(request: HttpRequest) -> str:
    return urlencode(filter_params(QueryDict(request.POST.get("query", "")[:2000])))


@require_POST
@login_required
def save_view(request: HttpRequest) -> HttpResponse:
    form = SavedViewForm(request.POST)
    query = _posted_query(request)
    if form.is_valid():
        message, ok = _save(request.user, form.cleaned_data["name"], form.cleaned_data["query"])
    else:
        message, ok = "Give the view a name of up to 80 characters.", False
    return _saved_views_response(request, query, message, ok)


@require_POST
@login_required
def delete_view(request: HttpRequest, pk: int) -> HttpResponse:
    view = get_object_or_404(SavedView, pk=pk, user=request.user)
    view.delete()
    return _saved_views_response(request, _posted_query(request), f"Deleted the view “{view.name}”.", True)


def _quietly(normalise, raw: str) -> str:
    """Return `raw` normalised, or '' while it is still half typed."""
    try:
        return normalise(raw[:320])
    except NormaliseError:
        return ""


def _duplicates(user, email: str, phone: str) -> dict:
    """Return the visible leads with this email or phone, and whether an invisible one exists."""
    email, phone = _quietly(normalise_email, email), _quietly(normalise_phone, phone)
    if not email and not phone:
        return {"checked": False}
    key = email_key(email)
    matches = [
        {"lead": lead, "same": "email" if key and lead.email_key == key else "phone"}
        for lead in queries.possible_matches(user=user, email=email, phone=phone)
    ]
    elsewhere = not matches and queries.exists_elsewhere(email=email, phone=phone)
    return {"checked": True, "matches": matches, "elsewhere": elsewhere}


def _field_message(form: NewLeadForm, name: str, message: str) -> str:
    """Make a service message read well next to its field: 'is not…' becomes 'Email is not…'."""
    if message[:1].islower() and name in form.fields:
        return f"{form.fields[name].label or name.replace('_', ' ').capitalize()} {message}"
    return message


def _record(form: NewLeadForm, user) -> services.RecordResult | None:
    try:
        return services.record_lead(
            data=form.lead_data(), actor=user, channel="manual", owner=form.cleaned_data["owner"]
        )
    except FieldErrors as error:
        for name, message in error.errors.items():
            form.add_error(name if name in form.fields else None, _field_message(form, name, message))
    except LeadError as error:
        form.add_error(error.field if error.field in form.fields else None, error.message)
    return None


def _announce(request: HttpRequest, result: services.RecordResult) -> None:
    lead = result.lead
    link = format_html('<a href="{}">{}</a>', lead.get_absolute_url(), lead.display_name)
    if result.created:
        messages.success(request, format_html("Added {}.", link))
    else:
        messages.info(
            request,
            format_html(
                "{} was already in Leadflow with this email or phone, so that lead was updated "
                "instead of adding a duplicate.",
                link,
            ),
        )


@require_http_methods(["GET", "POST"])
@login_required
def lead_new(request: HttpRequest) -> HttpResponse:
    form = NewLeadForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        result = _record(form, request.user)
        if result is not None:
            _announce(request, result)
            return redirect("leads:new" if request.POST.get("then") == "another" else result.lead.get_absolute_url())
    duplicates = _duplicates(request.user, form.data.get("email", ""), form.data.get("phone", ""))
    focus = next((name for name in form.fields if name in form.errors), "first_name")
    context = {"form": form, "focus": focus, "countries": COUNTRY_CHOICES[1:], **duplicates}
    return render(request, "leads/new.html", context)


@require_GET
@login_required
def duplicate_check(request: HttpRequest) -> HttpResponse:
    context = _duplicates(request.user, request.GET.get("email", ""), request.GET.get("phone", ""))
    return render(request, "leads/new.html#duplicates", context)


def _search_text(raw: str) -> str:
    return " ".join(CONTROL_CHARS.sub("", raw).split())[:100]


@require_GET
@login_required
def company_list(request: HttpRequest) -> HttpResponse:
    q = _search_text(request.GET.get("q", ""))
    companies = queries.companies_page(user=request.user, q=q, limit=COMPANY_LIMIT + 1)
    context = {"companies": companies[:COMPANY_LIMIT], "more": len(companies) > COMPANY_LIMIT, "q": q}
    partial = request.htmx and not request.htmx.history_restore_request and request.htmx.target == "company-results"
    response = render(request, "leads/companies.html#company_results" if partial else "leads/companies.html", context)
    patch_vary_headers(response, ("HX-Request",))
    return response


@require_GET
@login_required
def company_detail(request: HttpRequest, pk: int) -> HttpResponse:
    company = get_object_or_404(Company, pk=pk)
    visible = Lead.objects.visible_to(request.user).filter(company=company)
    leads = list(visible.select_related("owner", "company").order_by("-created_at", "-id")[:COMPANY_LEADS_LIMIT])
    if not leads:
        raise Http404("No company with leads you can see.")
    count, capped = (len(leads), False) if len(leads) < COMPANY_LEADS_LIMIT else queries.capped_count(visible)
    columns = [{"key": key, "label": label} for key, label in COLUMNS if key != "company"]
    context = {"company": company, "leads": leads, "count": count, "capped": capped, "columns": columns}
    return render(request, "leads/company.html", context)


@login_required
def lead_count(request: HttpRequest) -> HttpResponse:
    """Return how many leads match the list's filters, for the count shown above the table."""
    try:
        count, capped = queries.count_leads(user=request.user, filters=queries.parse_filters(request.GET))
    except queries.FilterError:
        return HttpResponse("")
    return render(request, "leads/list_count.html", {"count": count, "capped": capped})
