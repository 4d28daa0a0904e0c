"""Every role x every lead endpoint x own and other leads: what a user cannot see is a 404 that changes nothing."""

import pytest

from leadflow.integrations.models import IdempotencyRecord
from tests.api.conftest import as_user, problem, snapshot
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db

SEES = {
    "admin": {"alice_own", "bob_own", "east_queue", "carol_own", "west_queue", "nobody"},
    "marketing": {"alice_own", "bob_own", "east_queue", "carol_own", "west_queue", "nobody"},
    "manager": {"alice_own", "bob_own", "east_queue"},
    "alice": {"alice_own", "east_queue"},
    "bob": {"bob_own", "east_queue"},
    "carol": {"carol_own", "west_queue"},
}


def _call(client, user, endpoint: str, lead_id: int, key: str, other_id: int | None):
    headers = {"Idempotency-Key": key}
    match endpoint:
        case "read":
            return client.get(f"/leads/{lead_id}")
        case "update":
            return client.patch(f"/leads/{lead_id}", {"title": "Changed"}, headers={"If-Match": "*", **headers})
        case "timeline":
            return client.get(f"/leads/{lead_id}/timeline")
        case "note":
            return client.post(f"/leads/{lead_id}/notes", {"text": "hi"}, headers=headers)
        case "call":
            return client.post(f"/leads/{lead_id}/calls", {"outcome": "busy"}, headers=headers)
        case "stage":
            return client.post(f"/leads/{lead_id}/stage", {"stage": "mql"}, headers=headers)
        case "owner":
            return client.post(f"/leads/{lead_id}/owner", {"owner_id": user.pk}, headers=headers)
        case "merge":
            return client.post(f"/leads/{lead_id}/merge", {"other_id": other_id}, headers=headers)
        case "export":
            return client.get(f"/leads/{lead_id}/export")
        case "erase":
            return client.post(f"/leads/{lead_id}/erase", {}, headers=headers)
    raise AssertionError(endpoint)


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


@pytest.mark.parametrize("persona", list(SEES))
@pytest.mark.parametrize(
    "endpoint", ["read", "update", "timeline", "note", "call", "stage", "owner", "merge", "export", "erase"]
)
def test_user_reaches_exactly_the_leads_they_may_see(request, world, persona, endpoint):
    user = request.getfixturevalue(persona)
    client = as_user(user)
    for name, lead in world.items():
        other_id = make_lead(owner=user).pk if endpoint == "merge" else None
        before = snapshot(lead)
        response = _call(client, user, endpoint, lead.pk, key=f"{endpoint}-{name}", other_id=other_id)
        if endpoint == "erase" and not user.is_admin:
            problem(response, 403, "admin_only")
            assert snapshot(lead) == before
        elif name in SEES[persona]:
            assert response.status_code in {200, 201}, (name, response.content)
        else:
            body = problem(response, 404, "not_found")
            assert str(lead.pk) in body["detail"]
            assert snapshot(lead) == before, name
    assert IdempotencyRecord.objects.filter(status_code__isnull=True).count() == 0
