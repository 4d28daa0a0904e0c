import threading

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from leadflow.leads import services
from leadflow.leads.errors import FieldErrors, LeadError
from leadflow.leads.models import Company, EventKind, Lead, Stage
from tests.conftest import make_lead


@pytest.mark.django_db
def test_new_person_becomes_a_lead_with_normalised_email_and_phone():
    result = services.record_lead(
        data={"first_name": " Ana ", "email": " Ana.Silva@EXAMPLE.Com ", "phone": "(415) 555-0132"},
        channel="manual",
    )
    lead = result.lead
    assert result.created is True
    assert lead.first_name == "Ana"
    assert lead.email == "Ana.Silva@example.com"
    assert lead.email_key == "ana.silva@example.com"
    assert lead.phone == "+14155550132"
    assert lead.stage == Stage.LEAD
    assert list(lead.events.values_list("kind", flat=True)) == [EventKind.CREATED]


@pytest.mark.django_db
def test_internationalised_domain_is_stored_idna_encoded():
    lead = services.record_lead(data={"email": "jo@Bücher.example"}).lead
    assert lead.email == "jo@xn--bcher-kva.example"


@pytest.mark.django_db
def test_same_email_in_other_case_updates_the_existing_lead():
    first = make_lead(email="sam@acme.example", title="")
    second = services.record_lead(data={"email": "SAM@acme.example", "title": "CTO", "source": "webinar"})
    assert second.created is False
    assert second.lead.pk == first.pk
    assert Lead.objects.count() == 1
    first.refresh_from_db()
    assert first.title == "CTO"
    assert first.source == "" and first.latest_source == "webinar"
    captured = first.events.get(kind=EventKind.CAPTURED)
    assert captured.data["changes"]["title"] == ["", "CTO"]


@pytest.mark.django_db
def test_blank_values_in_a_new_capture_never_erase_known_ones():
    lead = make_lead(email="kim@acme.example", phone="+442079460958", title="CEO")
    services.record_lead(data={"email": "kim@acme.example", "phone": "", "title": ""})
    lead.refresh_from_db()
    assert (lead.phone, lead.title) == ("+442079460958", "CEO")


@pytest.mark.django_db
def test_phone_only_capture_matches_the_lead_with_that_phone():
    lead = make_lead(email="", phone="+1 212 555 0100", first_name="Lee")
    result = services.record_lead(data={"phone": "212-555-0100", "email": "lee@x.example"})
    assert result.lead.pk == lead.pk
    assert result.lead.email == "lee@x.example"


@pytest.mark.django_db
def test_same_phone_with_another_email_is_a_separate_lead():
    make_lead(email="a@x.example", phone="+12125550100")
    result = services.record_lead(data={"email": "b@x.example", "phone": "+12125550100"})
    assert result.created is True
    assert Lead.objects.count() == 2


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("data", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "not a valid email"),
        ({"email": "a@b.example", "phone": "12"}, "phone", "phone number"),
        ({"first_name": "A\x00B"}, "first_name", "NUL byte"),
        ({"first_name": 42}, "first_name", "must be text"),
        ({"first_name": "x" * 151}, "first_name", "most allowed is 150"),
        ({"email": "a@b.example", "favourite": "x"}, "favourite", "not a field"),
        ({"title": "CEO"}, "email", "at least an email"),
        ({"email": "a@b.example", "custom": ["x"]}, "custom", "object"),
    ],
)
def test_bad_input_is_refused_with_a_message_for_the_field(data, field, message):
    with pytest.raises(FieldErrors) as caught:
        services.record_lead(data=data)
    assert message in caught.value.errors[field]
    assert Lead.objects.count() == 0


@pytest.mark.django_db
def test_script_in_a_name_is_stored_as_plain_text():
    lead = make_lead(first_name="<script>alert(1)</script>")
    assert lead.first_name == "<script>alert(1)</script>"


@pytest.mark.django_db
def test_rep_cannot_silently_update_a_lead_owned_by_another_team(alice, carol):
    make_lead(email="owned@acme.example", owner=alice)
    with pytest.raises(LeadError, match="belongs to someone else") as caught:
        services.record_lead(data={"email": "owned@acme.example", "title": "Hijacked"}, actor=carol)
    assert caught.value.code == "duplicate_not_visible"
    assert Lead.objects.get(email_key="owned@acme.example").title == ""


@pytest.mark.django_db
def test_work_email_domain_gives_one_company_per_domain():
    one = make_lead(email="a@acme.example", company_name="Acme")
    two = make_lead(email="b@acme.example", company_name="ACME Inc")
    free = make_lead(email="c@gmail.com", company_name="")
    assert one.company_id == two.company_id
    assert one.company.domain == "acme.example"
    assert free.company_id is None


@pytest.mark.django_db
def test_stage_change_with_a_nul_byte_in_the_reason_is_a_field_error(admin):
    lead = make_lead()
    with pytest.raises(FieldErrors, match="NUL byte"):
        services.change_stage(lead=lead, stage=Stage.MQL, actor=admin, reason="bad\x00reason")
    lead.refresh_from_db()
    assert lead.stage == Stage.LEAD


@pytest.mark.django_db
def test_erasure_reason_with_a_nul_byte_is_refused_and_nothing_is_erased(admin):
    lead = make_lead(email="keep@x.example")
    with pytest.raises(FieldErrors, match="NUL byte"):
        services.erase_lead(lead=lead, actor=admin, reason="x\x00")
    lead.refresh_from_db()
    assert lead.email == "keep@x.example"


@pytest.mark.django_db
def test_company_known_by_its_domain_but_unnamed_gets_the_captured_name():
    Company.objects.create(domain="acme.example", name="")
    lead = services.record_lead(data={"email": "ana@acme.example", "company_name": "Acme Labs"}).lead
    assert lead.company.name == "Acme Labs"
    assert Company.objects.get(domain="acme.example").name == "Acme Labs"


@pytest.mark.django_db
def test_free_mail_lead_joins_the_company_of_the_same_name_whatever_its_case():
    first = services.record_lead(data={"email": "ana@gmail.com", "company_name": "Acme Labs"}).lead
    second = services.record_lead(data={"email": "bo@gmail.com", "company_name": "ACME LABS"}).lead
    assert second.company_id == first.company_id
    assert Company.objects.filter(domain__isnull=True).count() == 1


def _event_kinds(lead: Lead) -> list[str]:
    return list(lead.events.order_by("id").values_list("kind", flat=True))


@pytest.mark.django_db(transaction=True)
def test_outside_any_transaction_a_new_person_gets_a_lead_and_its_created_event_together(admin):
    created = services.record_lead(
        data={"first_name": "Ana", "email": "ana@acme.example", "company_name": "Acme"}, actor=admin, channel="api"
    )
    again = services.record_lead(data={"email": "ANA@acme.example", "title": "CTO"}, actor=admin, channel="api")
    assert created.created is True
    assert again.created is False
    assert again.lead.pk == created.lead.pk
    stored = Lead.objects.get()
    assert stored.title == "CTO"
    assert stored.company.domain == "acme.example"
    assert _event_kinds(stored) == [EventKind.CREATED, EventKind.CAPTURED]
    event = stored.events.get(kind=EventKind.CREATED)
    assert event.actor == admin
    assert event.data["channel"] == "api"


@pytest.mark.skipif(
    connection.vendor == "sqlite" and connection.settings_dict["TEST"]["NAME"] in (None, ":memory:"),
    reason="in-memory SQLite's shared cache refuses concurrent writers instead of waiting",
)
@pytest.mark.django_db(transaction=True)
def test_the_same_new_person_sent_at_once_by_several_clients_becomes_one_lead():
    start = threading.Barrier(4)
    results: list[bool] = []

    def send(n: int) -> None:
        try:
            start.wait()
            results.append(services.record_lead(data={"email": "ana@acme.example", "title": f"T{n}"}).created)
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False, False, False, True]
    lead = Lead.objects.get()
    assert _event_kinds(lead) == [EventKind.CREATED, EventKind.CAPTURED, EventKind.CAPTURED, EventKind.CAPTURED]


@pytest.mark.django_db(transaction=True)
def test_a_new_person_is_checked_for_erasure_company_and_duplicates_with_one_statement(admin):
    Company.objects.create(domain="acme.example", name="Acme")
    data = {"first_name": "Ana", "email": "ana@acme.example", "phone": "+1 415 555 0100", "company_name": "Acme"}
    with CaptureQueriesContext(connection) as queries:
        created = services.record_lead(data=data, actor=admin, channel="api")
    assert created.created is True
    assert created.lead.company.domain == "acme.example"
    statements = [query["sql"] for query in queries]
    look_ups = [sql for sql in statements if "leads_erasedidentity" in sql]
    assert len(look_ups) == 1
    assert "leads_company" in look_ups[0]
    assert not any("leads_company" in sql for sql in statements if sql not in look_ups)
    if connection.vendor == "postgresql":
        # The look-up also finds no lead of the person; the lead and its event go in with one more.
        assert "leads_lead" in look_ups[0]
        assert len(statements) == 2


@pytest.mark.django_db(transaction=True)
def test_an_erased_person_is_refused_and_no_company_is_made_for_them(admin):
    erased = services.record_lead(data={"email": "gone@newco.example"}, actor=admin).lead
    services.erase_lead(lead=erased, actor=admin, reason="asked to be forgotten")
    companies = Company.objects.count()
    with pytest.raises(LeadError) as refused:
        services.record_lead(data={"email": "GONE@newco.example", "company_name": "Newco"}, actor=admin)
    assert refused.value.code == "erased_person"
    assert Company.objects.count() == companies
    assert not Lead.objects.filter(email_key="gone@newco.example", status="active").exists()
