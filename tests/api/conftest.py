"""A client for the REST API that speaks with one persona's token."""

from __future__ import annotations

import json
from typing import Any

from django.test import Client

from leadflow.leads.models import Lead, TimelineEvent
from tests.conftest import token_for

PROBLEM = "application/problem+json"


class ApiClient:
    """Call /api/v1 as one user; `json` bodies are encoded, `raw` bodies are sent as they are."""

    def __init__(self, token: str | None) -> None:
        self.client = Client()
        self.token = token

    def call(
        self,
        method: str,
        path: str,
        json_body: Any = None,
        *,
        raw: bytes | str | None = None,
        query: dict | None = None,
        headers: dict[str, str] | None = None,
    ):
        all_headers = dict(headers or {})
        if self.token is not None:
            all_headers.setdefault("Authorization", f"Bearer {self.token}")
        data = raw if raw is not None else (b"" if json_body is None else json.dumps(json_body))
        url = path if path.startswith("/api/") else f"/api/v1{path}"
        if method == "GET":
            return self.client.get(url, query or {}, headers=all_headers)
        return self.client.generic(method, url, data, content_type="application/json", headers=all_headers)

    def get(self, path: str, **query):
        return self.call("GET", path, query={k.rstrip("_"): v for k, v in query.items()})

    def post(self, path: str, body: Any = None, **kwargs):
        return self.call("POST", path, body, **kwargs)

    def patch(self, path: str, body: Any = None, **kwargs):
        return self.call("PATCH", path, body, **kwargs)


def as_user(user, scopes: str = "read,write") -> ApiClient:
    return ApiClient(token_for(user, scopes))


def problem(response, status: int, code: str) -> dict:
    """Return the problem details of `response`, checking its status, code and content type."""
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["status"] == status
    assert body["code"] == code
    assert body["type"].endswith(code)
    assert body["title"] and body["detail"]
    return body


def snapshot(lead: Lead) -> tuple:
    """Return what a request must not change: the lead's row and its timeline."""
    row = Lead.objects.filter(pk=lead.pk).values().get()
    events = list(TimelineEvent.objects.filter(lead_id=lead.pk).values_list("id", "kind", "lead_id"))
    return row, events, Lead.objects.count(), TimelineEvent.objects.count()
