import pytest
from django.utils import timezone

from leadflow.leads.models import ActorType, EventKind, TimelineEvent
from leadflow.mail.models import Status, Suppression
from leadflow.mail.services import queue_email, send_due
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db


def _queue(lead, key="k1", kind="marketing", **extra):
    extra.setdefault("html", '<p>Hi <a href="https://example.com/pricing">pricing</a></p>')
    return queue_email(lead=lead, key=key, kind=kind, subject="Hello there", text="Hi", **extra)


def test_a_due_email_is_sent_once_with_its_message_id(smtp_server):
    lead = make_lead()
    row = _queue(lead)
    assert send_due() == 1
    assert send_due() == 0
    assert len(smtp_server.received) == 1
    got = smtp_server.received[0].message
    assert got["Message-ID"] == row.message_id
    assert got["To"] == lead.email
    row.refresh_from_db()
    assert row.status == Status.SENT
    assert row.sent_at is not None
    event = TimelineEvent.objects.get(lead=lead, kind=EventKind.EMAIL_SENT)
    assert event.data["outbox_id"] == row.pk
    assert event.actor_type == ActorType.SYSTEM


def test_marketing_email_has_one_click_unsubscribe_headers_footer_and_tracking(smtp_server, settings):
    settings.LEADFLOW_POSTAL_ADDRESS = "Acme Ltd, 1 Long Road, Springfield"
    _queue(make_lead())
    send_due()
    got = smtp_server.received[0].message
    unsubscribe = str(got["List-Unsubscribe"]).strip()
    assert unsubscribe.startswith("<http") and "mailto:" in unsubscribe
    assert got["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    html = got.get_body(("html",)).get_content()
    text = got.get_body(("plain",)).get_content()
    assert "Acme Ltd, 1 Long Road, Springfield" in html and "Acme Ltd, 1 Long Road, Springfield" in text
    assert "Unsubscribe" in html and "/mail/u/" in text
    assert "https://example.com/pricing" not in html
    assert "/mail/c/" in html and "/mail/o/" in html


def test_transactional_email_has_no_marketing_footer_or_tracking(smtp_server, settings):
    settings.LEADFLOW_POSTAL_ADDRESS = "Acme Ltd"
    _queue(make_lead(), kind="transactional")
    send_due()
    got = smtp_server.received[0].message
    assert got["List-Unsubscribe"] is None
    html = got.get_body(("html",)).get_content()
    assert "Acme Ltd" not in html and "https://example.com/pricing" in html


def test_one_to_one_email_is_the_reps_touch(smtp_server, alice):
    alice.email = "alice@sales.example"
    alice.save()
    lead = make_lead(owner=alice)
    _queue(lead, kind="one_to_one", sender=alice)
    send_due()
    got = smtp_server.received[0].message
    assert "Alice" in got["From"]
    assert "alice@sales.example" in got["Reply-To"]
    event = TimelineEvent.objects.get(lead=lead, kind=EventKind.EMAIL_SENT)
    assert event.actor_id == alice.pk and event.actor_type == ActorType.USER


def test_a_suppressed_address_is_not_sent_marketing(smtp_server):
    lead = make_lead()
    Suppression.objects.create(email=lead.email.lower(), reason="unsubscribed")
    row = _queue(lead)
    _queue(lead, key="receipt", kind="transactional")
    send_due()
    row.refresh_from_db()
    assert row.status == Status.SUPPRESSED
    assert "unsubscribed" in row.last_error
    assert [r.message["Subject"] for r in smtp_server.received] == ["Hello there"]
    assert len(smtp_server.received) == 1


def test_a_future_email_waits_for_its_time(smtp_server):
    _queue(make_lead(), due_at=timezone.now() + timezone.timedelta(hours=1))
    assert send_due() == 0
    assert smtp_server.received == []
