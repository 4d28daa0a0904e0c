"""A click in an email joins the website visitor who arrives to the email's lead."""

import pytest
from django.utils import timezone

from leadflow.mail.models import OutboxMessage, Status
from leadflow.mail.services import queue_email
from leadflow.mail.services.tracking import IDENTIFY_PARAM, with_identification
from leadflow.tracking import queries as tracking_queries
from leadflow.tracking import services as tracking_services
from leadflow.tracking.models import Visitor
from tests.conftest import make_lead
from tests.tracking.conftest import ORIGIN, batch, new_visitor, post, view

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def fresh_sites():
    tracking_queries.forget_cached_sites()
    yield
    tracking_queries.forget_cached_sites()


@pytest.fixture
def site(db):
    return tracking_services.add_site(name="Shop", origins=[ORIGIN], require_consent=False)


def _signed_for(lead) -> str:
    row = queue_email(lead=lead, key="k", kind="marketing", subject="S", html="<p>x</p>", text="x")
    OutboxMessage.objects.filter(pk=row.pk).update(status=Status.SENT, sent_at=timezone.now())
    url = with_identification("https://shop.example/pricing?a=1", row.token)
    assert url.startswith("https://shop.example/pricing?a=1&lf_e=")
    return url.split(f"{IDENTIFY_PARAM}=", 1)[1]


def test_the_collector_joins_the_visitor_to_the_emails_lead(site):
    lead = make_lead()
    visitor = new_visitor()
    response = post(batch(site, visitor, [view("/pricing")], identify=_signed_for(lead)))
    assert response.status_code == 200
    assert Visitor.objects.get(key=visitor).lead_id == lead.pk
    assert Visitor.objects.get(key=visitor).identified_via == "email_click"


def test_a_forged_identification_joins_nobody(site):
    lead = make_lead()
    visitor = new_visitor()
    signed = _signed_for(lead)
    post(batch(site, visitor, [view("/pricing")], identify=signed[:-3] + "abc"))
    assert Visitor.objects.get(key=visitor).lead_id is None
