"""Open leads get the active model's probability and their own top factors; new activity is picked up."""

from leadflow.leads import services as lead_services
from leadflow.leads.lifecycle import Authority, Budget, Need, PurchaseTimeline
from leadflow.leads.models import Stage
from leadflow.predictive import services
from leadflow.predictive.models import LeadPrediction, PredictiveState, RunStatus
from tests.conftest import make_lead


def test_training_scores_every_open_lead_with_the_new_version(history):
    good = make_lead(industry="Software", company_size=1500, source="partner")
    poor = make_lead(industry="Education", company_size=3, source="google")
    run = services.request_training(actor=None, enqueue=False)
    run = services.run_training(run_id=run.pk)
    assert run.status == RunStatus.DONE and run.scored == 2
    good_p, poor_p = (LeadPrediction.objects.get(lead=lead) for lead in (good, poor))
    assert good_p.model == run.model and good_p.model.version == 1
    assert good_p.probability > 0.7 > 0.3 > poor_p.probability
    assert 1 <= len(good_p.factors) <= 5
    up = {factor["name"] for factor in good_p.factors if factor["effect"] > 0}
    down = {factor["name"] for factor in poor_p.factors if factor["effect"] < 0}
    assert up & {"industry", "company_size"} and down & {"industry", "company_size"}
    industry = next(factor for factor in good_p.factors if factor["name"] == "industry")
    assert industry["value"] == "Software" and industry["label"] == "Industry"


def test_the_periodic_job_scores_new_leads_once(history):
    services.run_training(run_id=services.request_training(actor=None, enqueue=False).pk)
    assert services.score_new_activity() == 0, "training moved the cursor past what it scored"
    newcomer = make_lead(industry="Software", company_size=900)
    assert services.score_new_activity() >= 1
    assert LeadPrediction.objects.get(lead=newcomer).probability > 0.5
    assert services.score_new_activity() == 0
    assert PredictiveState.objects.get().event_cursor == newcomer.events.order_by("-pk").first().pk


def test_a_lead_that_becomes_a_customer_loses_its_prediction(history, alice):
    lead = make_lead(owner=alice, industry="Software")
    services.run_training(run_id=services.request_training(actor=None, enqueue=False).pk)
    assert LeadPrediction.objects.filter(lead=lead).exists()
    answers = {"budget": Budget.APPROVED, "authority": Authority.DECISION_MAKER, "need": Need.HIGH,
               "purchase_timeline": PurchaseTimeline.MONTH}  # fmt: skip
    lead = lead_services.update_lead(lead=lead, changes=answers, actor=alice)
    lead_services.change_stage(lead=lead, stage=Stage.CUSTOMER, actor=alice)
    services.score_new_activity()
    assert not LeadPrediction.objects.filter(lead=lead).exists()


def test_without_a_model_the_job_only_moves_its_cursor(db):
    lead = make_lead()
    assert services.score_new_activity() == 0
    assert LeadPrediction.objects.count() == 0
    assert PredictiveState.objects.get().event_cursor == lead.events.get().pk


def test_a_failed_training_is_recorded_with_its_reason(db, marketing):
    run = services.request_training(actor=marketing, enqueue=False)
    run = services.run_training(run_id=run.pk)
    assert run.status == RunStatus.FAILED
    assert run.error_code == "not_enough_data"
    assert run.error.startswith("Training needs at least 20 customers")


def test_a_second_request_while_one_is_pending_returns_the_same_run(db, marketing, admin):
    first = services.request_training(actor=marketing, enqueue=False)
    assert services.request_training(actor=admin, enqueue=False) == first
    assert services.run_training(run_id=first.pk) is not None
    assert services.run_training(run_id=first.pk) is None, "a run is claimed once"
