import pytest

from leadflow.leads.models import Lead
from leadflow.nurture import services
from leadflow.nurture.errors import NurtureError
from leadflow.nurture.models import EmailTemplate
from leadflow.nurture.rendering import TemplateError, render_source
from tests.conftest import make_lead


def render(body: str, lead, subject: str = "Hi") -> object:
    return render_source(subject=subject, body=body, lead=lead, signature=lambda user: "Alice\nEast team")


def test_merge_fields_take_the_leads_values_and_fallbacks_when_empty():
    lead = Lead(first_name="Ada", last_name="", company_name="Analytical Engines", custom={"plan": "Pro"})
    out = render('Dear {{ first_name }} {{ last_name | "Lovelace" }} of {{ company }}, on {{ custom.plan }}.', lead)
    assert "Dear Ada Lovelace of Analytical Engines, on Pro." in out.html
    assert out.text.strip() == "Dear Ada Lovelace of Analytical Engines, on Pro."


def test_subject_gets_merge_fields_without_escaping():
    lead = Lead(first_name="O'Brien & Co")
    out = render_source(subject='Hi {{ first_name | "there" }}!', body="x", lead=lead)
    assert out.subject == "Hi O'Brien & Co!"
    assert render_source(subject='Hi {{ first_name | "there" }}!', body="x", lead=Lead()).subject == "Hi there!"


def test_markdown_becomes_html_and_a_readable_text_part():
    out = render("# Welcome\n\n**Bold** and [our guide](https://example.com/guide)", Lead(first_name="A"))
    assert "<h1>Welcome</h1>" in out.html
    assert "<strong>Bold</strong>" in out.html
    assert '<a href="https://example.com/guide">our guide</a>' in out.html
    assert "our guide (https://example.com/guide)" in out.text


@pytest.mark.parametrize("name", ["<script>alert(1)</script>", "**bold**", "[x](javascript:alert(1))", "<b>"])
def test_lead_data_is_inserted_as_text_not_markup(name):
    out = render("Hello {{ first_name }}", Lead(first_name=name))
    assert "<script>" not in out.html and "<strong>" not in out.html and "<b>" not in out.html
    assert "<a " not in out.html
    assert name in out.text


def test_script_tags_in_the_template_itself_are_escaped():
    out = render("<script>alert(1)</script> hi", Lead())
    assert "<script>" not in out.html


def test_owner_fields_and_signature():
    from leadflow.accounts.models import User

    owner = User(username="alice", first_name="Alice", last_name="Smith", email="alice@example.com")
    lead = Lead(first_name="Dana", owner=owner)
    out = render("{{ owner_name }} <{{ owner_email }}>\n\n{{ owner_signature }}", lead)
    assert "Alice Smith &lt;alice@example.com&gt;" in out.html
    assert "Alice<br>\nEast team" in out.html


@pytest.mark.parametrize(
    ("body", "code"),
    [
        ("{{ lead.owner.password }}", "bad_field"),
        ("{{ first_name.__class__ }}", "unknown_field"),
        ("{{ secret_key }}", "unknown_field"),
        ("{% load static %}", "template_tag"),
        ("{{ first_name|upper }}", "bad_field"),
        ("Hello {{ first_name", "unclosed_field"),
    ],
)
def test_only_documented_fields_are_reachable(body, code):
    with pytest.raises(TemplateError) as caught:
        render(body, Lead(first_name="x"))
    assert caught.value.code == code


def test_saving_a_template_with_an_unknown_field_is_refused_with_a_clear_message(db, marketing):
    with pytest.raises(NurtureError, match="Unknown merge field 'frist_name'"):
        services.save_template(
            template=None, name="T", kind="marketing", subject="Hi", body="Hi {{ frist_name }}", actor=marketing
        )
    assert EmailTemplate.objects.count() == 0


def test_reps_may_not_write_templates(db, alice):
    with pytest.raises(NurtureError, match="Only admins and marketing"):
        services.save_template(template=None, name="T", kind="snippet", subject="Hi", body="Hi", actor=alice)


def test_a_real_lead_renders_with_its_custom_fields(db):
    lead = make_lead(first_name="Zoë", custom={"plan": "Team"})
    out = render('{{ first_name }} / {{ custom.plan }} / {{ custom.missing | "none" }}', lead)
    assert "Zoë / Team / none" in out.html
