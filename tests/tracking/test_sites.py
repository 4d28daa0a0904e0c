import pytest
from django.core.exceptions import ValidationError
from django.core.management import call_command

from leadflow.tracking import services
from leadflow.tracking.models import Site
from leadflow.tracking.origins import normalise_origin, origin_of

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("given", "origin"),
    [
        ("https://www.Example.com", "https://www.example.com"),
        ("https://example.com/", "https://example.com"),
        ("https://example.com:443", "https://example.com"),
        ("http://localhost:8080", "http://localhost:8080"),
        ("http://[::1]:3000", "http://[::1]:3000"),
        ("https://example.com/path", ""),
        ("https://user@example.com", ""),
        ("ftp://example.com", ""),
        ("example.com", ""),
        ("https://[broken", ""),
    ],
)
def test_origins_are_normalised_or_refused(given, origin):
    assert normalise_origin(given) == origin


def test_origin_of_a_page_url_drops_path_and_query():
    assert origin_of("https://Shop.example:443/pricing?utm_source=x#top") == "https://shop.example"
    assert origin_of("javascript:alert(1)") == ""


def test_site_keeps_its_origins_normalised_and_refuses_bad_ones():
    site = services.add_site(name="Shop", origins=["https://Shop.example/", "https://shop.example, http://x.test:81"])
    assert site.origin_list == ["https://shop.example", "http://x.test:81"]
    with pytest.raises(ValidationError, match="Give origins like"):
        services.add_site(name="Bad", origins=["shop.example"])


def test_snippet_is_one_line_that_says_when_consent_is_not_needed():
    strict = services.add_site(name="Strict", origins=["https://a.example"])
    relaxed = services.add_site(name="Relaxed", origins=["https://b.example"], require_consent=False)
    assert strict.snippet("https://crm.example/") == (
        f'<script src="https://crm.example/t.js" data-site="{strict.key}" async></script>'
    )
    assert 'data-consent="not-required"' in relaxed.snippet("https://crm.example")


def test_command_adds_a_site_and_prints_its_snippet(capsys):
    call_command("tracking_site", "add", "Shop", "https://shop.example", "--url", "https://crm.example")
    site = Site.objects.get()
    assert capsys.readouterr().out.strip() == site.snippet("https://crm.example")
    assert site.require_consent is True
    call_command("tracking_site", "list")
    assert "Shop: https://shop.example" in capsys.readouterr().out


def test_admin_page_of_a_site_shows_its_snippet(client, admin):
    admin.is_staff = admin.is_superuser = True
    admin.save()
    site = services.add_site(name="Shop", origins=["https://shop.example"])
    client.force_login(admin)
    html = client.get(f"/admin/tracking/site/{site.pk}/change/").content.decode()
    assert f"data-site=&quot;{site.key}&quot;" in html
    assert "leadflow('consent', true)" in html
