"""The rules of a form's fields and of the values posted to them, without a database."""

from __future__ import annotations

import pytest

from leadflow.capture import definition
from leadflow.capture.definition import FieldSpec
from leadflow.capture.origins import is_allowed_redirect, normalise_origin, parse_origins


def spec(**overrides) -> FieldSpec:
    values = {"name": "note", "label": "Note", "type": "text", "maps_to": "custom"}
    values.update(overrides)
    return FieldSpec(**values)


def test_a_good_field_list_is_tidied_and_lead_fields_take_their_own_names():
    specs, errors = definition.check_fields(
        [
            {"label": "  Your   email ", "maps_to": "email", "type": "email", "name": "ignored", "required": True},
            {
                "label": "Size",
                "maps_to": "custom",
                "name": "team_size",
                "type": "select",
                "options": ["1-10", " ", "11+"],
            },
        ]
    )
    assert errors == {}
    assert [(s.name, s.label, s.options) for s in specs] == [
        ("email", "Your email", []),
        ("team_size", "Size", ["1-10", "11+"]),
    ]


@pytest.mark.parametrize(
    ("row", "key", "message"),
    [
        ({"label": "", "maps_to": "email", "type": "email"}, "fields.0.label", "label"),
        ({"label": "E", "maps_to": "email", "type": "text"}, "fields.0.type", "Email"),
        ({"label": "P", "maps_to": "phone", "type": "email"}, "fields.0.type", "Phone"),
        ({"label": "X", "maps_to": "owner", "type": "text"}, "fields.0.maps_to", "lead field"),
        ({"label": "X", "maps_to": "custom", "name": "Bad Name", "type": "text"}, "fields.0.name", "lowercase"),
        ({"label": "X", "maps_to": "custom", "name": "utm_source", "type": "text"}, "fields.0.name", "Leadflow"),
        ({"label": "X", "maps_to": "custom", "name": "_lf_x", "type": "text"}, "fields.0.name", "lowercase"),
        ({"label": "X", "maps_to": "custom", "name": "website", "type": "text"}, "fields.0.name", "Leadflow"),
        ({"label": "X", "maps_to": "custom", "name": "pick", "type": "select"}, "fields.0.options", "choices"),
        ({"label": "X", "maps_to": "first_name", "type": "checkbox"}, "fields.0.type", "checkbox"),
        ({"label": "X", "maps_to": "custom", "name": "x", "type": "file"}, "fields.0.type", "type"),
    ],
)
def test_bad_fields_are_named_with_what_to_fix(row, key, message):
    _, errors = definition.check_fields([row, {"label": "Phone", "maps_to": "phone", "type": "tel"}])
    assert message in errors[key]


def test_a_form_needs_a_field_that_names_a_person_and_no_duplicates():
    _, errors = definition.check_fields([{"label": "Note", "maps_to": "custom", "name": "note", "type": "text"}])
    assert "email, phone" in errors["fields"]
    _, errors = definition.check_fields([{"label": "A", "maps_to": "email", "type": "email"}] * 2)
    assert "already uses" in errors["fields.1.name"]
    _, errors = definition.check_fields([])
    assert errors["fields"] == "Add at least one field."
    _, errors = definition.check_fields([{"label": "A", "maps_to": "email", "type": "email"}] * 31)
    assert "at most 30" in errors["fields"]


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("An\x00a", "NUL"),
        ("An\x07a", "control characters"),
        ("x" * 501, "501 characters"),
        (["a"], "not a list"),
        ("\ud800", "not valid text"),
    ],
)
def test_bad_values_are_refused_in_plain_words(value, message):
    with pytest.raises(ValueError, match=message):
        definition.clean_value(spec(), value)


def test_values_are_normalised_but_not_rewritten():
    assert definition.clean_value(spec(), "  Zoe\u0301  ") == "Zoé"
    assert definition.clean_value(spec(type="textarea"), "line one\nline two ") == "line one\nline two"
    assert definition.clean_value(spec(), 42) == "42"
    assert definition.clean_value(spec(type="checkbox"), "on") is True
    assert definition.clean_value(spec(type="checkbox"), None) is False
    with pytest.raises(ValueError, match="choices"):
        definition.clean_value(spec(type="select", options=["a"]), "b")


@pytest.mark.parametrize(
    "email",
    ["pаypal@example.com", "ana@exаmple.com", "ana@xn--exmple-4nf.com", "ana@gοοgle.com"],
    ids=["cyrillic-local", "cyrillic-domain", "punycode-domain", "greek-domain"],
)
def test_look_alike_emails_are_refused(email):
    with pytest.raises(ValueError, match="different alphabets"):
        definition.clean_email_text(email)


def test_single_script_international_emails_are_fine():
    assert definition.clean_email_text("алиса@пример.рф") == "алиса@пример.рф"
    assert definition.clean_email_text("ｂｏｂ＠example.com") == "bob@example.com"


def test_hidden_source_values_never_fail_a_submission():
    source = definition.clean_source(
        {"utm_source": "x" * 500, "utm_medium": ["list"], "referrer": "javascript:alert(1)",
         "landing_page": "https://a.example/\x00", "page_url": "https://a.example/p?utm_campaign=c1"},
        "",
    )  # fmt: skip
    assert source == {
        "utm_source": "x" * 100,
        "page_url": "https://a.example/p?utm_campaign=c1",
        "landing_page": "https://a.example/",
    }
    from_referer = definition.clean_source({}, "https://shop.example/?utm_source=flyer&utm_medium=print")
    assert (from_referer["utm_source"], from_referer["utm_medium"]) == ("flyer", "print")


@pytest.mark.parametrize(
    ("text", "origin"),
    [
        ("https://www.Example.com/", "https://www.example.com"),
        ("http://localhost:8000", "http://localhost:8000"),
        ("https://shop.example:443", "https://shop.example"),
        ("https://bücher.example", "https://xn--bcher-kva.example"),
    ],
)
def test_websites_are_normalised_to_origins(text, origin):
    assert normalise_origin(text) == origin


@pytest.mark.parametrize(
    "text", ["www.example.com", "ftp://x.example", "https://x.example/page", "https://u:p@x.example"]
)
def test_addresses_that_are_not_origins_are_explained(text):
    with pytest.raises(ValueError):
        normalise_origin(text)


def test_origin_lists_are_deduplicated_with_a_message_per_bad_line():
    origins, problems = parse_origins("https://a.example\nhttps://A.example/\n\nnot a site, http://b.example:8080")
    assert origins == ["https://a.example", "http://b.example:8080"]
    assert len(problems) == 1


@pytest.mark.parametrize(
    ("url", "allowed"),
    [
        ("/thanks/", True),
        ("https://crm.example/thanks", True),
        ("https://www.example.com/thank-you?x=1", True),
        ("http://www.example.com/thank-you", False),
        ("https://evil.example/", False),
        ("//evil.example/", False),
        ("///evil.example/", False),
        ("/\\evil.example", False),
        ("https://www.example.com@evil.example/", False),
        ("javascript:alert(1)", False),
        ("data:text/html,hi", False),
        ("thanks", False),
        (" https://www.example.com/", False),
        ("https://www.example.com/\nLocation: x", False),
    ],
)
def test_redirects_go_only_to_this_site_or_an_allowed_website(url, allowed):
    result = is_allowed_redirect(url, site_host="crm.example", allowed_origins=["https://www.example.com"])
    assert result is allowed
