"""A person clicks a link in an email and lands on the tracked website: the visitor becomes the lead."""

from __future__ import annotations

import re
import time

import pytest

from leadflow.mail.services import queue_email, send_due
from leadflow.tracking.models import Visitor
from tests.conftest import make_lead
from tests.e2e.test_tracking import host, tracked  # noqa: F401

pytestmark = pytest.mark.django_db(transaction=True)


def test_an_email_click_identifies_the_visitor(page, live_server, host, smtp_server, settings):  # noqa: F811
    settings.LEADFLOW_SITE_URL = live_server.url
    tracked(host, live_server, require_consent=False)
    lead = make_lead()
    queue_email(lead=lead, key="k1", kind="marketing", subject="Our prices", text="x",
                html=f'<p><a href="{host.url("pricing.html")}">See prices</a></p>')  # fmt: skip
    send_due()
    html = smtp_server.received[0].message.get_body(("html",)).get_content()
    link = re.search(r'href="([^"]*/mail/c/[^"]+)"', html).group(1)
    time.sleep(10.5)  # a click within seconds of delivery is taken for a link scanner
    # Headless Chromium names itself HeadlessChrome, a scanner's mark; a person's browser does not.
    page.set_extra_http_headers({"User-Agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0 Safari/537.36"})
    page.goto(link)
    page.wait_for_url("**/pricing.html")
    assert "lf_e=" not in page.url
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline and not Visitor.objects.filter(lead=lead).exists():
        time.sleep(0.2)
    visitor = Visitor.objects.get(lead=lead)
    assert visitor.identified_via == "email_click"
