"""The form builder: only admins and marketing, every rule explained, no redirect to a stranger's site."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from leadflow.capture import services
from leadflow.capture.models import ConsentWording, Form, Submission
from leadflow.leads.errors import FieldErrors, LeadError
from tests.capture.conftest import CONTACT_FIELDS, SITE, form_settings, make_form, post_data, submit_now

pytestmark = pytest.mark.django_db


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def builder_post(rows: list[dict[str, Any]] | None = None, **settings: Any) -> dict[str, Any]:
    """Return the builder page's POST: the settings and the field rows as the page's formset sends them."""
    rows = rows if rows is not None else CONTACT_FIELDS[:3]
    data: dict[str, Any] = {key: value for key, value in form_settings(**settings).items() if value is not None}
    data.update({"fields-TOTAL_FORMS": len(rows), "fields-INITIAL_FORMS": 0, "fields-MIN_NUM_FORMS": 0,
                 "fields-MAX_NUM_FORMS": 30})  # fmt: skip
    for index, row in enumerate(rows):
        for key, value in row.items():
            if key == "options":
                value = "\n".join(value)
            if key == "required" and not value:
                continue
            data[f"fields-{index}-{key}"] = value
        data[f"fields-{index}-position"] = index
    return data


def test_save_form_keeps_each_consent_wording_once(admin):
    form = make_form(admin)
    assert form.slug == "contact-us"
    first = form.consent_wording
    values = form_settings(slug=form.slug)
    services.save_form(actor=admin, form=form, values=values, fields=form.fields, notify=[], site_host=SITE)
    assert form.consent_wording == first
    services.save_form(
        actor=admin, form=form, values={**values, "consent_text": "Other words."}, fields=form.fields, notify=[],
        site_host=SITE,
    )  # fmt: skip
    assert ConsentWording.objects.filter(form=form).count() == 2
    assert form.consent_text == "Other words."


def test_a_new_form_gets_a_free_address_from_its_name(admin):
    make_form(admin)
    assert make_form(admin).slug == "contact-us-2"
    with pytest.raises(FieldErrors, match="already lives at /f/contact-us/"):
        make_form(admin, slug="contact-us")


@pytest.mark.parametrize(
    "url",
    ["https://evil.example/thanks", "//evil.example/", "javascript:alert(1)", "https://www.example.com.evil.example/"],
)
def test_a_redirect_to_another_host_is_refused(admin, url):
    with pytest.raises(FieldErrors) as caught:
        make_form(admin, success_action="redirect", redirect_url=url)
    assert "allowed websites" in caught.value.errors["redirect_url"]
    assert Form.objects.count() == 0


def test_a_redirect_to_this_site_or_an_allowed_website_is_fine(admin):
    assert make_form(admin, success_action="redirect", redirect_url="/thanks/").redirect_url == "/thanks/"
    allowed = make_form(admin, success_action="redirect", redirect_url="https://www.example.com/thanks")
    assert allowed.redirect_url == "https://www.example.com/thanks"


def test_consent_needs_its_wording_and_notices_go_only_to_form_people(admin, alice):
    with pytest.raises(FieldErrors) as caught:
        make_form(admin, consent_text="", notify=[alice])
    assert set(caught.value.errors) == {"consent_text", "notify"}


def test_reps_and_managers_cannot_save_forms(alice, manager):
    for user in (alice, manager):
        with pytest.raises(LeadError, match="Only admins and marketing"):
            make_form(user)


def builder_urls(form: Form, held: Submission) -> list[tuple[str, str]]:
    return [
        ("get", "/forms/"),
        ("get", "/forms/new/"),
        ("post", "/forms/new/"),
        ("get", f"/forms/{form.pk}/"),
        ("post", f"/forms/{form.pk}/"),
        ("get", f"/forms/{form.pk}/share/"),
        ("get", f"/forms/{form.pk}/submissions/"),
        ("get", "/forms/quarantine/"),
        ("post", f"/forms/quarantine/{held.pk}/release/"),
        ("post", f"/forms/quarantine/{held.pk}/delete/"),
        ("get", "/forms/notifications/"),
        ("post", "/forms/notifications/"),
    ]


@pytest.fixture
def held(contact_form) -> Submission:
    raw = post_data(contact_form, website="bot")
    return submit_now(form=contact_form, raw=raw, sender=services.Sender(), site_host=SITE).submission


@pytest.mark.parametrize("persona", ["alice", "carol", "manager"])
def test_outsiders_get_403_on_every_builder_page(request, persona, contact_form, held):
    client = signed_in(request.getfixturevalue(persona))
    for method, url in builder_urls(contact_form, held):
        response = getattr(client, method)(url, builder_post(name="Hijack") if method == "post" else None)
        assert response.status_code == 403, (method, url)
    assert Form.objects.count() == 1
    assert Submission.objects.get().status == "quarantined"


def test_anonymous_people_are_sent_to_sign_in(client, contact_form, held):
    for method, url in builder_urls(contact_form, held):
        response = getattr(client, method)(url)
        assert response.status_code == 302, (method, url)
        assert response["Location"].startswith("/accounts/login/")


def test_the_forms_link_is_in_the_menu_only_for_form_people(admin, alice):
    assert 'href="/forms/"' in signed_in(admin).get("/").content.decode()
    assert 'href="/forms/"' not in signed_in(alice).get("/").content.decode()


@pytest.mark.parametrize("persona", ["admin", "marketing"])
def test_admins_and_marketing_build_a_form_on_the_page(request, persona):
    client = signed_in(request.getfixturevalue(persona))
    page = client.get("/forms/new/")
    assert page.status_code == 200
    assert 'name="fields-0-label" value="First name"' in page.content.decode()
    rows = [*CONTACT_FIELDS[:3], {"label": "Team size", "maps_to": "custom", "name": "team_size", "type": "select",
                                  "options": ["1-10", "11-50"], "required": True}]  # fmt: skip
    response = client.post("/forms/new/", builder_post(rows))
    form = Form.objects.get()
    assert response.status_code == 302
    assert response["Location"] == f"/forms/{form.pk}/share/"
    assert [field["name"] for field in form.fields] == ["first_name", "last_name", "email", "team_size"]
    assert form.fields[3]["options"] == ["1-10", "11-50"]
    assert form.allowed_origins == ["https://www.example.com"]


def test_rows_are_saved_in_the_order_arranged_and_removed_rows_dropped(admin, contact_form):
    client = signed_in(admin)
    data = builder_post(CONTACT_FIELDS[:3], slug=contact_form.slug)
    data.update({"fields-0-position": 2, "fields-2-position": 0, "fields-1-DELETE": "on"})
    assert client.post(f"/forms/{contact_form.pk}/", data).status_code == 302
    contact_form.refresh_from_db()
    assert [field["name"] for field in contact_form.fields] == ["email", "first_name"]


def test_builder_page_shows_each_problem_where_it_is(admin):
    client = signed_in(admin)
    rows = [{"label": "", "maps_to": "email", "type": "text"}]
    response = client.post("/forms/new/", builder_post(rows, success_action="redirect",
                                                        redirect_url="https://evil.example/"))  # fmt: skip
    assert response.status_code == 400
    html = response.content.decode()
    assert "Give the field a label." in html
    assert "Email must be collected as Email." in html
    assert "allowed websites" in html
    assert Form.objects.count() == 0


def test_share_page_gives_all_three_ways_and_the_json_endpoint(admin, contact_form):
    html = signed_in(admin).get(f"/forms/{contact_form.pk}/share/").content.decode()
    assert "&lt;script src=&quot;http://testserver/f/contact-us/embed.js&quot; async&gt;&lt;/script&gt;" in html
    assert "action=&quot;http://testserver/f/contact-us/&quot; method=&quot;post&quot;" in html
    assert "http://testserver/f/contact-us/submit.json" in html
    assert "http://testserver/f/contact-us/" in html


def test_lists_show_forms_submissions_quarantine_and_notices(admin, marketing, held, contact_form):
    submit_now(form=contact_form, raw=post_data(contact_form, email="b@acme.example"),
                         sender=services.Sender(), site_host=SITE)  # fmt: skip
    client = signed_in(marketing)
    assert "Contact us" in client.get("/forms/").content.decode()
    submissions = client.get(f"/forms/{contact_form.pk}/submissions/").content.decode()
    assert "b@acme.example" in submissions
    assert "Yes, email me about products" in submissions
    quarantine = client.get(f"/forms/quarantine/?form={contact_form.pk}").content.decode()
    assert "Filled the hidden field only robots see" in quarantine
    assert "An admin can release it" in quarantine
    assert client.get("/forms/notifications/").status_code == 200


def test_an_admin_releases_and_deletes_from_the_quarantine_page(admin, marketing, contact_form, held):
    refused = signed_in(marketing).post(f"/forms/quarantine/{held.pk}/release/", follow=True)
    assert "Only an admin" in refused.content.decode()
    client = signed_in(admin)
    response = client.post(f"/forms/quarantine/{held.pk}/release/", {"form": contact_form.pk})
    assert response["Location"] == f"/forms/quarantine/?form={contact_form.pk}"
    held.refresh_from_db()
    assert held.status == "released"
    assert held.lead is not None
    again = client.post(f"/forms/quarantine/{held.pk}/delete/", follow=True)
    assert "Only held submissions" in again.content.decode()


def test_notices_are_listed_and_marked_read(admin, marketing):
    form = make_form(admin, notify=[marketing])
    outcome = submit_now(form=form, raw=post_data(form), sender=services.Sender(), site_host=SITE)
    services.follow_up_submission(submission_id=outcome.submission.pk)
    client = signed_in(marketing)
    page = client.get("/forms/notifications/").content.decode()
    assert "Ana Lopez" in page
    assert "is-unread" in page
    client.post("/forms/notifications/")
    assert "is-unread" not in client.get("/forms/notifications/").content.decode()
