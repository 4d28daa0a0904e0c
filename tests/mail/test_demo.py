import random

import pytest

from leadflow.leads.models import EventKind, TimelineEvent
from leadflow.mail import demo, queries
from leadflow.mail.models import OutboxMessage, Status
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db


def test_demo_seed_shows_delivery_engagement_failures_and_suppressions(alice, marketing):
    for _ in range(6):
        make_lead(owner=alice)
    demo.seed(rng=random.Random(1))
    demo.seed(rng=random.Random(1))
    counts = queries.outbox_counts()
    assert counts[Status.SENT] >= 6
    assert counts[Status.FAILED] == 1
    assert len(queries.recent_failures()) == 2
    assert {row.reason for row in queries.suppression_list()} == {"unsubscribed", "bounced", "manual"}
    assert (
        TimelineEvent.objects.filter(kind=EventKind.EMAIL_SENT).count()
        == OutboxMessage.objects.filter(status=Status.SENT).count()
    )
