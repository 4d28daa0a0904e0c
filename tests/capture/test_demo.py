"""The demo builds two forms and posts to them the public way: people become leads, the robot is held."""

import random

import pytest

from leadflow.capture import demo
from leadflow.capture.models import Form, Submission, SubmissionStatus
from leadflow.leads.models import EventKind, Lead, TimelineEvent
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db


def test_demo_forms_take_posts_that_become_leads_and_hold_the_spam(marketing):
    for _ in range(8):
        make_lead()
    demo.seed(rng=random.Random(3))
    demo.seed(rng=random.Random(3))
    assert sorted(Form.objects.values_list("name", flat=True)) == ["Contact us", "Webinar: scoring leads"]
    statuses = list(Submission.objects.values_list("status", flat=True))
    assert statuses.count(SubmissionStatus.QUARANTINED) == 1
    assert statuses.count(SubmissionStatus.ACCEPTED) == len(statuses) - 1
    newcomer = Lead.objects.get(email="lena.hoffmann@brightpath.example")
    assert newcomer.source in {"google", "linkedin", "newsletter"}
    assert TimelineEvent.objects.filter(lead=newcomer, kind=EventKind.FORM_SUBMITTED).count() == 1
    assert not Lead.objects.filter(email="offers@bulkseo.example").exists()
