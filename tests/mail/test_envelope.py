"""The SMTP connection and the envelope addresses the outbox hands to it."""

import socket
from email.utils import parseaddr

from django.core.mail.message import sanitize_address
from hypothesis import example, given, settings
from hypothesis import strategies as st

from leadflow.mail.backend import TwoPhaseSMTP, envelope_address


def _parsed_address(value: str) -> str:
    """The envelope address found by parsing (the behaviour the bare-address shortcut must keep)."""
    address = parseaddr(value)[1]
    if address and address.isascii() and "@" in address and not any(c in address for c in "\r\n"):
        return address
    return sanitize_address(value, "utf-8")


def _outcome(function, value):
    try:
        return function(value)
    except Exception as error:
        return type(error)


@settings(max_examples=500, deadline=None)
@given(st.text(st.sampled_from("ab.+-_@ <>\"'éZ9"), max_size=20))
@example("first.last+tag@mail.example.com")
@example("a..b@example.com")
@example(".a@example.com")
@example("a@-b.example.com")
def test_the_envelope_address_is_the_one_parsing_finds(value):
    assert _outcome(envelope_address, value) == _outcome(_parsed_address, value)


def test_the_smtp_connection_writes_small_packets_at_once(smtp_server):
    smtp = TwoPhaseSMTP("127.0.0.1", smtp_server.port)
    try:
        assert smtp.sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        smtp.quit()
