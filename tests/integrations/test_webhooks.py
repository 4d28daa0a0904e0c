"""Generic inbound webhooks: HMAC-signed (or bearer) posts, field maps and redelivery."""

from __future__ import annotations

import json

import pytest

from leadflow.integrations import services_inbound
from leadflow.integrations.inbound import SIGNATURE_HEADER, map_generic, resolve, sign, signature_valid
from leadflow.integrations.models import DeliveryOutcome, InboundDelivery
from leadflow.leads.errors import FieldErrors
from leadflow.leads.models import EventKind, Lead, TimelineEvent
from tests.api.conftest import PROBLEM
from tests.integrations.conftest import post_raw, post_signed

pytestmark = pytest.mark.django_db

LEAD = {"id": "sub-1", "email": "ada@example.com", "name": "Ada Lovelace", "company": "Engines Ltd", "plan": "pro"}


def refused(response, status: int, code: str) -> None:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    assert response.json()["code"] == code
    assert Lead.objects.count() == 0


def test_signed_post_creates_a_lead_from_well_known_keys(webhook_source):
    response = post_signed(webhook_source, LEAD)
    assert response.status_code == 200
    delivery = InboundDelivery.objects.get()
    assert response.json() == {"outcome": "accepted", "action": "created", "delivery_id": delivery.pk}
    lead = Lead.objects.get()
    assert (lead.first_name, lead.last_name, lead.email, lead.company_name) == (
        "Ada",
        "Lovelace",
        "ada@example.com",
        "Engines Ltd",
    )
    assert lead.custom == {"plan": "pro"}
    assert (lead.source, lead.medium) == ("typeform", "")
    assert TimelineEvent.objects.get(lead=lead, kind=EventKind.CREATED).data["channel"] == "webhook"
    assert (delivery.external_id, delivery.lead_id) == ("sub-1", lead.pk)


def test_signature_without_prefix_and_bearer_secret_are_accepted(webhook_source):
    body = json.dumps(LEAD).encode()
    bare = sign(body, webhook_source.secret).removeprefix("sha256=")
    assert post_raw(webhook_source, body, **{SIGNATURE_HEADER: bare}).status_code == 200
    other = json.dumps({**LEAD, "id": "sub-2", "email": "b@example.com"})
    assert post_raw(webhook_source, other, Authorization=f"Bearer {webhook_source.secret}").status_code == 200
    assert Lead.objects.count() == 2


def test_missing_signature_is_a_401_and_stores_no_lead(webhook_source):
    refused(post_raw(webhook_source, json.dumps(LEAD)), 401, "signature_required")
    delivery = InboundDelivery.objects.get()
    assert (delivery.outcome, delivery.status_code, delivery.fields) == (DeliveryOutcome.REJECTED, 401, [])


@pytest.mark.parametrize(
    "headers",
    [
        {SIGNATURE_HEADER: "sha256=" + "0" * 64},
        {SIGNATURE_HEADER: "sha256=not-hex"},
        {SIGNATURE_HEADER: "md5=abc"},
        {SIGNATURE_HEADER: "sha256=é"},
        {"Authorization": "Bearer wrong-secret"},
    ],
)
def test_invalid_signature_or_secret_is_a_403(webhook_source, headers):
    refused(post_raw(webhook_source, json.dumps(LEAD), **headers), 403, "invalid_signature")


def test_signature_over_another_body_is_refused(webhook_source):
    signed = sign(json.dumps(LEAD).encode(), webhook_source.secret)
    tampered = json.dumps({**LEAD, "email": "mallory@example.com"})
    refused(post_raw(webhook_source, tampered, **{SIGNATURE_HEADER: signed}), 403, "invalid_signature")


def test_signature_made_with_the_old_secret_stops_working_after_rotation(webhook_source, admin):
    old = webhook_source.secret
    services_inbound.rotate_secret(source=webhook_source, actor=admin)
    refused(post_signed(webhook_source, LEAD, secret=old), 403, "invalid_signature")
    assert post_signed(webhook_source, LEAD).status_code == 200


def test_replayed_signed_delivery_creates_one_lead(webhook_source):
    body = json.dumps(LEAD).encode()
    first, replay = post_signed(webhook_source, body), post_signed(webhook_source, body)
    assert first.json()["outcome"] == "accepted"
    assert replay.status_code == 200
    assert replay.json()["outcome"] == "duplicate"
    lead = Lead.objects.get()
    assert TimelineEvent.objects.filter(lead=lead).count() == 1
    assert list(InboundDelivery.objects.order_by("id").values_list("outcome", flat=True)) == ["accepted", "duplicate"]


def test_delivery_without_an_id_is_folded_into_the_same_persons_lead(webhook_source):
    body = {key: value for key, value in LEAD.items() if key != "id"}
    post_signed(webhook_source, body)
    second = post_signed(webhook_source, body)
    assert second.json()["action"] == "updated"
    lead = Lead.objects.get()
    assert TimelineEvent.objects.filter(lead=lead, kind=EventKind.CAPTURED).count() == 1


def test_field_map_reads_nested_paths(webhook_source, admin):
    services_inbound.update_source(
        source=webhook_source,
        name=webhook_source.name,
        field_map={
            "$.form_response.token": "external_id",
            "form_response.answers[0].email": "email",
            "form_response.answers[1].text": "full_name",
            "form_response.answers[2].number": "custom.budget",
            "form_response.hidden.utm_campaign": "campaign",
            "form_response.missing.path": "title",
        },
        campaign_names={},
        lead_source="typeform",
        lead_medium="form",
        is_active=True,
        actor=admin,
    )
    payload = {
        "event_type": "form_response",
        "form_response": {
            "token": "tok-99",
            "answers": [{"email": "grace@navy.example"}, {"text": "Grace Brewster Hopper"}, {"number": 5000}],
            "hidden": {"utm_campaign": "cobol-2026"},
        },
    }
    assert post_signed(webhook_source, payload).status_code == 200
    lead = Lead.objects.get()
    assert (lead.email, lead.first_name, lead.last_name) == ("grace@navy.example", "Grace", "Brewster Hopper")
    assert (lead.source, lead.medium, lead.campaign) == ("typeform", "form", "cobol-2026")
    assert lead.custom == {"budget": 5000}
    assert InboundDelivery.objects.get().external_id == "tok-99"


def test_bad_field_map_is_refused_when_saving(webhook_source, admin):
    with pytest.raises(FieldErrors, match="not a lead field"):
        services_inbound.update_source(
            source=webhook_source,
            name="x",
            field_map={"email": "owner_id"},
            campaign_names={},
            lead_source="",
            lead_medium="",
            is_active=True,
            actor=admin,
        )


def test_payload_without_anything_to_make_a_lead_of_is_a_422(webhook_source):
    refused(post_signed(webhook_source, {"id": "x", "nested": {"email": "a@example.com"}}), 422, "invalid")
    assert InboundDelivery.objects.get().outcome == DeliveryOutcome.REJECTED


def test_rejected_delivery_can_be_sent_again_once_fixed(webhook_source):
    post_signed(webhook_source, {"id": "retry-1"})
    assert post_signed(webhook_source, {"id": "retry-1", "email": "fixed@example.com"}).json()["outcome"] == "accepted"
    assert Lead.objects.get().email == "fixed@example.com"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"nope", 400, "malformed_json"),
        (b"[]", 400, "malformed_json"),
        (b'{"email": "a\\u0000b@example.com"}', 422, "nul_bytes"),
        (b'{"email": "a\x00b@example.com"}', 400, "malformed_json"),
        (b'{"id": "' + b"x" * 300 + b'", "email": "a@example.com"}', 422, "invalid_external_id"),
    ],
)
def test_bad_bodies_that_are_signed_get_a_clear_4xx(webhook_source, body, status, code):
    refused(post_signed(webhook_source, body), status, code)


def test_oversized_body_is_refused_before_reading(webhook_source):
    body = json.dumps({**LEAD, "padding": "x" * (300 * 1024)}).encode()
    refused(post_signed(webhook_source, body), 413, "body_too_large")


def test_many_top_level_keys_keep_fifty_custom_fields(webhook_source):
    payload = {"email": "many@example.com", **{f"k{n}": n for n in range(80)}}
    assert post_signed(webhook_source, payload).status_code == 200
    assert len(Lead.objects.get().custom) == 50


def test_path_resolution():
    data = {"a": {"b": [{"c": 1}, {"c": 2}]}, "x.y": 3, "list": ["zero"]}
    assert resolve(data, "a.b[1].c") == 2
    assert resolve(data, "$.a.b.0.c") == 1
    assert resolve(data, "a.b[5].c") is None
    assert resolve(data, "list[0]") == "zero"
    assert resolve(data, "a.missing") is None


def test_map_generic_splits_a_full_name_only_when_parts_are_absent():
    mapped = map_generic({"name": "Ada Lovelace", "first_name": "Augusta"}, {})
    assert (mapped.row["first_name"], mapped.row.get("last_name")) == ("Augusta", None)


def test_signature_check_is_constant_time_compare_of_hex():
    body = b'{"a": 1}'
    assert signature_valid(sign(body, "s3cret"), body, "s3cret") is True
    assert signature_valid(sign(body, "s3cret").upper().replace("SHA256=", "sha256="), body, "s3cret") is True
    assert signature_valid(sign(body, "other"), body, "s3cret") is False
