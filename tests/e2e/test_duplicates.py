import pytest
from playwright.sync_api import expect

from leadflow.leads.duplicates import find_duplicates_of
from leadflow.leads.models import Lead, LeadStatus
from leadflow.leads.models_duplicates import DuplicatePair, PairStatus
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db(transaction=True)


def test_possible_duplicates_merge_one_pair_and_dismiss_another(page, live_server, sign_in, alice, screenshot):
    kept = make_lead(owner=alice, first_name="John", last_name="Smith", email="john@acme.example", title="")
    twin = make_lead(
        owner=alice, first_name="Jon", last_name="Smith", email="j.smith@acme.example", title="Head of Ops"
    )
    find_duplicates_of(twin)
    make_lead(owner=alice, first_name="Maria", last_name="Lopez", email="maria@gmail.com", phone="+1 415 555 0101")
    lookalike = make_lead(
        owner=alice, first_name="María", last_name="López", email="mlopez@yahoo.com", phone="+1 415 555 0101"
    )
    find_duplicates_of(lookalike)
    merge_pair = DuplicatePair.objects.get(lead_b=twin)
    dismiss_pair = DuplicatePair.objects.get(lead_b=lookalike)

    sign_in(alice)
    page.goto(f"{live_server.url}/duplicates/")
    expect(page.locator("h1")).to_have_text("Possible duplicates")
    pairs = page.locator(".dup-pair")
    expect(pairs).to_have_count(2)
    expect(page.locator(f"#pair-{merge_pair.pk}")).to_contain_text("Similar name at the same company")
    expect(page.locator(f"#pair-{dismiss_pair.pk}")).to_contain_text("Same phone, different email")
    screenshot("list")

    page.locator(f"#pair-{dismiss_pair.pk}").get_by_role("button", name="Not the same person").click()
    expect(page.locator(f"#pair-{dismiss_pair.pk}")).to_contain_text("marked as different people")
    expect(pairs).to_have_count(1)
    dismiss_pair.refresh_from_db()
    assert dismiss_pair.status == PairStatus.DISMISSED
    screenshot("after-dismiss")

    page.locator(f"#pair-{merge_pair.pk}").get_by_role("link", name="Compare and merge").click()
    expect(page.locator("h1")).to_have_text("Merge two leads")
    expect(page.locator("input[name=pick_title][value=loser]")).to_be_checked()
    page.click("button:has-text('Merge into John Smith')")
    expect(page.locator(".banner")).to_contain_text("Merged Jon Smith")
    assert Lead.objects.get(pk=twin.pk).status == LeadStatus.MERGED
    assert Lead.objects.get(pk=kept.pk).title == "Head of Ops"

    page.goto(f"{live_server.url}/duplicates/")
    expect(page.locator(".empty")).to_contain_text("No possible duplicates")
    screenshot("empty")
    find_duplicates_of(lookalike)
    page.reload()
    expect(page.locator(".dup-pair")).to_have_count(0)
