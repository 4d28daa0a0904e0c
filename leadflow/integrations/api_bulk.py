"""POST /api/v1/leads/bulk: create or update up to 1,000 leads in one call, with a result per item."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any, Literal

from django.http import HttpRequest
from ninja import Router
from pydantic import BaseModel, ConfigDict, Field

from leadflow.integrations.problems import FIELD_ALIASES, TYPE_PREFIX, Problem
from leadflow.leads import duplicates
from leadflow.leads.errors import FieldErrors, LeadError
from leadflow.leads.models import ActorType
from leadflow.leads.schemas import ProblemOut
from leadflow.leads.services.batch import MAX_BATCH, BatchOutcome, record_leads_batch

bulk = Router(tags=["leads"])


class BulkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    items: list[Any] = Field(
        description=f"Up to {MAX_BATCH} leads, each shaped like the body of POST /api/v1/leads "
        "(first_name, last_name, email, phone, title, company_name, source, medium, campaign, referrer, "
        "landing_page, consent_status, consent_source, custom, stage)."
    )
    dry_run: bool = Field(False, description="true: check and answer what would happen, change nothing.")


class ItemProblem(BaseModel):
    type: str
    title: str
    status: int
    detail: str
    code: str
    errors: dict[str, str] | None = None


class BulkItemOut(BaseModel):
    index: int = Field(description="The item's position in `items`, from 0.")
    status: Literal["created", "updated", "duplicate", "error"] = Field(
        description="created: a new lead; updated: the person's existing lead; duplicate: the same person as an "
        "earlier item of this call, folded into its lead; error: nothing was done, see `problem`."
    )
    lead_id: int | None = Field(
        description="The lead the item became or updated; null for errors and for leads a dry run would create."
    )
    problem: ItemProblem | None = None


class BulkOut(BaseModel):
    dry_run: bool
    created: int
    updated: int
    duplicate: int
    error: int
    items: list[BulkItemOut]


def _item_problem(error: LeadError) -> dict[str, Any]:
    if isinstance(error, FieldErrors):
        errors = {FIELD_ALIASES.get(name, name): message for name, message in error.errors.items()}
    else:
        errors = {FIELD_ALIASES.get(error.field, error.field): error.message} if error.field else None
    return {
        "type": TYPE_PREFIX + error.code,
        "title": HTTPStatus(error.status).phrase,
        "status": error.status,
        "detail": error.message,
        "code": error.code,
        "errors": errors,
    }


def _item(index: int, outcome: BatchOutcome) -> dict[str, Any]:
    if outcome.action == "error":
        return {"index": index, "status": "error", "lead_id": None, "problem": _item_problem(outcome.error)}
    lead_id = outcome.lead.pk if outcome.lead is not None else None
    return {"index": index, "status": outcome.action, "lead_id": lead_id, "problem": None}


@bulk.post(
    "",
    response={200: BulkOut, **dict.fromkeys((401, 403, 413, 422), ProblemOut)},
    summary="Create or update up to 1,000 leads",
)
def bulk_leads(request: HttpRequest, payload: BulkIn):
    """Record many leads in one call, with the same one-person-one-lead rules as POST /api/v1/leads:
    an item whose email (or, lacking one, phone) belongs to a live lead updates that lead; items for
    the same person in one call fold into one lead. Each item gets a result in `items`, in order, so
    one bad item never spoils the others: `error` items carry a problem (`invalid` with per-field
    `errors`, `duplicate_not_visible` when the person's lead belongs to someone you cannot see,
    `erased_person`). Needs the `write` scope. More than 1,000 items is a 413 `too_many_items`;
    send the rest in another call. With an Idempotency-Key, a retried call answers the same and
    records nothing twice."""
    if len(payload.items) > MAX_BATCH:
        raise Problem(
            413,
            "too_many_items",
            f"{len(payload.items)} items were sent; send at most {MAX_BATCH} per call and the rest in another.",
            errors={"items": f"has {len(payload.items)} items; the most allowed is {MAX_BATCH}."},
        )
    user = request.auth.user
    outcomes = record_leads_batch(
        rows=payload.items, actor=user, actor_type=ActorType.USER, channel="api", dry_run=payload.dry_run
    )
    items = [_item(index, outcome) for index, outcome in enumerate(outcomes)]
    if not payload.dry_run:
        duplicates.schedule_detection(item["lead_id"] for item in items if item["lead_id"])
    counts = {status: 0 for status in ("created", "updated", "duplicate", "error")}
    for item in items:
        counts[item["status"]] += 1
    return {"dry_run": payload.dry_run, **counts, "items": items}
