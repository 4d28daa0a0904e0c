import json

import pytest

from leadflow.leads.models import EventKind, Lead, Stage, TimelineEvent
from leadflow.mail.models import Kind, OutboxMessage
from leadflow.nurture import engine, services
from leadflow.nurture.models import (
    AutoReply,
    EmailTemplate,
    Enrollment,
    EnrollmentStatus,
    Sequence,
    SequenceStatus,
    StepKind,
    TemplateKind,
)
from tests.capture.conftest import make_form
from tests.conftest import make_lead
from tests.nurture.conftest import make_sequence, make_template

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def as_marketing(client, marketing):
    client.force_login(marketing)
    return client


@pytest.fixture
def as_alice(client, alice):
    client.force_login(alice)
    return client


def test_reps_cannot_open_sequences_or_auto_replies_and_see_only_snippets(as_alice):
    assert as_alice.get("/nurture/sequences/").status_code == 403
    assert as_alice.get("/nurture/auto-replies/").status_code == 403
    assert as_alice.get("/nurture/templates/new/").status_code == 403
    make_template("Marketing one")
    make_template("Quick intro", kind=TemplateKind.SNIPPET)
    page = as_alice.get("/nurture/templates/").content.decode()
    assert "Quick intro" in page and "Marketing one" not in page


def test_signed_out_people_are_sent_to_sign_in(client):
    for url in ("/nurture/templates/", "/nurture/sequences/", "/nurture/auto-replies/"):
        assert client.get(url).status_code == 302


def test_marketing_writes_a_template_and_an_unknown_field_is_refused_clearly(as_marketing):
    bad = as_marketing.post(
        "/nurture/templates/new/", {"name": "Hi", "kind": "marketing", "subject": "Hi", "body": "Hi {{ frist_name }}"}
    )
    assert bad.status_code == 422
    assert "Unknown merge field &#x27;frist_name&#x27;" in bad.content.decode()
    good = as_marketing.post(
        "/nurture/templates/new/",
        {
            "name": "Hi",
            "kind": "marketing",
            "subject": "Hi {{ first_name }}",
            "body": '# Hi {{ first_name | "there" }}',
        },
    )
    template = EmailTemplate.objects.get()
    assert good.status_code == 302 and good["Location"] == f"/nurture/templates/{template.pk}/"
    page = as_marketing.get(good["Location"]).content.decode()
    assert 'with a fallback for leads without a value: <code>{{ first_name | "there" }}</code>' in page


def test_preview_with_a_chosen_lead_shows_its_data_as_text(as_marketing):
    lead = make_lead(first_name="<script>alert(1)</script>", last_name="**bold**")
    response = as_marketing.post(
        "/nurture/templates/preview/",
        {"subject": "Hi {{ first_name }}", "body": "**Hello** {{ first_name }} {{ last_name }}", "lead": lead.pk},
        **HTMX,
    )
    html = response.content.decode()
    assert "<strong>Hello</strong>" in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<script>alert" not in html
    assert "**bold**" in html


def test_preview_never_shows_a_lead_the_user_cannot_see(as_alice, carol):
    hidden = make_lead(owner=carol, first_name="Secret")
    response = as_alice.post(
        "/nurture/templates/preview/", {"subject": "x", "body": "{{ first_name }}", "lead": hidden.pk}
    )
    assert "Secret" not in response.content.decode()


def test_test_send_goes_to_the_users_own_address_as_transactional(as_marketing, marketing):
    marketing.email = "mark@example.com"
    marketing.save()
    response = as_marketing.post("/nurture/templates/test/", {"subject": "Hi", "body": "Body"}, **HTMX)
    assert "Test sent to mark@example.com" in response.content.decode()
    message = OutboxMessage.objects.get()
    assert (message.kind, message.to_email, message.subject) == (Kind.TRANSACTIONAL, "mark@example.com", "[Test] Hi")


def test_the_step_editor_adds_edits_reorders_and_removes_steps(as_marketing):
    template = make_template("Welcome")
    values = {"name": "Trial", "send_days": [0, 1, 2], "send_start_hour": 8, "send_end_hour": 18}
    created = as_marketing.post("/nurture/sequences/new/", values)
    sequence = Sequence.objects.get()
    assert created.status_code == 302 and sequence.send_days == [0, 1, 2]
    url = f"/nurture/sequences/{sequence.pk}/steps/"
    as_marketing.post(url, {"kind": "email", "template": template.pk}, **HTMX)
    response = as_marketing.post(url, {"kind": "wait", "mode": "days", "days": "3"}, **HTMX)
    html = response.content.decode()
    assert "Send “Welcome”" in html and "Wait 3 days" in html
    bad = as_marketing.post(url, {"kind": "email"}, **HTMX)
    assert bad.status_code == 422 and "Pick a marketing template." in bad.content.decode()
    _, wait = sequence.steps.order_by("position")
    as_marketing.post(f"{url}{wait.pk}/move/", {"direction": "up"}, **HTMX)
    assert list(sequence.steps.order_by("position").values_list("kind", flat=True)) == ["wait", "email"]
    form = as_marketing.get(f"{url}{wait.pk}/", **HTMX).content.decode()
    assert 'name="days"' in form
    as_marketing.post(f"{url}{wait.pk}/", {"kind": "wait", "mode": "until", "weekday": "1", "time": "10:15"}, **HTMX)
    wait.refresh_from_db()
    assert wait.config == {"mode": "until", "weekday": 1, "time": "10:15"}
    html = as_marketing.post(f"{url}{wait.pk}/remove/", **HTMX).content.decode()
    assert "Wait until" not in html
    assert sequence.steps.count() == 1


def test_start_pause_and_resume(as_marketing):
    sequence = make_sequence((StepKind.WAIT, {"days": 1}), status=SequenceStatus.DRAFT)
    url = f"/nurture/sequences/{sequence.pk}/status/"
    as_marketing.post(url, {"status": "active"})
    sequence.refresh_from_db()
    assert sequence.status == SequenceStatus.ACTIVE
    as_marketing.post(url, {"status": "paused"})
    page = as_marketing.get(f"/nurture/sequences/{sequence.pk}/").content.decode()
    assert "Paused: nobody moves on" in page and "Resume" in page


def test_sequence_page_shows_waiting_and_sent_per_step(as_marketing, admin):
    sequence = make_sequence((StepKind.EMAIL, {}), (StepKind.WAIT, {"days": 2}))
    for _ in range(3):
        services.enroll(sequence=sequence, lead=make_lead(), actor=admin)
    engine.run_due(now=None)
    page = as_marketing.get(f"/nurture/sequences/{sequence.pk}/").content.decode()
    assert "3 in it now" in page
    # Step 1 (email) sent none yet: the outbox has not handed them over; step 2 has the 3 waiting.
    assert 'title="3 reached this step"' in page


def test_lead_card_enrolls_shows_the_step_and_next_time_in_the_leads_zone(as_alice, alice, monday):
    sequence = make_sequence((StepKind.WAIT, {"days": 2}), (StepKind.EMAIL, {}), name="Trial tips")
    lead = make_lead(owner=alice, time_zone="Asia/Tokyo")
    response = as_alice.post(f"/nurture/leads/{lead.pk}/enroll/", {"sequence": sequence.pk}, **HTMX)
    assert response.status_code == 200
    assert "lead-changed" in response.headers["HX-Trigger"]
    engine.run_due()
    card = as_alice.get(f"/nurture/leads/{lead.pk}/panel/", **HTMX).content.decode()
    assert "Trial tips" in card and "Now: Wait 2 days" in card
    assert "Next: Send “Trial tips email 2”" in card
    # Due Wednesday 10:00 UTC, shown as 19:00 in Tokyo.
    assert 'due <time datetime="2026-03-04T10:00:00+00:00">Wed 4 Mar, 19:00</time> (Asia/Tokyo)' in card
    again = as_alice.post(f"/nurture/leads/{lead.pk}/enroll/", {"sequence": sequence.pk}, **HTMX)
    assert again.status_code == 422 and "Already in" in again.content.decode()
    enrollment = Enrollment.objects.get()
    as_alice.post(f"/nurture/enrollments/{enrollment.pk}/remove/", **HTMX)
    enrollment.refresh_from_db()
    assert enrollment.exit_reason == "removed"
    assert TimelineEvent.objects.get(lead=lead, kind=EventKind.SEQUENCE_EXITED).actor == alice


def test_outsiders_get_404_on_the_card_and_its_actions(client, carol, alice):
    client.force_login(carol)
    lead = make_lead(owner=alice)
    sequence = make_sequence((StepKind.WAIT, {"days": 2}))
    assert client.get(f"/nurture/leads/{lead.pk}/panel/").status_code == 404
    assert client.post(f"/nurture/leads/{lead.pk}/enroll/", {"sequence": sequence.pk}).status_code == 404
    assert client.post(f"/nurture/leads/{lead.pk}/compose/send/", {"subject": "x", "body": "y"}).status_code == 404
    services.enroll(sequence=sequence, lead=lead, actor=alice)
    assert client.post(f"/nurture/enrollments/{Enrollment.objects.get().pk}/remove/").status_code == 404
    assert Enrollment.objects.get().status == EnrollmentStatus.ACTIVE


def test_composer_fills_from_a_snippet_previews_and_sends_one_to_one_once(as_alice, alice):
    lead = make_lead(owner=alice, first_name="Dana")
    snippet = make_template("Intro", kind=TemplateKind.SNIPPET, subject="Quick question", body="Hi {{ first_name }},")
    filled = as_alice.get(
        f"/nurture/leads/{lead.pk}/compose/snippet/", {"snippet": snippet.pk}, **HTMX
    ).content.decode()
    assert "Quick question" in filled and "Hi {{ first_name }}," in filled
    preview = as_alice.post(
        f"/nurture/leads/{lead.pk}/compose/preview/", {"subject": "Q", "body": "Hi {{ first_name }},"}
    )
    assert "Hi Dana," in preview.content.decode()
    data = {"subject": "Quick question", "body": "Hi {{ first_name }},", "send_id": "abc123"}
    sent = as_alice.post(f"/nurture/leads/{lead.pk}/compose/send/", data, **HTMX)
    assert "is on its way" in sent.content.decode()
    message = OutboxMessage.objects.get()
    assert (message.kind, message.sender, message.to_email) == (Kind.ONE_TO_ONE, alice, lead.email)
    assert "Hi Dana," in message.text
    twice = as_alice.post(f"/nurture/leads/{lead.pk}/compose/send/", data, **HTMX)
    assert twice.status_code == 422 and "already sent" in twice.content.decode()
    assert OutboxMessage.objects.count() == 1


def test_enroll_leads_page_counts_the_filter_and_enrolls_the_visible_matches(client, manager, carol, alice):
    client.force_login(manager)
    sequence = make_sequence((StepKind.WAIT, {"days": 2}))
    mine = [make_lead(owner=alice) for _ in range(2)]
    Lead.objects.filter(pk__in=[lead.pk for lead in mine]).update(stage=Stage.MQL)
    hidden = make_lead(owner=carol)
    Lead.objects.filter(pk=hidden.pk).update(stage=Stage.MQL)
    page = client.get(f"/nurture/sequences/{sequence.pk}/enroll/", {"stage": "mql"}).content.decode()
    assert '<strong class="match-count">2</strong>' in page
    done = client.post(f"/nurture/sequences/{sequence.pk}/enroll/", {"query": "stage=mql"}).content.decode()
    assert "<strong>2</strong> enrolled" in done
    assert set(Enrollment.objects.values_list("lead_id", flat=True)) == {lead.pk for lead in mine}


def test_bulk_endpoint_takes_lead_ids_and_skips_what_it_must(client, alice, carol):
    client.force_login(alice)
    sequence = make_sequence((StepKind.WAIT, {"days": 2}))
    ok, no_email, hidden = make_lead(owner=alice), make_lead(owner=alice), make_lead(owner=carol)
    Lead.objects.filter(pk=no_email.pk).update(email="")
    response = client.post(
        "/nurture/enroll/",
        {"sequence": sequence.pk, "lead_ids": [ok.pk, no_email.pk, hidden.pk]},
        HTTP_ACCEPT="application/json",
    )
    assert json.loads(response.content) == {"enrolled": 1, "no_email": 1}
    assert list(Enrollment.objects.values_list("lead_id", flat=True)) == [ok.pk]


def test_auto_reply_page_sets_and_toggles_one_per_form(as_marketing, admin):
    form = make_form(admin)
    template = make_template("Thanks")
    response = as_marketing.post("/nurture/auto-replies/", {"form": form.pk, "template": template.pk, "enabled": "on"})
    assert response.status_code == 302
    reply = AutoReply.objects.get()
    assert reply.enabled is True
    as_marketing.post(f"/nurture/auto-replies/{reply.pk}/toggle/")
    reply.refresh_from_db()
    assert reply.enabled is False
    assert "Turn on" in as_marketing.get("/nurture/auto-replies/").content.decode()
