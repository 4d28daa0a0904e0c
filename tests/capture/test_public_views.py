"""Every public form endpoint through the test client, with friendly and hostile input: never a 500."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leadflow.capture import queries
from leadflow.capture.models import Form, Submission
from leadflow.leads.models import Lead
from tests.capture.conftest import ORIGIN, make_form, post_data, record_received

pytestmark = pytest.mark.django_db

SCRIPT = '<script>alert("x")</script>'


@pytest.fixture
def client() -> Client:
    return Client(REMOTE_ADDR="203.0.113.7", HTTP_USER_AGENT="Mozilla/5.0 Test")


def post_json(client, form, data, origin: str | None = ORIGIN, **extra):
    headers = {"HTTP_ORIGIN": origin} if origin else {}
    return client.post(
        f"/f/{form.slug}/submit.json", json.dumps(data), content_type="application/json", **headers, **extra
    )


def post_form(client, form, data, **extra):
    return client.post(f"/f/{form.slug}/", urlencode(data), content_type="application/x-www-form-urlencoded", **extra)


def test_hosted_page_shows_the_form_with_a_token_and_the_source_of_the_visit(client, contact_form):
    response = client.get("/f/contact-us/?utm_source=google&utm_campaign=brand&email=ana@acme.example",
                          HTTP_REFERER="https://www.google.com/")  # fmt: skip
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
    html = response.content.decode()
    assert 'name="_lf_token"' in html
    assert 'name="utm_source" value="google"' in html
    assert 'name="referrer" value="https://www.google.com/"' in html
    assert 'value="ana@acme.example"' in html
    assert "Yes, email me about products" in html


def test_hosted_post_makes_a_lead_and_shows_the_thank_you_page(client, contact_form):
    response = post_form(client, contact_form, post_data(contact_form))
    assert response.status_code == 303
    assert response["Location"].startswith("/f/contact-us/thanks/")
    thanks = client.get(response["Location"])
    assert "Thanks, we will call you." in thanks.content.decode()
    assert record_received() == 1
    assert Lead.objects.get().source == "newsletter"
    assert Submission.objects.get().channel == "hosted"


def test_plain_html_post_without_javascript_takes_the_source_from_the_referer(client, contact_form):
    data = post_data(contact_form, utm_source="", utm_medium="", utm_campaign="", page_url="", referrer="")
    data.pop("_lf_token")
    response = post_form(client, contact_form, data, HTTP_ORIGIN=ORIGIN,
                         HTTP_REFERER="https://www.example.com/contact?utm_source=flyer&utm_medium=print")  # fmt: skip
    assert response.status_code == 303
    assert "from=https%3A%2F%2Fwww.example.com%2Fcontact" in response["Location"]
    assert record_received() == 1
    lead = Lead.objects.get()
    assert (lead.source, lead.medium) == ("flyer", "print")
    assert Submission.objects.get().channel == "html"


def test_hosted_post_sends_people_to_an_allowed_page(client, admin):
    form = make_form(admin, success_action="redirect", redirect_url="https://www.example.com/thank-you")
    response = post_form(client, form, post_data(form))
    assert (response.status_code, response["Location"]) == (303, "https://www.example.com/thank-you")


def test_a_redirect_that_became_unsafe_is_never_followed(client, admin):
    form = make_form(admin, success_action="redirect", redirect_url="https://www.example.com/thank-you")
    Form.objects.filter(pk=form.pk).update(redirect_url="https://evil.example/phish")
    queries.forget_public_forms()
    response = post_form(client, form, post_data(form))
    assert response.status_code == 303
    assert response["Location"].startswith("/f/")
    body = post_json(client, form, post_data(form, email="b@acme.example")).json()
    assert body["redirect"] is None


def test_hosted_post_with_mistakes_shows_them_and_keeps_what_was_typed(client, contact_form):
    response = post_form(client, contact_form, post_data(contact_form, email="ana@", first_name="Zoë"))
    assert response.status_code == 400
    html = response.content.decode()
    assert "This is not a valid email address" in html
    assert 'value="Zoë"' in html
    assert 'aria-invalid="true"' in html
    assert Submission.objects.count() == 0


def test_unknown_and_paused_forms_answer_not_found(client, admin):
    make_form(admin, name="Paused", status="paused")
    assert client.get("/f/nope/").status_code == 404
    assert client.get("/f/paused/").status_code == 404
    assert "This form is closed" in client.get("/f/paused/").content.decode()
    assert post_json(client, type("F", (), {"slug": "paused"}), {}).status_code == 404
    assert client.get("/f/paused/embed.js").status_code == 404


def test_embed_script_carries_the_form_and_a_fresh_token(client, contact_form):
    response = client.get("/f/contact-us/embed.js", HTTP_REFERER="https://www.example.com/pricing")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/javascript")
    assert response["Cache-Control"] == "no-store"
    body = response.content.decode()
    config = json.loads(body[body.rindex("})(") + 3 : body.rindex(");")])
    assert config["allowed"] is True
    assert config["submitUrl"] == "http://testserver/f/contact-us/submit.json"
    assert [field["name"] for field in config["fields"]][:3] == ["first_name", "last_name", "email"]
    assert config["token"]
    other = client.get("/f/contact-us/embed.js", HTTP_REFERER="https://elsewhere.example/")
    assert '"allowed": false' in other.content.decode()


def test_embed_script_cannot_be_broken_out_of_by_a_label(client, admin):
    fields = [{"label": "</script><script>alert(1)</script>", "maps_to": "email", "type": "email"}]
    make_form(admin, name="Sneaky", fields=fields)
    body = client.get("/f/sneaky/embed.js").content.decode()
    assert "</script>" not in body


def test_json_endpoint_answers_its_websites_with_cors_and_others_without(client, contact_form):
    allowed = client.options("/f/contact-us/submit.json", HTTP_ORIGIN=ORIGIN,
                             HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST")  # fmt: skip
    assert allowed.status_code == 204
    assert allowed["Access-Control-Allow-Origin"] == ORIGIN
    assert "Content-Type" in allowed["Access-Control-Allow-Headers"]
    other = client.options("/f/contact-us/submit.json", HTTP_ORIGIN="https://elsewhere.example")
    assert other.status_code == 204
    assert "Access-Control-Allow-Origin" not in other
    refused = post_json(client, contact_form, post_data(contact_form), origin="https://elsewhere.example")
    assert refused.status_code == 403
    assert refused.json()["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in refused
    assert Submission.objects.count() == 0
    info = client.get("/f/contact-us/form.json", HTTP_ORIGIN=ORIGIN)
    assert info["Access-Control-Allow-Origin"] == ORIGIN
    assert info.json()["token"]
    assert "Access-Control-Allow-Origin" not in client.get("/f/contact-us/form.json", HTTP_ORIGIN="https://x.example")


def test_json_submission_answers_like_the_thank_you(client, contact_form):
    response = post_json(client, contact_form, {**post_data(contact_form), "_lf_channel": "embed"})
    assert response.status_code == 200
    assert response.json() == {"ok": True, "message": "Thanks, we will call you.", "redirect": None}
    assert response["Access-Control-Allow-Origin"] == ORIGIN
    assert Submission.objects.get().channel == "embed"


def test_spam_gets_exactly_the_answer_a_person_gets(client, contact_form):
    person = post_json(client, contact_form, post_data(contact_form, email="real@acme.example"))
    robot = post_json(client, contact_form, post_data(contact_form, email="bot@acme.example", website="x"))
    assert (robot.status_code, robot.json()) == (person.status_code, person.json())
    assert record_received() == 1
    assert Lead.objects.count() == 1


def test_json_mistakes_are_problem_details_by_field(client, contact_form):
    response = post_json(client, contact_form, post_data(contact_form, email="nope", first_name=""))
    assert response.status_code == 422
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "invalid"
    assert set(body["errors"]) == {"email", "first_name"}


def test_too_many_posts_answer_429_with_retry_after(client, admin):
    form = make_form(admin, ip_limit_per_hour=1)
    assert post_json(client, form, post_data(form)).status_code == 200
    response = post_json(client, form, post_data(form, email="b@acme.example"))
    assert response.status_code == 429
    assert 0 < int(response["Retry-After"]) <= 3601
    page = post_form(client, form, post_data(form, email="c@acme.example"))
    assert page.status_code == 429
    assert "Retry-After" in page


HOSTILE_JSON = [
    ("oversized body", b'{"first_name": "' + b"A" * 70_000 + b'"}', 413),
    ("thousands of fields", json.dumps({f"f{n}": "x" for n in range(5000)}).encode(), 413),
    ("not JSON", b"first_name=Ana", 400),
    ("a list", b'["first_name", "Ana"]', 400),
    ("deeply nested", b"[" * 30_000 + b"]" * 30_000, 400),
    ("NaN", b'{"first_name": NaN}', 400),
    ("invalid UTF-8", b'{"first_name": "\xff\xfe"}', 400),
    ("NUL byte", b'{"first_name": "An\\u0000a", "email": "ana@acme.example"}', 422),
    ("lone surrogate", b'{"first_name": "\\ud800", "email": "ana@acme.example"}', 422),
    ("object as a name", b'{"first_name": {"$gt": ""}, "email": "ana@acme.example"}', 422),
    ("look-alike email", '{"first_name": "Ana", "email": "аna@acme.example"}'.encode(), 422),
    ("look-alike domain", '{"first_name": "Ana", "email": "ana@аcme.example"}'.encode(), 422),
    ("huge email", json.dumps({"first_name": "A", "email": "a" * 5000 + "@x.example"}).encode(), 422),
]


@pytest.mark.parametrize(("body", "status"), [case[1:] for case in HOSTILE_JSON], ids=[c[0] for c in HOSTILE_JSON])
def test_hostile_json_gets_a_clear_answer_and_stores_nothing(client, contact_form, body, status):
    response = client.post("/f/contact-us/submit.json", body, content_type="application/json", HTTP_ORIGIN=ORIGIN)
    assert response.status_code == status
    assert response.json()["code"]
    assert (Lead.objects.count(), Submission.objects.count()) == (0, 0)


HOSTILE_FORM = [
    ("oversized body", urlencode({"first_name": "A" * 70_000}).encode(), 413),
    ("thousands of fields", urlencode({f"f{n}": "x" for n in range(5000)}).encode(), 413),
    ("invalid UTF-8", b"first_name=%FF%FE&email=ana%40acme.example", 400),
    ("raw invalid UTF-8", b"first_name=\xff\xfe&email=ana%40acme.example", 400),
    ("NUL byte", b"first_name=An%00a&email=ana%40acme.example", 400),
    ("control characters", b"first_name=An%07a&email=ana%40acme.example", 400),
]


@pytest.mark.parametrize(("body", "status"), [case[1:] for case in HOSTILE_FORM], ids=[c[0] for c in HOSTILE_FORM])
def test_hostile_form_posts_get_a_clear_page_and_store_nothing(client, contact_form, body, status):
    response = client.post("/f/contact-us/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code == status
    assert b"<html" in response.content
    assert (Lead.objects.count(), Submission.objects.count()) == (0, 0)


def test_other_content_types_are_refused(client, contact_form):
    assert client.post("/f/contact-us/", b"<xml/>", content_type="application/xml").status_code == 415
    assert client.post("/f/contact-us/submit.json", b"a=b", content_type="application/x-www-form-urlencoded",
                       HTTP_ORIGIN=ORIGIN).status_code == 415  # fmt: skip


def test_a_multipart_post_with_hundreds_of_fields_is_refused(client, contact_form):
    response = client.post("/f/contact-us/", {f"f{n}": "x" for n in range(300)})
    assert response.status_code == 413
    assert Submission.objects.count() == 0


def test_a_multipart_post_works_like_any_other(client, contact_form):
    response = client.post("/f/contact-us/", post_data(contact_form))
    assert response.status_code == 303
    assert record_received() == 1
    assert Lead.objects.count() == 1


@pytest.mark.parametrize(
    "name",
    ["Zoë 👩🏽‍💻 Ångström", "محمد علي", "שרה", "Ñ̃o̊ël", "李小龍", "Ólafur\u200dJóhann"],
    ids=["emoji", "arabic", "hebrew", "combining", "cjk", "zwj"],
)
def test_names_in_any_script_are_kept(client, contact_form, name):
    response = post_json(client, contact_form, post_data(contact_form, first_name=name))
    assert response.status_code == 200
    assert record_received() == 1
    stored = Lead.objects.get().first_name
    import unicodedata

    assert stored == unicodedata.normalize("NFC", name)


def test_direction_overrides_are_dropped_from_names(client, contact_form):
    post_json(client, contact_form, post_data(contact_form, first_name="Ana\u202egnp.exe"))
    assert record_received() == 1
    assert Lead.objects.get().first_name == "Anagnp.exe"


def test_full_width_email_letters_are_folded_to_plain_ones(client, contact_form):
    post_json(client, contact_form, post_data(contact_form, email="ａｎａ@acme.example"))
    assert record_received() == 1
    assert Lead.objects.get().email == "ana@acme.example"


def test_script_in_every_field_is_stored_as_text_and_shown_as_text(client, admin, contact_form):
    names = ("first_name", "last_name", "company_name", "message", "utm_source", "utm_medium", "utm_campaign")
    data = {name: SCRIPT for name in (*names, "referrer", "page_url", "landing_page")}
    data.update({"email": "ana@acme.example", "_lf_token": post_data(contact_form)["_lf_token"], "consent": "yes"})
    assert post_json(client, contact_form, data).status_code == 200
    assert record_received() == 1
    lead = Lead.objects.get()
    assert (lead.first_name, lead.source) == (SCRIPT, SCRIPT)
    assert lead.referrer == ""
    admin_client = Client()
    admin_client.force_login(admin)
    for url in (f"/forms/{contact_form.pk}/submissions/", f"/leads/{lead.pk}/"):
        html = admin_client.get(url).content.decode()
        assert SCRIPT not in html
        assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;" in html
    bad = post_form(client, contact_form, {**data, "email": "oops"})
    assert SCRIPT not in bad.content.decode()


def test_a_javascript_address_is_never_kept_as_a_page(client, contact_form):
    post_json(
        client, contact_form, post_data(contact_form, page_url="javascript:alert(1)", referrer="data:text/html,x")
    )
    submission = Submission.objects.get()
    assert submission.page_url == ""
    assert "referrer" not in submission.source


def test_a_double_click_on_the_hosted_page_makes_one_lead(client, contact_form):
    data = post_data(contact_form)
    first = post_form(client, contact_form, data)
    second = post_form(client, contact_form, data)
    assert first.status_code == second.status_code == 303
    assert record_received() == 1
    assert (Lead.objects.count(), Submission.objects.count()) == (1, 1)


def test_thank_you_page_links_back_only_to_allowed_websites(client, contact_form):
    good = client.get("/f/contact-us/thanks/?from=https://www.example.com/pricing").content.decode()
    assert 'href="https://www.example.com/pricing"' in good
    bad = client.get("/f/contact-us/thanks/?from=https://evil.example/").content.decode()
    assert "evil.example" not in bad


def test_the_tracking_cookie_of_the_site_joins_the_visitor(client, contact_form):
    client.cookies["lf_vid"] = "abcdefgh12345678"
    post_form(client, contact_form, post_data(contact_form))
    assert Submission.objects.get().visitor_id == "abcdefgh12345678"


FIELD_NAMES = ["first_name", "last_name", "email", "phone", "company_name", "budget", "message", "consent",
               "website", "utm_source", "referrer", "page_url", "visitor_id", "_lf_token", "_lf_channel"]  # fmt: skip
ANY_VALUE = st.one_of(
    st.text(max_size=300),
    st.text(alphabet=st.characters(codec="utf-8"), max_size=50),
    st.integers(),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
    st.lists(st.text(max_size=5), max_size=3),
    st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.dictionaries(st.sampled_from(FIELD_NAMES) | st.text(max_size=20), ANY_VALUE, max_size=20))
def test_any_json_object_gets_an_answer_never_a_server_error(client, admin, payload):
    form = Form.objects.filter(slug="fuzz").first() or make_form(
        admin, name="Fuzz", ip_limit_per_hour=100_000, form_limit_per_minute=100_000
    )
    response = post_json(client, form, payload)
    assert response.status_code in {200, 400, 413, 422}, response.content
    if response.status_code == 200:
        assert response.json()["ok"] is True


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(body=st.binary(max_size=2000))
def test_any_bytes_posted_as_a_form_get_an_answer_never_a_server_error(client, admin, body):
    form = Form.objects.filter(slug="fuzz").first() or make_form(
        admin, name="Fuzz", ip_limit_per_hour=100_000, form_limit_per_minute=100_000
    )
    response = client.post(f"/f/{form.slug}/", body, content_type="application/x-www-form-urlencoded")
    assert response.status_code in {303, 400, 413, 415}
