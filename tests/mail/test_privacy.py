"""Erasing a person forgets what mail kept and keeps their address suppressed, as a hash only."""

import pytest
from django.utils import timezone

from leadflow.leads.services import erase_lead
from leadflow.mail import queries
from leadflow.mail.models import ConsentRecord, OutboxMessage, Status, Suppression
from leadflow.mail.services import queue_email, send_due, unsubscribe
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db


def test_erasure_forgets_outbox_content_and_suppresses_the_address(admin, smtp_server):
    lead = make_lead(email="forget.me@example.com")
    sent = queue_email(lead=lead, key="a", kind="marketing", subject="Secret plans", html="<p>x</p>", text="x")
    OutboxMessage.objects.filter(pk=sent.pk).update(status=Status.SENT, sent_at=timezone.now())
    waiting = queue_email(lead=lead, key="b", kind="transactional", subject="Receipt", html="", text="x")
    unsubscribe(email=lead.email, source="test", message=sent)
    erase_lead(lead=lead, actor=admin)
    for row in OutboxMessage.objects.all():
        assert (row.to_email, row.subject, row.html, row.text) == ("", "", "", "")
    assert OutboxMessage.objects.get(pk=waiting.pk).status == Status.SUPPRESSED
    assert not Suppression.objects.filter(email="forget.me@example.com").exists()
    assert ConsentRecord.objects.get().email == ""
    assert queries.suppression_reason("forget.me@example.com", kind="transactional") == "erased"
    queue_email(
        lead=None, to_email="Forget.Me@example.com", key="c", kind="transactional", subject="s", html="", text="x"
    )
    send_due()
    assert smtp_server.received == []
