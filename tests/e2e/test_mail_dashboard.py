"""The email delivery page in a real Chromium: counts, failures and the suppression list."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from leadflow.mail.models import OutboxMessage, Status, Suppression
from leadflow.mail.services import queue_email
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db(transaction=True)


def test_admin_retries_a_failure_and_keeps_the_suppression_list(page, live_server, admin, sign_in, screenshot):
    row = queue_email(lead=make_lead(), key="f", kind="marketing", subject="Spring offer", html="", text="x")
    OutboxMessage.objects.filter(pk=row.pk).update(
        status=Status.FAILED, attempts=8, last_error="Gave up after 8 attempts. The server answered 451 4.3.0 busy"
    )
    sign_in(admin)
    page.goto(f"{live_server.url}/mail/")
    expect(page.get_by_role("heading", name="Email delivery")).to_be_visible()
    expect(page.get_by_text("The server answered 451 4.3.0 busy")).to_be_visible()
    expect(page.get_by_text("No suppressed addresses")).to_be_visible()
    screenshot("failure")
    page.get_by_role("button", name="Retry").click()
    expect(page.get_by_text("No failures")).to_be_visible()
    assert OutboxMessage.objects.get(pk=row.pk).status == Status.QUEUED

    page.get_by_placeholder("name@example.com").fill("stop@example.com")
    page.get_by_role("button", name="Add address").click()
    expect(page.get_by_text("stop@example.com will get no more email.")).to_be_visible()
    expect(page.get_by_role("cell", name="stop@example.com")).to_be_visible()
    screenshot("suppressed")
    page.on("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Remove").click()
    expect(page.get_by_text("No suppressed addresses")).to_be_visible()
    assert not Suppression.objects.exists()
