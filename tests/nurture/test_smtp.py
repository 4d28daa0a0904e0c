"""The whole way out: a sequence step and a form's auto-reply reach a real SMTP server."""

import pytest

from leadflow.capture import queries as capture_queries
from leadflow.capture.services import Sender
from leadflow.mail.services import send_due
from leadflow.nurture import engine, events, schedule, services
from leadflow.nurture.models import AutoReply, StepKind
from tests.capture.conftest import ORIGIN, SITE, make_form, post_data, submit_now
from tests.conftest import make_lead
from tests.nurture.conftest import make_sequence, make_template

pytestmark = pytest.mark.django_db


def test_a_sequence_email_reaches_the_smtp_server_once_with_its_unsubscribe_header(smtp_server, monday, admin):
    template = make_template("Tips", subject="Tips for {{ first_name }}", body="Hello **{{ first_name }}**")
    sequence = make_sequence((StepKind.EMAIL, {"template": template}), (StepKind.WAIT, {"days": 3}))
    lead = make_lead(first_name="<Dana>", email="dana.smtp@example.com")
    services.enroll(sequence=sequence, lead=lead, actor=admin)
    engine.run_due()
    engine.run_due()
    send_due()
    send_due()
    assert len(smtp_server.received) == 1
    message = smtp_server.received[0]
    assert message.recipients == ["dana.smtp@example.com"]
    assert message.message["Subject"] == "Tips for <Dana>"
    assert message.message["List-Unsubscribe"]
    html = message.message.get_body(("html",)).get_content()
    assert "<strong>&lt;Dana&gt;</strong>" in html


def test_the_auto_reply_job_hands_the_reply_to_smtp_in_the_same_run(smtp_server, admin):
    events.process_auto_replies()
    capture_queries.forget_public_forms()
    form = make_form(admin)
    AutoReply.objects.create(form=form, template=make_template("Thanks", subject="Thanks {{ first_name }}", body="Hi"))
    sender = Sender(ip="203.0.113.9", user_agent="Mozilla/5.0", origin=ORIGIN, channel="embed")
    submit_now(form=form, raw=post_data(form), sender=sender, site_host=SITE)
    assert schedule.send_auto_replies() == 1
    assert [r.recipients for r in smtp_server.received] == [["ana@acme.example"]]
    assert smtp_server.received[0].message["Subject"] == "Thanks Ana"
    assert "List-Unsubscribe" not in smtp_server.received[0].message
