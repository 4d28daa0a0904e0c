"""Shapes of the lead API: what clients send and what they get back."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Annotated, Any, Literal

from django.http import HttpResponse
from ninja.responses import NinjaJSONEncoder
from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, StrictInt, StrictStr

from leadflow.leads.countries import country_name
from leadflow.leads.fields import clean_text
from leadflow.leads.lifecycle import Authority, Budget, Need, PurchaseTimeline
from leadflow.leads.models import CallOutcome, ConsentStatus, Lead, Stage

MAX_ID = 2**63 - 1
JSON_CONTENT_TYPE = "application/json; charset=utf-8"

Id = Annotated[StrictInt, Field(ge=1, le=MAX_ID)]
Text = StrictStr | None


def _plain_text(limit: int, value: str) -> str:
    return clean_text(value, limit=limit)


def LimitedText(limit: int):
    """Text of at most `limit` characters with no control characters, trimmed."""
    return Annotated[StrictStr, AfterValidator(partial(_plain_text, limit))]


class Input(BaseModel):
    """A request body: unknown fields are refused, values are not coerced between types."""

    model_config = ConfigDict(extra="forbid")


class LeadFields(Input):
    """The lead fields a client may set, on create and on update."""

    first_name: Text = None
    last_name: Text = None
    email: Text = Field(None, description="Normalised: trimmed, domain lowercased and IDNA-encoded.")
    phone: Text = Field(None, description="Any common format; stored in E.164 (+14155550123).")
    title: Text = None
    company_name: Text = None
    source: Text = None
    medium: Text = None
    campaign: Text = None
    referrer: Text = None
    landing_page: Text = None
    consent_status: ConsentStatus | None = None
    country: Text = Field(None, description="ISO 3166-1 alpha-2 code such as DE (a country's English name works too).")
    industry: Text = None
    company_size: StrictInt | None = Field(None, description="Number of employees, a whole number from 0.")
    time_zone: Text = Field(None, description="IANA time zone name, such as Europe/Berlin.")
    budget: Budget | None = Field(None, description="BANT: budget. null means unknown.")
    budget_amount: Decimal | None = Field(None, description="The budget, from 0, at most two decimals.")
    authority: Authority | None = Field(None, description="BANT: the person's say in the decision.")
    need: Need | None = Field(None, description="BANT: how much they need it.")
    need_notes: Text = Field(None, description="What they need, in their words (up to 2,000 characters).")
    purchase_timeline: PurchaseTimeline | None = Field(None, description="BANT: when they plan to buy.")


class LeadCreate(LeadFields):
    consent_source: Text = None
    custom: dict[str, Any] | None = Field(None, description="Up to 50 fields of text, numbers, true/false or null.")
    stage: Stage | None = None


class LeadUpdate(LeadFields):
    custom: dict[str, Any] | None = Field(None, description="Replaces the lead's custom fields as a whole.")


class NoteIn(Input):
    text: StrictStr = Field(description="Up to 10,000 characters; kept as plain text.")


class CallIn(Input):
    outcome: CallOutcome
    duration_seconds: StrictInt = Field(0, description="0 to 86400.")
    notes: StrictStr = ""
    occurred_at: AwareDatetime | None = Field(None, description="When the call happened, with its UTC offset.")


class StageIn(Input):
    stage: Stage
    reason: LimitedText(200) = Field(
        "",
        description="Why. Required to disqualify (one of the disqualify reasons an admin set up) or to "
        "recycle (a short free text); optional otherwise.",
    )


class OwnerIn(Input):
    owner_id: Id | None = Field(description="The new owner's user id, or null for the team's queue.")


class MergeIn(Input):
    other_id: Id = Field(description="The lead merged into this one; it stops appearing in lists.")
    choices: dict[StrictStr, Literal["winner", "loser"]] = Field(
        default_factory=dict,
        description="Per field, whose value survives: 'winner' (this lead) or 'loser' (the other). "
        "Unnamed fields keep this lead's value unless it is empty.",
    )


class EraseIn(Input):
    reason: LimitedText(200) = ""


class UserRef(BaseModel):
    id: int
    username: str
    name: str


class CompanyRef(BaseModel):
    id: int
    name: str
    domain: str | None


class LeadOut(BaseModel):
    id: int
    first_name: str
    last_name: str
    full_name: str
    email: str
    phone: str
    title: str
    company_name: str
    company: CompanyRef | None
    owner: UserRef | None
    team_id: int | None
    stage: str
    stage_entered_at: dict[str, str]
    source: str
    medium: str
    campaign: str
    referrer: str
    landing_page: str
    latest_source: str
    latest_medium: str
    latest_campaign: str
    latest_referrer: str
    latest_landing_page: str
    consent_status: str
    consent_at: datetime | None
    consent_source: str
    country: str
    country_name: str
    industry: str
    company_size: int | None
    time_zone: str
    budget: str
    budget_amount: str | None = Field(description="A decimal number written as text, such as 25000.00.")
    authority: str
    need: str
    need_notes: str
    purchase_timeline: str
    stage_reason: str = Field(description="The latest reason the lead was disqualified or recycled.")
    custom: dict[str, Any]
    score: int
    version: int = Field(description="Changes with every edit; send it back in If-Match when you update.")
    created_at: datetime
    updated_at: datetime
    last_activity_at: datetime


LEAD_TEXT_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "phone",
    "title",
    "company_name",
    "stage",
    "source",
    "medium",
    "campaign",
    "referrer",
    "landing_page",
    "latest_source",
    "latest_medium",
    "latest_campaign",
    "latest_referrer",
    "latest_landing_page",
    "consent_status",
    "consent_source",
    "country",
    "industry",
    "company_size",
    "time_zone",
    "budget",
    "authority",
    "need",
    "need_notes",
    "purchase_timeline",
    "stage_reason",
)


# The order LeadOut documents, so an answer built without it reads the same.
LEAD_OUT_FIELDS = tuple(LeadOut.model_fields)


def user_ref(user) -> dict | None:
    return None if user is None else {"id": user.pk, "username": user.username, "name": str(user)}


def lead_data(lead: Lead) -> dict[str, Any]:
    """Return the lead as the API shows it; owner and company must be loaded with it."""
    data = {name: getattr(lead, name) for name in LEAD_TEXT_FIELDS}
    company = lead.company if lead.company_id else None
    data.update(
        id=lead.pk,
        full_name=lead.full_name,
        company=None if company is None else {"id": company.pk, "name": company.name, "domain": company.domain},
        owner=user_ref(lead.owner) if lead.owner_id else None,
        team_id=lead.team_id,
        stage_entered_at=lead.stage_entered_at,
        consent_at=lead.consent_at,
        country_name=country_name(lead.country) if lead.country else "",
        budget_amount=None if lead.budget_amount is None else str(lead.budget_amount),
        custom=lead.custom,
        score=lead.score,
        version=lead.version,
        created_at=lead.created_at,
        updated_at=lead.updated_at,
        last_activity_at=lead.last_activity_at,
    )
    return {name: data[name] for name in LEAD_OUT_FIELDS}


def json_answer(status: int, body: dict[str, Any]) -> HttpResponse:
    """Return `body` as the API's JSON answer, as ninja renders a validated one.

    For answers built by lead_data, whose values already have the documented types:
    they skip a second pass through the response schema.
    """
    return HttpResponse(json.dumps(body, cls=NinjaJSONEncoder), status=status, content_type=JSON_CONTENT_TYPE)


class LeadCreated(BaseModel):
    created: bool = Field(description="true when a new lead was made, false when an existing one was updated.")
    lead: LeadOut


class LeadPageOut(BaseModel):
    items: list[LeadOut]
    next_cursor: str | None = Field(description="Pass as `cursor` for the next page; null on the last page.")
    count: int = Field(description="How many leads match, counted up to 10,000.")
    count_capped: bool = Field(description="true when more than `count` leads match.")


class EventOut(BaseModel):
    id: int
    kind: str
    occurred_at: datetime
    actor_type: str
    actor: UserRef | None
    data: dict[str, Any]


def event_data(event) -> dict[str, Any]:
    return {
        "id": event.pk,
        "kind": event.kind,
        "occurred_at": event.occurred_at,
        "actor_type": event.actor_type,
        "actor": user_ref(event.actor) if event.actor_id else None,
        "data": event.data,
    }


class TimelineOut(BaseModel):
    items: list[EventOut]
    next_cursor: str | None


class CompanyOut(BaseModel):
    id: int
    name: str
    domain: str | None
    lead_count: int = Field(description="Leads at this company that you can see.")


class CompanyPageOut(BaseModel):
    items: list[CompanyOut]


class CompanyDetailOut(BaseModel):
    id: int
    name: str
    domain: str | None
    leads: list[LeadOut] = Field(description="Leads at this company that you can see, oldest first.")
    next_cursor: str | None


class MergeOut(BaseModel):
    id: int
    winner_id: int
    loser_id: int
    created_at: datetime
    undone_at: datetime | None
    lead: LeadOut = Field(description="The surviving lead as it is now.")


class ErasedOut(BaseModel):
    id: int
    status: str
    erased_at: datetime | None


class ProblemOut(BaseModel):
    """Problem details (RFC 9457), sent as application/problem+json."""

    type: str
    title: str
    status: int
    detail: str
    code: str = Field(description="Stable; switch on this, not on the wording.")
    instance: str
    errors: dict[str, str] | None = Field(None, description="One message per field or parameter at fault.")


class LeadListQuery(BaseModel):
    q: str | None = Field(None, description="Words matching the start of a name, company, email or phone.")
    stage: list[str] | None = Field(None, description="One or more stages (repeat or comma-separate).")
    owner: str | None = Field(None, description="A user id, 'me' or 'none'.")
    source: str | None = None
    score_min: str | None = Field(None, description="Whole number.")
    score_max: str | None = Field(None, description="Whole number.")
    created_from: str | None = Field(None, description="YYYY-MM-DD.")
    created_to: str | None = Field(None, description="YYYY-MM-DD, inclusive.")
    sort: str | None = Field(None, description="created, updated, activity, score or name; prefix - for descending.")
    cursor: str | None = Field(None, description="next_cursor from the previous page.")
    limit: str | None = Field(None, description="Leads per page: 1 to the server's maximum (200 by default).")


class TimelineQuery(BaseModel):
    kind: list[str] | None = Field(None, description="Event kinds to keep (repeat or comma-separate).")
    cursor: str | None = Field(None, description="next_cursor from the previous page.")
    limit: str | None = Field(None, description="Events per page.")


class CompanyQuery(BaseModel):
    q: str | None = Field(None, description="Start of the company's name or domain.")
    limit: str | None = Field(None, description="Companies to return.")


class PageQuery(BaseModel):
    cursor: str | None = Field(None, description="next_cursor from the previous page.")
    limit: str | None = Field(None, description="Leads per page.")


ExportOut = dict[str, Any]
