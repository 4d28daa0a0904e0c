"""Unsubscribing: RFC 8058 one-click exactly as mail clients send it, the page, and consent records."""

import pytest
from django.test import Client
from django.utils import timezone

from leadflow.leads.models import ConsentStatus, EventKind, TimelineEvent
from leadflow.mail import queries
from leadflow.mail.models import ConsentRecord, OutboxMessage, Status, Suppression
from leadflow.mail.services import queue_email, send_due
from leadflow.mail.services.compose import unsubscribe_url
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db


def _sent(lead, key="k1"):
    row = queue_email(lead=lead, key=key, kind="marketing", subject="Hello", html="<p>Hi</p>", text="Hi")
    OutboxMessage.objects.filter(pk=row.pk).update(status=Status.SENT, sent_at=timezone.now())
    return row


def _path(row) -> str:
    return unsubscribe_url(row.token).removeprefix("http://127.0.0.1:8000")


def _one_click(path: str):
    """POST as Gmail or Apple Mail do for RFC 8058: form-encoded body, no cookies, no CSRF token."""
    client = Client(enforce_csrf_checks=True)
    return client.generic("POST", path, b"List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")


def test_one_click_post_unsubscribes_without_login_cookie_or_csrf(exits):
    lead = make_lead()
    row = _sent(lead)
    response = _one_click(_path(row))
    assert response.status_code == 200
    assert response.content == b"You are unsubscribed."
    lead.refresh_from_db()
    assert lead.consent_status == ConsentStatus.WITHDRAWN
    assert lead.consent_at is not None
    assert "one-click" in lead.consent_source
    assert queries.suppression_reason(lead.email, kind="marketing") == "unsubscribed"
    assert queries.suppression_reason(lead.email, kind="transactional") is None
    kinds = list(TimelineEvent.objects.filter(lead=lead).values_list("kind", flat=True))
    assert EventKind.CONSENT_CHANGED in kinds and EventKind.UNSUBSCRIBED in kinds
    record = ConsentRecord.objects.get(lead=lead)
    assert record.action == "withdrawn" and "one-click" in record.source and record.occurred_at
    assert exits == [(lead.pk, "unsubscribed")]
    assert queries.stats_by_step(sequence_id=0) == {}


def test_one_click_is_idempotent():
    lead = make_lead()
    row = _sent(lead)
    first, second = _one_click(_path(row)), _one_click(_path(row))
    assert (first.status_code, second.status_code) == (200, 200)
    assert TimelineEvent.objects.filter(lead=lead, kind=EventKind.UNSUBSCRIBED).count() == 1
    assert ConsentRecord.objects.filter(lead=lead).count() == 1


def test_get_shows_a_button_and_changes_nothing(client):
    lead = make_lead()
    row = _sent(lead)
    response = client.get(_path(row))
    assert response.status_code == 200
    assert b"<button" in response.content
    assert lead.email.encode() not in response.content
    lead.refresh_from_db()
    assert lead.consent_status != ConsentStatus.WITHDRAWN
    assert not Suppression.objects.exists()


def test_the_button_unsubscribes_and_never_redirects():
    lead = make_lead()
    row = _sent(lead)
    response = Client(enforce_csrf_checks=True).post(_path(row), {})
    assert response.status_code == 200
    assert b"You are unsubscribed" in response.content
    assert queries.suppression_reason(lead.email, kind="marketing") == "unsubscribed"


def test_a_forged_token_is_refused():
    lead = make_lead()
    row = _sent(lead)
    path = _path(row)
    assert _one_click(path[:-3] + "xx/").status_code == 404
    assert not Suppression.objects.exists()


def test_an_unsubscribed_lead_gets_no_more_marketing(smtp_server):
    lead = make_lead()
    row = _sent(lead)
    _one_click(_path(row))
    later = queue_email(lead=lead, key="k2", kind="marketing", subject="Again", html="<p>x</p>", text="x")
    send_due()
    later.refresh_from_db()
    assert later.status == Status.SUPPRESSED
    assert smtp_server.received == []


def test_stats_by_step_counts_unsubscribes():
    lead = make_lead()
    row = queue_email(
        lead=lead,
        key="s",
        kind="marketing",
        subject="S",
        html="<p>x</p>",
        text="x",
        meta={"sequence_id": 5, "step_id": 2},
    )
    OutboxMessage.objects.filter(pk=row.pk).update(status=Status.SENT, sent_at=timezone.now())
    _one_click(_path(row))
    assert queries.stats_by_step(sequence_id=5)[2]["unsubscribed"] == 1
