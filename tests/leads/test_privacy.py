import json

import pytest
from django.utils import timezone

from leadflow.leads import services
from leadflow.leads.errors import LeadError
from leadflow.leads.models import EventKind, Lead, LeadMerge, LeadStatus, TimelineEvent
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db

PERSONAL = ("Fox", "Mulder", "fox@spooky.example", "+12025550147", "Sunflower seeds", "I want to believe")


@pytest.fixture
def fox(alice):
    lead = make_lead(
        owner=alice,
        first_name="Fox",
        last_name="Mulder",
        email="fox@spooky.example",
        phone="+1 202 555 0147",
        title="Agent",
        company_name="FBI",
        landing_page="https://shop.example/?email=fox@spooky.example",
        custom={"snack": "Sunflower seeds"},
    )
    services.add_note(lead=lead, text="I want to believe", actor=alice)
    services.log_call(
        lead=lead, outcome="connected", duration_seconds=300, notes="Talked about Fox's case", actor=alice
    )
    return lead


def stored_text(lead: Lead) -> str:
    row = Lead.objects.filter(pk=lead.pk).values().get()
    events = list(TimelineEvent.objects.filter(lead_id=lead.pk).values_list("data", flat=True))
    return json.dumps([row, events], default=str)


def test_export_holds_the_lead_its_timeline_and_is_plain_json(fox, alice):
    data = services.export_lead_data(lead=fox, actor=alice)
    text = json.dumps(data)
    assert data["lead"]["email"] == "fox@spooky.example"
    assert data["lead"]["custom"] == {"snack": "Sunflower seeds"}
    assert data["company"] == {"name": "FBI", "domain": "spooky.example"}
    assert data["owner"] == "Alice"
    assert [event["kind"] for event in data["timeline"]] == [EventKind.CREATED, EventKind.NOTE, EventKind.CALL]
    assert "I want to believe" in text
    assert TimelineEvent.objects.filter(lead=fox, kind=EventKind.EXPORTED).count() == 1


def test_export_lists_leads_merged_into_this_one(fox, admin):
    other = make_lead(email="fox.mulder@home.example")
    services.merge_leads(winner=fox, loser=other, actor=admin)
    data = services.export_lead_data(lead=Lead.objects.get(pk=fox.pk), actor=admin)
    assert data["merged_from"] == [other.pk]
    assert EventKind.MERGED in [event["kind"] for event in data["timeline"]]


def test_erase_removes_personal_data_from_the_lead_and_its_events(fox, admin):
    services.erase_lead(lead=fox, actor=admin, reason="Asked by email")
    fox.refresh_from_db()
    text = stored_text(fox)
    for value in PERSONAL:
        assert value not in text
    assert fox.status == LeadStatus.ERASED
    assert fox.erased_at is not None
    assert fox.email_key is None
    assert fox.company is None
    assert fox.display_name == f"Erased lead #{fox.pk}"


def test_erase_keeps_the_counts(fox, admin):
    leads, events = Lead.objects.count(), TimelineEvent.objects.count()
    kinds = list(TimelineEvent.objects.filter(lead=fox).values_list("kind", flat=True))
    services.erase_lead(lead=fox, actor=admin)
    assert Lead.objects.count() == leads
    assert TimelineEvent.objects.count() == events + 1
    assert (
        list(TimelineEvent.objects.filter(lead=fox).exclude(kind=EventKind.ERASED).values_list("kind", flat=True))
        == kinds
    )


def test_erased_person_is_not_brought_back_by_email_or_phone(fox, admin):
    services.erase_lead(lead=fox, actor=admin)
    with pytest.raises(LeadError, match="asked for their data to be erased") as by_email:
        services.record_lead(data={"email": "FOX@spooky.example", "first_name": "Fox"})
    assert by_email.value.code == "erased_person"
    with pytest.raises(LeadError) as by_phone:
        services.record_lead(data={"phone": "(202) 555-0147"})
    assert by_phone.value.code == "erased_person"
    assert services.is_erased_identity(email="fox@spooky.example") is True
    assert services.is_erased_identity(email="dana@fbi.example") is False
    assert Lead.objects.filter(status=LeadStatus.ACTIVE, email_key="fox@spooky.example").exists() is False


def test_erase_twice_is_refused(fox, admin):
    services.erase_lead(lead=fox, actor=admin)
    with pytest.raises(LeadError, match="already erased"):
        services.erase_lead(lead=Lead.objects.get(pk=fox.pk), actor=admin)


def test_erase_takes_leads_merged_into_it_and_the_merge_snapshots(fox, admin):
    other = make_lead(first_name="Fox", last_name="Mulder", email="fox.mulder@home.example", phone="+12025550199")
    merge = services.merge_leads(winner=fox, loser=other, actor=admin)
    services.erase_lead(lead=Lead.objects.get(pk=fox.pk), actor=admin)
    other.refresh_from_db()
    assert other.status == LeadStatus.ERASED
    assert "fox.mulder@home.example" not in stored_text(other)
    merge.refresh_from_db()
    assert (merge.winner_before, merge.winner_after, merge.loser_before) == ({}, {}, {})
    assert services.is_erased_identity(email="fox.mulder@home.example") is True
    with pytest.raises(LeadError, match="can no longer be undone"):
        services.undo_merge(merge=merge, actor=admin)


def test_erase_after_an_undone_merge_leaves_nothing_of_the_person_with_the_other_lead(fox, admin):
    other = make_lead(first_name="Walter", last_name="Skinner", email="walter@fbi.example")
    merge = services.merge_leads(winner=other, loser=fox, actor=admin, choices={"title": "loser"})
    services.undo_merge(merge=merge, actor=admin)
    services.erase_lead(lead=Lead.objects.get(pk=fox.pk), actor=admin)
    merge.refresh_from_db()
    snapshots = json.dumps([merge.winner_before, merge.winner_after, merge.loser_before])
    assert "fox@spooky.example" not in snapshots
    other_events = json.dumps(list(TimelineEvent.objects.filter(lead=other).values_list("data", flat=True)))
    for value in ("Fox", "Mulder", "fox@spooky.example"):
        assert value not in other_events
    assert Lead.objects.get(pk=other.pk).first_name == "Walter"


def test_merge_record_survives_erasure_for_counting(fox, admin):
    other = make_lead()
    services.merge_leads(winner=fox, loser=other, actor=admin)
    services.erase_lead(lead=Lead.objects.get(pk=fox.pk), actor=admin)
    assert LeadMerge.objects.filter(winner=fox, loser=other).count() == 1


def test_erasing_a_lead_removes_its_website_visits(admin):
    from leadflow.tracking.models import PageView, Site, Visitor

    lead = make_lead(email="visited@x.example")
    site = Site.objects.create(name="Shop", origins="https://shop.example")
    visitor = Visitor.objects.create(key="v-erase-1", lead=lead)
    PageView.objects.create(
        site=site, visitor=visitor, session_key="s1", url="https://shop.example/pricing", occurred_at=timezone.now()
    )
    services.erase_lead(lead=lead, actor=admin)
    assert PageView.objects.filter(visitor__key="v-erase-1").exists() is False
    assert Visitor.objects.filter(key="v-erase-1").exists() is False
