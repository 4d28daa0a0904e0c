"""The follow-up work of a submission through the real database queue, as `leadflow worker` runs it."""

from __future__ import annotations

import pytest
from django.core.management import call_command

from leadflow.capture import services
from leadflow.capture.models import SubmissionNotice
from tests.capture.conftest import SITE, make_form, post_data, submit_now

pytestmark = pytest.mark.django_db(transaction=True)


def run_worker() -> None:
    call_command("db_worker", batch=True, queue_name="*", startup_delay=False, verbosity=0)


def test_worker_tells_followers_and_joins_the_visitor_once(admin, marketing, monkeypatch):
    joined = []
    monkeypatch.setattr(services.review, "identify_visitor", lambda **kwargs: joined.append(kwargs) or 0)
    form = make_form(admin, notify=[marketing, admin])
    outcome = submit_now(
        form=form, raw=post_data(form, visitor_id="vid_0123456789"), sender=services.Sender(), site_host=SITE
    )
    run_worker()
    run_worker()
    assert [call["visitor_id"] for call in joined] == ["vid_0123456789"]
    notices = SubmissionNotice.objects.filter(submission=outcome.submission)
    assert sorted(notice.user.username for notice in notices) == ["admin", "mark"]


def test_spam_queues_no_follow_up(admin, marketing):
    form = make_form(admin, notify=[marketing])
    submit_now(form=form, raw=post_data(form, website="x"), sender=services.Sender(), site_host=SITE)
    run_worker()
    assert SubmissionNotice.objects.count() == 0
