import pytest
from django.db import transaction

from leadflow.leads import services
from leadflow.leads.models import Company, EventKind, Lead, TimelineEvent
from leadflow.leads.services.batch import clean_rows, plan_cleaned_batch, record_leads_batch, write_planned_batch
from tests.conftest import make_lead


@pytest.mark.django_db
def test_batch_creates_updates_folds_and_reports_each_row_in_order():
    known = make_lead(email="known@acme.example", title="")
    outcomes = record_leads_batch(
        rows=[
            {"email": "new@acme.example", "first_name": "Nia", "company_name": "Acme"},
            {"email": "KNOWN@acme.example", "title": "CFO"},
            {"email": "not an email"},
            {"email": "new@acme.example", "phone": "+12125550199"},
            {"phone": "+12125550199", "last_name": "Okoro"},
        ],
        channel="import",
    )
    assert [o.action for o in outcomes] == ["created", "updated", "error", "duplicate", "duplicate"]
    assert "not a valid email" in outcomes[2].error.errors["email"]
    created = Lead.objects.get(email_key="new@acme.example")
    assert (created.first_name, created.last_name, created.phone) == ("Nia", "Okoro", "+12125550199")
    assert created.company.domain == "acme.example"
    known.refresh_from_db()
    assert known.title == "CFO"
    assert outcomes[1].before["title"] == ""
    assert Lead.objects.count() == 2
    kinds = list(TimelineEvent.objects.filter(lead=created).values_list("kind", flat=True))
    assert sorted(kinds) == [EventKind.CAPTURED, EventKind.CAPTURED, EventKind.CREATED]


@pytest.mark.django_db
def test_dry_run_reports_the_same_outcomes_and_writes_nothing():
    make_lead(email="known@acme.example")
    rows = [{"email": "a@b.example"}, {"email": "known@acme.example", "title": "VP"}, {"email": "a@b.example"}]
    before = (Lead.objects.count(), TimelineEvent.objects.count(), Company.objects.count())
    outcomes = record_leads_batch(rows=rows, dry_run=True)
    assert [o.action for o in outcomes] == ["created", "updated", "duplicate"]
    assert (Lead.objects.count(), TimelineEvent.objects.count(), Company.objects.count()) == before
    assert Lead.objects.get(email_key="known@acme.example").title == ""


@pytest.mark.django_db
def test_batch_refuses_erased_people_and_leads_the_actor_cannot_see(alice, carol, admin):
    gone = make_lead(email="gone@x.example")
    services.erase_lead(lead=gone, actor=admin)
    make_lead(email="alices@x.example", owner=alice)
    outcomes = record_leads_batch(
        rows=[{"email": "gone@x.example"}, {"email": "alices@x.example", "title": "Hijack"}], actor=carol
    )
    assert [o.error.code for o in outcomes] == ["erased_person", "duplicate_not_visible"]
    assert Lead.objects.get(email_key="alices@x.example").title == ""


@pytest.mark.django_db
def test_batch_and_single_capture_agree_on_the_same_input():
    rows = [{"email": f"p{n}@corp{n % 3}.example", "company_name": f"Corp {n % 3}", "phone": ""} for n in range(9)]
    record_leads_batch(rows=rows)
    assert Company.objects.count() == 3
    single = services.record_lead(data={"email": "p0@corp0.example", "title": "Boss"})
    assert single.created is False
    assert single.lead.company.domain == "corp0.example"


@pytest.mark.django_db
def test_batch_of_a_thousand_uses_a_bounded_number_of_queries(django_assert_max_num_queries):
    rows = [{"email": f"bulk{n}@corp{n % 50}.example", "company_name": f"Corp {n % 50}"} for n in range(1000)]
    # Inserts are chunked by the database's parameter limit; what matters is no query per row.
    with django_assert_max_num_queries(80):
        outcomes = record_leads_batch(rows=rows)
    assert {o.action for o in outcomes} == {"created"}
    assert Lead.objects.count() == 1000


def _plan(rows):
    return plan_cleaned_batch(cleaned=clean_rows(rows), channel="form")


@pytest.mark.django_db
def test_a_plan_made_before_the_write_is_written_when_nothing_it_read_has_changed():
    known = make_lead(email="known@acme.example", title="")
    plan = _plan([{"email": "new@acme.example", "first_name": "Nia"}, {"email": "known@acme.example", "title": "CFO"}])
    assert Lead.objects.count() == 1 and Lead.objects.get(pk=known.pk).title == ""
    with transaction.atomic():
        outcomes = write_planned_batch(plan)
    assert [outcome.action for outcome in outcomes] == ["created", "updated"]
    assert Lead.objects.get(email="new@acme.example").first_name == "Nia"
    assert Lead.objects.get(pk=known.pk).title == "CFO"


@pytest.mark.django_db
def test_a_plan_is_dropped_when_a_lead_it_matched_changed_or_a_match_appeared(alice):
    known = make_lead(email="known@acme.example", title="")
    plan = _plan([{"email": "known@acme.example", "title": "CFO"}])
    services.update_lead(lead=known, changes={"country": "DE"}, actor=alice)
    with transaction.atomic():
        assert write_planned_batch(plan) is None
    assert (Lead.objects.get(pk=known.pk).title, Lead.objects.get(pk=known.pk).country) == ("", "DE")

    plan = _plan([{"phone": "+12125550199", "first_name": "Ode"}])
    make_lead(phone="+12125550199", first_name="Ode")
    with transaction.atomic():
        assert write_planned_batch(plan) is None
    assert Lead.objects.filter(phone="+12125550199").count() == 1
