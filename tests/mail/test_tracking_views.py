"""Opens and clicks through the real URLs in a sent email."""

import re
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone

from leadflow.leads.models import EventKind, TimelineEvent
from leadflow.mail import queries
from leadflow.mail.models import EventType, MessageEvent, OutboxMessage
from leadflow.mail.services import queue_email, send_due
from tests.conftest import make_lead

pytestmark = pytest.mark.django_db

BROWSER = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0 Safari/537.36"
HTML = '<p><a href="https://example.com/pricing?plan=pro">Pricing</a> <a href="https://example.com/blog">Blog</a> <a href="https://example.com/docs">Docs</a></p>'


@pytest.fixture
def sent(smtp_server):
    lead = make_lead()
    queue_email(lead=lead, key="k1", kind="marketing", subject="Hello", html=HTML, text="Hi")
    send_due()
    html = smtp_server.received[0].message.get_body(("html",)).get_content()
    paths = re.findall(r'href="http://127\.0\.0\.1:8000(/mail/c/[^"]+)"', html)
    pixel = re.search(r'src="http://127\.0\.0\.1:8000(/mail/o/[^"]+)"', html).group(1)
    return lead, paths, pixel


def _later(seconds: float):
    return time_machine.travel(timezone.now() + timedelta(seconds=seconds), tick=True)


def test_links_and_pixel_name_a_random_message_token_not_the_lead(sent):
    lead, paths, pixel = sent
    token = OutboxMessage.objects.get(key="k1").token
    assert len(paths) == 3
    for path in [*paths, pixel]:
        signed = path.split("/")[3]
        assert signed.startswith(token + ".")
        assert lead.email not in path


def test_a_persons_click_redirects_to_the_link_with_an_identification_and_is_on_the_timeline(client, sent):
    lead, paths, _ = sent
    with _later(120):
        response = client.get(paths[0], headers={"User-Agent": BROWSER}, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 302
    assert response["Location"].startswith("https://example.com/pricing?plan=pro&lf_e=")
    event = TimelineEvent.objects.get(lead=lead, kind=EventKind.EMAIL_CLICKED)
    assert event.data["url"] == "https://example.com/pricing?plan=pro"
    assert event.data["machine"] is False
    assert queries.engagement(key="k1") == {"opened": True, "clicked": True, "replied": False}


def test_a_link_that_was_not_in_the_email_is_not_found(client, sent):
    _, paths, _ = sent
    assert client.get(re.sub(r"/\d+/$", "/7/", paths[0])).status_code == 404
    assert client.get(paths[0].replace("/mail/c/", "/mail/c/0").replace(".", "x", 1)).status_code == 404


def test_a_tampered_token_is_not_found(client, sent):
    _, paths, _ = sent
    token = paths[0].split("/")[3]
    assert client.get(paths[0].replace(token, token[:-2] + "xx")).status_code == 404


def test_an_open_from_a_person_is_recorded(client, sent):
    lead, _, pixel = sent
    with _later(60):
        response = client.get(pixel, headers={"User-Agent": BROWSER}, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 200 and response["Content-Type"] == "image/gif"
    assert TimelineEvent.objects.get(lead=lead, kind=EventKind.EMAIL_OPENED).data["machine"] is False
    assert queries.engagement(key="k1")["opened"] is True


@pytest.mark.parametrize(
    ("agent", "address"),
    [
        ("Mozilla/5.0", "17.58.1.10"),  # Apple Mail Privacy Protection
        ("Mozilla/5.0 (Windows NT 5.1; rv:11.0) Gecko Firefox/11.0 (via ggpht.com GoogleImageProxy)", "66.249.84.1"),
    ],
)
def test_privacy_proxy_opens_are_flagged_as_machines(client, sent, agent, address):
    lead, _, pixel = sent
    client.get(pixel, headers={"User-Agent": agent}, REMOTE_ADDR=address)
    event = TimelineEvent.objects.get(lead=lead, kind=EventKind.EMAIL_OPENED)
    assert event.data["machine"] is True
    assert queries.engagement(key="k1")["opened"] is False


def test_a_click_seconds_after_delivery_is_a_scanner(client, sent):
    lead, paths, _ = sent
    response = client.get(paths[1], headers={"User-Agent": BROWSER}, REMOTE_ADDR="203.0.113.9")
    assert response.status_code == 302
    assert "lf_e=" not in response["Location"]
    assert TimelineEvent.objects.get(lead=lead, kind=EventKind.EMAIL_CLICKED).data["machine"] is True
    assert queries.engagement(key="k1")["clicked"] is False


def test_a_head_request_and_a_scanner_agent_are_machines(client, sent):
    _, paths, _ = sent
    with _later(300):
        assert client.head(paths[0], headers={"User-Agent": BROWSER}).status_code == 302
        client.get(paths[1], headers={"User-Agent": "Mozilla/5.0 (compatible; Barracuda Sentinel)"})
    assert MessageEvent.objects.filter(type=EventType.CLICK, machine=True).count() == 2
    assert queries.engagement(key="k1")["clicked"] is False


def test_every_link_clicked_at_once_is_a_machine(client, sent):
    _, paths, _ = sent
    with _later(600):
        for path in paths:
            client.get(path, headers={"User-Agent": BROWSER}, REMOTE_ADDR="203.0.113.9")
    assert set(MessageEvent.objects.filter(type=EventType.CLICK).values_list("machine", flat=True)) == {True}
    assert queries.engagement(key="k1")["clicked"] is False
