import pytest
from playwright.sync_api import expect

from leadflow.leads import services
from leadflow.leads.models import EventKind, Lead, LeadMerge, LeadStatus, TimelineEvent
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db(transaction=True)


def test_merge_two_leads_field_by_field_then_undo(page, live_server, sign_in, alice, screenshot):
    kept = make_lead(
        owner=alice, first_name="Dana", last_name="Scully", email="dana@fbi.example", title="", company_name="FBI"
    )
    other = make_lead(
        owner=alice,
        first_name="Dana K.",
        last_name="Scully",
        email="dscully@home.example",
        phone="+1 202 555 0147",
        title="Special Agent",
        custom={"Badge": "2317616"},
    )
    services.add_note(lead=other, text="Prefers calls in the morning.", actor=alice)
    sign_in(alice)
    page.goto(f"{live_server.url}/leads/{kept.pk}/")
    page.click("a:has-text('Merge with…')")
    expect(page.locator("h1")).to_contain_text("Merge Dana Scully with another lead")
    page.fill("#merge-q", "dscully@")
    results = page.locator("#merge-results")
    expect(results).to_contain_text("Dana K. Scully")
    results.locator("a:has-text('Compare')").click()
    expect(page.locator("h1")).to_have_text("Merge two leads")
    expect(page.locator("input[name=pick_title][value=loser]")).to_be_checked()
    expect(page.locator("input[name=pick_phone][value=loser]")).to_be_checked()
    expect(page.locator("input[name=pick_email][value=winner]")).to_be_checked()
    page.check("input[name=pick_first_name][value=loser]")
    screenshot("merge-comparison")
    page.click("button:has-text('Merge into Dana Scully')")

    banner = page.locator(".banner")
    expect(banner).to_contain_text("Merged Dana K. Scully")
    expect(page.locator("h1")).to_have_text("Dana K. Scully")
    expect(page.locator("#field-title .prop-text")).to_have_text("Special Agent")
    expect(page.locator("#timeline")).to_contain_text("Prefers calls in the morning.")
    expect(page.locator("#custom-fields")).to_contain_text("2317616")
    screenshot("after-merge")
    merged = Lead.objects.get(pk=other.pk)
    assert merged.status == LeadStatus.MERGED and merged.merged_into_id == kept.pk

    banner.locator("button:has-text('Undo merge')").click()
    expect(page.locator(".messages")).to_contain_text("is a separate lead again")
    expect(page.locator("h1")).to_have_text("Dana Scully")
    expect(page.locator("#timeline .event").first).to_contain_text("Merge undone")
    restored = Lead.objects.get(pk=other.pk)
    assert restored.status == LeadStatus.ACTIVE
    assert restored.title == "Special Agent"
    assert Lead.objects.get(pk=kept.pk).title == ""
    assert TimelineEvent.objects.filter(lead=restored, kind=EventKind.NOTE).count() == 1
    assert LeadMerge.objects.get().undone_at is not None

    page.locator("#timeline .event").first.locator("a").click()
    expect(page.locator("h1")).to_have_text("Dana K. Scully")
