import pytest

from leadflow.leads import services
from leadflow.leads.models import Company, EventKind, Lead, TimelineEvent
from leadflow.leads.services.batch import record_leads_batch
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
