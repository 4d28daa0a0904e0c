import random
import re

import pytest
from playwright.sync_api import expect

from leadflow.leads.models import Company, Lead, SavedView, Stage
from leadflow.lib import fakedata
from tests.conftest import make_lead
from tests.leads.qualified import QUALIFIED

pytestmark = pytest.mark.django_db(transaction=True)


def fill_list(owners, team, count: int = 24) -> list[Lead]:
    """Create realistic leads spread over owners, the team queue, stages, sources and scores."""
    rng = random.Random(3)
    stages = [Stage.LEAD, Stage.MQL, Stage.SQL, Stage.OPPORTUNITY, Stage.CUSTOMER, Stage.SUBSCRIBER]
    leads = []
    for n in range(count):
        first, last = rng.choice(fakedata.FIRST_NAMES), rng.choice(fakedata.LAST_NAMES)
        company = fakedata.company_name(rng)
        source, _ = rng.choice(fakedata.SOURCES)
        lead = make_lead(
            owner=owners[n % len(owners)] if n % 4 else None,
            team=team,
            first_name=first,
            last_name=last,
            email=fakedata.email_for(rng, first, last, fakedata.company_domain(company), n),
            phone=fakedata.phone_for(n) if n % 3 else "",
            company_name=company,
            title=rng.choice(fakedata.TITLES),
            source=source,
            stage=stages[n % len(stages)],
        )
        Lead.objects.filter(pk=lead.pk).update(score=rng.randint(0, 100))
        leads.append(lead)
    return leads


def results_count(page) -> str:
    return page.locator(".results-count").inner_text()


def test_search_narrows_the_table_and_stage_filters_it(page, live_server, sign_in, alice, east, screenshot):
    fill_list([alice], east)
    make_lead(owner=alice, first_name="Zelda", last_name="Quintero", company_name="Quintessa", stage=Stage.MQL)
    sign_in(alice)
    expect(page.locator(".leads-table tbody tr")).to_have_count(25)
    screenshot("list")
    page.fill("input[name=q]", "zeld")
    expect(page.locator(".leads-table tbody tr")).to_have_count(1)
    expect(page.locator(".leads-table")).to_contain_text("Zelda Quintero")
    expect(page).to_have_url(re.compile(r"/\?q=zeld$"))
    assert page.locator("input[name=q]").evaluate("el => el === document.activeElement") is True
    page.fill("input[name=q]", "")
    expect(page.locator(".leads-table tbody tr")).to_have_count(25)
    page.locator(".chip", has_text="MQL").click()
    expect(page).to_have_url(re.compile(r"stage=mql"))
    mql_rows = Lead.objects.filter(stage=Stage.MQL).count()
    expect(page.locator(".leads-table tbody tr")).to_have_count(mql_rows)
    for badge in page.locator(".leads-table .badge").all_inner_texts():
        assert badge == "MQL"
    page.click("th.col-score a")
    expect(page).to_have_url(re.compile(r"sort=-score"))
    scores = [int(s) for s in page.locator(".leads-table td.col-score").all_inner_texts()]
    assert scores == sorted(scores, reverse=True)
    screenshot("filtered")
    page.go_back()
    expect(page).not_to_have_url(re.compile(r"sort="))


def test_manager_bulk_assigns_selected_leads(page, live_server, sign_in, manager, alice, bob, east, screenshot):
    fill_list([alice], east, count=6)
    sign_in(manager)
    rows = page.locator(".leads-table tbody tr")
    rows.nth(0).locator("input[type=checkbox]").check()
    rows.nth(1).locator("input[type=checkbox]").check()
    expect(page.locator("#bulk-count")).to_have_text("2 selected:")
    page.select_option("#bulk select[name=owner]", label="Bob")
    page.click("#bulk button[value=assign]")
    expect(page.locator("#results .message")).to_contain_text("assigned to Bob")
    assert Lead.objects.filter(owner=bob).count() == 2
    expect(page.locator(".leads-table tbody tr .col-owner", has_text="Bob")).to_have_count(2)
    screenshot("assigned")


def test_select_all_on_the_page_then_change_stage(page, live_server, sign_in, alice, east):
    fill_list([alice], east, count=5)
    Lead.objects.update(**QUALIFIED)
    sign_in(alice)
    page.check("#select-page")
    expect(page.locator('.leads-table tbody input[name="lead"]:checked')).to_have_count(5)
    page.select_option("#bulk select[name=stage]", "sql")
    page.click("#bulk button[value=stage]")
    # Lead and MQL move up; opportunity and customer may not move back down the funnel.
    expect(page.locator("#results .message")).to_contain_text(
        "2 of 5 selected leads moved to SQL. 2 skipped: 2 may not move there from their stage. 1 already there."
    )
    stages = sorted(Lead.objects.values_list("stage", flat=True))
    assert stages == [Stage.CUSTOMER, Stage.OPPORTUNITY, Stage.SQL, Stage.SQL, Stage.SQL]


def test_saved_view_comes_back_in_one_click(page, live_server, sign_in, alice, east):
    fill_list([alice], east, count=12)
    sign_in(alice)
    page.locator(".chip", has_text="SQL").click()
    expect(page).to_have_url(re.compile(r"stage=sql"))
    page.fill("#save-view-name", "Sales qualified")
    page.click("#save-view button[type=submit]")
    expect(page.locator("#saved-views")).to_contain_text("Saved the view “Sales qualified”.")
    assert SavedView.objects.get(user=alice).query == "stage=sql"
    page.goto(f"{live_server.url}/")
    expect(page.locator(".leads-table tbody tr")).to_have_count(12)
    page.click("text=Sales qualified")
    expect(page).to_have_url(re.compile(r"stage=sql"))
    expect(page.locator(".leads-table tbody tr")).to_have_count(Lead.objects.filter(stage=Stage.SQL).count())
    assert page.locator('input[name=stage][value="sql"]').is_checked() is True
    page.click("button[aria-label='Delete the saved view Sales qualified']")
    expect(page.locator("#saved-views")).to_contain_text("Deleted the view")
    assert SavedView.objects.count() == 0


def test_empty_list_and_companies(page, live_server, sign_in, alice, east, screenshot):
    sign_in(alice)
    expect(page.locator(".empty h2")).to_have_text("No leads yet")
    screenshot("empty")
    page.fill("input[name=q]", "nobody")
    expect(page.locator(".empty h2")).to_have_text("No leads match these filters")
    fill_list([alice], east, count=10)
    page.goto(f"{live_server.url}/companies/")
    companies = Company.objects.filter(leads__isnull=False).distinct().count()
    expect(page.locator(".companies-table tbody tr")).to_have_count(companies)
    screenshot("companies")
    page.locator(".companies-table a").first.click()
    expect(page.locator(".leads-table tbody tr")).to_have_count(1)
    screenshot("company")
