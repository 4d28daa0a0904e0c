"""Taking a submission: the lead, the submission and the timeline event, spam held aside, retries made one."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from leadflow.capture import services, tokens
from leadflow.capture.models import ConsentWording, RateCounter, SpamReason, Submission, SubmissionStatus
from leadflow.capture.services import Sender
from leadflow.leads import services as lead_services
from leadflow.leads.errors import FieldErrors
from leadflow.leads.models import EventKind, Lead, TimelineEvent
from tests.capture.conftest import CONSENT, ORIGIN, SITE, make_form, post_data, submit_now, token_for
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db

BROWSER = Sender(ip="203.0.113.7", user_agent="Mozilla/5.0 Test", origin=ORIGIN, channel="embed")


def submit(form, data, sender: Sender = BROWSER):
    return submit_now(form=form, raw=data, sender=sender, site_host=SITE)


def test_submission_makes_a_lead_with_its_source_consent_and_timeline_event(contact_form):
    outcome = submit(contact_form, post_data(contact_form, budget="10k+", message="Call me\nafter 5"))
    assert outcome.status == "accepted"
    lead = Lead.objects.get()
    assert (lead.first_name, lead.email, lead.company_name) == ("Ana", "ana@acme.example", "Acme")
    assert (lead.source, lead.medium, lead.campaign) == ("newsletter", "email", "spring")
    assert lead.referrer == "https://news.example.org/issue-4"
    assert lead.landing_page == "https://www.example.com/pricing?utm_source=newsletter"
    assert lead.custom == {"budget": "10k+", "message": "Call me\nafter 5"}
    assert (lead.consent_status, lead.consent_source) == ("granted", "form:contact-us")
    submission = Submission.objects.get()
    assert (submission.lead, submission.status, submission.channel) == (lead, SubmissionStatus.ACCEPTED, "embed")
    assert submission.consent_text == CONSENT
    assert submission.consent_given is True
    assert (submission.ip, submission.user_agent) == ("203.0.113.7", "Mozilla/5.0 Test")
    assert submission.fill_seconds == pytest.approx(10, abs=2)
    event = TimelineEvent.objects.get(lead=lead, kind=EventKind.FORM_SUBMITTED)
    assert event.data["form"] == "Contact us"
    assert event.data["page_url"] == "https://www.example.com/pricing?utm_source=newsletter"
    assert event.data["fields"]["Work email"] == "ana@acme.example"
    assert event.data["source"]["utm_source"] == "newsletter"
    assert event.occurred_at == submission.created_at
    assert event.actor_type == "lead"


def test_the_same_token_posted_twice_makes_one_lead_and_one_submission(contact_form):
    data = post_data(contact_form)
    first = submit(contact_form, data)
    again = submit(contact_form, data)
    assert (first.status, again.status) == ("accepted", "duplicate")
    assert again.submission == first.submission
    assert (Lead.objects.count(), Submission.objects.count()) == (1, 1)
    assert TimelineEvent.objects.filter(kind=EventKind.FORM_SUBMITTED).count() == 1


def test_a_retry_with_other_values_is_undone_whole_and_answered_like_the_first(contact_form):
    data = post_data(contact_form)
    first = submit(contact_form, data)
    again = submit(contact_form, {**data, "first_name": "Changed", "company_name": "Other Corp"})
    assert (again.status, again.submission) == ("duplicate", first.submission)
    lead = Lead.objects.get()
    assert (lead.first_name, lead.company_name) == ("Ana", "Acme")
    assert TimelineEvent.objects.filter(lead=lead).count() == 2


def test_a_known_person_gets_the_submission_on_their_existing_lead(contact_form):
    lead = make_lead(email="ana@acme.example", first_name="Ana")
    submit(contact_form, post_data(contact_form))
    submit(contact_form, post_data(contact_form, company_name="Acme Corp"))
    assert Lead.objects.count() == 1
    assert Submission.objects.filter(lead=lead).count() == 2
    assert TimelineEvent.objects.filter(lead=lead, kind=EventKind.FORM_SUBMITTED).count() == 2
    lead.refresh_from_db()
    assert lead.company_name == "Acme Corp"


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"website": "http://cheap-pills.example"}, SpamReason.HONEYPOT),
        ({"_lf_token": "age"}, SpamReason.TOO_FAST),
        ({"_lf_token": "forged"}, SpamReason.BAD_TOKEN),
        ({"_lf_token": None}, SpamReason.NO_TOKEN),
        ({"_lf_token": "stale"}, SpamReason.STALE_TOKEN),
    ],
)
def test_spam_gets_the_same_answer_but_no_lead_and_waits_in_quarantine(contact_form, change, reason):
    token = {
        "age": token_for(contact_form, age=0.5),
        "forged": token_for(contact_form)[:-3] + "abc",
        "stale": token_for(contact_form, age=tokens.MAX_AGE_SECONDS + 60),
        None: None,
    }.get(change.get("_lf_token"), change.get("_lf_token"))
    data = post_data(contact_form, **{**change, "_lf_token": token} if "_lf_token" in change else change)
    if token is None:
        data.pop("_lf_token", None)
    outcome = submit(contact_form, data)
    assert outcome.status == "quarantined"
    assert Lead.objects.count() == 0
    held = Submission.objects.get()
    assert (held.status, held.spam_reason, held.lead) == (SubmissionStatus.QUARANTINED, reason, None)
    assert TimelineEvent.objects.count() == 0


def test_a_token_for_another_form_is_forged_for_this_one(admin, contact_form):
    other = make_form(admin, name="Other")
    outcome = submit(contact_form, post_data(contact_form, _lf_token=token_for(other)))
    assert (outcome.status, outcome.submission.spam_reason) == ("quarantined", SpamReason.BAD_TOKEN)


def test_a_plain_html_post_without_token_is_taken_and_its_retry_is_one_submission(contact_form):
    data = post_data(contact_form)
    data.pop("_lf_token")
    sender = Sender(ip="198.51.100.4", origin=ORIGIN, channel="html")
    first = submit(contact_form, data, sender)
    again = submit(contact_form, data, sender)
    assert (first.status, again.status) == ("accepted", "duplicate")
    assert Submission.objects.count() == 1


def test_a_plain_html_post_from_a_website_not_allowed_waits_in_quarantine(contact_form):
    data = post_data(contact_form)
    data.pop("_lf_token")
    outcome = submit(contact_form, data, Sender(ip="198.51.100.4", origin="https://elsewhere.example", channel="html"))
    assert (outcome.status, outcome.submission.spam_reason) == ("quarantined", SpamReason.ORIGIN)


def test_invalid_fields_are_refused_and_nothing_is_stored(contact_form):
    with pytest.raises(FieldErrors) as caught:
        submit(contact_form, post_data(contact_form, first_name="", email="not-an-email", budget="1M"))
    assert set(caught.value.errors) == {"first_name", "email", "budget"}
    assert caught.value.errors["email"].startswith("This is not a valid email address")
    assert (Lead.objects.count(), Submission.objects.count()) == (0, 0)


def test_a_required_consent_box_must_be_ticked(admin):
    form = make_form(admin, consent_mode="required")
    with pytest.raises(FieldErrors, match="consent"):
        submit(form, post_data(form, consent=None))


def test_consent_not_given_leaves_the_lead_unknown_and_is_recorded(contact_form):
    submit(contact_form, post_data(contact_form, consent=None))
    assert Lead.objects.get().consent_status == "unknown"
    submission = Submission.objects.get()
    assert (submission.consent_given, submission.consent_text) == (False, CONSENT)


def test_the_wording_a_person_saw_is_kept_even_when_it_changed_since(admin, contact_form):
    token = token_for(contact_form)
    services.save_form(
        actor=admin,
        form=contact_form,
        values={**_values(contact_form), "consent_text": "New wording."},
        fields=contact_form.fields,
        notify=[],
        site_host=SITE,
    )
    contact_form.refresh_from_db()
    submit(contact_form, post_data(contact_form, _lf_token=token))
    assert Submission.objects.get().consent_text == CONSENT
    assert ConsentWording.objects.filter(form=contact_form).count() == 2


def _values(form) -> dict:
    from tests.capture.conftest import form_settings

    return form_settings(slug=form.slug)


def test_an_erased_person_is_held_for_an_admin_and_released_only_by_one(admin, marketing, contact_form):
    lead = make_lead(email="ana@acme.example")
    lead_services.erase_lead(lead=lead, actor=admin)
    outcome = submit(contact_form, post_data(contact_form))
    assert (outcome.status, outcome.submission.spam_reason) == ("quarantined", SpamReason.ERASED_PERSON)
    with pytest.raises(services.review.LeadError, match="Only an admin"):
        services.release_submission(submission=outcome.submission, actor=marketing)
    released = services.release_submission(submission=outcome.submission, actor=admin)
    assert released.lead.email == "ana@acme.example"
    assert released.lead.pk != lead.pk


def test_release_makes_the_lead_as_if_accepted_when_sent(admin, contact_form):
    held = submit(contact_form, post_data(contact_form, website="filled")).submission
    released = services.release_submission(submission=held, actor=admin)
    assert (released.status, released.reviewed_by) == (SubmissionStatus.RELEASED, admin)
    lead = Lead.objects.get()
    assert (lead.source, lead.consent_status) == ("newsletter", "granted")
    event = TimelineEvent.objects.get(kind=EventKind.FORM_SUBMITTED)
    assert event.occurred_at == held.created_at
    assert event.data["released_by"] == str(admin)
    with pytest.raises(services.review.LeadError, match="no longer in quarantine"):
        services.release_submission(submission=held, actor=admin)


def test_an_admin_deletes_held_spam(admin, contact_form):
    held = submit(contact_form, post_data(contact_form, website="filled")).submission
    services.discard_submission(submission=held, actor=admin)
    assert Submission.objects.count() == 0


def test_too_many_posts_from_one_address_are_refused_with_a_wait(admin):
    form = make_form(admin, ip_limit_per_hour=2)
    submit(form, post_data(form, email="one@acme.example"))
    submit(form, post_data(form, email="two@acme.example"))
    with pytest.raises(services.RateLimited) as caught:
        submit(form, post_data(form, email="three@acme.example"))
    assert 0 < caught.value.retry_after <= 3601
    assert Lead.objects.count() == 2
    other_network = Sender(ip="192.0.2.50", origin=ORIGIN, channel="embed")
    assert submit(form, post_data(form, email="four@acme.example"), other_network).status == "accepted"


def test_the_whole_form_has_a_limit_too(admin):
    form = make_form(admin, form_limit_per_minute=1)
    submit(form, post_data(form, email="one@acme.example"))
    with pytest.raises(services.RateLimited):
        submit(form, post_data(form, email="two@acme.example"), Sender(ip="192.0.2.9", channel="embed"))
    counter = RateCounter.objects.get(key=f"form:{form.pk}")
    assert counter.hits == 2


def test_ipv6_clients_are_limited_by_their_network(admin):
    form = make_form(admin, ip_limit_per_hour=1)
    submit(form, post_data(form, email="one@acme.example"), Sender(ip="2001:db8:1:2::10", channel="embed"))
    with pytest.raises(services.RateLimited):
        submit(form, post_data(form, email="two@acme.example"), Sender(ip="2001:db8:1:2::99", channel="embed"))


def test_a_paused_form_takes_nothing(admin):
    form = make_form(admin, status="paused")
    with pytest.raises(services.FormClosed):
        submit(form, post_data(form))


def test_a_redirect_is_given_only_while_it_is_allowed(admin):
    form = make_form(admin, success_action="redirect", redirect_url="https://www.example.com/thanks")
    assert submit(form, post_data(form, email="a@acme.example")).redirect_url == "https://www.example.com/thanks"
    form.allowed_origins = []
    form.save()
    assert submit(form, post_data(form, email="b@acme.example")).redirect_url == ""


def test_follow_up_tells_the_people_who_follow_the_form_and_joins_visits(admin, marketing, monkeypatch):
    joined = []
    monkeypatch.setattr(services.review, "identify_visitor", lambda **kwargs: joined.append(kwargs) or 3, raising=True)
    form = make_form(admin, notify=[marketing])
    outcome = submit(form, post_data(form, visitor_id="v_1234567890abcdef"))
    services.follow_up_submission(submission_id=outcome.submission.pk)
    services.follow_up_submission(submission_id=outcome.submission.pk)
    assert joined[0]["visitor_id"] == "v_1234567890abcdef"
    assert (joined[0]["lead"], joined[0]["via"]) == (outcome.submission.lead, "form")
    assert marketing.form_notices.count() == 1


def test_follow_up_work_is_queued_when_the_submission_commits(admin, marketing, django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    form = make_form(admin, notify=[marketing])
    with django_capture_on_commit_callbacks(execute=True):
        first = submit(form, post_data(form))
        second = submit(form, post_data(form, email="second@acme.example"))
    tasks = DBTaskResult.objects.order_by("enqueued_at")
    assert sorted(task.task_path for task in tasks) == [
        "leadflow.capture.tasks.follow_up_submissions",
        "leadflow.capture.tasks.follow_up_submissions",
        "leadflow.capture.tasks.sweep_rate_counters",
    ]
    queued = [
        task.args_kwargs["kwargs"]["submission_ids"] for task in tasks if "submission_ids" in task.args_kwargs["kwargs"]
    ]
    assert sorted(queued) == [[first.submission.pk], [second.submission.pk]]


def test_a_form_nobody_follows_queues_no_follow_up_without_a_visitor(admin, django_capture_on_commit_callbacks):
    from django_tasks_db.models import DBTaskResult

    from leadflow.capture import queries

    form = queries.public_form(make_form(admin).slug)
    with django_capture_on_commit_callbacks(execute=True):
        submit(form, post_data(form))
        submit(form, post_data(form, email="visitor@acme.example", visitor_id="vid_0123456789"))
    follow_ups = DBTaskResult.objects.filter(task_path__endswith="follow_up_submissions")
    assert [task.args_kwargs["kwargs"]["submission_ids"] for task in follow_ups] == [
        [Submission.objects.get(visitor_id="vid_0123456789").pk]
    ]


def test_old_rate_counters_are_swept(contact_form):
    submit(contact_form, post_data(contact_form))
    RateCounter.objects.filter(key__startswith="ip:").update(expires_at=timezone.now() - timedelta(seconds=1))
    submit(contact_form, post_data(contact_form, email="b@acme.example"), Sender(ip="192.0.2.1"))
    assert services.sweep_rate_counters() == 1
    assert sorted(RateCounter.objects.values_list("key", flat=True)) == [
        f"form:{contact_form.pk}",
        f"ip:{contact_form.pk}:192.0.2.1",
    ]


def test_erasure_can_forget_what_a_person_sent(contact_form):
    outcome = submit(contact_form, post_data(contact_form))
    assert services.forget_lead_submissions(lead_ids=[outcome.submission.lead_id]) == 1
    submission = Submission.objects.get()
    assert (submission.fields, submission.source, submission.ip, submission.user_agent) == ([], {}, None, "")


def test_posts_from_different_people_each_get_their_own_lead(contact_form):
    for n in range(20):
        submit(contact_form, post_data(contact_form, email=f"p{n}@acme.example"), Sender(ip=f"10.0.0.{n}"))
    leads = set(Submission.objects.values_list("lead_id", flat=True))
    assert len(leads) == 20 and None not in leads
