"""The lead API under /api/v1: thin endpoints that find through visible_to and call a service or query."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from ninja import Query, Router, Status

from leadflow.accounts.models import User
from leadflow.integrations.problems import Problem
from leadflow.leads import queries, services
from leadflow.leads.models import Company, EventKind, Lead, LeadMerge
from leadflow.leads.queries import FilterError
from leadflow.leads.schemas import (
    MAX_ID,
    CallIn,
    CompanyDetailOut,
    CompanyPageOut,
    CompanyQuery,
    ErasedOut,
    EraseIn,
    EventOut,
    ExportOut,
    LeadCreate,
    LeadCreated,
    LeadListQuery,
    LeadOut,
    LeadPageOut,
    LeadUpdate,
    MergeIn,
    MergeOut,
    NoteIn,
    OwnerIn,
    PageQuery,
    ProblemOut,
    StageIn,
    TimelineOut,
    TimelineQuery,
    event_data,
    json_answer,
    lead_data,
)

leads = Router(tags=["leads"])
companies = Router(tags=["companies"])
merges = Router(tags=["leads"])

DEFAULT_LIMIT = 50


def errors(*statuses: int) -> dict:
    """Document the problem answers an operation can give."""
    return dict.fromkeys((401, 403, 422, *statuses), ProblemOut)


def _user(request: HttpRequest) -> User:
    return request.auth.user


def _visible_lead(request: HttpRequest, lead_id: int) -> Lead:
    lead = None
    if 0 < lead_id <= MAX_ID:
        visible = Lead.objects.visible_to(_user(request)).select_related("owner", "company")
        lead = next(iter(visible.filter(pk=lead_id)[:1]), None)
    if lead is None:
        raise Problem(404, "not_found", f"There is no lead #{lead_id} that you can see.")
    return lead


def _reloaded(lead: Lead) -> Lead:
    return Lead.objects.select_related("owner", "company").get(pk=lead.pk)


def _etag(lead: Lead) -> str:
    return f'"{lead.version}"'


def _lead_answer(response: HttpResponse, lead: Lead) -> dict:
    response["ETag"] = _etag(lead)
    return lead_data(lead)


def _check_params(params, allowed: set[str]) -> None:
    hint = f"is not a parameter here; use {', '.join(sorted(allowed))}."
    unknown = {name[:64]: hint for name in params if name not in allowed}
    if unknown:
        raise FilterError(unknown)


def _whole(raw: str, maximum: int) -> int | None:
    """Return `raw` as a whole number from 1 to `maximum`, or None when it is not one."""
    if not (raw.isascii() and raw.isdigit() and len(raw) <= len(str(maximum))):
        return None
    value = int(raw)
    return value if 1 <= value <= maximum else None


def _limit(params) -> int:
    raw = params.get("limit", "")
    maximum = settings.LEADFLOW_API_MAX_PAGE_SIZE
    if raw == "":
        return min(DEFAULT_LIMIT, maximum)
    limit = _whole(raw, maximum)
    if limit is None:
        raise FilterError({"limit": f"must be a whole number from 1 to {maximum}; ask for more pages with cursor."})
    return limit


def _id_cursor(params) -> int | None:
    raw = params.get("cursor", "")
    if raw == "":
        return None
    cursor = _whole(raw, MAX_ID)
    if cursor is None:
        raise FilterError({"cursor": "is not a cursor from a previous page; start from the first page."})
    return cursor


def _if_match(request: HttpRequest) -> int | None:
    """Return the version the client last saw, from If-Match; None when it sent '*'."""
    raw = request.headers.get("If-Match")
    if raw is None:
        raise Problem(
            428,
            "precondition_required",
            "Send If-Match with the ETag from GET /api/v1/leads/{id}, so a change made by someone else "
            "since you read the lead is not overwritten (If-Match: * updates whatever is there).",
        )
    value = raw.strip()
    if value == "*":
        return None
    version = _whole(value.removeprefix('"').removesuffix('"'), MAX_ID)
    if version is None:
        raise Problem(
            400,
            "invalid_if_match",
            'If-Match must be the ETag of the lead, such as "3", or *.',
            errors={"If-Match": "is not an ETag of this API."},
        )
    return version


@leads.post(
    "",
    response={200: LeadCreated, 201: LeadCreated, **errors(409)},
    summary="Create a lead, or update the lead of the same person",
)
def create_lead(request: HttpRequest, payload: LeadCreate):
    """Record a person as a lead. One person, one lead: when a live lead already has this email
    (or, lacking one, this phone), that lead is updated instead: new values win, blank values never
    erase, and the capture is recorded on its timeline. The answer is 201 with `created: true` for a
    new lead, 200 with `created: false` for an update. An existing lead you cannot see is a 409
    (`duplicate_not_visible`); a person whose data was erased is a 409 (`erased_person`)."""
    result = services.record_lead(data=payload.model_dump(exclude_unset=True), actor=_user(request), channel="api")
    lead = result.lead
    response = json_answer(201 if result.created else 200, {"created": result.created, "lead": lead_data(lead)})
    response["ETag"] = _etag(lead)
    if result.created:
        response["Location"] = f"/api/v1/leads/{lead.pk}"
    return response


@leads.get("", response={200: LeadPageOut, **errors()}, summary="List leads with search, filters and sort")
def list_leads(request: HttpRequest, filters: Query[LeadListQuery]):
    """Return one page of the leads you can see, with the lead list page's search, filters and sort.
    Unknown parameters and values that do not fit are a 422 naming each one. Follow `next_cursor`
    (pass it as `cursor`, keeping the other parameters) until it is null."""
    params = request.GET
    limit = _limit(params)
    page = queries.lead_page(user=_user(request), filters=queries.parse_filters(params, strict=True), limit=limit)
    return {
        "items": [lead_data(lead) for lead in page.leads],
        "next_cursor": page.next_cursor,
        "count": page.count,
        "count_capped": page.count_capped,
    }


@leads.get("/{int:lead_id}", response={200: LeadOut, **errors(404)}, summary="Read a lead")
def read_lead(request: HttpRequest, lead_id: int, response: HttpResponse):
    """Return one lead. The ETag header carries the lead's version: send it back as If-Match when you
    update the lead. Another user's lead, a merged or an erased lead is a 404."""
    return _lead_answer(response, _visible_lead(request, lead_id))


@leads.patch("/{int:lead_id}", response={200: LeadOut, **errors(400, 404, 409, 412, 428)}, summary="Update a lead")
def update_lead(request: HttpRequest, lead_id: int, payload: LeadUpdate, response: HttpResponse):
    """Change some of a lead's fields; fields left out stay as they are, null clears a field (null
    sets a BANT answer back to unknown). Changes to budget, authority, need and timeline are recorded
    on the timeline as `qualification` events, one per field.
    If-Match is required: the ETag you got with the lead (or * to update whatever is there). When
    someone changed the lead since, nothing is saved and the answer is 412 `edit_conflict`: read the
    lead again and re-apply your change. An email that another lead has is a 409 `duplicate_email`."""
    lead = _visible_lead(request, lead_id)
    version = _if_match(request)
    changes = payload.model_dump(exclude_unset=True)
    updated = services.update_lead(lead=lead, changes=changes, actor=_user(request), if_version=version)
    return _lead_answer(response, _reloaded(updated))


@leads.get("/{int:lead_id}/timeline", response={200: TimelineOut, **errors(404)}, summary="Read a lead's timeline")
def read_timeline(request: HttpRequest, lead_id: int, filters: Query[TimelineQuery]):
    """Return the lead's events, newest first: notes, calls, captures, stage and owner changes,
    merges and more. Filter with `kind` (repeat it or separate kinds with commas) and page with
    `cursor`."""
    lead = _visible_lead(request, lead_id)
    params = request.GET
    _check_params(params, {"kind", "cursor", "limit"})
    limit = _limit(params)
    kinds = [kind for value in params.getlist("kind") for kind in value.split(",") if kind]
    unknown = [kind for kind in kinds if kind not in EventKind.values]
    if unknown:
        raise FilterError({"kind": f"unknown kind {unknown[0][:40]!r}; use one of {', '.join(EventKind.values)}."})
    events, next_id = queries.timeline_for(lead, kinds=kinds, before=_id_cursor(params), limit=limit)
    return {"items": [event_data(event) for event in events], "next_cursor": str(next_id) if next_id else None}


@leads.post("/{int:lead_id}/notes", response={201: EventOut, **errors(404)}, summary="Add a note to a lead")
def add_note(request: HttpRequest, lead_id: int, payload: NoteIn):
    """Append a note to the lead's timeline. The text is kept as written and always shown as
    plain text, never as HTML."""
    event = services.add_note(lead=_visible_lead(request, lead_id), text=payload.text, actor=_user(request))
    return Status(201, event_data(event))


@leads.post("/{int:lead_id}/calls", response={201: EventOut, **errors(404)}, summary="Log a call with a lead")
def log_call(request: HttpRequest, lead_id: int, payload: CallIn):
    """Record a call on the lead's timeline: its outcome, its length in seconds, notes, and when
    it happened (now when left out)."""
    event = services.log_call(lead=_visible_lead(request, lead_id), actor=_user(request), **payload.model_dump())
    return Status(201, event_data(event))


@leads.post("/{int:lead_id}/stage", response={200: LeadOut, **errors(404, 409)}, summary="Move a lead to a stage")
def change_stage(request: HttpRequest, lead_id: int, payload: StageIn, response: HttpResponse):
    """Move the lead to another lifecycle stage. Forward moves through subscriber, lead, mql, sql,
    opportunity and customer may skip steps; any open stage may be disqualified (`reason`: one of
    the disqualify reasons) or recycled (`reason`: a short text); disqualified and recycled leads
    may come back as lead or mql; a customer may only be disqualified. A move the rules do not
    allow is a 409 `transition_not_allowed`; moving to sql, opportunity or customer before the
    qualification gate's BANT fields are known is a 409 `qualification_incomplete` naming them; a
    missing or unknown reason is a 422 `invalid` on `reason`. The time the lead entered each stage
    is kept and the move is recorded on the timeline. Moving to the current stage changes nothing."""
    lead = _visible_lead(request, lead_id)
    moved = services.change_stage(lead=lead, stage=payload.stage, reason=payload.reason, actor=_user(request))
    return _lead_answer(response, _reloaded(moved))


@leads.post("/{int:lead_id}/owner", response={200: LeadOut, **errors(404, 409)}, summary="Assign a lead's owner")
def assign_owner(request: HttpRequest, lead_id: int, payload: OwnerIn, response: HttpResponse):
    """Give the lead to a user, or put it back in its team's queue with `owner_id: null`. Admins and
    marketing assign to anyone, managers within their teams, reps only to themselves (409
    `forbidden_owner` otherwise)."""
    lead = _visible_lead(request, lead_id)
    owner = None
    if payload.owner_id is not None:
        owner = User.objects.select_related("team").filter(pk=payload.owner_id).first()
        if owner is None:
            raise Problem(
                422, "invalid", f"There is no user #{payload.owner_id}.", errors={"owner_id": "is not a user."}
            )
    assigned = services.assign_owner(lead=lead, owner=owner, actor=_user(request))
    return _lead_answer(response, _reloaded(assigned))


@leads.post(
    "/{int:lead_id}/merge", response={201: MergeOut, **errors(404, 409)}, summary="Merge another lead into this one"
)
def merge_lead(request: HttpRequest, lead_id: int, payload: MergeIn):
    """Merge the lead `other_id` (the same person) into this one. Pick, field by field, whose value
    survives with `choices`. Both timelines are kept on this lead, the merge is recorded, and it can
    be undone with POST /api/v1/merges/{id}/undo. Both leads must be ones you can see."""
    winner = _visible_lead(request, lead_id)
    loser = Lead.objects.visible_to(_user(request)).filter(pk=payload.other_id).first()
    if loser is None:
        raise Problem(
            404,
            "not_found",
            f"There is no lead #{payload.other_id} that you can see.",
            errors={"other_id": "is not a lead you can see."},
        )
    merge = services.merge_leads(winner=winner, loser=loser, actor=_user(request), choices=payload.choices)
    return Status(201, _merge_data(merge))


def _merge_data(merge: LeadMerge) -> dict:
    return {
        "id": merge.pk,
        "winner_id": merge.winner_id,
        "loser_id": merge.loser_id,
        "created_at": merge.created_at,
        "undone_at": merge.undone_at,
        "lead": lead_data(Lead.objects.select_related("owner", "company").get(pk=merge.winner_id)),
    }


@merges.post("/{int:merge_id}/undo", response={200: MergeOut, **errors(404, 409)}, summary="Undo a merge")
def undo_merge(request: HttpRequest, merge_id: int):
    """Split a merge: the other lead comes back with its own values and its own timeline, and the
    surviving lead gets back the values it had, except those someone changed after the merge. Undo
    the latest merge into a lead first."""
    merge = None
    if 0 < merge_id <= MAX_ID:
        visible = Lead.objects.visible_to(_user(request))
        merge = LeadMerge.objects.filter(pk=merge_id, winner__in=visible).first()
    if merge is None:
        raise Problem(404, "not_found", f"There is no merge #{merge_id} of leads that you can see.")
    return _merge_data(services.undo_merge(merge=merge, actor=_user(request)))


@leads.get("/{int:lead_id}/export", response={200: ExportOut, **errors(404)}, summary="Export a lead's data")
def export_lead(request: HttpRequest, lead_id: int):
    """Return everything stored about the lead as JSON: its fields, company, owner and whole
    timeline, for a person asking for a copy of their data. The export is recorded on the
    timeline."""
    return services.export_lead_data(lead=_visible_lead(request, lead_id), actor=_user(request))


@leads.post("/{int:lead_id}/erase", response={200: ErasedOut, **errors(404, 409)}, summary="Erase a lead (admins)")
def erase_lead(request: HttpRequest, lead_id: int, payload: EraseIn | None = None):
    """Erase the person's data on their request: personal fields and timeline contents are removed,
    an anonymous tombstone is kept so counts stay right, and a keyed hash of the email and phone
    stops a later import from bringing the person back silently. Admins only; this cannot be undone."""
    if not _user(request).is_admin:
        raise Problem(403, "admin_only", "Only admins may erase a lead.")
    reason = payload.reason if payload else ""
    lead = services.erase_lead(lead=_visible_lead(request, lead_id), actor=_user(request), reason=reason)
    return {"id": lead.pk, "status": lead.status, "erased_at": lead.erased_at}


@companies.get("", response={200: CompanyPageOut, **errors()}, summary="List companies")
def list_companies(request: HttpRequest, filters: Query[CompanyQuery]):
    """Return the companies with at least one lead you can see, by name, each with how many of
    its leads you can see. `q` keeps names or domains starting with it."""
    params = request.GET
    _check_params(params, {"q", "limit"})
    q = params.get("q", "").strip()
    if len(q) > 200:
        raise FilterError({"q": "must be under 200 characters."})
    found = queries.companies_page(user=_user(request), q=q, limit=_limit(params))
    return {"items": [{"id": c.pk, "name": c.name, "domain": c.domain, "lead_count": c.lead_count} for c in found]}


@companies.get(
    "/{int:company_id}", response={200: CompanyDetailOut, **errors(404)}, summary="Read a company and its leads"
)
def read_company(request: HttpRequest, company_id: int, filters: Query[PageQuery]):
    """Return a company with the leads at it that you can see, a page at a time. A company with
    none of your leads is a 404."""
    params = request.GET
    _check_params(params, {"cursor", "limit"})
    limit = _limit(params)
    cursor = _id_cursor(params)
    visible = Lead.objects.visible_to(_user(request)).filter(company_id=company_id)
    company = Company.objects.filter(pk=company_id).first() if 0 < company_id <= MAX_ID else None
    if company is None or not visible.exists():
        raise Problem(404, "not_found", f"There is no company #{company_id} with leads that you can see.")
    rows = list(visible.filter(pk__gt=cursor or 0).select_related("owner", "company").order_by("pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return {
        "id": company.pk,
        "name": company.name,
        "domain": company.domain,
        "leads": [lead_data(lead) for lead in rows],
        "next_cursor": str(rows[-1].pk) if more else None,
    }
