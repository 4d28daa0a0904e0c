"""The model page for admins and marketing, the retrain button, feature settings and the lead card."""

import re

import pytest

from leadflow.predictive import services
from leadflow.predictive.models import FeatureField, RunStatus, TrainingRun
from tests.conftest import make_lead
from tests.predictive.conftest import closed_history


@pytest.fixture
def trained(history, marketing):
    run = services.request_training(actor=marketing, enqueue=False)
    return services.run_training(run_id=run.pk).model


def test_the_model_page_shows_auc_calibration_factors_and_versions(client, marketing, trained):
    client.force_login(marketing)
    page = client.get("/predictive/").content.decode()
    assert f"{trained.auc:.3f}" in page
    assert "ROC AUC, 5-fold cross-validated" in page
    assert "60 customers, 60 disqualified" in page
    assert re.search(r'<svg class="pred-plot"[^>]*role="img"', page)
    assert 'class="pred-diagonal"' in page and page.count('class="pred-dot"') == len(trained.calibration)
    assert "What the model looks at most" in page and trained.factors[0]["label"] in page
    assert "by mark" in page.lower() or "by Mark" in page
    assert "Retrain now" in page
    assert "alone tells customers from the rest" not in page, "no single field gives the answer away here"
    assert "v1" in page and "Active" in page


def test_an_empty_site_says_what_training_needs(client, admin):
    client.force_login(admin)
    page = client.get("/predictive/").content.decode()
    assert "Training needs at least 20 customers and 20 disqualified leads; there are 0 and 0." in page


@pytest.mark.parametrize("persona", ["manager", "alice"])
def test_sales_cannot_open_the_model_page(client, persona, request):
    client.force_login(request.getfixturevalue(persona))
    assert client.get("/predictive/").status_code == 403
    assert client.post("/predictive/train/").status_code == 403
    assert TrainingRun.objects.count() == 0


def test_the_outsider_is_sent_to_sign_in(client, db):
    response = client.get("/predictive/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_retrain_queues_a_run_and_the_status_polls_until_done(client, marketing, history):
    client.force_login(marketing)
    response = client.post("/predictive/train/", headers={"HX-Request": "true"})
    run = TrainingRun.objects.get()
    assert (run.status, run.requested_by, run.trigger) == (RunStatus.QUEUED, marketing, "manual")
    body = response.content.decode()
    assert f'hx-get="/predictive/runs/{run.pk}/?polling=1"' in body and 'hx-trigger="every 2s"' in body
    assert "Waiting for a worker" in body
    services.run_training(run_id=run.pk)
    polled = client.get(f"/predictive/runs/{run.pk}/?polling=1", headers={"HX-Request": "true"})
    assert polled["HX-Refresh"] == "true"
    assert "every 2s" not in polled.content.decode() and "Model v1" in polled.content.decode()


def test_feature_settings_are_saved_from_the_page(client, marketing, trained):
    client.force_login(marketing)
    used = list(FeatureField.objects.filter(include=True, after_contact=False).values_list("name", flat=True))
    used.remove("industry")
    response = client.post("/predictive/features/", {"use": [*used, "budget"], "after": ["source", "budget"]})
    assert response.status_code == 302
    fields = {field.name: field for field in FeatureField.objects.all()}
    assert (fields["industry"].include, fields["industry"].after_contact) == (False, False)
    assert (fields["source"].include, fields["source"].after_contact) == (True, True)
    assert fields["budget"].is_used is False and fields["source"].updated_by == marketing
    model = services.train_model(actor=marketing)
    assert not {"industry", "source", "budget"} & {f["name"] for f in model.spec["features"]}


def test_the_lead_card_shows_the_chance_and_the_factors(client, alice, trained):
    lead = make_lead(owner=alice, industry="Software", company_size=1500)
    services.score_leads(model=trained, lead_ids=[lead.pk])
    client.force_login(alice)
    page = client.get(f"/predictive/leads/{lead.pk}/panel/").content.decode()
    percent = round(lead.prediction.probability * 100)
    assert f"{percent} %</span> likely to buy" in page
    assert "Industry: <strong>Software</strong>" in page
    assert "Raises it:" in page
    assert "about the model" not in page, "reps do not get a link to a page they cannot open"


def test_the_lead_card_says_why_there_is_no_prediction(client, alice, db):
    lead = make_lead(owner=alice)
    client.force_login(alice)
    assert "No model trained yet." in client.get(f"/predictive/leads/{lead.pk}/panel/").content.decode()


def test_another_teams_rep_cannot_see_the_card(client, alice, carol, trained):
    lead = make_lead(owner=alice)
    client.force_login(carol)
    assert client.get(f"/predictive/leads/{lead.pk}/panel/").status_code == 404


def test_the_page_warns_about_a_field_that_gives_the_answer_away(client, marketing, db):
    closed_history(customers=30, disqualified=30, **{"custom.result": lambda won, rng: "won" if won else "lost"})
    services.train_model(actor=marketing)
    client.force_login(marketing)
    page = client.get("/predictive/").content.decode()
    assert "Result alone tells customers from the rest almost perfectly (ROC AUC 1.000)" in page
