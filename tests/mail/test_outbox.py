from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from leadflow.mail import queries
from leadflow.mail.errors import MailError
from leadflow.mail.models import EventType, MessageEvent, OutboxMessage, Status, Suppression
from leadflow.mail.services import queue_email
from tests.conftest import make_lead


def _queue(lead, key="k1", kind="marketing", **extra):
    return queue_email(lead=lead, key=key, kind=kind, subject="Hello", html="<p>Hi</p>", text="Hi", **extra)


def test_queue_email_writes_one_row_per_key(db):
    lead = make_lead()
    first = _queue(lead, meta={"sequence_id": 3, "step_id": 9})
    assert first is not None
    assert first.to_email == lead.email
    assert first.message_id.startswith("<") and first.message_id.endswith(">")
    assert _queue(lead) is None
    assert OutboxMessage.objects.filter(key="k1").count() == 1


def test_queue_email_rolls_back_with_the_callers_transaction(db):
    lead = make_lead()
    with pytest.raises(RuntimeError), transaction.atomic():
        _queue(lead)
        raise RuntimeError("cause failed")
    assert OutboxMessage.objects.count() == 0


def test_queue_email_keeps_the_links_of_the_html(db):
    lead = make_lead()
    row = queue_email(
        lead=lead,
        key="links",
        kind="marketing",
        subject="s",
        text="t",
        html='<a href="https://a.example/x?y=1&amp;z=2">A</a> <a href="mailto:x@y">m</a> <a href="https://b.example">B</a>',
    )
    assert row.links == ["https://a.example/x?y=1&z=2", "https://b.example"]


def test_one_to_one_email_comes_from_the_reps_name_and_is_answered_to_the_rep(alice):
    alice.email = "alice@sales.example"
    alice.save()
    row = _queue(make_lead(), kind="one_to_one", sender=alice)
    assert row.from_email.startswith("Alice")
    assert "alice@sales.example" in row.reply_to


def test_test_send_to_a_user_needs_no_lead(db):
    row = queue_email(
        lead=None, to_email="me@example.com", key="t", kind="transactional", subject="s", html="", text="t"
    )
    assert row.to_email == "me@example.com"


def test_unknown_kind_is_refused(db):
    with pytest.raises(MailError, match="Unknown kind"):
        _queue(make_lead(), kind="spam")


def test_marketing_sent_count_counts_queued_and_recently_sent(db):
    lead = make_lead()
    since = timezone.now() - timedelta(days=7)
    _queue(lead, key="a")
    old = _queue(lead, key="b")
    OutboxMessage.objects.filter(pk=old.pk).update(status=Status.SENT, sent_at=since - timedelta(days=1))
    recent = _queue(lead, key="c")
    OutboxMessage.objects.filter(pk=recent.pk).update(status=Status.SENT, sent_at=timezone.now())
    _queue(lead, key="d", kind="transactional")
    assert queries.marketing_sent_count(lead_id=lead.pk, since=since) == 2


def test_engagement_counts_only_people(db):
    row = _queue(make_lead())
    MessageEvent.objects.create(message=row, type=EventType.CLICK, machine=True)
    assert queries.engagement(key="k1") == {"opened": False, "clicked": False, "replied": False}
    MessageEvent.objects.create(message=row, type=EventType.CLICK)
    assert queries.engagement(key="k1") == {"opened": True, "clicked": True, "replied": False}
    assert queries.engagement(key="missing") == {"opened": False, "clicked": False, "replied": False}


def test_stats_by_step_groups_by_the_step_in_meta(db):
    lead = make_lead()
    a = _queue(lead, key="a", meta={"sequence_id": 3, "step_id": 9})
    _queue(lead, key="b", meta={"sequence_id": 3, "step_id": 10})
    _queue(lead, key="c", meta={"sequence_id": 4, "step_id": 11})
    OutboxMessage.objects.filter(pk=a.pk).update(status=Status.SENT, sent_at=timezone.now())
    MessageEvent.objects.create(message=a, type=EventType.OPEN)
    stats = queries.stats_by_step(sequence_id=3)
    assert stats[9] == {"sent": 1, "opened": 1, "clicked": 0, "replied": 0, "unsubscribed": 0, "bounced": 0}
    assert stats[10]["sent"] == 0
    assert 11 not in stats


def test_suppression_reason_by_kind(db):
    Suppression.objects.create(email="gone@example.com", reason="unsubscribed")
    Suppression.objects.create(email="bad@example.com", reason="bounced")
    assert queries.suppression_reason("Gone@Example.com", kind="marketing") == "unsubscribed"
    assert queries.suppression_reason("gone@example.com", kind="transactional") is None
    assert queries.suppression_reason("bad@example.com", kind="transactional") == "bounced"
    assert queries.suppression_reason("fine@example.com", kind="marketing") is None


def test_erased_addresses_are_suppressed_for_every_kind(admin):
    from leadflow.leads.services import erase_lead

    lead = make_lead(email="erase.me@example.com")
    erase_lead(lead=lead, actor=admin)
    assert queries.suppression_reason("erase.me@example.com", kind="transactional") == "erased"
