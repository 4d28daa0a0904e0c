import pytest

from leadflow.leads.models import Company
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db


def text(response) -> str:
    return response.content.decode()


def test_companies_list_counts_only_the_leads_the_user_can_see(client, alice, carol):
    make_lead(owner=alice, email="a1@acme.example", company_name="Acme")
    make_lead(owner=alice, email="a2@acme.example")
    make_lead(owner=carol, email="c1@acme.example")
    make_lead(owner=alice, email="g@globex.example", company_name="Globex")
    client.force_login(alice)
    page = client.get("/companies/")
    counts = {company.name: company.lead_count for company in page.context["companies"]}
    assert counts == {"Acme": 2, "Globex": 1}
    assert "acme.example" in text(page)


def test_outsider_sees_no_companies_of_another_team(client, alice, carol):
    make_lead(owner=alice, email="a@initech.example", company_name="Initech")
    client.force_login(carol)
    body = text(client.get("/companies/"))
    assert "Initech" not in body
    assert "No companies yet" in body


def test_company_search_narrows_by_name_or_domain(client, alice):
    make_lead(owner=alice, email="a@acme.example", company_name="Acme")
    make_lead(owner=alice, email="g@globex.example", company_name="Globex")
    client.force_login(alice)
    assert [c.name for c in client.get("/companies/", {"q": "glo"}).context["companies"]] == ["Globex"]
    assert [c.name for c in client.get("/companies/", {"q": "acme.ex"}).context["companies"]] == ["Acme"]
    assert "No companies match “zzz”" in text(client.get("/companies/", {"q": "zzz"}))


def test_company_search_as_you_type_returns_only_the_results(client, alice):
    make_lead(owner=alice, email="a@acme.example", company_name="Acme")
    client.force_login(alice)
    page = client.get("/companies/", {"q": "ac"}, HTTP_HX_REQUEST="true", HTTP_HX_TARGET="company-results")
    body = text(page)
    assert "Acme" in body and "<html" not in body


def test_odd_search_text_is_harmless(client, alice):
    make_lead(owner=alice, email="a@acme.example", company_name="Acme")
    client.force_login(alice)
    for q in ("\x00", "a\x00b", "%", "_", "'", "\U0010ffff", "x" * 500):
        assert client.get("/companies/", {"q": q}).status_code == 200


def test_company_page_lists_its_visible_leads(client, alice, carol):
    mine = make_lead(owner=alice, first_name="Mine", last_name="Lead", email="m@acme.example", company_name="Acme")
    make_lead(owner=carol, first_name="Theirs", last_name="Lead", email="t@acme.example")
    client.force_login(alice)
    page = client.get(f"/companies/{mine.company_id}/")
    body = text(page)
    assert page.status_code == 200
    assert "Mine Lead" in body and "Theirs Lead" not in body
    assert "1 lead you can see" in body
    assert "<h1>Acme</h1>" in body


def test_outsider_gets_404_for_a_company_with_none_of_their_leads(client, alice, carol):
    lead = make_lead(owner=alice, email="a@acme.example", company_name="Acme")
    client.force_login(carol)
    assert client.get(f"/companies/{lead.company_id}/").status_code == 404
    assert client.get("/companies/999999/").status_code == 404


def test_company_names_are_shown_as_text(client, alice):
    lead = make_lead(owner=alice, email="a@evil.example", company_name="<script>alert(1)</script>")
    assert Company.objects.get(pk=lead.company_id).name == "<script>alert(1)</script>"
    client.force_login(alice)
    for path in ("/companies/", f"/companies/{lead.company_id}/"):
        body = text(client.get(path))
        assert "<script>alert(1)</script>" not in body
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body


def test_company_pages_need_a_signed_in_user(client):
    assert client.get("/companies/").status_code == 302
    assert client.get("/companies/1/").status_code == 302
