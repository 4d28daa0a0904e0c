"""Public posts are kept as received with one write; the worker's fast-lane job makes their leads in batches."""

from __future__ import annotations

import pytest
from django.db import connection

from leadflow.capture import queries, schedule, services, statements
from leadflow.capture.models import Form, SpamReason, Submission, SubmissionStatus
from leadflow.capture.services import Sender, recording
from leadflow.leads import services as lead_services
from leadflow.leads.models import EventKind, Lead, TimelineEvent
from leadflow.lib import scheduler
from tests.capture.conftest import ORIGIN, SITE, make_form, post_data, record_received
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db

BROWSER = Sender(ip="203.0.113.7", user_agent="Mozilla/5.0 Test", origin=ORIGIN, channel="embed")


def take(form, data, sender: Sender = BROWSER):
    return services.take_submission(form=form, raw=data, sender=sender, site_host=SITE)


def test_a_post_is_kept_as_received_and_becomes_a_lead_when_the_job_runs(contact_form):
    outcome = take(contact_form, post_data(contact_form, budget="10k+"))
    assert outcome.status == "received"
    submission = Submission.objects.get()
    assert (submission.status, submission.lead) == (SubmissionStatus.RECEIVED, None)
    assert (Lead.objects.count(), TimelineEvent.objects.count()) == (0, 0)
    assert record_received() == 1
    submission.refresh_from_db()
    lead = Lead.objects.get()
    assert (submission.status, submission.lead) == (SubmissionStatus.ACCEPTED, lead)
    assert (lead.email, lead.source, lead.custom) == ("ana@acme.example", "newsletter", {"budget": "10k+"})
    assert (lead.consent_status, lead.consent_source) == ("granted", "form:contact-us")
    event = TimelineEvent.objects.get(kind=EventKind.FORM_SUBMITTED)
    assert (event.lead, event.occurred_at, event.actor_type) == (lead, submission.created_at, "lead")
    assert event.data["fields"]["Work email"] == "ana@acme.example"
    assert (event.data["form_id"], event.data["submission_id"]) == (contact_form.pk, submission.pk)
    assert record_received() == 0


def test_the_job_is_in_the_fast_lane_and_runs_several_times_a_second():
    jobs = scheduler.discover()
    job = jobs["leadflow.capture.schedule.record_received_submissions"]
    assert (job.lane, job.seconds <= 0.5) == ("fast", True)


def test_a_double_click_is_one_submission_and_one_lead(contact_form):
    data = post_data(contact_form)
    first, again = take(contact_form, data), take(contact_form, data)
    assert (first.status, again.status, again.submission) == ("received", "duplicate", first.submission)
    record_received()
    assert (Lead.objects.count(), Submission.objects.count()) == (1, 1)
    assert TimelineEvent.objects.filter(kind=EventKind.FORM_SUBMITTED).count() == 1


def test_one_person_posting_twice_in_one_batch_gets_one_lead_with_both_submissions(contact_form):
    take(contact_form, post_data(contact_form, company_name="Acme"))
    take(contact_form, post_data(contact_form, company_name="Acme Corp"), Sender(ip="192.0.2.1", channel="embed"))
    known = make_lead(email="bo@acme.example", first_name="Bo")
    take(contact_form, post_data(contact_form, email="bo@acme.example", first_name="Bo"))
    assert record_received() == 3
    assert Lead.objects.count() == 2
    ana = Lead.objects.get(email="ana@acme.example")
    assert ana.company_name == "Acme Corp"
    assert ana.form_submissions.count() == 2
    assert TimelineEvent.objects.filter(lead=ana, kind=EventKind.FORM_SUBMITTED).count() == 2
    assert known.form_submissions.get().status == SubmissionStatus.ACCEPTED


def test_spam_is_held_at_once_and_never_reaches_the_job(contact_form):
    outcome = take(contact_form, post_data(contact_form, website="http://cheap-pills.example"))
    assert (outcome.status, outcome.submission.spam_reason) == ("quarantined", SpamReason.HONEYPOT)
    assert record_received() == 0
    assert Lead.objects.count() == 0


def test_an_erased_person_is_held_for_an_admin_by_the_job(admin, contact_form):
    lead = make_lead(email="ana@acme.example")
    lead_services.erase_lead(lead=lead, actor=admin)
    take(contact_form, post_data(contact_form))
    take(contact_form, post_data(contact_form, email="new@acme.example"))
    assert record_received() == 2
    held = Submission.objects.get(status=SubmissionStatus.QUARANTINED)
    assert (held.spam_reason, held.lead) == (SpamReason.ERASED_PERSON, None)
    released = services.release_submission(submission=held, actor=admin)
    assert released.lead.email == "ana@acme.example"
    assert Submission.objects.get(lead__email="new@acme.example").status == SubmissionStatus.ACCEPTED


def test_a_submission_that_cannot_be_recorded_is_held_and_the_rest_go_on(contact_form, monkeypatch):
    take(contact_form, post_data(contact_form, email="good@acme.example"))
    take(contact_form, post_data(contact_form, email="bad@acme.example"))
    original = recording.lead_data_of

    def failing(submission):
        if submission.value_of("email") == "bad@acme.example":
            raise TypeError("stored fields are not what the form sent")
        return original(submission)

    monkeypatch.setattr(recording, "lead_data_of", failing)
    assert record_received() == 2
    statuses = dict(Submission.objects.values_list("fields__2__value", "status"))
    assert statuses == {"good@acme.example": "accepted", "bad@acme.example": "quarantined"}
    held = Submission.objects.get(status=SubmissionStatus.QUARANTINED)
    assert (held.spam_reason, held.lead) == (SpamReason.NOT_RECORDED, None)
    assert Lead.objects.get().email == "good@acme.example"


def test_the_job_takes_a_bounded_batch_oldest_first(contact_form):
    for n in range(5):
        take(contact_form, post_data(contact_form, email=f"p{n}@acme.example"), Sender(ip=f"10.0.0.{n}"))
    assert services.record_received_submissions(limit=3) == 3
    recorded = Submission.objects.filter(status=SubmissionStatus.ACCEPTED).order_by("id")
    assert [submission.value_of("email") for submission in recorded] == [f"p{n}@acme.example" for n in range(3)]
    assert services.record_received_submissions(limit=3) == 2
    assert services.record_received_submissions(limit=3) == 0
    assert Lead.objects.count() == 5


def test_field_errors_and_rate_limits_are_answered_at_once(admin):
    form = make_form(admin, ip_limit_per_hour=1)
    with pytest.raises(services.submissions.FieldErrors) as caught:
        take(form, post_data(form, email="not-an-email", phone="12"))
    assert set(caught.value.errors) == {"email", "phone"}
    with pytest.raises(services.RateLimited):
        take(form, post_data(form, email="two@acme.example"))
    assert Submission.objects.count() == 0


def test_follow_ups_of_a_batch_are_queued_once_after_it_commits(
    admin, marketing, contact_form, django_capture_on_commit_callbacks
):
    from django_tasks_db.models import DBTaskResult

    followed = make_form(admin, name="Followed", notify=[marketing])
    quiet = take(contact_form, post_data(contact_form, email="quiet@acme.example")).submission
    visitor = take(contact_form, post_data(contact_form, email="v@acme.example", visitor_id="vid_0123456789"))
    told = take(followed, post_data(followed, email="told@acme.example"))
    with django_capture_on_commit_callbacks(execute=True):
        record_received()
    task = DBTaskResult.objects.get(task_path="leadflow.capture.tasks.follow_up_submissions")
    assert task.args_kwargs["kwargs"]["submission_ids"] == [visitor.submission.pk, told.submission.pk]
    assert quiet.pk not in task.args_kwargs["kwargs"]["submission_ids"]
    services.follow_up_submissions(submission_ids=task.args_kwargs["kwargs"]["submission_ids"])
    assert marketing.form_notices.get().submission == told.submission


def test_a_form_closed_or_changed_in_another_process_takes_effect_at_once(admin, contact_form):
    assert queries.public_form(contact_form.slug).title == "Talk to us"
    services.save_form(
        actor=admin,
        form=Form.objects.get(pk=contact_form.pk),
        values={**_settings(contact_form), "status": "paused", "title": "Closed for now"},
        fields=contact_form.fields,
        notify=[],
        site_host=SITE,
    )
    # Another web process never ran the builder's on-commit hook; only the version tells it.
    cached = queries.public_form.__globals__["_forms"]
    cached[contact_form.slug] = Form.objects.get(pk=contact_form.pk)
    cached[contact_form.slug].version -= 1
    cached[contact_form.slug].status = "active"
    form = queries.public_form(contact_form.slug)
    assert (form.title, form.is_active) == ("Closed for now", False)
    with pytest.raises(services.FormClosed):
        take(form, post_data(form))


def _settings(form) -> dict:
    from tests.capture.conftest import form_settings

    return form_settings(slug=form.slug)


def test_every_builder_save_raises_the_version(admin, contact_form):
    before = Form.objects.get(pk=contact_form.pk).version
    for _ in range(2):
        services.save_form(
            actor=admin, form=Form.objects.get(pk=contact_form.pk), values=_settings(contact_form),
            fields=contact_form.fields, notify=[admin], site_host=SITE,
        )  # fmt: skip
    assert Form.objects.get(pk=contact_form.pk).version == before + 2


def test_the_inserted_columns_are_every_column_but_those_set_later():
    columns = {field.attname for field in Submission._meta.concrete_fields if not field.primary_key}
    inserted = {Submission._meta.get_field(name).attname for name in statements.INSERTED}
    assert columns - inserted == {"lead_id", "reviewed_by_id", "reviewed_at"}


def test_one_run_of_the_job_records_a_whole_batch_of_posts(contact_form):
    for n in range(100):
        take(contact_form, post_data(contact_form, email=f"p{n}@acme.example"), Sender(ip=f"10.0.{n // 250}.{n % 250}"))
    assert schedule.record_received_submissions() == 100
    assert Lead.objects.count() == 100
    assert not Submission.objects.filter(status=SubmissionStatus.RECEIVED).exists()


@pytest.mark.skipif(
    connection.features.has_select_for_update,
    reason="with row locks (PostgreSQL) the job decides a batch under its locks, with no plan made beforehand",
)
def test_a_lead_changed_while_the_batch_was_decided_keeps_the_change(contact_form, alice, monkeypatch):
    from leadflow.leads.services import batch

    known = make_lead(email="ana@acme.example", owner=alice)
    take(contact_form, post_data(contact_form, company_name="Acme Corp"))
    take(contact_form, post_data(contact_form, email="new@acme.example"), Sender(ip="192.0.2.9", channel="embed"))
    original = batch.plan_cleaned_batch

    def plan_then_a_rep_edits(**kwargs):
        plan = original(**kwargs)
        lead_services.update_lead(lead=Lead.objects.get(pk=known.pk), changes={"title": "CEO"}, actor=alice)
        return plan

    monkeypatch.setattr(batch, "plan_cleaned_batch", plan_then_a_rep_edits)
    assert record_received() == 2
    known.refresh_from_db()
    assert (known.title, known.company_name) == ("CEO", "Acme Corp")
    assert Lead.objects.count() == 2
    assert set(Submission.objects.values_list("status", flat=True)) == {SubmissionStatus.ACCEPTED}
    assert TimelineEvent.objects.filter(kind=EventKind.FORM_SUBMITTED).count() == 2
