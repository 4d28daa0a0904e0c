"""The routing pages through the test client: inbox, handovers, tasks, claim, notifications, rules."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from leadflow.leads.models import EventKind, Lead
from leadflow.routing import services
from leadflow.routing.models import AssignmentRule, Availability, Handover, Notification, Task, TeamSchedule
from tests.conftest import PASSWORD, make_lead
from tests.routing.conftest import make_rule

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def signed_in(client, user):
    client.login(username=user.username, password=PASSWORD)
    return client


def routed_mql(rep, **fields):
    make_rule(name="MQLs", stages=["mql"], target_user=rep, touch_minutes=30)
    lead = make_lead(stage="mql", **fields)
    services.route_lead(lead_id=lead.pk, trigger="mql")
    return Lead.objects.get(pk=lead.pk), Handover.objects.get(lead=lead)


def test_inbox_lists_overdue_first_then_due_soonest_then_score(client, alice):
    now = timezone.now()
    hot = make_lead(owner=alice, first_name="Hot")
    soon = make_lead(owner=alice, first_name="Soon")
    late = make_lead(owner=alice, first_name="Late", phone="+14155550123")
    Lead.objects.filter(pk=hot.pk).update(score=90)
    Lead.objects.filter(pk=soon.pk).update(assigned_at=now, touch_due_at=now + timedelta(minutes=20), score=10)
    Lead.objects.filter(pk=late.pk).update(assigned_at=now, touch_due_at=now - timedelta(minutes=5), score=5)
    page = signed_in(client, alice).get("/inbox/").content.decode()
    assert page.index("Late Lead") < page.index("Soon Lead") < page.index("Hot Lead")
    assert "First touch overdue by 5" in page
    assert "First touch due in 19" in page or "First touch due in 20" in page
    assert 'href="tel:+14155550123"' in page
    assert f'href="mailto:{late.email}"' in page
    assert "Score 90" in page
    assert 'id="count-overdue">1<' in page and 'id="count-never-touched">2<' in page


def test_logging_a_call_from_the_inbox_touches_the_lead_and_adds_the_next_step(client, alice):
    make_rule(name="Alice", target_user=alice)
    lead = make_lead()
    services.route_lead(lead_id=lead.pk, trigger="created")
    response = signed_in(client, alice).post(
        f"/inbox/{lead.pk}/call/",
        {"outcome": "no_answer", "notes": "Rang twice", "next_kind": "call", "next_due": "2030-01-07T10:00"},
        **HTMX,
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert body.strip().startswith(f'<li class="inbox-row" id="inbox-row-{lead.pk}"')
    assert "Call logged: no answer" in body
    lead.refresh_from_db()
    assert lead.first_touched_at is not None
    assert lead.events.filter(kind=EventKind.CALL, data__outcome="no_answer").count() == 1
    task = Task.objects.get(lead=lead)
    assert (task.kind, task.assignee, task.due_at.year) == ("call", alice, 2030)
    assert lead.events.filter(kind=EventKind.TASK_CREATED).count() == 1


def test_accepting_a_handover_shows_the_gates_missing_fields(client, alice):
    lead, handover = routed_mql(alice)
    response = signed_in(client, alice).post(f"/handovers/{handover.pk}/accept/", **HTMX)
    body = response.content.decode()
    assert "must be known before this lead can become an SQL" in body
    assert "Budget" in body
    handover.refresh_from_db()
    assert handover.status == "pending"
    assert Lead.objects.get(pk=lead.pk).stage == "mql"


def test_accepting_a_qualified_handover_makes_an_sql(client, alice):
    lead, handover = routed_mql(
        alice, budget="approved", authority="decision_maker", need="high", purchase_timeline="month"
    )
    response = signed_in(client, alice).post(f"/handovers/{handover.pk}/accept/", **HTMX)
    assert "accepted, now an SQL" in response.content.decode()
    handover.refresh_from_db()
    assert (handover.status, handover.decided_by) == ("accepted", alice)
    assert handover.decided_at is not None
    lead.refresh_from_db()
    assert lead.stage == "sql"
    assert lead.events.filter(kind=EventKind.HANDOVER_ACCEPTED, actor=alice).count() == 1


def test_sending_a_handover_back_needs_a_reason_and_recycles(client, alice):
    lead, handover = routed_mql(alice)
    client = signed_in(client, alice)
    empty = client.post(f"/handovers/{handover.pk}/reject/", {"reason": ""}, **HTMX)
    assert "Say why the lead is not ready" in empty.content.decode()
    client.post(f"/handovers/{handover.pk}/reject/", {"reason": "Student, no budget"}, **HTMX)
    handover.refresh_from_db()
    assert (handover.status, handover.reason, handover.decided_by) == ("rejected", "Student, no budget", alice)
    lead.refresh_from_db()
    assert lead.stage == "recycled" and lead.stage_reason == "Student, no budget"
    event = lead.events.get(kind=EventKind.HANDOVER_REJECTED)
    assert event.data["reason"] == "Student, no budget"


def test_inbox_shows_pending_handovers_on_top_and_the_lead_card_too(client, alice):
    lead, handover = routed_mql(alice, first_name="Mira")
    client = signed_in(client, alice)
    page = client.get("/inbox/").content.decode()
    assert page.index("Handed over to you") < page.index("Who to contact next")
    assert handover.note in page
    card = client.get(f"/leads/{lead.pk}/panel/").content.decode()
    assert "Accept as SQL" in card and "First touch due" in card


def test_claim_button_and_the_second_claim_is_told_who_won(client, alice, bob, east):
    lead = make_lead(team=east)
    card = signed_in(client, alice).get(f"/leads/{lead.pk}/panel/").content.decode()
    assert "Claim" in card
    services.claim_lead(lead=lead, actor=bob)
    response = client.post(f"/leads/{lead.pk}/claim/", **HTMX)
    assert response.status_code == 404
    response = signed_in(client, bob).post(f"/leads/{lead.pk}/claim/", **HTMX)
    assert "You claimed this lead a moment ago." in response.content.decode()


def test_claim_through_the_page_answers_with_the_winner(client, alice, bob, east, manager):
    lead = make_lead(team=east)
    signed_in(client, bob).post(f"/leads/{lead.pk}/claim/", **HTMX)
    assert Lead.objects.get(pk=lead.pk).owner == bob
    response = signed_in(client, manager).post(f"/leads/{lead.pk}/claim/", **HTMX)
    assert "Bob claimed this lead a moment ago." in response.content.decode()


def test_tasks_on_the_lead_card_and_my_tasks(client, alice):
    lead = make_lead(owner=alice, first_name="Tess")
    client = signed_in(client, alice)
    past = (timezone.localtime() - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M")
    client.post(f"/leads/{lead.pk}/tasks/", {"kind": "email", "title": "Send the price list", "due_at": past}, **HTMX)
    client.post(f"/leads/{lead.pk}/tasks/", {"kind": "todo", "title": "Check the website"}, **HTMX)
    page = client.get("/tasks/").content.decode()
    assert page.index("Overdue") < page.index("Send the price list") < page.index("Upcoming")
    assert page.index("Upcoming") < page.index("Check the website")
    task = Task.objects.get(title="Send the price list")
    client.post(f"/tasks/{task.pk}/complete/", {"from": "tasks"})
    task.refresh_from_db()
    assert task.completed_by == alice
    assert "Done in the last 7 days" in client.get("/tasks/").content.decode()
    assert lead.events.filter(kind=EventKind.TASK_COMPLETED).count() == 1


def test_notifications_page_counts_unread_and_marks_read(client, alice, bob):
    services.notify(user=alice, subject="New lead assigned: Ana", body="Call her.")
    services.notify(user=bob, subject="Not for Alice", body="")
    client = signed_in(client, alice)
    page = client.get("/notifications/").content.decode()
    assert "1 unread" in page and "New lead assigned: Ana" in page and "Not for Alice" not in page
    client.post("/notifications/")
    assert Notification.objects.get(user=alice).read_at is not None
    assert Notification.objects.get(user=bob).read_at is None


def test_reps_may_not_manage_rules(client, alice):
    assert signed_in(client, alice).get("/routing/rules/").status_code == 403
    assert client.get("/routing/team/").status_code == 403


def test_manager_adds_orders_and_dry_runs_rules(client, manager, alice, east):
    client = signed_in(client, manager)
    response = client.post(
        "/routing/rules/",
        {"name": "DACH", "countries": "de, at", "target_user": alice.pk, "touch_minutes": 15, "is_active": "on"},
    )
    assert response.status_code == 302
    client.post("/routing/rules/", {"name": "Rest", "target_team": east.pk, "touch_minutes": 60, "is_active": "on"})
    dach, rest = AssignmentRule.objects.order_by("position")
    assert dach.countries == ["DE", "AT"]
    client.post(f"/routing/rules/{rest.pk}/move/", {"direction": "up"})
    assert list(AssignmentRule.objects.order_by("position").values_list("name", flat=True)) == ["Rest", "DACH"]
    lead = make_lead(first_name="Dieter", country="DE", team=east)
    results = client.get("/routing/rules/dry-run/", {"q": "Dieter"}).content.decode()
    assert "Dieter" in results
    verdict = client.get("/routing/rules/dry-run/", {"lead": lead.pk}).content.decode()
    assert "Rule <strong>“Rest”</strong> matches" in verdict
    assert Lead.objects.get(pk=lead.pk).owner is None


def test_rule_needs_exactly_one_target(client, manager, alice, east):
    response = signed_in(client, manager).post(
        "/routing/rules/", {"name": "Both", "target_user": alice.pk, "target_team": east.pk, "touch_minutes": 5}
    )
    assert response.status_code == 422
    assert "Pick either one person or a team" in response.content.decode()


def test_rules_page_lists_the_unrouted_queue(client, admin):
    lead = make_lead(first_name="Nobody")
    services.route_lead(lead_id=lead.pk, trigger="created")
    page = signed_in(client, admin).get("/routing/rules/").content.decode()
    assert "Nobody Lead" in page and "No rule matched." in page


def test_team_view_counts_and_edits_availability_and_hours(client, manager, alice, east):
    lead = make_lead(owner=alice)
    Lead.objects.filter(pk=lead.pk).update(assigned_at=timezone.now(), touch_due_at=timezone.now() - timedelta(hours=1))
    client = signed_in(client, manager)
    page = client.get("/routing/team/").content.decode()
    assert 'id="team-overdue">1<' in page and 'id="team-never-touched">1<' in page
    client.post(
        f"/routing/team/availability/{alice.pk}/",
        {f"a{alice.pk}-capacity": "5", f"a{alice.pk}-weight": "2", f"a{alice.pk}-out_until": "2030-01-02T09:00"},
    )
    availability = Availability.objects.get(user=alice)
    assert (availability.capacity, availability.weight, availability.out_until.year) == (5, 2, 2030)
    form = {f"t{east.pk}-time_zone": "Europe/Berlin", f"t{east.pk}-open_0": "08:00", f"t{east.pk}-close_0": "16:00"}
    client.post(f"/routing/team/schedule/{east.pk}/", form)
    schedule = TeamSchedule.objects.get(team=east)
    assert schedule.time_zone == "Europe/Berlin"
    assert schedule.hours == [["08:00", "16:00"], None, None, None, None, None, None]


def test_outsider_sees_nothing_of_another_teams_lead(client, carol, alice):
    lead = make_lead(owner=alice)
    task = services.create_task(lead=lead, kind="call", title="Call", actor=alice)
    client = signed_in(client, carol)
    assert client.get(f"/leads/{lead.pk}/panel/").status_code == 404
    assert client.post(f"/leads/{lead.pk}/claim/").status_code == 404
    assert client.post(f"/inbox/{lead.pk}/call/", {"outcome": "connected"}).status_code == 404
    assert client.post(f"/tasks/{task.pk}/complete/").status_code == 404
    assert client.post(f"/leads/{lead.pk}/tasks/", {"kind": "todo", "title": "x"}).status_code == 404


def test_pages_need_sign_in(client):
    for url in ("/inbox/", "/tasks/", "/notifications/", "/routing/rules/", "/routing/team/"):
        assert client.get(url).status_code == 302
