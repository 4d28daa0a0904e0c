import re

import pytest

from leadflow.leads.models import EventKind, Lead, Stage
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


def text(response) -> str:
    return response.content.decode()


def test_form_is_ready_for_the_keyboard(as_alice, alice):
    body = text(as_alice.get("/leads/new/"))
    assert 'name="first_name" type="text" value=""' in body and "autofocus" in body
    order = [body.index(f'name="{name}"') for name in ("first_name", "last_name", "email", "phone", "company_name")]
    assert order == sorted(order)
    assert body.index('name="phone"') < body.index('<button class="button button-primary" type="submit">Save lead')
    assert 'hx-get="/leads/new/check/" hx-trigger="keyup changed delay:300ms, change"' in body
    assert f'<option value="{alice.pk}" selected>' in body
    assert "tabindex" not in body


def test_new_lead_is_recorded_and_opens_its_page(as_alice, alice):
    response = as_alice.post(
        "/leads/new/",
        {
            "first_name": "Nora",
            "last_name": "Quinn",
            "email": "Nora@Quinn.example",
            "phone": "(415) 555-0177",
            "stage": "mql",
            "owner": str(alice.pk),
            "source": "trade show",
        },
    )
    lead = Lead.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/leads/{lead.pk}/"
    assert (lead.email, lead.phone, lead.stage, lead.owner, lead.source) == (
        "Nora@quinn.example",
        "+14155550177",
        Stage.MQL,
        alice,
        "trade show",
    )
    assert lead.events.get().kind == EventKind.CREATED
    assert lead.events.get().actor == alice


def test_save_and_add_another_comes_back_to_an_empty_form(as_alice, alice):
    response = as_alice.post(
        "/leads/new/", {"first_name": "Quick", "stage": "lead", "owner": str(alice.pk), "then": "another"}
    )
    assert response["Location"] == "/leads/new/"
    body = text(as_alice.get("/leads/new/"))
    assert "Added <a href=" in body and "Quick</a>" in body


def test_known_email_updates_that_lead_and_says_so(as_alice, alice):
    existing = make_lead(owner=alice, email="sam@acme.example", title="")
    response = as_alice.post(
        "/leads/new/", {"email": "SAM@acme.example", "title": "CTO", "stage": "lead", "owner": str(alice.pk)}
    )
    assert response["Location"] == f"/leads/{existing.pk}/"
    assert Lead.objects.count() == 1
    assert Lead.objects.get().title == "CTO"
    page = text(as_alice.get("/"))
    assert f'<a href="/leads/{existing.pk}/">' in page
    assert "was already in Leadflow with this email or phone, so that lead was updated" in page


def test_field_errors_show_next_to_their_fields(as_alice, alice):
    response = as_alice.post(
        "/leads/new/",
        {"first_name": "Bad", "email": "not-an-email", "phone": "12", "stage": "lead", "owner": str(alice.pk)},
    )
    assert response.status_code == 200
    body = text(response)
    assert 'id="id_email-error">Email is not a valid email address' in body
    assert 'aria-invalid="true"' in body
    assert 'value="Bad"' in body
    assert re.search(r'name="email" type="email" value="not-an-email"[^>]* autofocus', body)
    assert Lead.objects.count() == 0


def test_a_name_email_or_phone_is_required(as_alice, alice):
    body = text(as_alice.post("/leads/new/", {"company_name": "Acme", "stage": "lead", "owner": str(alice.pk)}))
    assert "Give at least a name, an email address or a phone number." in body
    assert Lead.objects.count() == 0


def test_rep_cannot_give_a_new_lead_to_someone_else(as_alice, alice, bob):
    body = text(as_alice.post("/leads/new/", {"first_name": "X", "stage": "lead", "owner": str(bob.pk)}))
    assert "Select a valid choice" in body
    assert Lead.objects.count() == 0


def test_manager_may_leave_a_new_lead_unassigned_in_the_team_queue(client, manager, alice):
    client.force_login(manager)
    client.post("/leads/new/", {"first_name": "Queued", "stage": "lead", "owner": "none"})
    lead = Lead.objects.get()
    assert lead.owner is None and lead.team == manager.team
    assert Lead.objects.visible_to(alice).filter(pk=lead.pk).exists()


def test_duplicate_check_shows_matching_visible_leads(as_alice, alice):
    lead = make_lead(owner=alice, first_name="Dup", last_name="Licate", email="dup@acme.example", phone="+14155550199")
    body = text(as_alice.get("/leads/new/check/", {"email": "DUP@acme.example", "phone": ""}))
    assert f'<a href="/leads/{lead.pk}/">Dup Licate</a>' in body
    assert "Same email" in body
    body = text(as_alice.get("/leads/new/check/", {"email": "", "phone": "(415) 555-0199"}))
    assert "Dup Licate" in body and "Same phone" in body


def test_duplicate_check_says_nothing_while_the_value_is_half_typed(as_alice, alice):
    make_lead(owner=alice, email="dup@acme.example")
    assert "Already in Leadflow" not in text(as_alice.get("/leads/new/check/", {"email": "dup@", "phone": "415"}))
    assert "Already in Leadflow" not in text(as_alice.get("/leads/new/check/", {"email": "other@acme.example"}))


def test_outsider_is_told_a_lead_exists_without_its_details(client, alice, carol):
    make_lead(owner=alice, first_name="Hidden", last_name="Person", email="hidden@acme.example")
    client.force_login(carol)
    body = text(client.get("/leads/new/check/", {"email": "hidden@acme.example"}))
    assert "owned by someone else" in body
    assert "Hidden" not in body and "Alice" not in body and "/leads/" not in body


def test_outsider_cannot_overwrite_another_teams_lead_from_the_form(client, alice, carol):
    lead = make_lead(owner=alice, email="hidden@acme.example", title="Original")
    client.force_login(carol)
    body = text(
        client.post(
            "/leads/new/", {"email": "hidden@acme.example", "title": "Changed", "stage": "lead", "owner": str(carol.pk)}
        )
    )
    assert "belongs to someone else" in body
    lead.refresh_from_db()
    assert lead.title == "Original" and lead.owner == alice
    assert Lead.objects.count() == 1


def test_names_with_markup_are_shown_as_text(as_alice, alice):
    make_lead(owner=alice, first_name="<script>alert(1)</script>", email="x@acme.example")
    body = text(as_alice.get("/leads/new/check/", {"email": "x@acme.example"}))
    assert "<script>" not in body and "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    response = as_alice.post(
        "/leads/new/", {"first_name": "<img src=x onerror=alert(1)>", "stage": "lead", "owner": str(alice.pk)}
    )
    page = text(as_alice.get(response["Location"]))
    assert "<img src=x" not in page


def test_new_lead_pages_need_a_signed_in_user(client):
    assert client.get("/leads/new/").status_code == 302
    assert client.get("/leads/new/check/", {"email": "a@b.example"}).status_code == 302
