"""The REST API: /api/v1/..., documented at /api/docs."""

from django.urls import URLPattern, re_path
from ninja import NinjaAPI

from leadflow.integrations import problems
from leadflow.integrations.auth import TokenAuth
from leadflow.integrations.idempotency import idempotent
from leadflow.leads import api as leads_api

DESCRIPTION = """
Leadflow's REST API: leads, their timeline, companies and merges.

**Authentication.** Send a personal API token in the header
`Authorization: Bearer <token>` (create one under your account, or with
`leadflow token create USER --scopes read,write`). Reading needs the `read`
scope, every change the `write` scope. Tokens are never accepted in the query
string or a cookie. You see and change exactly the leads you see in the app.

**Retries.** Send `Idempotency-Key: <unique value>` with a POST or PATCH: a
retry with the same key and body answers what the first request answered
(with `Idempotent-Replayed: true`) and acts only once. The same key with another
body is a 422 `idempotency_key_reused`.

**Edits.** `GET /api/v1/leads/{id}` answers with an `ETag`; send it back as
`If-Match` when you update the lead. If someone changed it meanwhile, the answer
is a 412 `edit_conflict` and nothing is saved.

**Errors** are problem details (RFC 9457, `application/problem+json`) with
`type`, `title`, `status`, `detail`, a stable `code`, and `errors`
(`{field: message}`) when fields are at fault. Codes: `unauthorized`,
`insufficient_scope`, `admin_only`, `not_found`, `method_not_allowed`,
`malformed_json`, `invalid`, `invalid_filter`, `body_too_large`,
`precondition_required`, `invalid_if_match`, `edit_conflict`,
`invalid_idempotency_key`, `idempotency_key_reused`, `idempotency_key_in_use`,
`duplicate_not_visible`, `duplicate_email`, `erased_person`, `forbidden_owner`,
`inactive_owner`, `same_lead`, `not_active`, `already_undone`, `later_merge`,
`cannot_undo`, `undo_conflict`, `already_erased`, `transition_not_allowed`,
`qualification_incomplete`, `bad_request`, `internal_error`.
"""


class LeadflowAPI(NinjaAPI):
    """A NinjaAPI whose every answer under /api/, even for unknown addresses, is JSON."""

    def _get_urls(self) -> list:
        urls = super()._get_urls()
        for pattern in urls:
            if isinstance(pattern, URLPattern) and pattern.name == "api-root":
                pattern.callback = problems.not_found
            elif isinstance(pattern, URLPattern):
                pattern.callback = problems.json_method_not_allowed(pattern.callback)
        urls.append(re_path(r"", problems.not_found, name="not-found"))
        return urls


api = LeadflowAPI(
    title="Leadflow API",
    version="1",
    description=DESCRIPTION,
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    auth=TokenAuth(),
    parser=problems.StrictJSONParser(),
)
problems.install(api)
api.add_decorator(idempotent, mode="view")
api.add_decorator(problems.checked_query, mode="view")
api.add_router("/v1/leads", leads_api.leads)
api.add_router("/v1/merges", leads_api.merges)
api.add_router("/v1/companies", leads_api.companies)
api.add_router("/v1/leads/bulk", "leadflow.integrations.api_bulk.bulk")
