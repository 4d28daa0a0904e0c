"""The outbox against servers that refuse, drop or are missing; nothing is lost, nothing sent twice."""

from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from leadflow.leads.models import EventKind, TimelineEvent
from leadflow.mail import queries
from leadflow.mail.models import OutboxMessage, Status, Suppression
from leadflow.mail.services import queue_email, send_due
from tests.conftest import make_lead
from tests.mail.servers import ScriptedSmtp
from tests.smtp import SmtpSink, free_port

pytestmark = pytest.mark.django_db


def _queue(lead, key="k1"):
    return queue_email(lead=lead, key=key, kind="marketing", subject="Hello", html="<p>Hi</p>", text="Hi")


@pytest.fixture
def scripted(settings):
    servers = []

    def start(mode: str) -> ScriptedSmtp:
        server = ScriptedSmtp(mode).start()
        servers.append(server)
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", server.port, False
        return server

    yield start
    for server in servers:
        server.stop()


def _later(minutes: float):
    return time_machine.travel(timezone.now() + timedelta(minutes=minutes), tick=True)


def test_a_451_is_retried_with_backoff_and_then_sent(smtp_server):
    row = _queue(make_lead())
    smtp_server.answer_next("451 4.3.0 Mailbox busy, try later")
    send_due()
    row.refresh_from_db()
    assert row.status == Status.QUEUED
    assert row.attempts == 1
    assert "451" in row.last_error
    assert row.next_attempt_at > timezone.now() + timedelta(seconds=50)
    assert not TimelineEvent.objects.filter(kind=EventKind.EMAIL_SENT).exists()
    assert send_due() == 0
    with _later(1.1):
        assert send_due() == 1
    row.refresh_from_db()
    assert row.status == Status.SENT
    assert len(smtp_server.received) == 1
    assert TimelineEvent.objects.filter(kind=EventKind.EMAIL_SENT).count() == 1


def test_the_wait_doubles_and_the_message_fails_after_the_last_attempt(smtp_server, settings):
    settings.LEADFLOW_MAIL_MAX_ATTEMPTS = 3
    row = _queue(make_lead())
    smtp_server.answer_next(*["451 4.3.0 busy"] * 3)
    waits = []
    for minutes in (0, 1.1, 3.2):
        with _later(minutes):
            send_due()
            row.refresh_from_db()
            waits.append((row.next_attempt_at - timezone.now()).total_seconds())
    assert row.status == Status.FAILED
    assert row.attempts == 3
    assert row.last_error.startswith("Gave up after 3 attempts.")
    assert 100 < waits[1] <= 120
    assert smtp_server.received == []


def test_a_550_bounces_suppresses_and_notes_it(smtp_server):
    lead = make_lead()
    row = _queue(lead)
    smtp_server.answer_next("550 5.1.1 No such user")
    send_due()
    row.refresh_from_db()
    assert row.status == Status.BOUNCED
    assert "550" in row.last_error
    assert Suppression.objects.get(email=lead.email.lower()).reason == "bounced"
    assert TimelineEvent.objects.filter(lead=lead, kind=EventKind.EMAIL_BOUNCED).exists()
    assert not TimelineEvent.objects.filter(lead=lead, kind=EventKind.EMAIL_SENT).exists()
    assert queries.suppression_reason(lead.email, kind="transactional") == "bounced"


def test_a_550_to_the_recipient_bounces(scripted):
    server = scripted("rcpt_550")
    lead = make_lead()
    row = _queue(lead)
    send_due()
    row.refresh_from_db()
    assert row.status == Status.BOUNCED
    assert "No such user" in row.last_error
    assert server.accepted == 0


def test_a_421_greeting_keeps_the_message_waiting_without_using_an_attempt(scripted):
    scripted("greeting_421")
    row = _queue(make_lead())
    send_due()
    row.refresh_from_db()
    assert row.status == Status.QUEUED
    assert row.attempts == 0
    assert "421" in row.last_error


def test_a_dropped_connection_loses_nothing(scripted, settings):
    scripted("drop_in_data")
    rows = [_queue(make_lead(), key=f"k{i}") for i in range(3)]
    send_due()
    for row in rows:
        row.refresh_from_db()
        assert row.status == Status.QUEUED
        assert row.attempts == 0
        assert "dropped the connection" in row.last_error
    sink = SmtpSink().start()
    try:
        settings.EMAIL_PORT = sink.port
        with _later(1):
            assert send_due() == 3
        assert sorted(m.message["Message-ID"] for m in sink.received) == sorted(r.message_id for r in rows)
    finally:
        sink.stop()


def test_everything_goes_out_when_the_server_comes_back(settings):
    port = free_port()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", port, False
    rows = [_queue(make_lead(), key=f"k{i}") for i in range(5)]
    send_due()
    assert {r.status for r in OutboxMessage.objects.all()} == {Status.QUEUED}
    assert "refused the connection" in OutboxMessage.objects.first().last_error
    sink = SmtpSink(port=port).start()
    try:
        with _later(1):
            while send_due():
                pass
        assert sorted(m.message["Message-ID"] for m in sink.received) == sorted(r.message_id for r in rows)
        assert OutboxMessage.objects.filter(status=Status.SENT).count() == 5
    finally:
        sink.stop()


def test_starttls_required_but_not_offered_never_sends_in_plain_text(smtp_server, settings):
    settings.EMAIL_USE_TLS = True
    row = _queue(make_lead())
    send_due()
    row.refresh_from_db()
    assert row.status == Status.QUEUED
    assert "STARTTLS is required" in row.last_error
    assert "does not offer it" in row.last_error
    assert smtp_server.received == []


def test_starttls_refused_by_the_server_never_sends_in_plain_text(scripted, settings):
    server = scripted("starttls_454")
    settings.EMAIL_USE_TLS = True
    row = _queue(make_lead())
    send_due()
    row.refresh_from_db()
    assert row.status == Status.QUEUED
    assert "STARTTLS" in row.last_error and "454" in row.last_error
    assert server.accepted == 0


def test_a_server_that_stays_unreachable_is_logged_once_not_on_every_try(settings, caplog, monkeypatch):
    from leadflow.mail.services import sending

    monkeypatch.setattr(sending, "_last_warning", ("", 0.0))
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", free_port(), False
    _queue(make_lead())
    with caplog.at_level("WARNING", logger="leadflow.mail"):
        for minutes in (1, 2, 3):
            with _later(minutes):
                send_due()
    warnings = [record.getMessage() for record in caplog.records if record.name == "leadflow.mail"]
    assert len(warnings) == 1
    assert "refused the connection" in warnings[0] and "wait in the outbox" in warnings[0]
    assert OutboxMessage.objects.get().status == Status.QUEUED

    monkeypatch.setattr(sending, "UNREACHABLE_LOG_EVERY_S", 0.0)
    with caplog.at_level("WARNING", logger="leadflow.mail"), _later(4):
        send_due()
    assert len([record for record in caplog.records if record.name == "leadflow.mail"]) == 2


def test_starting_leadflow_says_when_no_smtp_server_answers_and_stays_quiet_when_one_does(settings, smtp_server):
    from leadflow.cli import mail_setup_notice

    assert mail_setup_notice() == ""
    settings.EMAIL_PORT = free_port()
    notice = mail_setup_notice()
    assert f"127.0.0.1:{settings.EMAIL_PORT} refused the connection" in notice
    assert "LEADFLOW_SMTP_HOST" in notice and "outbox" in notice
    settings.EMAIL_HOST = "no-such-host.invalid"
    assert "could not be looked up" in mail_setup_notice()
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert mail_setup_notice() == ""
