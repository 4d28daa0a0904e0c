"""The WSGI application granian serves: public posts take the short middleware chain, pages the whole one."""

from __future__ import annotations

import io
import json
from wsgiref.util import setup_testing_defaults

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections

from leadflow.capture.models import Submission
from leadflow.lib.wsgi import PUBLIC_PATH
from leadflow.wsgi import application
from tests.capture.conftest import ORIGIN, post_data

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def keep_the_test_connection():
    """As Django's test client does: a request must not close the connection the test's transaction is on."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


def call(method: str, path: str, body: bytes = b"", **environ) -> tuple[str, dict[str, list[str]], bytes]:
    """Call the served application as granian does; return the status, headers (name -> values) and body."""
    environ = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path,
        "wsgi.input": io.BytesIO(body),
        "CONTENT_LENGTH": str(len(body)),
        "REMOTE_ADDR": "203.0.113.7",
        "HTTP_HOST": "testserver",
        **environ,
    }
    setup_testing_defaults(environ)
    answer: dict = {}

    def start_response(status, headers, exc_info=None):
        answer["status"], answer["headers"] = status, headers

    content = b"".join(application(environ, start_response))
    headers: dict[str, list[str]] = {}
    for name, value in answer["headers"]:
        headers.setdefault(name.lower(), []).append(value)
    return answer["status"], headers, content


def test_a_form_post_is_stored_through_the_short_chain_with_the_security_headers(contact_form):
    body = json.dumps(post_data(contact_form)).encode()
    status, headers, content = call(
        "POST", "/f/contact-us/submit.json", body, CONTENT_TYPE="application/json", HTTP_ORIGIN=ORIGIN
    )
    assert status.startswith("200"), content
    assert json.loads(content)["ok"] is True
    assert Submission.objects.filter(form=contact_form).count() == 1
    assert headers["x-content-type-options"] == ["nosniff"]
    assert headers["content-length"] == [str(len(content))]
    assert headers["access-control-allow-origin"] == [ORIGIN]
    assert "set-cookie" not in headers


def test_a_bad_post_gets_its_problem_through_the_short_chain(contact_form):
    status, headers, content = call(
        "POST", "/f/no-such-form/submit.json", b"{}", CONTENT_TYPE="application/json", HTTP_ORIGIN=ORIGIN
    )
    assert status.startswith("404")
    assert headers["content-type"] == ["application/problem+json"]
    assert json.loads(content)["code"] == "form_closed"


def test_pages_still_go_through_the_whole_chain():
    status, headers, _ = call("GET", "/accounts/login/")
    assert status.startswith("200")
    assert headers["x-frame-options"] == ["DENY"]
    assert any(cookie.strip().startswith("csrftoken=") for cookie in headers["set-cookie"])


@pytest.mark.parametrize(
    ("path", "public"),
    [
        ("/f/contact-us/submit.json", True),
        ("/t/collect", True),
        ("/f/contact-us/", False),
        ("/f/contact-us/submit.json/", False),
        ("/f/../submit.json", False),
        ("/t/collect/extra", False),
        ("/leads/", False),
    ],
)
def test_only_the_two_public_posts_take_the_short_chain(path, public):
    assert bool(PUBLIC_PATH.fullmatch(path)) is public
