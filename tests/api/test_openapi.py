"""The OpenAPI document describes every operation, as clients and fuzzers rely on it."""

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

METHODS = {"get", "post", "put", "patch", "delete"}


def operations() -> list[tuple[str, str, dict]]:
    spec = Client().get("/api/openapi.json").json()
    return [
        (path, method, op) for path, item in spec["paths"].items() for method, op in item.items() if method in METHODS
    ]


def test_spec_lists_the_v1_endpoints():
    paths = {path for path, _, _ in operations()}
    assert {
        "/api/v1/leads",
        "/api/v1/leads/{lead_id}",
        "/api/v1/leads/{lead_id}/timeline",
        "/api/v1/leads/{lead_id}/notes",
        "/api/v1/leads/{lead_id}/calls",
        "/api/v1/leads/{lead_id}/stage",
        "/api/v1/leads/{lead_id}/owner",
        "/api/v1/leads/{lead_id}/merge",
        "/api/v1/leads/{lead_id}/export",
        "/api/v1/leads/{lead_id}/erase",
        "/api/v1/merges/{merge_id}/undo",
        "/api/v1/companies",
        "/api/v1/companies/{company_id}",
    } <= paths


def test_every_operation_has_a_summary_and_a_description():
    for path, method, op in operations():
        function = op["operationId"].removeprefix("leadflow_leads_api_")
        generated = function.title().replace("_", " ")
        assert op.get("summary") and op["summary"] != generated, f"{method.upper()} {path} needs a summary"
        assert len(op.get("description", "")) >= 60, f"{method.upper()} {path} needs a description"


def test_every_operation_requires_a_bearer_token_and_documents_its_problems():
    for path, method, op in operations():
        assert op.get("security"), (method, path)
        assert {"401", "403"} <= set(op["responses"]), (method, path)


def test_api_description_lists_every_problem_code_it_can_answer():
    spec = Client().get("/api/openapi.json").json()
    for code in ["unauthorized", "insufficient_scope", "edit_conflict", "idempotency_key_reused", "invalid_filter"]:
        assert f"`{code}`" in spec["info"]["description"]
