"""The Qualification card, the new profile fields, the stage control and the qualification settings page."""

import pytest

from leadflow.leads import services
from leadflow.leads.errors import FieldErrors
from leadflow.leads.models import BulkJob, DisqualifyReason, EventKind, JobStatus, Lead, QualificationGate, Stage
from leadflow.leads.services import bulk
from tests.conftest import make_lead
from tests.leads.qualified import QUALIFIED

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def lead(alice):
    return make_lead(owner=alice, first_name="Dana", last_name="Scully", email="dana@fbi.example")


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


def text(response) -> str:
    return response.content.decode()


def edit(client, lead, name: str, value: str, seen: str = "") -> str:
    return text(client.post(f"/leads/{lead.pk}/field/{name}/", {"value": value, "seen": seen}, **HTMX))


# The Qualification card


def test_card_lists_what_is_missing_before_sql(as_alice, lead):
    body = text(as_alice.get(f"/leads/{lead.pk}/"))
    assert '<h2 id="qualification-title">Qualification</h2>' in body
    assert "Budget, authority, need and timeline must be known before this lead can become an SQL." in body
    assert body.index("qualification-title") < body.index("<h2>Profile</h2>"), "the card sits near the top"
    assert "SQL (needs budget, authority, need, timeline)" in body


def test_card_says_ready_when_the_gate_passes(as_alice, alice, lead):
    services.update_lead(lead=lead, changes=QUALIFIED, actor=alice)
    body = text(as_alice.get(f"/leads/{lead.pk}/"))
    assert "Ready for SQL" in body
    assert "must be known" not in body
    assert '<option value="sql">SQL</option>' in body


def test_editing_an_answer_in_place_updates_the_gate_and_the_stage_hints(as_alice, lead):
    form = text(as_alice.get(f"/leads/{lead.pk}/field/budget/?edit=1", **HTMX))
    assert '<option value="approved">Approved</option>' in form
    body = edit(as_alice, lead, "budget", "approved", seen="unknown")
    assert "Approved" in body
    assert 'id="qualification-gate"' in body and 'hx-swap-oob="true"' in body
    assert "Authority, need and timeline must be known" in body
    assert "SQL (needs authority, need, timeline)" in body
    event = Lead.objects.get(pk=lead.pk).events.get(kind=EventKind.QUALIFICATION_CHANGED)
    assert event.data == {"field": "budget", "from": "unknown", "to": "approved"}
    timeline = text(as_alice.get(f"/leads/{lead.pk}/timeline/", **HTMX))
    assert "Budget: Unknown → Approved" in timeline


def test_bad_answer_is_refused_with_a_message(as_alice, lead):
    body = edit(as_alice, lead, "need", "desperate", seen="unknown")
    assert "Need must be one of unknown (Unknown), none (No need)" in body
    amount = edit(as_alice, lead, "budget_amount", "12.345")
    assert "Budget amount can have at most two decimals." in amount
    assert Lead.objects.get(pk=lead.pk).need == "unknown"


def test_profile_fields_country_size_and_time_zone_are_edited_and_checked(as_alice, lead):
    assert "Germany (DE)" in edit(as_alice, lead, "country", "de")
    assert "1,200" in edit(as_alice, lead, "company_size", "1200")
    assert "Europe/Berlin" in edit(as_alice, lead, "time_zone", "europe/berlin")
    assert "Manufacturing" in edit(as_alice, lead, "industry", "Manufacturing")
    saved = Lead.objects.get(pk=lead.pk)
    assert (saved.country, saved.company_size, saved.time_zone, saved.industry) == (
        "DE",
        1200,
        "Europe/Berlin",
        "Manufacturing",
    )
    assert "Country “Narnia” is not a country; use a two-letter ISO code" in edit(as_alice, lead, "country", "Narnia")
    assert "Company size must be from 0 to 10,000,000 employees." in edit(as_alice, lead, "company_size", "-3")
    assert "“Mars/Olympus” is not a time zone" in edit(as_alice, lead, "time_zone", "Mars/Olympus", "Europe/Berlin")
    saved.refresh_from_db()
    assert (saved.country, saved.company_size, saved.time_zone) == ("DE", 1200, "Europe/Berlin")


def test_country_is_picked_from_a_list_and_time_zone_suggested(as_alice, lead):
    form = text(as_alice.get(f"/leads/{lead.pk}/field/country/?edit=1", **HTMX))
    assert '<option value="JP">Japan</option>' in form
    zone = text(as_alice.get(f"/leads/{lead.pk}/field/time_zone/?edit=1", **HTMX))
    assert 'list="time-zones"' in zone and '<option value="America/New_York">' in zone


# The stage control


def test_stage_control_offers_only_allowed_moves(as_alice, alice):
    customer = make_lead(owner=alice, **QUALIFIED)
    Lead.objects.filter(pk=customer.pk).update(stage=Stage.CUSTOMER)
    body = text(as_alice.get(f"/leads/{customer.pk}/stage/", **HTMX))
    assert '<option value="customer" selected>Customer</option>' in body
    assert '<option value="disqualified">Disqualified (asks why)</option>' in body
    for stage in ("lead", "mql", "sql", "opportunity", "recycled"):
        assert f'value="{stage}"' not in body


def test_refused_move_shows_the_rule(as_alice, alice):
    customer = make_lead(owner=alice, **QUALIFIED)
    Lead.objects.filter(pk=customer.pk).update(stage=Stage.CUSTOMER)
    body = text(as_alice.post(f"/leads/{customer.pk}/stage/", {"stage": "lead"}, **HTMX))
    assert "A lead at Customer cannot move to Lead; from Customer it can move to Disqualified." in body
    assert Lead.objects.get(pk=customer.pk).stage == Stage.CUSTOMER


def test_disqualify_asks_for_a_reason_from_the_list_first(as_alice, lead):
    DisqualifyReason.objects.filter(label="No response").update(active=False)
    asked = text(as_alice.post(f"/leads/{lead.pk}/stage/", {"stage": "disqualified"}, **HTMX))
    assert 'name="reason"' in asked and '<option value="Spam or fake">Spam or fake</option>' in asked
    assert "No response" not in asked
    assert Lead.objects.get(pk=lead.pk).stage == Stage.LEAD
    empty = text(as_alice.post(f"/leads/{lead.pk}/stage/", {"stage": "disqualified", "reason": ""}, **HTMX))
    assert "Give a reason for disqualifying this lead." in empty
    response = as_alice.post(f"/leads/{lead.pk}/stage/", {"stage": "disqualified", "reason": "Not a fit"}, **HTMX)
    assert "lead-changed" in response["HX-Trigger"]
    assert "Not a fit" in text(response)
    saved = Lead.objects.get(pk=lead.pk)
    assert (saved.stage, saved.stage_reason) == (Stage.DISQUALIFIED, "Not a fit")
    assert '<option value="lead">Lead</option>' in text(response), "a disqualified lead may come back"


def test_recycle_asks_for_a_short_text(as_alice, lead):
    asked = text(as_alice.post(f"/leads/{lead.pk}/stage/", {"stage": "recycled"}, **HTMX))
    assert '<input name="reason" maxlength="200"' in asked
    as_alice.post(f"/leads/{lead.pk}/stage/", {"stage": "recycled", "reason": "Budget next year"}, **HTMX)
    assert Lead.objects.get(pk=lead.pk).stage_reason == "Budget next year"


def test_without_javascript_a_refused_move_comes_back_as_a_message(as_alice, lead):
    response = as_alice.post(f"/leads/{lead.pk}/stage/", {"stage": "sql"}, follow=True)
    assert "must be known before this lead can become an SQL" in text(response)


@pytest.mark.parametrize(
    ("method", "url", "data"),
    [
        ("get", "/leads/{pk}/stage/", {}),
        ("post", "/leads/{pk}/stage/", {"stage": "disqualified", "reason": "Spam or fake"}),
        ("post", "/leads/{pk}/field/budget/", {"value": "approved", "seen": "unknown"}),
        ("post", "/leads/{pk}/field/country/", {"value": "FR", "seen": ""}),
    ],
)
def test_outsider_gets_not_found_and_nothing_changes(client, carol, lead, method, url, data):
    client.force_login(carol)
    response = getattr(client, method)(url.format(pk=lead.pk), data, **HTMX)
    assert response.status_code == 404
    saved = Lead.objects.get(pk=lead.pk)
    assert (saved.stage, saved.budget, saved.country, saved.version) == ("lead", "unknown", "", 1)


# Bulk moves


def test_bulk_move_says_how_many_were_skipped_and_why(as_alice, alice):
    ready = make_lead(owner=alice, **QUALIFIED)
    unqualified = [make_lead(owner=alice) for _ in range(2)]
    ids = [ready.pk, *(lead.pk for lead in unqualified)]
    body = text(as_alice.post("/leads/bulk/", {"action": "stage", "stage": "sql", "lead": ids}, **HTMX))
    assert "1 of 3 selected leads moved to SQL. 2 skipped: 2 do not pass the qualification gate yet." in body
    assert Lead.objects.filter(stage=Stage.SQL).count() == 1


def test_bulk_disqualify_takes_the_reason(as_alice, alice):
    leads = [make_lead(owner=alice) for _ in range(2)]
    ids = [lead.pk for lead in leads]
    refused = text(as_alice.post("/leads/bulk/", {"action": "stage", "stage": "disqualified", "lead": ids}, **HTMX))
    assert "Give a reason for disqualifying this lead." in refused
    data = {"action": "stage", "stage": "disqualified", "reason": "No budget", "lead": ids}
    assert "2 leads moved to Disqualified." in text(as_alice.post("/leads/bulk/", data, **HTMX))
    assert set(Lead.objects.values_list("stage_reason", flat=True)) == {"No budget"}


def test_bulk_job_page_shows_the_skipped_leads(as_alice, alice):
    make_lead(owner=alice)
    job = bulk.start_bulk_job(actor=alice, query="", action="stage", value=Stage.OPPORTUNITY)
    bulk.run_bulk_job(job_id=job.pk)
    job.refresh_from_db()
    assert (job.status, job.changed, job.skipped) == (JobStatus.DONE, 0, {"qualification_incomplete": 1})
    body = text(as_alice.get(f"/jobs/{job.pk}/"))
    assert "1 skipped: 1 do not pass the qualification gate yet." in body
    assert BulkJob.objects.get(pk=job.pk).skipped_summary in body


# Settings


@pytest.mark.parametrize("persona", ["manager", "alice", "marketing"])
def test_only_admins_open_the_qualification_settings(client, request, persona):
    client.force_login(request.getfixturevalue(persona))
    assert client.get("/settings/qualification/").status_code == 403
    assert client.post("/settings/qualification/", {"require_budget": "1"}).status_code == 403
    assert client.post("/settings/qualification/reasons/", {"label": "Nope"}).status_code == 403
    assert QualificationGate.current().required == ("budget", "authority", "need", "purchase_timeline")
    assert not DisqualifyReason.objects.filter(label="Nope").exists()


def test_admin_changes_the_gate(client, admin):
    client.force_login(admin)
    page = text(client.get("/settings/qualification/"))
    assert "Qualification gate · Default pipeline" in page
    assert 'name="require_budget" value="1" checked' in page
    response = client.post(
        "/settings/qualification/", {"require_budget": "1", "require_purchase_timeline": "1"}, follow=True
    )
    assert "Saved: before SQL, a lead needs budget, timeline known." in text(response)
    assert QualificationGate.current().required == ("budget", "purchase_timeline")


def test_admin_adds_renames_and_deactivates_reasons(client, admin, alice):
    client.force_login(admin)
    added = client.post("/settings/qualification/reasons/", {"label": "  Bought elsewhere "}, follow=True)
    assert "Added the reason “Bought elsewhere”." in text(added)
    duplicate = client.post("/settings/qualification/reasons/", {"label": "not a FIT"})
    assert duplicate.status_code == 422 and "“not a FIT” is already a reason." in text(duplicate)
    reason = DisqualifyReason.objects.get(label="Bought elsewhere")
    assert reason.order > DisqualifyReason.objects.exclude(pk=reason.pk).order_by("-order").first().order
    client.post(f"/settings/qualification/reasons/{reason.pk}/", {"label": "Bought from a rival", "order": "5"})
    reason.refresh_from_db()
    assert (reason.label, reason.order) == ("Bought from a rival", 5)
    client.post(f"/settings/qualification/reasons/{reason.pk}/", {"active": "0"})
    assert DisqualifyReason.objects.get(pk=reason.pk).active is False
    with pytest.raises(FieldErrors, match="Pick one of the disqualify reasons"):
        services.change_stage(
            lead=make_lead(owner=alice), stage=Stage.DISQUALIFIED, actor=alice, reason="Bought from a rival"
        )


def test_reason_needs_a_name(client, admin):
    client.force_login(admin)
    response = client.post("/settings/qualification/reasons/", {"label": "   "})
    assert response.status_code == 422
    assert "Write the reason" in text(response)
