"""The Google Ads lead form webhook: Google's documented payloads, and everything that must not get in."""

from __future__ import annotations

import json

import pytest

from leadflow.integrations.models import DeliveryOutcome, InboundDelivery
from leadflow.leads.models import EventKind, Lead, TimelineEvent
from tests.api.conftest import PROBLEM
from tests.conftest import make_lead
from tests.integrations.conftest import GOOGLE_SAMPLE, google_payload, post_google, post_raw

pytestmark = pytest.mark.django_db


def only_delivery() -> InboundDelivery:
    return InboundDelivery.objects.get()


def assert_refused(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content
    assert response["Content-Type"] == PROBLEM
    body = response.json()
    assert body["code"] == code
    assert body["message"] == body["detail"]
    assert Lead.objects.count() == 0
    assert TimelineEvent.objects.count() == 0
    return body


def test_documented_sample_creates_a_lead_attributed_to_the_campaign(google_source):
    response = post_google(google_source, google_payload(google_source))
    assert response.status_code == 200
    assert response.json() == {}
    lead = Lead.objects.get()
    assert (lead.first_name, lead.last_name, lead.email, lead.phone) == (
        "FirstName",
        "LastName",
        "test@example.com",
        "+16505550123",
    )
    assert (lead.source, lead.medium, lead.campaign) == ("google", "cpc", "20000000000")
    assert lead.custom == {"gclid": GOOGLE_SAMPLE["gcl_id"]}
    event = TimelineEvent.objects.get(lead=lead)
    assert event.kind == EventKind.CREATED
    assert event.data["channel"] == "google_ads"
    delivery = only_delivery()
    assert (delivery.outcome, delivery.action, delivery.lead_id) == (DeliveryOutcome.ACCEPTED, "created", lead.pk)
    assert delivery.external_id == GOOGLE_SAMPLE["lead_id"]
    assert delivery.meta["form_id"] == 40000000000
    assert delivery.meta["adgroup_id"] == 30000000000


def test_configured_campaign_name_is_recorded_instead_of_the_id(google_source):
    google_source.campaign_names = {"20000000000": "Spring promo"}
    google_source.save()
    post_google(google_source, google_payload(google_source))
    assert Lead.objects.get().campaign == "Spring promo"


def test_all_standard_and_extra_columns_land_in_lead_and_custom_fields(google_source):
    columns = [
        {"column_name": "First Name", "string_value": "Ada", "column_id": "FIRST_NAME"},
        {"column_name": "Last Name", "string_value": "Lovelace", "column_id": "LAST_NAME"},
        {"column_name": "Work Email", "string_value": "ada@analytical.example", "column_id": "WORK_EMAIL"},
        {"column_name": "Phone", "string_value": "+44 20 7946 0958", "column_id": "PHONE_NUMBER"},
        {"column_name": "Company", "string_value": "Analytical Engines", "column_id": "COMPANY_NAME"},
        {"column_name": "Job title", "string_value": "Programmer", "column_id": "JOB_TITLE"},
        {"column_name": "Postal code", "string_value": "W1", "column_id": "POSTAL_CODE"},
        {"column_name": "City", "string_value": "London", "column_id": "CITY"},
        {"column_name": "Country", "string_value": "GB", "column_id": "COUNTRY"},
        {"column_name": "What is your budget?", "string_value": "10k-50k", "column_id": "what_is_your_budget?"},
        {"column_name": "Preferred dealership", "string_value": "Soho"},
    ]
    payload = google_payload(google_source, user_column_data=columns, lead_submit_time="2026-09-26T12:30:00Z")
    assert post_google(google_source, payload).status_code == 200
    lead = Lead.objects.get()
    assert (lead.first_name, lead.last_name, lead.email, lead.phone) == (
        "Ada",
        "Lovelace",
        "ada@analytical.example",
        "+442079460958",
    )
    assert (lead.company_name, lead.title) == ("Analytical Engines", "Programmer")
    assert lead.custom == {
        "postal_code": "W1",
        "city": "London",
        "country": "GB",
        "what_is_your_budget": "10k-50k",
        "preferred_dealership": "Soho",
        "gclid": GOOGLE_SAMPLE["gcl_id"],
    }
    assert "custom.city" in only_delivery().fields
    assert only_delivery().meta["lead_submit_time"] == "2026-09-26T12:30:00Z"


def test_field_map_sends_a_column_where_the_marketer_wants(google_source):
    google_source.field_map = {"POSTAL_CODE": "custom.zip", "JOB_TITLE": "custom.role"}
    google_source.save()
    columns = [
        {"column_id": "EMAIL", "string_value": "zip@example.com"},
        {"column_id": "POSTAL_CODE", "string_value": "94043"},
        {"column_id": "JOB_TITLE", "string_value": "CTO"},
    ]
    post_google(google_source, google_payload(google_source, user_column_data=columns))
    lead = Lead.objects.get()
    assert lead.title == ""
    assert lead.custom["zip"] == "94043"
    assert lead.custom["role"] == "CTO"


def test_missing_columns_still_make_a_lead_from_what_is_there(google_source):
    columns = [{"column_name": "User Phone", "string_value": "+16505550199", "column_id": "PHONE_NUMBER"}]
    payload = google_payload(google_source, user_column_data=columns)
    del payload["gcl_id"], payload["adgroup_id"], payload["creative_id"]
    assert post_google(google_source, payload).status_code == 200
    lead = Lead.objects.get()
    assert (lead.phone, lead.email, lead.first_name) == ("+16505550199", "", "")
    assert lead.custom == {}


def test_no_columns_at_all_is_refused_with_a_reason_and_recorded(google_source):
    response = post_google(google_source, google_payload(google_source, user_column_data=[]))
    assert_refused(response, 422, "invalid")
    delivery = only_delivery()
    assert delivery.outcome == DeliveryOutcome.REJECTED
    assert "email, a phone number or a name" in delivery.reason


def test_unusable_email_is_kept_as_a_custom_field_not_lost(google_source):
    columns = [
        {"column_id": "FULL_NAME", "string_value": "Grace Hopper"},
        {"column_id": "EMAIL", "string_value": "grace at navy"},
    ]
    assert post_google(google_source, google_payload(google_source, user_column_data=columns)).status_code == 200
    lead = Lead.objects.get()
    assert (lead.first_name, lead.email) == ("Grace", "")
    assert lead.custom["email_as_sent"] == "grace at navy"
    assert "not usable as sent" in only_delivery().reason


def test_test_lead_is_recorded_as_a_test_delivery_and_creates_no_lead(google_source):
    response = post_google(google_source, google_payload(google_source, is_test=True))
    assert response.status_code == 200
    assert Lead.objects.count() == 0
    assert TimelineEvent.objects.count() == 0
    delivery = only_delivery()
    assert (delivery.outcome, delivery.action) == (DeliveryOutcome.TEST, "would_create")
    assert "email" in delivery.fields


def test_test_lead_sent_twice_is_recorded_twice_for_setup_checks(google_source):
    for _ in range(2):
        assert post_google(google_source, google_payload(google_source, is_test=True)).status_code == 200
    assert InboundDelivery.objects.filter(outcome=DeliveryOutcome.TEST).count() == 2
    assert Lead.objects.count() == 0


def test_replayed_lead_id_creates_one_lead_and_records_a_duplicate(google_source):
    payload = google_payload(google_source)
    first, again = post_google(google_source, payload), post_google(google_source, payload)
    assert (first.status_code, again.status_code) == (200, 200)
    lead = Lead.objects.get()
    assert TimelineEvent.objects.filter(lead=lead).count() == 1
    outcomes = list(InboundDelivery.objects.order_by("id").values_list("outcome", "lead_id"))
    assert outcomes == [(DeliveryOutcome.ACCEPTED, lead.pk), (DeliveryOutcome.DUPLICATE, lead.pk)]


def test_replayed_lead_id_with_changed_answers_changes_nothing(google_source):
    post_google(google_source, google_payload(google_source))
    changed = google_payload(google_source)
    changed["user_column_data"][0]["string_value"] = "Someone Else"
    post_google(google_source, changed)
    assert Lead.objects.get().first_name == "FirstName"


def test_known_person_from_a_new_lead_id_is_captured_on_their_lead(google_source, alice):
    existing = make_lead(owner=alice, email="test@example.com", first_name="Tess")
    post_google(google_source, google_payload(google_source, lead_id="another-lead-id"))
    assert Lead.objects.count() == 1
    captured = TimelineEvent.objects.get(lead=existing, kind=EventKind.CAPTURED)
    assert captured.data["channel"] == "google_ads"
    assert captured.data["touch"] == {"source": "google", "medium": "cpc", "campaign": "20000000000"}
    existing.refresh_from_db()
    assert (existing.latest_source, existing.first_name, existing.owner_id) == ("google", "FirstName", alice.pk)
    assert only_delivery().action == "updated"


def test_same_lead_id_to_another_source_is_its_own_delivery(google_source, admin):
    from leadflow.integrations import services_inbound

    other = services_inbound.create_source(name="Autumn form", kind="google_ads", actor=admin)
    post_google(google_source, google_payload(google_source))
    post_google(other, google_payload(other))
    assert InboundDelivery.objects.filter(outcome=DeliveryOutcome.ACCEPTED).count() == 2
    assert Lead.objects.count() == 1


@pytest.mark.parametrize("key", ["wrong-key", "", None, 12345])
def test_wrong_or_missing_key_is_refused_and_stores_nothing(google_source, key):
    payload = google_payload(google_source, google_key=key)
    if key is None:
        del payload["google_key"]
    response = post_google(google_source, payload)
    status, code = (403, "wrong_key") if key not in ("", None) else (401, "key_required")
    assert_refused(response, status, code)
    delivery = only_delivery()
    assert (delivery.outcome, delivery.lead_id, delivery.fields, delivery.external_id) == (
        DeliveryOutcome.REJECTED,
        None,
        [],
        "",
    )


def test_key_of_another_source_does_not_open_this_one(google_source, admin):
    from leadflow.integrations import services_inbound

    other = services_inbound.create_source(name="Other form", kind="google_ads", actor=admin)
    assert_refused(post_google(google_source, google_payload(other)), 403, "wrong_key")


def test_unknown_address_is_a_404_and_records_nothing(db):
    from django.test import Client

    response = Client().post("/hooks/not-a-source", "{}", content_type="application/json")
    assert response.status_code == 404
    assert response["Content-Type"] == PROBLEM
    assert InboundDelivery.objects.count() == 0


def test_switched_off_source_refuses_deliveries(google_source):
    google_source.is_active = False
    google_source.save()
    assert_refused(post_google(google_source, google_payload(google_source)), 403, "source_inactive")


def test_trailing_slash_address_works_too(google_source):
    from django.test import Client

    body = json.dumps(google_payload(google_source))
    response = Client().post(google_source.hook_path + "/", body, content_type="application/json")
    assert response.status_code == 200
    assert Lead.objects.count() == 1


def test_get_is_a_405_problem(google_source):
    from django.test import Client

    response = Client().get(google_source.hook_path)
    assert response.status_code == 405
    assert response["Allow"] == "POST"


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        (b"{not json", 400, "malformed_json"),
        (b"", 400, "malformed_json"),
        (b"[1, 2]", 400, "malformed_json"),
        (b'"just text"', 400, "malformed_json"),
        (b"\xff\xfe{}", 400, "malformed_json"),
        (b'{"lead_id": "x", "google_key": NaN}', 400, "malformed_json"),
        (b'{"lead_id": "x\x00y"}', 400, "malformed_json"),
        ("[" * 5000 + "]" * 5000, 400, "malformed_json"),
    ],
)
def test_malformed_bodies_get_a_clear_4xx(google_source, body, status, code):
    assert_refused(post_raw(google_source, body), status, code)


def test_nul_byte_escaped_in_a_value_is_refused(google_source):
    payload = google_payload(google_source)
    payload["user_column_data"][0]["string_value"] = "Nul\u0000Byte"
    assert_refused(post_google(google_source, payload), 422, "nul_bytes")


def test_lone_surrogate_is_refused(google_source):
    body = json.dumps(google_payload(google_source)).replace("FirstName", "First\\ud800Name")
    assert_refused(post_raw(google_source, body), 422, "invalid_text")


def test_oversized_body_is_a_413(google_source):
    payload = google_payload(google_source)
    payload["padding"] = "x" * (300 * 1024)
    assert_refused(post_google(google_source, payload), 413, "body_too_large")


@pytest.mark.parametrize(
    "changes",
    [
        {"lead_id": None},
        {"lead_id": ""},
        {"lead_id": {"nested": 1}},
        {"lead_id": "x" * 300},
        {"user_column_data": "not a list"},
        {"user_column_data": None},
    ],
)
def test_payloads_of_the_wrong_shape_are_refused_with_a_reason(google_source, changes):
    response = post_google(google_source, google_payload(google_source, **changes))
    assert response.status_code == 422
    assert Lead.objects.count() == 0


def test_odd_columns_are_skipped_without_a_500(google_source):
    columns = [
        "not an object",
        {"column_id": "EMAIL", "string_value": {"nested": True}},
        {"column_id": 7, "string_value": "seven"},
        {"column_id": "PHONE_NUMBER"},
        {"column_id": "FULL_NAME", "string_value": "Dana Scully"},
    ]
    response = post_google(google_source, google_payload(google_source, user_column_data=columns))
    assert response.status_code == 200
    lead = Lead.objects.get()
    assert (lead.first_name, lead.last_name, lead.email) == ("Dana", "Scully", "")


def test_script_and_unicode_in_answers_are_stored_as_text(google_source):
    columns = [
        {"column_id": "FULL_NAME", "string_value": "Zoë <script>alert(1)</script>"},
        {"column_id": "EMAIL", "string_value": "zoe@example.com"},
        {"column_id": "what_is_your_name_in_arabic?", "string_value": "زوي 😀"},
    ]
    assert post_google(google_source, google_payload(google_source, user_column_data=columns)).status_code == 200
    lead = Lead.objects.get()
    assert lead.last_name == "<script>alert(1)</script>"
    assert lead.custom["what_is_your_name_in_arabic"] == "زوي 😀"


def test_erased_person_is_refused_and_not_brought_back(google_source, admin):
    from leadflow.leads import services

    lead = make_lead(email="test@example.com")
    services.erase_lead(lead=lead, actor=admin, reason="asked")
    events = TimelineEvent.objects.count()
    response = post_google(google_source, google_payload(google_source))
    assert response.status_code == 409
    assert response.json()["code"] == "erased_person"
    assert Lead.objects.filter(email="test@example.com").count() == 0
    assert TimelineEvent.objects.count() == events
    assert only_delivery().outcome == DeliveryOutcome.REJECTED


def test_lead_id_delivered_twice_at_once_records_one_lead(google_source, monkeypatch):
    """The second of two simultaneous deliveries passes the look-up, then meets the unique constraint."""
    from leadflow.integrations import services_inbound

    assert post_google(google_source, google_payload(google_source)).status_code == 200
    monkeypatch.setattr(services_inbound, "_accepted", lambda source, external_id: None)
    changed = google_payload(google_source)
    changed["user_column_data"][0]["string_value"] = "Changed Name"
    assert post_google(google_source, changed).status_code == 200
    lead = Lead.objects.get()
    assert lead.first_name == "FirstName"
    assert TimelineEvent.objects.filter(lead=lead).count() == 1
    assert list(InboundDelivery.objects.order_by("id").values_list("outcome", flat=True)) == ["accepted", "duplicate"]
