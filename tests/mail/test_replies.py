"""Replies, out-of-office answers, bounce reports and unsubscribe mail, read from a real Dovecot mailbox."""

import hashlib
import hmac
from urllib.parse import unquote

import pytest
from django.utils import timezone

from leadflow.leads.models import ConsentStatus, EventKind, TimelineEvent
from leadflow.mail import queries
from leadflow.mail.models import OutboxMessage, Status, Suppression
from leadflow.mail.services import queue_email
from leadflow.mail.services.compose import unsubscribe_mailto
from leadflow.mail.services.mailbox import poll_mailbox
from tests.conftest import make_lead
from tests.mail import messages

pytestmark = pytest.mark.django_db


def _sent(lead, key="k1", **extra) -> OutboxMessage:
    row = queue_email(lead=lead, key=key, kind="marketing", subject="Hello", html="<p>Hi</p>", text="Hi", **extra)
    OutboxMessage.objects.filter(pk=row.pk).update(status=Status.SENT, sent_at=timezone.now())
    row.refresh_from_db()
    return row


def test_a_reply_in_the_mailbox_is_on_the_timeline_stops_sequences_and_tells_the_owner(
    imap_server, alice, exits, notices, django_capture_on_commit_callbacks
):
    lead = make_lead(owner=alice)
    row = _sent(lead)
    imap_server.append(messages.reply(row.message_id))
    with django_capture_on_commit_callbacks(execute=True):
        assert poll_mailbox() == 1
    event = TimelineEvent.objects.get(lead=lead, kind=EventKind.EMAIL_REPLIED)
    assert event.data["snippet"] == "Yes, let's talk on Tuesday."
    assert event.data["auto_reply"] is False
    assert exits == [(lead.pk, "replied")]
    assert [n["user"] for n in notices] == [alice]
    assert "replied" in notices[0]["subject"] and notices[0]["lead"] == lead
    assert queries.engagement(key="k1")["replied"] is True


def test_each_message_in_the_mailbox_is_read_once(imap_server, exits, notices):
    lead = make_lead()
    row = _sent(lead)
    imap_server.append(messages.reply(row.message_id))
    assert poll_mailbox() == 1
    assert poll_mailbox() == 0
    imap_server.append(messages.reply(row.message_id, message_id="<reply-2@client.example>", body="And Wednesday?"))
    assert poll_mailbox() == 1
    assert TimelineEvent.objects.filter(lead=lead, kind=EventKind.EMAIL_REPLIED).count() == 2


def test_a_reply_matched_by_references_only(imap_server, exits, notices):
    lead = make_lead()
    row = _sent(lead)
    raw = messages.reply("<someone-else@client.example>").replace(
        b"References: <someone-else@client.example>", f"References: <x@y> {row.message_id}".encode()
    )
    imap_server.append(raw)
    poll_mailbox()
    assert TimelineEvent.objects.filter(lead=lead, kind=EventKind.EMAIL_REPLIED).exists()


def test_an_out_of_office_answer_is_recorded_but_stops_nothing(imap_server, exits, notices):
    lead = make_lead()
    row = _sent(lead)
    imap_server.append(messages.out_of_office(row.message_id))
    poll_mailbox()
    event = TimelineEvent.objects.get(lead=lead, kind=EventKind.EMAIL_REPLIED)
    assert event.data["auto_reply"] is True and event.data["machine"] is True
    assert exits == [] and notices == []
    assert queries.engagement(key="k1")["replied"] is False


def test_a_bounce_report_in_the_mailbox_bounces_the_message(imap_server, exits):
    lead = make_lead(email="gone@example.com")
    row = _sent(lead)
    imap_server.append(messages.bounce_report(row.message_id))
    poll_mailbox()
    row.refresh_from_db()
    assert row.status == Status.BOUNCED
    assert "5.1.1" in row.last_error
    assert Suppression.objects.get(email="gone@example.com").reason == "bounced"
    assert TimelineEvent.objects.filter(lead=lead, kind=EventKind.EMAIL_BOUNCED).exists()
    assert exits == [(lead.pk, "bounced")]
    assert not TimelineEvent.objects.filter(lead=lead, kind=EventKind.EMAIL_REPLIED).exists()


def test_a_delay_report_changes_nothing(imap_server, exits):
    row = _sent(make_lead())
    imap_server.append(messages.bounce_report(row.message_id, status="4.4.1", action="delayed"))
    poll_mailbox()
    row.refresh_from_db()
    assert row.status == Status.SENT
    assert exits == []


def test_mail_to_the_unsubscribe_address_unsubscribes(imap_server, exits):
    lead = make_lead()
    row = _sent(lead)
    mailto = unsubscribe_mailto(row.token)
    subject = unquote(mailto.split("subject=", 1)[1])
    imap_server.append(messages.unsubscribe_mail(subject, sender="someone-else@example.com"))
    poll_mailbox()
    lead.refresh_from_db()
    assert lead.consent_status == ConsentStatus.WITHDRAWN
    assert Suppression.objects.get(email=lead.email.lower()).reason == "unsubscribed"
    assert exits == [(lead.pk, "unsubscribed")]


def test_plain_unsubscribe_mail_unsubscribes_the_sender(imap_server, exits):
    lead = make_lead(email="plain@example.com")
    imap_server.append(messages.unsubscribe_mail("Unsubscribe", sender="Plain@example.com"))
    poll_mailbox()
    assert queries.suppression_reason("plain@example.com", kind="marketing") == "unsubscribed"
    lead.refresh_from_db()
    assert lead.consent_status == ConsentStatus.WITHDRAWN


def test_polling_is_off_without_a_mailbox(settings):
    settings.LEADFLOW_IMAP_HOST = ""
    assert poll_mailbox() == 0


def _signed(body: bytes, secret: str) -> str:
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def test_the_inbound_webhook_takes_signed_raw_mime(client, settings, exits, notices):
    settings.LEADFLOW_MAIL_INBOUND_SECRET = "s3cret"
    lead = make_lead()
    row = _sent(lead)
    body = messages.reply(row.message_id)
    response = client.post(
        "/mail/inbound/", body, content_type="message/rfc822", headers={"X-Leadflow-Signature": _signed(body, "s3cret")}
    )
    assert response.status_code == 200
    assert response.json() == {"outcome": "reply"}
    again = client.post(
        "/mail/inbound/", body, content_type="message/rfc822", headers={"X-Leadflow-Signature": _signed(body, "s3cret")}
    )
    assert again.json() == {"outcome": "duplicate"}
    assert TimelineEvent.objects.filter(lead=lead, kind=EventKind.EMAIL_REPLIED).count() == 1


def test_the_inbound_webhook_refuses_a_wrong_signature(client, settings):
    settings.LEADFLOW_MAIL_INBOUND_SECRET = "s3cret"
    body = messages.reply("<x@y>")
    response = client.post(
        "/mail/inbound/", body, content_type="message/rfc822", headers={"X-Leadflow-Signature": _signed(body, "other")}
    )
    assert response.status_code == 403


def test_the_inbound_webhook_is_off_without_a_secret(client, settings):
    settings.LEADFLOW_MAIL_INBOUND_SECRET = ""
    assert client.post("/mail/inbound/", b"x", content_type="message/rfc822").status_code == 404
