import pytest

from leadflow.accounts.models import Role
from leadflow.accounts.services import create_user
from leadflow.leads.models import Lead
from tests.conftest import make_lead


@pytest.fixture
def world(alice, bob, carol, manager, admin, marketing, east, west):
    return {
        "alice_own": make_lead(owner=alice),
        "bob_own": make_lead(owner=bob),
        "east_queue": make_lead(team=east),
        "carol_own": make_lead(owner=carol),
        "west_queue": make_lead(team=west),
        "nobody": make_lead(),
    }


def visible(user) -> set[int]:
    """The leads `user` sees, the same whether the rule is written for a sorted page or not."""
    plain = set(Lead.objects.visible_to(user).values_list("pk", flat=True))
    walked = Lead.objects.visible_to(user, sorted_walk=True).order_by("-created_at", "-id")
    assert set(walked.values_list("pk", flat=True)) == plain
    return plain


def ids(world, *names) -> set[int]:
    return {world[name].pk for name in names}


def test_rep_sees_own_leads_and_team_queue_only(world, alice):
    assert visible(alice) == ids(world, "alice_own", "east_queue")


def test_rep_on_another_team_sees_nothing_of_east(world, carol):
    assert visible(carol) == ids(world, "carol_own", "west_queue")


def test_rep_without_a_team_sees_only_their_own_leads(world):
    loner = create_user(username="loner", password="x" * 12, role=Role.REP)
    own = make_lead(owner=loner)
    assert visible(loner) == {own.pk}


def test_manager_sees_their_teams_leads(world, manager):
    assert visible(manager) == ids(world, "alice_own", "bob_own", "east_queue")


@pytest.mark.parametrize("persona", ["admin", "marketing"])
def test_admin_and_marketing_see_every_lead(world, persona, request):
    assert visible(request.getfixturevalue(persona)) == {lead.pk for lead in world.values()}


def test_inactive_user_sees_nothing(world, alice):
    alice.is_active = False
    alice.save()
    assert visible(alice) == set()


def test_merged_and_erased_leads_drop_out_of_lists(world, admin):
    from leadflow.leads import services

    services.merge_leads(winner=world["alice_own"], loser=world["bob_own"], actor=admin)
    services.erase_lead(lead=world["nobody"], actor=admin)
    assert world["bob_own"].pk not in visible(admin)
    assert world["nobody"].pk not in visible(admin)
