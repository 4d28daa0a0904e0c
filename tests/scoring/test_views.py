"""The scoring settings page and the lead page's score card, through the test client."""

from __future__ import annotations

import pytest
from django.urls import reverse

from leadflow.leads import timeline
from leadflow.leads.models import EventKind
from leadflow.scoring.models import JobStatus, RescoreJob, ScoringRule, ScoringSettings
from tests.conftest import PASSWORD, make_lead


def signed_in(client, user):
    assert client.login(username=user.username, password=PASSWORD)
    return client


def management_data(rules: list[ScoringRule], extra: int = 2) -> dict:
    data = {
        "form-TOTAL_FORMS": str(len(rules) + extra),
        "form-INITIAL_FORMS": str(len(rules)),
        "form-MIN_NUM_FORMS": "0",
        "form-MAX_NUM_FORMS": "1000",
    }
    for i, rule in enumerate(rules):
        data.update(
            {
                f"form-{i}-id": str(rule.pk),
                f"form-{i}-active": "on" if rule.active else "",
                f"form-{i}-name": rule.name,
                f"form-{i}-condition": rule.condition,
                f"form-{i}-key": rule.key,
                f"form-{i}-value": rule.value,
                f"form-{i}-points": str(rule.points),
                f"form-{i}-cap": "" if rule.cap is None else str(rule.cap),
                f"form-{i}-position": str(rule.position),
            }
        )
    for i in range(len(rules), len(rules) + extra):
        data.update({f"form-{i}-position": "0", f"form-{i}-active": "on"})
    return data


def _without_active(data: dict) -> dict:
    return {key: value for key, value in data.items() if not (key.endswith("-active") and value == "")}


@pytest.mark.parametrize("persona", ["admin", "marketing"])
def test_admin_and_marketing_see_the_rules(client, persona, request, simple_rules):
    response = signed_in(client, request.getfixturevalue(persona)).get(reverse("scoring:settings"))
    assert response.status_code == 200
    body = response.content.decode()
    assert "Pricing page" in body
    assert "Rescore all leads now" in body


@pytest.mark.parametrize("persona", ["manager", "alice", "carol"])
def test_sales_people_may_not_see_or_change_scoring(client, persona, request, simple_rules):
    client = signed_in(client, request.getfixturevalue(persona))
    assert client.get(reverse("scoring:settings")).status_code == 403
    assert client.post(reverse("scoring:rules"), management_data(simple_rules)).status_code == 403
    assert client.post(reverse("scoring:rescore")).status_code == 403
    assert client.post(reverse("scoring:settings"), {"half_life_days": "1", "mql_threshold": "5"}).status_code == 403
    job = RescoreJob.objects.create(status=JobStatus.FAILED)
    assert client.get(reverse("scoring:rescore_progress", args=[job.pk])).status_code == 403
    assert client.post(reverse("scoring:rescore_resume", args=[job.pk])).status_code == 403
    assert list(RescoreJob.objects.values_list("status", flat=True)) == [JobStatus.FAILED]
    assert ScoringSettings.load().mql_threshold == 60


def test_signed_out_visitors_are_sent_to_sign_in(client, simple_rules):
    response = client.get(reverse("scoring:settings"))
    assert response.status_code == 302
    assert "/login" in response["Location"] or "next=" in response["Location"]


def test_marketing_edits_adds_and_deletes_rules(client, marketing, simple_rules):
    data = _without_active(management_data(simple_rules))
    data["form-2-points"] = "25"
    data["form-3-DELETE"] = "on"
    data.update(
        {
            "form-4-active": "on",
            "form-4-name": "Visited demo",
            "form-4-condition": "page_visited",
            "form-4-value": "/demo",
            "form-4-points": "-5",
            "form-4-cap": "10",
            "form-4-position": "9",
        }
    )
    response = signed_in(client, marketing).post(reverse("scoring:rules"), data)
    assert response.status_code == 302
    rules = {rule.name: rule for rule in ScoringRule.objects.all()}
    assert rules["Pricing page"].points == 25
    assert "Replied" not in rules
    assert (rules["Visited demo"].points, rules["Visited demo"].cap, rules["Visited demo"].kind) == (
        -5,
        10,
        "engagement",
    )
    assert ScoringSettings.load().rules_changed_at is not None
    page = client.get(reverse("scoring:settings")).content.decode()
    assert "The rules changed since the last full rescore" in page


def test_a_rule_without_its_value_is_refused_with_a_message(client, admin, simple_rules):
    data = _without_active(management_data(simple_rules))
    data.update(
        {"form-4-name": "Big", "form-4-condition": "company_size_at_least", "form-4-value": "", "form-4-points": "5"}
    )
    response = signed_in(client, admin).post(reverse("scoring:rules"), data)
    assert response.status_code == 422
    assert "give a value, for example 50" in response.content.decode()
    assert not ScoringRule.objects.filter(name="Big").exists()


def test_settings_save_the_half_life_and_threshold(client, admin, simple_rules):
    response = signed_in(client, admin).post(
        reverse("scoring:settings"), {"half_life_days": "14", "mql_threshold": "75"}
    )
    assert response.status_code == 302
    settings = ScoringSettings.load()
    assert (settings.half_life_days, settings.mql_threshold) == (14, 75)


def test_rescore_button_starts_a_job_and_the_page_polls_its_progress(client, admin, simple_rules):
    make_lead(industry="software")
    client = signed_in(client, admin)
    response = client.post(reverse("scoring:rescore"), headers={"HX-Request": "true"})
    assert response.status_code == 200
    job = RescoreJob.objects.get()
    body = response.content.decode()
    assert f'hx-get="{reverse("scoring:rescore_progress", args=[job.pk])}"' in body
    assert 'hx-trigger="every 2s"' in body
    assert job.status == JobStatus.QUEUED and job.total == 1 and job.started_by == admin

    RescoreJob.objects.filter(pk=job.pk).update(status=JobStatus.RUNNING, processed=1)
    progress = client.get(reverse("scoring:rescore_progress", args=[job.pk]), headers={"HX-Request": "true"})
    assert 'aria-valuenow="99"' in progress.content.decode()
    RescoreJob.objects.filter(pk=job.pk).update(status=JobStatus.DONE, changed=1)
    done = client.get(reverse("scoring:rescore_progress", args=[job.pk]), headers={"HX-Request": "true"})
    assert "every 2s" not in done.content.decode()
    assert "1 changed" in done.content.decode()


def test_the_score_card_explains_the_score(client, alice, simple_rules):
    lead = make_lead(owner=alice, industry="software", phone="+14155550100")
    timeline.record(lead, EventKind.PAGE_VIEWED, data={"url": "https://a.example/pricing"})
    timeline.record(lead, EventKind.EMAIL_REPLIED, data={})
    body = signed_in(client, alice).get(reverse("scoring:lead_panel", args=[lead.pk])).content.decode()
    assert 'data-testid="score-total">85<' in body
    assert 'data-testid="score-fit">30<' in body
    assert 'data-testid="score-engagement">55<' in body
    assert body.index("Replied") < body.index("Pricing page") < body.index("Software company")
    assert "updating shortly" in body


def test_a_rep_cannot_see_another_teams_score_card(client, alice, carol, simple_rules):
    lead = make_lead(owner=alice)
    assert signed_in(client, carol).get(reverse("scoring:lead_panel", args=[lead.pk])).status_code == 404
