"""Training on the site's own closed leads: enough data, honest features, versions kept."""

from datetime import timedelta

import pytest
from django.utils import timezone

from leadflow.leads import services as lead_services
from leadflow.leads.models import CallOutcome, EventKind, Stage
from leadflow.leads.timeline import record
from leadflow.predictive import features, services
from leadflow.predictive.models import Algorithm, FeatureField, ModelStatus, ScoreModel
from leadflow.predictive.services.training import PredictiveError
from tests.conftest import make_lead
from tests.predictive.conftest import closed_history


def used_names(model: ScoreModel) -> set[str]:
    return {feature["name"] for feature in model.spec["features"]}


def test_too_little_data_says_how_many_of_each_there_are(db):
    closed_history(customers=3, disqualified=12)
    message = r"^Training needs at least 20 customers and 20 disqualified leads; there are 3 and 12\.$"
    with pytest.raises(PredictiveError, match=message) as error:
        services.train_model(actor=None)
    assert error.value.code == "not_enough_data"
    assert ScoreModel.objects.count() == 0


def test_open_leads_are_not_trained_on(db):
    closed_history(customers=19, disqualified=40)
    for _ in range(5):
        make_lead(stage=Stage.OPPORTUNITY)
    with pytest.raises(PredictiveError, match="there are 19 and 40"):
        services.train_model(actor=None)


def test_a_clear_signal_gives_a_high_cross_validated_auc(history, admin):
    model = services.train_model(actor=admin)
    assert model.auc >= 0.9
    assert len(model.auc_folds) == 5
    assert (model.positives, model.negatives, model.examples) == (60, 60, 120)
    assert model.trained_by == admin
    assert {factor["name"] for factor in model.factors[:2]} <= {"industry", "company_size", "source"}
    assert model.factors[0]["name"] in {"industry", "company_size"}
    assert sum(point[2] for point in model.calibration) == 120, "every example is in one calibration bin"


def test_pure_noise_gives_an_auc_near_one_half(db):
    closed_history(customers=150, disqualified=150, signal=False, seed=5)
    model = services.train_model(actor=None)
    assert 0.35 <= model.auc <= 0.65


def test_boosting_is_only_tried_with_enough_of_each_class(history):
    model = services.train_model(actor=None)
    assert model.candidates.keys() == {Algorithm.LOGISTIC}
    closed_history(customers=100, disqualified=100, seed=2)
    model = services.train_model(actor=None)
    assert model.candidates.keys() == {Algorithm.LOGISTIC, Algorithm.BOOSTING}
    assert model.auc == max(model.candidates.values()), "the better algorithm is kept"


def test_a_leaking_sales_field_is_not_used_once_marked_set_after_contact(db):
    # Nothing but the sales-filled field tells customers apart: it is the answer written down.
    closed_history(
        customers=60, disqualified=60, signal=False, seed=3,
        **{"custom.deal_outcome_notes": lambda won, rng: "signed" if won else "no budget"},
    )  # fmt: skip
    services.discover_fields()
    leaky = services.train_model(actor=None)
    assert "custom.deal_outcome_notes" in used_names(leaky)
    assert leaky.auc > 0.99
    assert [suspect["name"] for suspect in leaky.spec["suspects"]] == ["custom.deal_outcome_notes"]

    services.update_feature_settings(changes={"custom.deal_outcome_notes": (True, True)}, actor=None)
    honest = services.train_model(actor=None)
    assert "custom.deal_outcome_notes" not in used_names(honest)
    assert honest.auc < 0.7
    assert honest.spec["suspects"] == []


def test_sales_side_fields_and_the_outcome_are_excluded_by_default(db):
    closed_history(
        customers=40, disqualified=40, signal=False, seed=4,
        budget=lambda won, rng: "approved" if won else "none",
        stage_reason=lambda won, rng: "" if won else "Not a fit",
        score=lambda won, rng: 90 if won else 10,
    )  # fmt: skip
    model = services.train_model(actor=None)
    names = used_names(model)
    assert not names & {"budget", "stage_reason", "score", "owner_id", "authority", "need", "stage", "stage_entered_at"}
    assert model.auc < 0.7
    settings = {field.name: field for field in FeatureField.objects.all()}
    assert settings["budget"].after_contact is True and settings["budget"].is_used is False
    assert settings["source"].is_used is True
    assert "stage" not in settings, "the outcome cannot even be switched on"


def test_identifier_like_custom_fields_are_off_by_default(db):
    closed_history(customers=30, disqualified=30, **{"custom.crm_number": lambda won, rng: str(rng.random())})
    fields = {field.name: field for field in services.discover_fields()}
    assert fields["custom.crm_number"].include is False
    assert "identifier" in fields["custom.crm_number"].note


def test_versions_keep_the_active_and_the_previous_pipeline(history):
    first = services.train_model(actor=None)
    second = services.train_model(actor=None)
    third = services.train_model(actor=None)
    rows = {model.version: model for model in ScoreModel.objects.all()}
    assert [first.version, second.version, third.version] == [1, 2, 3]
    assert rows[3].status == ModelStatus.ACTIVE and rows[3].pipeline is not None
    assert rows[2].status == ModelStatus.PREVIOUS and rows[2].pipeline is not None
    assert rows[1].status == ModelStatus.RETIRED and rows[1].pipeline is None
    assert rows[1].auc == first.auc, "a retired version keeps its figures for the history"


def test_marketing_activity_counts_only_until_sales_first_make_contact(alice):
    lead = make_lead(owner=alice)
    start = timezone.now() - timedelta(days=10)
    for day in range(3):
        record(lead, EventKind.PAGE_VIEWED, actor_type="lead", occurred_at=start + timedelta(days=day))
    lead_services.log_call(lead=lead, outcome=CallOutcome.CONNECTED, actor=alice, occurred_at=start + timedelta(days=4))
    for day in range(5, 9):
        record(lead, EventKind.PAGE_VIEWED, actor_type="lead", occurred_at=start + timedelta(days=day))
        record(lead, EventKind.EMAIL_CLICKED, actor_type="lead", occurred_at=start + timedelta(days=day))
    rows = next(iter(features.load_rows(features.open_leads().filter(pk=lead.pk))))
    assert rows[0]["activity"] == {EventKind.PAGE_VIEWED: 3}
