"""Notifications: the in-app row, email through a real SMTP server, the chat webhook on loopback."""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
import time_machine

from leadflow.routing import services
from leadflow.routing.models import Delivery, Notification, TeamSchedule
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db


class Hook:
    """A real HTTP server on loopback that keeps the JSON bodies posted to it."""

    def __init__(self, status: int = 200) -> None:
        self.bodies: list[dict] = []
        self.status = status
        hook = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                hook.bodies.append(json.loads(self.rfile.read(length)))
                self.send_response(hook.status)
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                return

        self.server = HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> Hook:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def alice_with_email(alice):
    alice.email = "alice@leadflow.example"
    alice.save()
    return alice


def test_notification_is_emailed_once_through_smtp(smtp_server, alice_with_email):
    lead = make_lead(first_name="Ana", last_name="Lopez")
    services.notify(user=alice_with_email, subject="New lead assigned: Ana Lopez", body="Call her.", lead=lead)
    assert services.send_emails() == 1
    assert services.send_emails() == 0
    assert len(smtp_server.received) == 1
    message = smtp_server.received[0].message
    assert message["Subject"] == "[Leadflow] New lead assigned: Ana Lopez"
    assert smtp_server.received[0].recipients == ["alice@leadflow.example"]
    assert f"/leads/{lead.pk}/" in message.get_content()
    row = Notification.objects.get()
    assert row.email_status == Delivery.SENT and row.emailed_at is not None


def test_a_refused_email_is_retried_then_sent(smtp_server, alice_with_email):
    services.notify(user=alice_with_email, subject="Hello", body="")
    smtp_server.answer_next("451 4.3.0 try later")
    services.send_emails()
    row = Notification.objects.get()
    assert row.email_status == Delivery.PENDING and "451" in row.email_error
    services.send_emails()
    assert Notification.objects.get().email_status == Delivery.SENT
    assert len(smtp_server.received) == 1


def test_a_claimed_row_is_not_sent_by_another_worker(smtp_server, alice_with_email):
    services.notify(user=alice_with_email, subject="Hello", body="")
    Notification.objects.update(email_status=Delivery.SENDING, email_claimed_at=datetime.now(UTC))
    assert services.send_emails() == 0
    assert smtp_server.received == []
    with time_machine.travel(datetime.now(UTC) + timedelta(minutes=16)):
        assert services.send_emails() == 1
    assert len(smtp_server.received) == 1


def test_users_without_an_address_are_listed_but_not_emailed(alice, smtp_server):
    services.notify(user=alice, subject="Hello", body="")
    assert services.send_emails() == 0
    assert Notification.objects.get().email_status == Delivery.SKIPPED


def test_webhook_gets_slack_compatible_json_from_site_and_team(alice, east, settings):
    with Hook() as site_hook, Hook() as team_hook:
        settings.LEADFLOW_NOTIFY_WEBHOOK_URL = site_hook.url
        TeamSchedule.objects.create(team=east, webhook_url=team_hook.url)
        lead = make_lead(first_name="Ana")
        services.notify(user=alice, subject="First touch overdue: Ana", body="Call now.", lead=lead)
        assert services.send_webhooks() == 1
        assert services.send_webhooks() == 0
    assert len(site_hook.bodies) == len(team_hook.bodies) == 1
    text = site_hook.bodies[0]["text"]
    assert set(site_hook.bodies[0]) == {"text"}
    assert "First touch overdue: Ana" in text and "Call now." in text and f"/leads/{lead.pk}/" in text
    assert Notification.objects.get().webhook_status == Delivery.SENT


def test_a_failing_webhook_is_retried_and_recorded(alice, settings):
    with Hook(status=500) as hook:
        settings.LEADFLOW_NOTIFY_WEBHOOK_URL = hook.url
        services.notify(user=alice, subject="Hello", body="")
        services.send_webhooks()
    row = Notification.objects.get()
    assert row.webhook_status == Delivery.PENDING
    assert "500" in row.webhook_error


def test_no_webhook_configured_means_nothing_to_post(alice, settings):
    settings.LEADFLOW_NOTIFY_WEBHOOK_URL = ""
    services.notify(user=alice, subject="Hello", body="")
    assert Notification.objects.get().webhook_status == Delivery.SKIPPED
    assert services.send_webhooks() == 0


def test_task_reminder_is_sent_once_when_the_task_falls_due(smtp_server, alice_with_email):
    lead = make_lead(owner=alice_with_email)
    due = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    services.create_task(lead=lead, kind="call", title="Call back about pricing", due_at=due, actor=alice_with_email)
    with time_machine.travel(due - timedelta(minutes=1), tick=False):
        assert services.send_task_reminders() == 0
    with time_machine.travel(due + timedelta(minutes=1), tick=False):
        assert services.send_task_reminders() == 1
        assert services.send_task_reminders() == 0
        services.send_emails()
    assert [r.message["Subject"] for r in smtp_server.received] == ["[Leadflow] Task due: Call back about pricing"]


def test_mark_read_only_touches_own_notifications(alice, bob):
    mine = services.notify(user=alice, subject="A", body="")
    theirs = services.notify(user=bob, subject="B", body="")
    assert services.mark_read(user=alice, ids=[mine.pk, theirs.pk]) == 1
    assert Notification.objects.get(pk=theirs.pk).read_at is None
