import pytest

from leadflow.leads import services
from leadflow.leads.errors import FieldErrors, LeadError
from leadflow.leads.models import EventKind, Lead, LeadMerge, LeadStatus, Stage, TimelineEvent
from leadflow.leads.services.merge import MERGE_FIELDS, default_choices
from tests.conftest import make_lead
from tests.leads.qualified import QUALIFIED

pytestmark = pytest.mark.django_db


def kinds(lead: Lead) -> list[str]:
    return list(TimelineEvent.objects.filter(lead=lead).order_by("id").values_list("kind", flat=True))


def event_ids(lead: Lead) -> set[int]:
    return set(TimelineEvent.objects.filter(lead=lead).values_list("id", flat=True))


@pytest.fixture
def pair(alice, bob):
    winner = make_lead(
        owner=alice, first_name="Dana", last_name="Scully", email="dana@fbi.example", title="", phone="+12025550101"
    )
    loser = make_lead(
        owner=bob,
        first_name="Dana K.",
        last_name="Scully",
        email="dscully@home.example",
        title="Special Agent",
        phone="",
        custom={"badge": "2317616", "team": "X-Files"},
    )
    services.add_note(lead=loser, text="Prefers calls in the morning.", actor=bob)
    return winner, loser


def test_default_choices_keep_the_winner_except_where_it_has_nothing(pair):
    winner, loser = pair
    choices = default_choices(winner, loser)
    assert set(choices) == set(MERGE_FIELDS)
    assert choices["first_name"] == "winner"
    assert choices["email"] == "winner"
    assert choices["title"] == "loser"
    assert choices["phone"] == "winner"


def test_merge_takes_values_field_by_field_and_joins_the_timelines(pair, admin):
    winner, loser = pair
    loser_events = event_ids(loser)
    merge = services.merge_leads(
        winner=winner, loser=loser, actor=admin, choices={"first_name": "loser", "owner_id": "loser"}
    )
    winner.refresh_from_db()
    loser.refresh_from_db()
    assert winner.first_name == "Dana K."
    assert winner.email == "dana@fbi.example"
    assert winner.title == "Special Agent"
    assert winner.phone == "+12025550101"
    assert winner.owner_id == loser.owner_id
    assert winner.custom == {"badge": "2317616", "team": "X-Files"}
    assert loser.status == LeadStatus.MERGED
    assert loser.merged_into_id == winner.pk
    assert loser.email_key is None
    assert loser_events <= event_ids(winner)
    assert "note" in kinds(winner)
    kept = TimelineEvent.objects.get(lead=winner, kind=EventKind.MERGED)
    assert kept.data["merge_id"] == merge.pk
    assert kept.data["other_lead"] == loser.pk
    assert set(kept.data["taken"]) == {"first_name", "title", "owner_id"}
    assert kinds(loser) == [EventKind.MERGED]


def test_merge_refuses_bad_choices_and_the_same_lead(pair, admin):
    winner, loser = pair
    with pytest.raises(FieldErrors, match="must be 'winner' or 'loser'"):
        services.merge_leads(winner=winner, loser=loser, actor=admin, choices={"score": "loser"})
    with pytest.raises(LeadError, match="cannot be merged with itself"):
        services.merge_leads(winner=winner, loser=winner, actor=admin)
    assert Lead.objects.get(pk=loser.pk).status == LeadStatus.ACTIVE


def test_merged_lead_cannot_be_merged_again(pair, admin):
    winner, loser = pair
    services.merge_leads(winner=winner, loser=loser, actor=admin)
    third = make_lead()
    with pytest.raises(LeadError, match="must be live"):
        services.merge_leads(winner=third, loser=Lead.objects.get(pk=loser.pk), actor=admin)


def test_undo_restores_both_leads_and_their_events(pair, admin):
    winner, loser = pair
    before_winner = {name: getattr(winner, name) for name in ("first_name", "title", "owner_id", "custom", "email")}
    before_loser = {name: getattr(loser, name) for name in ("first_name", "title", "owner_id", "custom", "email")}
    winner_events, loser_events = event_ids(winner), event_ids(loser)
    merge = services.merge_leads(winner=winner, loser=loser, actor=admin, choices={"first_name": "loser"})
    services.undo_merge(merge=merge, actor=admin)
    winner.refresh_from_db()
    loser.refresh_from_db()
    assert {name: getattr(winner, name) for name in before_winner} == before_winner
    assert {name: getattr(loser, name) for name in before_loser} == before_loser
    assert loser.status == LeadStatus.ACTIVE
    assert loser.merged_into_id is None
    assert loser.email_key == "dscully@home.example"
    assert loser_events <= event_ids(loser)
    assert not loser_events & event_ids(winner)
    assert winner_events <= event_ids(winner)
    assert kinds(winner)[-2:] == [EventKind.MERGED, EventKind.MERGE_UNDONE]
    assert kinds(loser)[-2:] == [EventKind.MERGED, EventKind.MERGE_UNDONE]
    merge.refresh_from_db()
    assert merge.undone_at is not None
    assert merge.undone_by == admin


def test_undo_keeps_values_changed_after_the_merge(pair, admin, alice):
    winner, loser = pair
    merge = services.merge_leads(winner=winner, loser=loser, actor=admin)
    services.update_lead(lead=winner, changes={"title": "Director"}, actor=alice, expected={"title": "Special Agent"})
    services.update_lead(lead=winner, changes={"last_name": "Mulder"}, actor=alice, expected={"last_name": "Scully"})
    services.update_lead(lead=winner, changes=QUALIFIED, actor=alice)
    services.change_stage(lead=winner, stage=Stage.SQL, actor=alice)
    note = services.add_note(lead=winner, text="Called after the merge.", actor=alice)
    services.undo_merge(merge=merge, actor=admin)
    winner.refresh_from_db()
    loser.refresh_from_db()
    assert winner.title == "Director"
    assert winner.last_name == "Mulder"
    assert winner.stage == Stage.SQL
    assert winner.custom == {}
    assert loser.title == "Special Agent"
    assert TimelineEvent.objects.get(pk=note.pk).lead_id == winner.pk
    undone = TimelineEvent.objects.get(lead=winner, kind=EventKind.MERGE_UNDONE)
    assert undone.data["kept_since"] == ["title"]


def test_undo_is_refused_after_a_later_merge_into_the_same_lead(pair, admin):
    winner, loser = pair
    first = services.merge_leads(winner=winner, loser=loser, actor=admin)
    second = services.merge_leads(winner=winner, loser=make_lead(), actor=admin)
    with pytest.raises(LeadError, match="undo that merge first") as caught:
        services.undo_merge(merge=first, actor=admin)
    assert caught.value.code == "later_merge"
    assert Lead.objects.get(pk=loser.pk).status == LeadStatus.MERGED
    services.undo_merge(merge=second, actor=admin)
    services.undo_merge(merge=first, actor=admin)
    assert Lead.objects.get(pk=loser.pk).status == LeadStatus.ACTIVE


def test_undo_twice_is_refused(pair, admin):
    winner, loser = pair
    merge = services.merge_leads(winner=winner, loser=loser, actor=admin)
    services.undo_merge(merge=merge, actor=admin)
    with pytest.raises(LeadError, match="already undone"):
        services.undo_merge(merge=merge, actor=admin)


def test_undo_after_the_winner_was_merged_away_is_refused(pair, admin):
    winner, loser = pair
    merge = services.merge_leads(winner=winner, loser=loser, actor=admin)
    services.merge_leads(winner=make_lead(), loser=Lead.objects.get(pk=winner.pk), actor=admin)
    with pytest.raises(LeadError, match="can no longer be undone"):
        services.undo_merge(merge=merge, actor=admin)


def test_undo_chain_unwinds_in_reverse_order(admin):
    a, b, c = make_lead(first_name="A"), make_lead(first_name="B"), make_lead(first_name="C")
    a_events = event_ids(a)
    into_b = services.merge_leads(winner=b, loser=a, actor=admin)
    into_c = services.merge_leads(winner=c, loser=Lead.objects.get(pk=b.pk), actor=admin)
    assert a_events <= event_ids(c)
    services.undo_merge(merge=into_c, actor=admin)
    services.undo_merge(merge=LeadMerge.objects.get(pk=into_b.pk), actor=admin)
    assert a_events <= event_ids(a)
    assert Lead.objects.filter(pk__in=[a.pk, b.pk, c.pk], status=LeadStatus.ACTIVE).count() == 3


def test_undo_is_refused_when_the_losers_email_was_taken_meanwhile(pair, admin, alice):
    winner, loser = pair
    merge = services.merge_leads(winner=winner, loser=loser, actor=admin)
    services.update_lead(
        lead=winner, changes={"email": "dscully@home.example"}, actor=alice, expected={"email": "dana@fbi.example"}
    )
    with pytest.raises(LeadError, match="Another lead now has the email") as caught:
        services.undo_merge(merge=merge, actor=admin)
    assert caught.value.code == "undo_conflict"
    assert Lead.objects.get(pk=loser.pk).status == LeadStatus.MERGED
    assert LeadMerge.objects.get(pk=merge.pk).undone_at is None


def test_undo_is_refused_when_the_winners_old_email_was_taken_meanwhile(pair, admin):
    winner, loser = pair
    merge = services.merge_leads(winner=winner, loser=loser, actor=admin, choices={"email": "loser"})
    newcomer = services.record_lead(data={"email": "dana@fbi.example", "first_name": "New"}).lead
    assert newcomer.pk not in (winner.pk, loser.pk)
    with pytest.raises(LeadError, match="Another lead now has the email") as caught:
        services.undo_merge(merge=merge, actor=admin)
    assert caught.value.code == "undo_conflict"
    winner.refresh_from_db()
    assert winner.email == "dscully@home.example"
    assert LeadMerge.objects.get(pk=merge.pk).undone_at is None


def test_merge_takes_the_other_leads_known_answers_and_undo_gives_them_back(admin, alice, bob):
    winner = make_lead(owner=alice, email="fox@fbi.example", budget="approved", country="US")
    loser = make_lead(owner=bob, email="fox@home.example", budget="none", need="high", budget_amount="1500")
    choices = default_choices(winner, loser)
    assert (choices["budget"], choices["need"], choices["budget_amount"], choices["country"]) == (
        "winner",
        "loser",
        "loser",
        "winner",
    )
    merge = services.merge_leads(winner=winner, loser=loser, actor=admin)
    winner.refresh_from_db()
    assert (winner.budget, winner.need, str(winner.budget_amount), winner.country) == (
        "approved",
        "high",
        "1500.00",
        "US",
    )
    services.undo_merge(merge=merge, actor=admin)
    winner.refresh_from_db()
    loser.refresh_from_db()
    assert (winner.need, winner.budget_amount) == ("unknown", None)
    assert (loser.budget, loser.need, str(loser.budget_amount)) == ("none", "high", "1500.00")
