"""Unsubscribing in a real Chromium, and by the raw one-click POST a mail client sends (RFC 8058)."""

from __future__ import annotations

import http.client
from urllib.parse import urlsplit

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from leadflow.leads.models import ConsentStatus, EventKind, TimelineEvent
from leadflow.mail import queries
from leadflow.mail.models import OutboxMessage, Status
from leadflow.mail.services import queue_email
from leadflow.mail.services.compose import unsubscribe_url
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def sent(settings, live_server):
    settings.LEADFLOW_SITE_URL = live_server.url
    lead = make_lead(email="reader@example.com")
    row = queue_email(lead=lead, key="k1", kind="marketing", subject="Hello", html="<p>Hi</p>", text="Hi")
    OutboxMessage.objects.filter(pk=row.pk).update(status=Status.SENT, sent_at=timezone.now())
    return lead, unsubscribe_url(row.token)


def test_the_unsubscribe_link_asks_first_then_unsubscribes(page, sent, screenshot):
    lead, url = sent
    page.goto(url)
    expect(page.get_by_role("heading", name="Unsubscribe?")).to_be_visible()
    expect(page.get_by_text("re••••@example.com")).to_be_visible()
    screenshot("confirm")
    lead.refresh_from_db()
    assert lead.consent_status != ConsentStatus.WITHDRAWN
    page.get_by_role("button", name="Unsubscribe").click()
    expect(page.get_by_role("heading", name="You are unsubscribed")).to_be_visible()
    assert page.url == url
    screenshot("done")
    lead.refresh_from_db()
    assert lead.consent_status == ConsentStatus.WITHDRAWN
    assert queries.suppression_reason("reader@example.com", kind="marketing") == "unsubscribed"


def test_a_raw_one_click_post_unsubscribes_once(sent):
    lead, url = sent
    parts = urlsplit(url)
    answers = []
    for _ in range(2):
        connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
        connection.request(
            "POST",
            parts.path,
            body=b"List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded", "User-Agent": "Mozilla/5.0 (mail client)"},
        )
        response = connection.getresponse()
        answers.append((response.status, response.getheader("Location"), response.read()))
        connection.close()
    assert answers == [(200, None, b"You are unsubscribed.")] * 2
    lead.refresh_from_db()
    assert lead.consent_status == ConsentStatus.WITHDRAWN
    assert TimelineEvent.objects.filter(lead=lead, kind=EventKind.UNSUBSCRIBED).count() == 1
