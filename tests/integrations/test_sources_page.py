"""The inbound sources settings page: admins and marketing only."""

from __future__ import annotations

import pytest
from django.test import Client

from leadflow.integrations.models import InboundSource, SourceKind
from tests.conftest import PASSWORD
from tests.integrations.conftest import google_payload, post_google, post_raw

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


@pytest.mark.parametrize("persona", ["admin", "marketing"])
def test_admin_and_marketing_create_a_source_and_see_its_address_and_secret(persona, request):
    client = client_for(request.getfixturevalue(persona))
    response = client.post("/integrations/sources/", {"name": "Spring form", "kind": SourceKind.GOOGLE_ADS})
    source = InboundSource.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/integrations/sources/{source.pk}/"
    page = client.get(response["Location"]).content.decode()
    assert f"http://testserver/hooks/{source.public_id}" in page
    assert source.secret in page
    assert "Send test data" in page
    assert (source.lead_source, source.lead_medium) == ("google", "cpc")
    assert "Spring form" in client.get("/integrations/sources/").content.decode()


def test_webhook_source_page_documents_the_signature_header(admin):
    client = client_for(admin)
    client.post("/integrations/sources/", {"name": "Zapier", "kind": SourceKind.WEBHOOK})
    source = InboundSource.objects.get()
    page = client.get(source.get_absolute_url()).content.decode()
    assert "X-Leadflow-Signature: sha256=" in page
    assert "Authorization: Bearer" in page
    assert source.lead_source == "zapier"


@pytest.mark.parametrize("persona", ["manager", "alice", "carol"])
def test_sales_people_cannot_see_or_change_sources(persona, request, google_source):
    client = client_for(request.getfixturevalue(persona))
    secret = google_source.secret
    for url in (
        "/integrations/sources/",
        f"/integrations/sources/{google_source.pk}/",
        f"/integrations/sources/{google_source.pk}/deliveries/",
    ):
        response = client.get(url)
        assert response.status_code == 403
        assert secret not in response.content.decode()
    assert client.post("/integrations/sources/", {"name": "x", "kind": "webhook"}).status_code == 403
    assert client.post(f"/integrations/sources/{google_source.pk}/secret/").status_code == 403
    assert client.post(f"/integrations/sources/{google_source.pk}/", {"name": "Mine now"}).status_code == 403
    google_source.refresh_from_db()
    assert (google_source.secret, google_source.name) == (secret, "Spring lead form")
    assert InboundSource.objects.count() == 1


def test_signed_out_visitor_is_sent_to_sign_in(google_source):
    response = Client().get(f"/integrations/sources/{google_source.pk}/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


def test_settings_save_field_map_and_campaign_names_from_lines(admin, google_source):
    client = client_for(admin)
    response = client.post(
        google_source.get_absolute_url(),
        {
            "name": "Spring form (EN)",
            "is_active": "on",
            "lead_source": "google",
            "lead_medium": "paid",
            "field_map": "# zip codes\nPOSTAL_CODE = custom.zip\n\n",
            "campaign_names": "20000000000 = Spring promo",
        },
    )
    assert response.status_code == 302
    google_source.refresh_from_db()
    assert google_source.field_map == {"POSTAL_CODE": "custom.zip"}
    assert google_source.campaign_names == {"20000000000": "Spring promo"}
    assert (google_source.name, google_source.lead_medium) == ("Spring form (EN)", "paid")
    page = client.get(google_source.get_absolute_url()).content.decode()
    assert "POSTAL_CODE = custom.zip" in page


@pytest.mark.parametrize(
    ("field_map", "message"),
    [
        ("email", "is not &#x27;left = right&#x27;"),
        ("email = owner", "is not a lead field"),
        ("= email", "left = right"),
    ],
)
def test_bad_field_map_lines_are_shown_and_nothing_is_saved(admin, webhook_source, field_map, message):
    client = client_for(admin)
    data = {"name": "Renamed", "is_active": "on", "field_map": field_map, "campaign_names": ""}
    response = client.post(webhook_source.get_absolute_url(), data)
    assert response.status_code == 200
    assert message in response.content.decode()
    webhook_source.refresh_from_db()
    assert (webhook_source.name, webhook_source.field_map) == ("Typeform", {})


def test_switching_a_source_off_from_the_page(admin, google_source):
    client_for(admin).post(google_source.get_absolute_url(), {"name": "Spring lead form", "lead_source": "google"})
    google_source.refresh_from_db()
    assert google_source.is_active is False


def test_new_secret_replaces_the_old_one(admin, google_source):
    old = google_source.secret
    response = client_for(admin).post(f"/integrations/sources/{google_source.pk}/secret/")
    assert response.status_code == 302
    google_source.refresh_from_db()
    assert google_source.secret != old
    assert len(google_source.secret) >= 40


def test_recent_deliveries_show_each_outcome_with_its_reason(admin, google_source):
    post_google(google_source, google_payload(google_source))
    post_google(google_source, google_payload(google_source))
    post_google(google_source, google_payload(google_source, is_test=True, lead_id="test-1"))
    post_google(google_source, google_payload(google_source, google_key="nope"))
    post_raw(google_source, b"{broken")
    html = client_for(admin).get(f"/integrations/sources/{google_source.pk}/deliveries/").content.decode()
    for text in ("Accepted", "Duplicate", "Test", "Rejected", "new lead", "would update a lead"):
        assert text in html
    assert "wrong_key: google_key does not match" in html
    assert "malformed_json" in html
    assert "test@example.com" not in html
