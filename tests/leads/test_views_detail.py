import json
from datetime import timedelta

import pytest
from django.utils import timezone

from leadflow.leads import services
from leadflow.leads.models import CallOutcome, EventKind, Lead, LeadMerge, LeadStatus, Stage, TimelineEvent
from leadflow.leads.timeline import record
from tests.conftest import make_lead
from tests.leads.qualified import QUALIFIED

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def lead(alice):
    return make_lead(
        owner=alice,
        first_name="Dana",
        last_name="Scully",
        email="dana@fbi.example",
        title="Agent",
        company_name="FBI",
        source="webinar",
        medium="email",
        campaign="spring",
        landing_page="https://shop.example/pricing",
        custom={"Budget": "10k"},
    )


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


def text(response) -> str:
    return response.content.decode()


def snapshot(lead: Lead) -> tuple:
    row = Lead.objects.filter(pk=lead.pk).values().get()
    return row, TimelineEvent.objects.filter(lead_id=lead.pk).count(), LeadMerge.objects.count()


# The page


def test_lead_page_shows_profile_source_owner_and_timeline(as_alice, lead):
    services.add_note(lead=lead, text="Asked for a demo.", actor=lead.owner)
    body = text(as_alice.get(f"/leads/{lead.pk}/"))
    assert "<h1>Dana Scully</h1>" in body
    assert f'href="/companies/{lead.company_id}/"' in body
    assert "Agent" in body and "dana@fbi.example" in body
    assert "webinar" in body and "spring" in body and "https://shop.example/pricing" in body
    assert "Budget" in body and "10k" in body
    assert "Alice" in body
    assert 'value="lead" selected' in body
    assert "Asked for a demo." in body
    assert "Lead created" in body


def test_merged_lead_page_sends_you_to_the_lead_it_was_merged_into(as_alice, alice, lead):
    other = make_lead(owner=alice)
    services.merge_leads(winner=lead, loser=other, actor=alice)
    response = as_alice.get(f"/leads/{other.pk}/")
    assert response.status_code == 302
    assert response["Location"] == f"/leads/{lead.pk}/"


def test_erased_lead_page_is_not_found(as_alice, admin, lead):
    services.erase_lead(lead=lead, actor=admin)
    assert as_alice.get(f"/leads/{lead.pk}/").status_code == 404


def test_user_entered_text_is_shown_as_text(as_alice, alice):
    lead = make_lead(owner=alice, first_name=SCRIPT, custom={SCRIPT: SCRIPT}, title=SCRIPT)
    services.add_note(lead=lead, text=SCRIPT, actor=alice)
    services.log_call(lead=lead, outcome=CallOutcome.CONNECTED, notes=SCRIPT, actor=alice)
    record(lead, EventKind.PAGE_VIEWED, data={"url": "javascript:alert(1)"})
    body = text(as_alice.get(f"/leads/{lead.pk}/"))
    assert "<script>alert" not in body
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in body
    assert 'href="javascript:' not in body
    field = text(as_alice.get(f"/leads/{lead.pk}/field/first_name/", {"edit": "1"}, **HTMX))
    assert "<script>alert" not in field


def test_timeline_shows_each_kind_readably(as_alice, alice, bob, lead):
    services.update_lead(lead=lead, changes={"title": "Director"}, actor=alice, expected={"title": "Agent"})
    services.change_stage(lead=lead, stage=Stage.MQL, actor=alice, reason="Downloaded the guide")
    services.assign_owner(lead=lead, owner=None, actor=None)
    services.log_call(
        lead=lead, outcome=CallOutcome.VOICEMAIL, duration_seconds=252, notes="Call back Friday", actor=alice
    )
    record(lead, EventKind.EMAIL_OPENED, actor_type="lead", data={"subject": "Getting started"})
    record(lead, EventKind.PAGE_VIEWED, actor_type="lead", data={"url": "https://shop.example/docs"})
    body = text(as_alice.get(f"/leads/{lead.pk}/"))
    assert "<del>Agent</del>" in body and "<ins>Director</ins>" in body
    assert "Stage: Lead → MQL" in body and "Downloaded the guide" in body
    assert "Owner: Alice → Unassigned" in body
    assert "Call · Left voicemail · 4 min 12 s" in body and "Call back Friday" in body
    assert "Email opened: Getting started" in body
    assert 'href="https://shop.example/docs"' in body
    assert "Lead created" in body and "via test" in body


def test_timeline_filters_by_kind(as_alice, alice, lead):
    services.add_note(lead=lead, text="A note to find", actor=alice)
    services.log_call(lead=lead, outcome=CallOutcome.BUSY, actor=alice)
    body = text(as_alice.get(f"/leads/{lead.pk}/timeline/", {"show": "notes"}, **HTMX))
    assert "A note to find" in body
    assert "Call · Busy" not in body
    assert "Lead created" not in body
    page = text(as_alice.get(f"/leads/{lead.pk}/", {"show": "calls"}))
    assert "Call · Busy" in page and "A note to find" not in page


def test_timeline_shows_older_events_page_by_page(as_alice, lead):
    start = timezone.now() - timedelta(days=10)
    for n in range(120):
        record(lead, EventKind.NOTE, data={"text": f"note number {n:03d}"}, occurred_at=start + timedelta(minutes=n))
    first = text(as_alice.get(f"/leads/{lead.pk}/"))
    assert "note number 119" in first and "note number 071" in first
    assert "note number 070" not in first
    before = first.split("?before=")[1].split('"')[0]
    older = text(as_alice.get(f"/leads/{lead.pk}/timeline/?before={before}", **HTMX))
    assert "note number 070" in older and "note number 021" in older
    assert "note number 071" not in older and "note number 020" not in older
    assert "Show older" in older


def test_lead_page_queries_do_not_grow_with_events(as_alice, alice, lead, django_assert_max_num_queries):
    for n in range(300):
        record(lead, EventKind.NOTE, actor=alice, data={"text": f"note {n}"})
    for _ in range(3):
        services.merge_leads(winner=lead, loser=make_lead(owner=alice), actor=alice)
    with django_assert_max_num_queries(8):
        response = as_alice.get(f"/leads/{lead.pk}/")
    assert response.status_code == 200
    with django_assert_max_num_queries(6):
        as_alice.get(f"/leads/{lead.pk}/timeline/?before=999999", **HTMX)


# Editing fields in place


def test_click_a_field_to_get_a_small_form_with_the_value_seen(as_alice, lead):
    body = text(as_alice.get(f"/leads/{lead.pk}/field/title/", {"edit": "1"}, **HTMX))
    assert 'name="value" value="Agent"' in body
    assert 'name="seen" value="Agent"' in body
    assert "Escape" in body


def test_saving_a_field_rerenders_only_that_field(as_alice, alice, lead):
    response = as_alice.post(f"/leads/{lead.pk}/field/title/", {"value": "Director", "seen": "Agent"}, **HTMX)
    body = text(response)
    assert 'id="field-title"' in body
    assert "Director" in body
    assert "Timeline" not in body
    assert "lead-changed" in response["HX-Trigger"]
    lead.refresh_from_db()
    assert lead.title == "Director"
    event = TimelineEvent.objects.filter(lead=lead, kind=EventKind.UPDATED).get()
    assert event.data["changes"] == {"title": ["Agent", "Director"]} and event.actor == alice


def test_concurrent_edit_is_detected_and_not_overwritten(as_alice, bob, alice, lead, client):
    services.update_lead(lead=lead, changes={"title": "Boss"}, actor=bob, expected={"title": "Agent"})
    response = as_alice.post(f"/leads/{lead.pk}/field/title/", {"value": "Director", "seen": "Agent"}, **HTMX)
    body = text(response)
    local = timezone.localtime(TimelineEvent.objects.get(kind=EventKind.UPDATED).occurred_at)
    assert f"Bob changed this at {local:%H:%M}" in body
    assert "current value is “Boss”" in body
    assert 'name="value" value="Director"' in body
    assert 'name="seen" value="Boss"' in body
    assert Lead.objects.get(pk=lead.pk).title == "Boss"
    as_alice.post(f"/leads/{lead.pk}/field/title/", {"value": "Director", "seen": "Boss"}, **HTMX)
    assert Lead.objects.get(pk=lead.pk).title == "Director"


def test_invalid_value_shows_the_error_in_the_field(as_alice, alice, lead):
    make_lead(owner=alice, email="taken@fbi.example")
    bad = text(as_alice.post(f"/leads/{lead.pk}/field/email/", {"value": "not an email", "seen": lead.email}, **HTMX))
    assert 'class="error"' in bad
    taken = text(
        as_alice.post(f"/leads/{lead.pk}/field/email/", {"value": "taken@fbi.example", "seen": lead.email}, **HTMX)
    )
    assert "already has the email" in taken
    assert Lead.objects.get(pk=lead.pk).email == "dana@fbi.example"


def test_plain_form_posts_save_and_come_back_to_the_lead_page(as_alice, alice, lead):
    # A form sent before htmx has wired it arrives as an ordinary post: it still works.
    saved = as_alice.post(f"/leads/{lead.pk}/field/title/", {"value": "Director", "seen": "Agent"})
    assert saved.status_code == 302 and saved["Location"] == f"/leads/{lead.pk}/"
    assert Lead.objects.get(pk=lead.pk).title == "Director"
    refused = as_alice.post(
        f"/leads/{lead.pk}/field/email/", {"value": "not an email", "seen": lead.email}, follow=True
    )
    assert 'class="messages' in text(refused) and "not a valid email" in text(refused)
    assert Lead.objects.get(pk=lead.pk).email == "dana@fbi.example"
    stale = as_alice.post(f"/leads/{lead.pk}/field/title/", {"value": "Boss", "seen": "Agent"}, follow=True)
    assert "changed this" in text(stale)
    assert Lead.objects.get(pk=lead.pk).title == "Director"
    recycled = as_alice.post(f"/leads/{lead.pk}/stage/", {"stage": "recycled", "reason": "Next year"}, follow=True)
    assert "Next year" in text(recycled)
    assert Lead.objects.get(pk=lead.pk).stage == Stage.RECYCLED
    unassigned = as_alice.post(f"/leads/{lead.pk}/owner/", {"owner": "999999"}, follow=True)
    assert "Pick someone from the list." in text(unassigned)
    assert Lead.objects.get(pk=lead.pk).owner == alice


def test_unknown_field_is_not_found(as_alice, lead):
    assert as_alice.post(f"/leads/{lead.pk}/field/score/", {"value": "100", "seen": "0"}).status_code == 404
    assert as_alice.post(f"/leads/{lead.pk}/field/owner_id/", {"value": "1", "seen": ""}).status_code == 404


def test_name_change_updates_the_page_heading_out_of_band(as_alice, lead):
    body = text(as_alice.post(f"/leads/{lead.pk}/field/first_name/", {"value": "Katherine", "seen": "Dana"}, **HTMX))
    assert 'id="lead-title"' in body and 'hx-swap-oob="true"' in body
    assert "Katherine Scully" in body


def test_custom_fields_are_edited_added_and_removed_one_by_one(as_alice, alice, bob, lead):
    url = f"/leads/{lead.pk}/field/custom/"
    as_alice.post(url, {"key": "Budget", "value": "20k", "seen": "10k"}, **HTMX)
    assert Lead.objects.get(pk=lead.pk).custom == {"Budget": "20k"}
    added = text(as_alice.post(url, {"key": "Team size", "value": "12", "seen": "", "new": "1"}, **HTMX))
    assert "Team size" in added and 'id="field-custom-new"' in added
    assert Lead.objects.get(pk=lead.pk).custom == {"Budget": "20k", "Team size": "12"}
    services.update_lead(lead=lead, changes={"custom": {"Budget": "20k", "Team size": "15"}}, actor=bob, expected=None)
    stale = text(as_alice.post(url, {"key": "Budget", "value": "30k", "seen": "20k"}, **HTMX))
    assert "changed this" not in stale
    assert Lead.objects.get(pk=lead.pk).custom == {"Budget": "30k", "Team size": "15"}
    conflict = text(as_alice.post(url, {"key": "Team size", "value": "13", "seen": "12"}, **HTMX))
    assert "Bob changed this" in conflict and "current value is “15”" in conflict
    as_alice.post(url, {"key": "Budget", "value": "", "seen": "30k"}, **HTMX)
    assert Lead.objects.get(pk=lead.pk).custom == {"Team size": "15"}


def test_consent_is_changed_with_a_select(as_alice, lead):
    form = text(as_alice.get(f"/leads/{lead.pk}/field/consent_status/", {"edit": "1"}, **HTMX))
    assert '<select name="value"' in form
    as_alice.post(f"/leads/{lead.pk}/field/consent_status/", {"value": "granted", "seen": "unknown"}, **HTMX)
    lead.refresh_from_db()
    assert lead.consent_status == "granted" and lead.consent_at is not None


# Stage and owner


def test_stage_changes_with_the_select(as_alice, alice, lead):
    refused = text(as_alice.post(f"/leads/{lead.pk}/stage/", {"stage": "sql"}, **HTMX))
    assert "Budget, authority, need and timeline must be known before this lead can become an SQL." in refused
    assert Lead.objects.get(pk=lead.pk).stage == Stage.LEAD
    services.update_lead(lead=lead, changes=QUALIFIED, actor=alice)
    response = as_alice.post(f"/leads/{lead.pk}/stage/", {"stage": "sql"}, **HTMX)
    assert 'value="sql" selected' in text(response)
    assert "lead-changed" in response["HX-Trigger"]
    assert Lead.objects.get(pk=lead.pk).stage == Stage.SQL
    bad = as_alice.post(f"/leads/{lead.pk}/stage/", {"stage": "<b>won</b>"}, **HTMX)
    assert 'class="error"' in text(bad) and "<b>won</b>" not in text(bad)
    assert Lead.objects.get(pk=lead.pk).stage == Stage.SQL


def test_owner_form_offers_only_people_the_user_may_assign_to(client, manager, alice, bob, carol, lead):
    client.force_login(manager)
    form = text(client.get(f"/leads/{lead.pk}/owner/", {"edit": "1"}, **HTMX))
    assert f'value="{bob.pk}"' in form and f'value="{alice.pk}"' in form
    assert f'value="{carol.pk}"' not in form
    response = client.post(f"/leads/{lead.pk}/owner/", {"owner": bob.pk}, **HTMX)
    assert "Bob" in text(response)
    assert Lead.objects.get(pk=lead.pk).owner == bob
    refused = text(client.post(f"/leads/{lead.pk}/owner/", {"owner": carol.pk}, **HTMX))
    assert "You may not assign leads to Carol" in refused
    assert Lead.objects.get(pk=lead.pk).owner == bob


def test_rep_may_only_take_a_lead_for_themselves(as_alice, alice, bob, east):
    queued = make_lead(team=east)
    form = text(as_alice.get(f"/leads/{queued.pk}/owner/", {"edit": "1"}, **HTMX))
    assert f'value="{alice.pk}"' in form and f'value="{bob.pk}"' not in form
    as_alice.post(f"/leads/{queued.pk}/owner/", {"owner": alice.pk}, **HTMX)
    assert Lead.objects.get(pk=queued.pk).owner == alice


# Notes and calls


def test_add_note_returns_a_fresh_form_and_the_new_event_to_prepend(as_alice, lead):
    body = text(as_alice.post(f"/leads/{lead.pk}/notes/", {"text": "Wants a quote\nby Friday"}, **HTMX))
    assert 'hx-swap-oob="afterbegin:#timeline-events"' in body
    assert "Wants a quote<br>by Friday" in body
    assert TimelineEvent.objects.filter(lead=lead, kind=EventKind.NOTE).count() == 1


def test_empty_note_is_refused_with_a_message(as_alice, lead):
    body = text(as_alice.post(f"/leads/{lead.pk}/notes/", {"text": "   "}, **HTMX))
    assert "Write something first." in body
    assert "hx-swap-oob" not in body
    assert TimelineEvent.objects.filter(lead=lead, kind=EventKind.NOTE).count() == 0


def test_note_without_htmx_redirects_back_to_the_lead(as_alice, lead):
    response = as_alice.post(f"/leads/{lead.pk}/notes/", {"text": "Plain form post"})
    assert response.status_code == 302 and response["Location"] == f"/leads/{lead.pk}/"


def test_log_call_with_minutes_stores_seconds(as_alice, lead):
    body = text(
        as_alice.post(
            f"/leads/{lead.pk}/calls/", {"outcome": "connected", "minutes": "2.5", "notes": "Good talk"}, **HTMX
        )
    )
    assert "Call · Connected · 2 min 30 s" in body
    event = TimelineEvent.objects.get(lead=lead, kind=EventKind.CALL)
    assert event.data == {"outcome": "connected", "duration_seconds": 150, "notes": "Good talk"}


def test_log_call_refuses_bad_input(as_alice, lead):
    body = text(as_alice.post(f"/leads/{lead.pk}/calls/", {"outcome": "hung_up", "minutes": "-3"}, **HTMX))
    assert body.count('class="error"') >= 2
    assert not TimelineEvent.objects.filter(lead=lead, kind=EventKind.CALL).exists()


# Merge


def test_merge_search_finds_visible_leads_only(as_alice, alice, bob, lead):
    mine = make_lead(owner=alice, first_name="Dana", last_name="Scully-Mulder", email="dana@home.example")
    hidden = make_lead(owner=bob, first_name="Dana", last_name="Scully", email="dana.bob@home.example")
    body = text(as_alice.get(f"/leads/{lead.pk}/merge/", {"q": "scully"}))
    assert f"?other={mine.pk}" in body
    assert f"?other={hidden.pk}" not in body
    assert f"?other={lead.pk}" not in body
    suggested = text(as_alice.get(f"/leads/{lead.pk}/merge/"))
    assert "Possible duplicates" in suggested and f"?other={mine.pk}" in suggested
    partial = text(as_alice.get(f"/leads/{lead.pk}/merge/", {"q": "dana@home"}, HTTP_HX_TARGET="merge-results", **HTMX))
    assert partial.startswith('\n<div id="merge-results"') or partial.lstrip().startswith('<div id="merge-results"')


def test_merge_comparison_presets_choices_from_default_choices(as_alice, alice, lead):
    other = make_lead(
        owner=alice, first_name="Dana", last_name="Scully", email="d@home.example", title="", phone="+12025550101"
    )
    body = text(as_alice.get(f"/leads/{lead.pk}/merge/", {"other": other.pk}))
    assert 'name="pick_email" value="winner" checked' in body
    assert 'name="pick_phone" value="loser" checked' in body
    assert 'name="pick_title" value="winner" checked' in body
    assert "pick_first_name" not in body


def test_merge_then_undo_from_the_lead_page(as_alice, alice, lead):
    other = make_lead(
        owner=alice, first_name="Dana K.", last_name="Scully", email="d@home.example", phone="+12025550101"
    )
    response = as_alice.post(
        f"/leads/{lead.pk}/merge/", {"other": other.pk, "pick_first_name": "loser", "pick_phone": "loser"}
    )
    merge = LeadMerge.objects.get()
    assert response["Location"] == f"/leads/{lead.pk}/?merged={merge.pk}"
    lead.refresh_from_db()
    assert (lead.first_name, lead.phone) == ("Dana K.", "+12025550101")
    page = text(as_alice.get(response["Location"]))
    assert "Merged <strong>Dana K. Scully</strong>" in page
    assert f'action="/merges/{merge.pk}/undo/"' in page
    undone = as_alice.post(f"/merges/{merge.pk}/undo/")
    assert undone["Location"] == f"/leads/{lead.pk}/"
    assert Lead.objects.get(pk=other.pk).status == LeadStatus.ACTIVE
    assert Lead.objects.get(pk=lead.pk).first_name == "Dana"
    after = text(as_alice.get(f"/leads/{lead.pk}/"))
    assert "is a separate lead again" in after
    assert f'action="/merges/{merge.pk}/undo/"' not in after


def test_only_the_latest_merge_offers_undo(as_alice, alice, lead):
    first = services.merge_leads(winner=lead, loser=make_lead(owner=alice), actor=alice)
    second = services.merge_leads(winner=lead, loser=make_lead(owner=alice), actor=alice)
    page = text(as_alice.get(f"/leads/{lead.pk}/"))
    assert f'action="/merges/{second.pk}/undo/"' in page
    assert f'action="/merges/{first.pk}/undo/"' not in page
    as_alice.post(f"/merges/{first.pk}/undo/")
    assert LeadMerge.objects.get(pk=first.pk).undone_at is None


def test_merging_a_lead_with_itself_or_a_hidden_lead_is_not_possible(as_alice, bob, lead):
    hidden = make_lead(owner=bob)
    assert as_alice.get(f"/leads/{lead.pk}/merge/", {"other": lead.pk}).status_code == 404
    assert as_alice.post(f"/leads/{lead.pk}/merge/", {"other": hidden.pk}).status_code == 404
    assert as_alice.post(f"/leads/{lead.pk}/merge/", {"other": "x"}).status_code == 404
    assert Lead.objects.get(pk=hidden.pk).status == LeadStatus.ACTIVE


# Export and erase


def test_export_downloads_the_leads_data_as_json(as_alice, lead):
    response = as_alice.get(f"/leads/{lead.pk}/export/")
    assert response["Content-Disposition"] == f'attachment; filename="lead-{lead.pk}.json"'
    assert response["Content-Type"] == "application/json"
    data = json.loads(response.content)
    assert data["lead"]["email"] == "dana@fbi.example"
    assert data["timeline"][0]["kind"] == EventKind.CREATED
    assert TimelineEvent.objects.filter(lead=lead, kind=EventKind.EXPORTED).exists()


def test_erase_page_explains_and_asks_for_confirmation(client, manager, lead):
    client.force_login(manager)
    body = text(client.get(f"/leads/{lead.pk}/erase/"))
    assert "cannot be undone" in body and "keyed hash" in body
    assert f'<form method="post" action="/leads/{lead.pk}/erase/"' in body
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.ACTIVE


@pytest.mark.parametrize("persona", ["admin", "manager"])
def test_admins_and_managers_erase_and_land_on_the_list(client, persona, request, lead):
    client.force_login(request.getfixturevalue(persona))
    response = client.post(f"/leads/{lead.pk}/erase/", {"reason": "Asked by email"}, follow=True)
    assert response.redirect_chain[-1][0] == "/"
    assert f"Lead #{lead.pk} was erased" in text(response)
    lead.refresh_from_db()
    assert lead.status == LeadStatus.ERASED and lead.email == ""


@pytest.mark.parametrize("persona", ["alice", "marketing"])
def test_others_may_not_erase(client, persona, request, lead):
    client.force_login(request.getfixturevalue(persona))
    page = text(client.get(f"/leads/{lead.pk}/erase/"))
    assert "Only admins and sales managers can erase" in page
    assert f'action="/leads/{lead.pk}/erase/"' not in page
    assert client.post(f"/leads/{lead.pk}/erase/").status_code == 403
    assert Lead.objects.get(pk=lead.pk).status == LeadStatus.ACTIVE


def test_erase_link_is_shown_only_to_those_who_may_erase(client, as_alice, manager, lead):
    assert f"/leads/{lead.pk}/erase/" not in text(as_alice.get(f"/leads/{lead.pk}/"))
    client.force_login(manager)
    assert f"/leads/{lead.pk}/erase/" in text(client.get(f"/leads/{lead.pk}/"))


# The outsider: carol (team West) against alice's lead gets 404 everywhere, and nothing changes.

OUTSIDER_REQUESTS = [
    ("get", "/leads/{pk}/", {}),
    ("get", "/leads/{pk}/field/title/?edit=1", {}),
    ("post", "/leads/{pk}/field/title/", {"value": "Hacked", "seen": "Agent"}),
    ("get", "/leads/{pk}/timeline/", {}),
    ("post", "/leads/{pk}/notes/", {"text": "Hacked"}),
    ("post", "/leads/{pk}/calls/", {"outcome": "connected", "minutes": "1"}),
    ("post", "/leads/{pk}/stage/", {"stage": "customer"}),
    ("get", "/leads/{pk}/owner/?edit=1", {}),
    ("post", "/leads/{pk}/owner/", {"owner": "{carol}"}),
    ("get", "/leads/{pk}/merge/", {}),
    ("get", "/leads/{pk}/merge/?other={mine}", {}),
    ("post", "/leads/{pk}/merge/", {"other": "{mine}"}),
    ("post", "/leads/{mine}/merge/", {"other": "{pk}"}),
    ("get", "/leads/{pk}/export/", {}),
    ("get", "/leads/{pk}/erase/", {}),
    ("post", "/leads/{pk}/erase/", {}),
]


@pytest.mark.parametrize(("method", "url", "data"), OUTSIDER_REQUESTS)
def test_outsider_gets_not_found_and_nothing_changes(client, carol, lead, method, url, data):
    mine = make_lead(owner=carol)
    values = {"pk": lead.pk, "mine": mine.pk, "carol": carol.pk}
    before = snapshot(lead)
    client.force_login(carol)
    data = {key: value.format(**values) for key, value in data.items()}
    response = getattr(client, method)(url.format(**values), data, **HTMX)
    assert response.status_code == 404
    assert snapshot(lead) == before


def test_outsider_cannot_undo_a_merge_on_another_teams_lead(client, alice, carol, lead):
    merge = services.merge_leads(winner=lead, loser=make_lead(owner=alice), actor=alice)
    client.force_login(carol)
    assert client.post(f"/merges/{merge.pk}/undo/").status_code == 404
    assert LeadMerge.objects.get(pk=merge.pk).undone_at is None


def test_pages_need_sign_in(client, lead):
    response = client.get(f"/leads/{lead.pk}/")
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]


def test_multiline_custom_value_is_edited_in_a_textarea_without_a_false_conflict(as_alice, alice):
    lead = make_lead(owner=alice, custom={"Notes": "line one\nline two"})
    url = f"/leads/{lead.pk}/field/custom/"
    form = text(as_alice.get(url, {"edit": "1", "key": "Notes"}, **HTMX))
    assert '<textarea name="value"' in form
    body = text(
        as_alice.post(url, {"key": "Notes", "value": "line one\r\nline 2", "seen": "line one\r\nline two"}, **HTMX)
    )
    assert "changed this" not in body
    assert Lead.objects.get(pk=lead.pk).custom == {"Notes": "line one\nline 2"}


def test_conflict_with_a_new_capture_names_the_capture(as_alice, alice, lead):
    services.record_lead(data={"email": "dana@fbi.example", "title": "Chief"}, channel="webform")
    body = text(as_alice.post(f"/leads/{lead.pk}/field/title/", {"value": "Director", "seen": "Agent"}, **HTMX))
    assert "A new capture via webform changed this at" in body
    assert Lead.objects.get(pk=lead.pk).title == "Chief"
