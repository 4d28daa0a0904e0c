"""An SMTP connection that can stop a message just before its final dot.

`TwoPhaseSMTP.begin()` sends MAIL, RCPT, DATA and the whole body, but not the
"." that ends DATA; `send_dot()` writes it and `read_reply()` reads the server's
verdict. Between the two the caller commits "sent" to the database. A server that
loses the connection before the dot drops the message (RFC 5321 §4.1.1.4: the
mail transaction is only complete at the end-of-data indicator), so a sender killed
before its commit has sent nothing, and one killed after it has written the dot.

`EmailBackend` is Django's SMTP backend using this connection; its `send_messages`
calls `before_dot(message)` for each message at that moment, and the outbox sender
(leadflow.mail.services.sending) drives several connections at once with `begin`,
one commit, then `send_dot` and `read_reply`.
"""

from __future__ import annotations

import re
import smtplib
import socket
import ssl
from collections.abc import Callable, Iterator
from email.generator import BytesGenerator
from email.policy import Compat32
from email.utils import parseaddr
from io import BytesIO

from django.conf import settings
from django.core.mail.backends.smtp import EmailBackend as DjangoSmtpBackend
from django.core.mail.message import EmailMessage, sanitize_address

CRLF = b"\r\n"


class _PlainHeaders(Compat32):
    """Django's email policy, writing plain ASCII headers as they are instead of re-folding each one.

    Folding every header through email.header.Header is most of the cost of
    turning an email into bytes; a header under the 998-character line limit
    needs none of it.
    """

    def fold_binary(self, name: str, value) -> bytes:
        if isinstance(value, str) and value.isascii() and len(name) + len(value) < 990 and not _BREAKS & set(value):
            return f"{name}: {value}{self.linesep}".encode("ascii")
        return super().fold_binary(name, value)


_BREAKS = {"\r", "\n"}
PLAIN_HEADERS = _PlainHeaders(linesep="\r\n")


# A bare dot-atom address (RFC 5322 3.4.1), which parseaddr returns unchanged.
_ATOM = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+"
_BARE_ADDRESS = re.compile(rf"{_ATOM}(\.{_ATOM})*@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*")


def envelope_address(value: str, encoding: str = "utf-8") -> str:
    """Return the bare address of `value` for the envelope; Django's sanitising only when it is not plain ASCII."""
    if _BARE_ADDRESS.fullmatch(value):
        return value
    address = parseaddr(value)[1]
    if address and address.isascii() and "@" in address and not any(c in address for c in "\r\n"):
        return address
    return sanitize_address(value, encoding)


class StartTlsRequired(smtplib.SMTPException):
    """STARTTLS is required but the server does not offer it or the handshake failed."""


class TwoPhase:
    """The end of DATA split from the rest of the mail transaction, for smtplib.SMTP and SMTP_SSL."""

    pending = False

    def connect(self, host: str = "localhost", port: int = 0, source_address=None) -> tuple[int, bytes]:
        """Connect as smtplib does, with Nagle's algorithm off.

        The dot is a few bytes written right after the body: with Nagle on, the
        kernel holds it until the server acknowledges the body, which a server
        that delays its acknowledgements does only after about 40 ms.
        """
        reply = super().connect(host, port, source_address)
        if self.sock is not None and self.sock.family in (socket.AF_INET, socket.AF_INET6):
            self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return reply

    def begin(self, from_addr: str, to_addrs: list[str], msg: bytes) -> None:
        """Send MAIL, RCPT, DATA and the body; raise as `sendmail` does when the server refuses."""
        for _ in self.begin_steps(from_addr, to_addrs, msg):
            pass

    def begin_steps(self, from_addr: str, to_addrs: list[str], msg: bytes) -> Iterator[None]:
        """Do `begin` one command at a time: each step writes a command, the next reads its reply.

        A sender with several connections advances them in turns, so that every
        server works on a command while the sender writes to the others.
        """
        self.ehlo_or_helo_if_needed()
        options = [f"size={len(msg)}"] if self.does_esmtp and self.has_extn("size") else []
        self.putcmd("mail", f"FROM:{smtplib.quoteaddr(from_addr)}{' ' + ' '.join(options) if options else ''}")
        yield
        code, resp = self.getreply()
        if code != 250:
            self._refused(code)
            raise smtplib.SMTPSenderRefused(code, resp, from_addr)
        refused = {}
        for address in to_addrs:
            self.putcmd("rcpt", f"TO:{smtplib.quoteaddr(address)}")
            yield
            code, resp = self.getreply()
            if code not in (250, 251):
                refused[address] = (code, resp)
                if code == 421:
                    self.close()
                    raise smtplib.SMTPRecipientsRefused(refused)
        if len(refused) == len(to_addrs):
            self._refused(0)
            raise smtplib.SMTPRecipientsRefused(refused)
        self.putcmd("data")
        yield
        code, resp = self.getreply()
        if code != 354:
            self._refused(code)
            raise smtplib.SMTPDataError(code, resp)
        body = smtplib._quote_periods(msg)
        if body[-2:] != CRLF:
            body += CRLF
        self.send(body)
        self.pending = True

    def send_dot(self) -> None:
        """Write the end-of-data indicator: from here the server may deliver the message."""
        self.pending = False
        self.send(b"." + CRLF)

    def read_reply(self) -> tuple[int, bytes]:
        """Read the server's answer to the message; raise SMTPDataError when it refused it."""
        code, resp = self.getreply()
        if code != 250:
            self._refused(code)
            raise smtplib.SMTPDataError(code, resp)
        return code, resp

    def abandon(self) -> None:
        """Drop the connection without the dot: the server discards the unfinished message."""
        self.pending = False
        self.close()

    def _refused(self, code: int) -> None:
        if code == 421:
            self.close()
            return
        try:
            self._rset()
        except (OSError, smtplib.SMTPException):
            self.close()


class TwoPhaseSMTP(TwoPhase, smtplib.SMTP):
    """smtplib.SMTP (STARTTLS or plain) with `begin`, `send_dot` and `read_reply`."""


class TwoPhaseSMTPSSL(TwoPhase, smtplib.SMTP_SSL):
    """smtplib.SMTP_SSL (implicit TLS, port 465) with `begin`, `send_dot` and `read_reply`."""


class EmailBackend(DjangoSmtpBackend):
    """Django's SMTP backend on a `TwoPhaseSMTP` connection; STARTTLS, when required, is never skipped."""

    def __init__(self, *args, before_dot: Callable[[EmailMessage], None] | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.before_dot = before_dot

    @property
    def connection_class(self):
        return TwoPhaseSMTPSSL if self.use_ssl else TwoPhaseSMTP

    def open(self):
        try:
            return super().open()
        except smtplib.SMTPConnectError:
            self._drop_partial()
            raise
        except smtplib.SMTPNotSupportedError as error:
            self._drop_partial()
            raise StartTlsRequired(
                f"STARTTLS is required (LEADFLOW_SMTP_STARTTLS) but {self.host}:{self.port} does not offer it; "
                "nothing is sent in plain text."
            ) from error
        except (ssl.SSLError, smtplib.SMTPResponseException) as error:
            if not self.use_tls:
                raise
            self._drop_partial()
            raise StartTlsRequired(
                f"STARTTLS with {self.host}:{self.port} failed ({error}); nothing is sent in plain text."
            ) from error

    def _drop_partial(self) -> None:
        if self._partial_connection is not None:
            self._partial_connection.close()
            self._partial_connection = None

    def envelope(self, message: EmailMessage) -> tuple[str, list[str], bytes]:
        """Return the envelope sender, the recipients and the bytes of `message`."""
        encoding = message.encoding or settings.DEFAULT_CHARSET
        sender = envelope_address(message.from_email, encoding)
        recipients = [envelope_address(address, encoding) for address in message.recipients()]
        mime = message.message()
        boundary = getattr(message, "boundary", None)
        if boundary and mime.is_multipart():
            # A fixed boundary saves the generator from searching the body for a free one.
            mime.set_boundary(boundary)
        out = BytesIO()
        BytesGenerator(out, mangle_from_=False, policy=PLAIN_HEADERS).flatten(mime, linesep="\r\n")
        return sender, recipients, out.getvalue()

    def begin(self, message: EmailMessage) -> None:
        """Open the connection when needed and send everything of `message` but its final dot."""
        for _ in self.begin_steps(message):
            pass

    def begin_steps(self, message: EmailMessage) -> Iterator[None]:
        """`begin`, one SMTP command per step (see TwoPhaseSMTP.begin_steps); the message is built at once."""
        return self.envelope_steps(self.envelope(message))

    def envelope_steps(self, envelope: tuple[str, list[str], bytes]) -> Iterator[None]:
        """`begin` for a message already turned into its envelope sender, recipients and bytes."""
        self.open()
        yield from self.connection.begin_steps(*envelope)

    def _send(self, email_message: EmailMessage) -> bool:
        if not email_message.recipients() or not isinstance(self.connection, TwoPhase):
            return super()._send(email_message)
        self.connection.begin(*self.envelope(email_message))
        if self.before_dot is not None:
            try:
                self.before_dot(email_message)
            except BaseException:
                self.connection.abandon()
                self.connection = None
                raise
        self.connection.send_dot()
        self.connection.read_reply()
        return True
