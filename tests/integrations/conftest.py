"""Inbound sources and payloads shaped exactly like the ones Google Ads and other tools post."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from django.test import Client

from leadflow.integrations import services_inbound
from leadflow.integrations.inbound import SIGNATURE_HEADER, sign
from leadflow.integrations.models import InboundSource, SourceKind

# Google's documented sample webhook payload (the one "Send test data" posts), with is_test false.
GOOGLE_SAMPLE = {
    "lead_id": "TeSter-123-ABCDEFGHIJKLMNOPQRSTUVWXYZ-abcdefghijklmnopqrstuvwxyz-0123456789-AaBbCcDdEeFfGgHhIiJjKkLl",
    "user_column_data": [
        {"column_name": "Full Name", "string_value": "FirstName LastName", "column_id": "FULL_NAME"},
        {"column_name": "User Phone", "string_value": "+16505550123", "column_id": "PHONE_NUMBER"},
        {"column_name": "User Email", "string_value": "test@example.com", "column_id": "EMAIL"},
    ],
    "api_version": "1.0",
    "form_id": 40000000000,
    "campaign_id": 20000000000,
    "google_key": "to be replaced by the source's key",
    "is_test": False,
    "gcl_id": "TeSter-123-ABCDEFGHIJKLMNOPQRSTUVWXYZ-abcdefghijklmnopqrstuvwxyz-0123456789-AaBbCcDdEeFfGgHhIiJjKkLl",
    "adgroup_id": 30000000000,
    "creative_id": 50000000000,
}


def google_payload(source: InboundSource, **overrides: Any) -> dict[str, Any]:
    payload = copy.deepcopy(GOOGLE_SAMPLE)
    payload["google_key"] = source.secret
    payload.update(overrides)
    return payload


@pytest.fixture
def google_source(admin) -> InboundSource:
    return services_inbound.create_source(name="Spring lead form", kind=SourceKind.GOOGLE_ADS, actor=admin)


@pytest.fixture
def webhook_source(admin) -> InboundSource:
    return services_inbound.create_source(name="Typeform", kind=SourceKind.WEBHOOK, actor=admin)


def post_raw(source: InboundSource, body: bytes | str, **headers: str):
    """POST `body` to the source's address as the sender would, with these extra headers."""
    data = body.encode() if isinstance(body, str) else body
    return Client().generic("POST", source.hook_path, data, content_type="application/json", headers=headers)


def post_google(source: InboundSource, payload: dict[str, Any]):
    return post_raw(source, json.dumps(payload))


def post_signed(source: InboundSource, payload: dict[str, Any] | bytes, secret: str | None = None, **headers: str):
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return post_raw(source, body, **{SIGNATURE_HEADER: sign(body, secret or source.secret)}, **headers)
