"""The model page and the lead card in a real browser: figures, calibration plot, retrain with polling."""

import re

import pytest
from playwright.sync_api import expect

from leadflow.predictive import services
from leadflow.predictive.models import RunStatus, TrainingRun
from tests.conftest import make_lead
from tests.predictive.conftest import closed_history

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def trained(marketing):
    closed_history(customers=60, disqualified=60)
    run = services.request_training(actor=marketing, enqueue=False)
    return services.run_training(run_id=run.pk).model


def test_marketing_reads_the_model_page_and_retrains(page, live_server, sign_in, marketing, trained, screenshot):
    sign_in(marketing)
    page.goto(f"{live_server.url}/predictive/")
    expect(page.locator("h1")).to_have_text("Predictive score")
    expect(page.locator(".pred-stats")).to_contain_text(f"{trained.auc:.3f}")
    expect(page.locator(".pred-stats")).to_contain_text("60 customers, 60 disqualified")
    plot = page.locator("svg.pred-plot")
    expect(plot).to_be_visible()
    expect(plot.locator("line.pred-diagonal")).to_have_count(1)
    assert plot.locator("circle.pred-dot").count() == len(trained.calibration)
    box = plot.bounding_box()
    assert box["width"] > 200 and box["height"] > 200, "the plot is drawn at a readable size"
    expect(page.locator(".pred-bars li").first).to_contain_text(trained.factors[0]["label"])
    expect(page.locator("tr[data-feature='budget'] input[name=after]")).to_be_checked()
    screenshot("model-page")

    page.get_by_role("button", name="Retrain now").click()
    expect(page.locator("#training-run")).to_contain_text("Waiting for a worker")
    expect(page.get_by_role("button", name="Retrain now")).to_be_disabled()
    run = TrainingRun.objects.filter(status=RunStatus.QUEUED).get()
    services.run_training(run_id=run.pk)
    # The poll sees the run finish and reloads the page with the new version.
    expect(page.locator("#training-run")).to_contain_text("Model v2", timeout=15_000)
    expect(page.locator("table").first).to_contain_text("v2")
    expect(page.locator("table").first).to_contain_text("Previous")
    screenshot("retrained")


def test_a_rep_sees_the_chance_to_buy_on_the_lead_page(page, live_server, sign_in, alice, trained, screenshot):
    lead = make_lead(owner=alice, first_name="Rita", last_name="Buyer", industry="Software", company_size=1500)
    services.score_leads(model=trained, lead_ids=[lead.pk])
    percent = round(lead.prediction.probability * 100)
    sign_in(alice)
    page.goto(f"{live_server.url}/leads/{lead.pk}/")
    card = page.locator(".pred-card")
    expect(card).to_contain_text(f"{percent} % likely to buy")
    expect(card.locator(".pred-factors li")).not_to_have_count(0)
    expect(card.locator(".pred-up").first).to_contain_text(re.compile("Industry|Company size"))
    card.scroll_into_view_if_needed()
    screenshot("lead-card")
