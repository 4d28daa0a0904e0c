"""Turn an outbox row into the email that leaves: tracked links, pixel, footer and headers.

The result depends only on the row, so a message sent again after a crash is the
same message with the same Message-ID.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from email.utils import formatdate, parseaddr
from functools import lru_cache
from urllib.parse import quote

from django.conf import settings
from django.core import signing
from django.core.mail import EmailMultiAlternatives

from leadflow.mail.models import Kind, OutboxMessage

_HREF = re.compile(r"""(<a\b[^>]*?\bhref\s*=\s*)(["'])(https?://[^"']+)\2""", re.IGNORECASE)
_BODY_END = re.compile(r"</body\s*>", re.IGNORECASE)
SALTS = {"open": "mail.open", "click": "mail.click", "unsubscribe": "mail.unsubscribe", "identify": "mail.identify"}


def sign(purpose: str, token: str) -> str:
    """Return the message token signed for one purpose; it names a message, never a lead."""
    return signing.Signer(salt=SALTS[purpose], sep=".").sign(token)


def unsign(purpose: str, value: str) -> str | None:
    """Return the message token of a signed value, or None when the signature does not hold."""
    try:
        return signing.Signer(salt=SALTS[purpose], sep=".").unsign(value or "")
    except signing.BadSignature:
        return None


def site_url(path: str) -> str:
    return getattr(settings, "LEADFLOW_SITE_URL", "http://127.0.0.1:8000").rstrip("/") + path


# The paths of mail.urls, written out so that sending never depends on loading every app's URLs.
UNSUBSCRIBE_PATH = "/mail/u/{signed}/"
OPEN_PATH = "/mail/o/{signed}.gif"
CLICK_PATH = "/mail/c/{signed}/{position}/"


def unsubscribe_url(token: str) -> str:
    return _unsubscribe_link(sign("unsubscribe", token))


def _unsubscribe_link(signed: str) -> str:
    return site_url(UNSUBSCRIBE_PATH.format(signed=signed))


def unsubscribe_address() -> str:
    configured = getattr(settings, "LEADFLOW_MAIL_UNSUBSCRIBE_ADDRESS", "")
    return configured or _bare_address(settings.DEFAULT_FROM_EMAIL)


@lru_cache(maxsize=16)
def _bare_address(value: str) -> str:
    return parseaddr(value)[1]


def unsubscribe_mailto(token: str) -> str:
    return _unsubscribe_mailto(sign("unsubscribe", token))


def _unsubscribe_mailto(signed: str) -> str:
    return f"mailto:{unsubscribe_address()}?subject={quote('unsubscribe ' + signed)}"


def tracked_html(row: OutboxMessage, html: str) -> str:
    """Return the HTML with its links sent through the click redirect and an open pixel added."""
    positions = {url: index for index, url in enumerate(row.links)}
    signed = sign("click", row.token)

    def rewrite(match: re.Match) -> str:
        url = html_lib.unescape(match.group(3))
        if url not in positions:
            return match.group(0)
        target = site_url(CLICK_PATH.format(signed=signed, position=positions[url]))
        return f"{match.group(1)}{match.group(2)}{target}{match.group(2)}"

    body = _HREF.sub(rewrite, html)
    pixel = site_url(OPEN_PATH.format(signed=sign("open", row.token)))
    return _append(body, f'<img src="{pixel}" width="1" height="1" alt="" style="display:block;border:0">')


def _append(body: str, addition: str) -> str:
    ends = list(_BODY_END.finditer(body))
    if not ends:
        return body + addition
    at = ends[-1].start()
    return body[:at] + addition + body[at:]


def footer_html(unsubscribe: str) -> str:
    """Return the HTML footer with the unsubscribe link `unsubscribe` and the postal address."""
    address = html_lib.escape(getattr(settings, "LEADFLOW_POSTAL_ADDRESS", ""))
    link = html_lib.escape(unsubscribe)
    return (
        '<p style="font-size:12px;color:#666;margin-top:24px">'
        f'You receive this email because you showed interest in us. <a href="{link}">Unsubscribe</a>'
        + (f"<br>{address}" if address else "")
        + "</p>"
    )


def footer_text(unsubscribe: str) -> str:
    """Return the text footer with the unsubscribe link `unsubscribe` and the postal address."""
    address = getattr(settings, "LEADFLOW_POSTAL_ADDRESS", "")
    return f"\n\n--\nUnsubscribe: {unsubscribe}" + (f"\n{address}" if address else "") + "\n"


@dataclass(frozen=True)
class Email:
    """What leaves for one outbox row, before it becomes a MIME message."""

    subject: str
    from_email: str
    to: list[str]
    reply_to: list[str]
    headers: dict[str, str]
    text: str
    html: str
    # A boundary that cannot occur in the parts (it holds the row's random token).
    boundary: str | None

    def as_django(self, *, connection=None) -> EmailMultiAlternatives:
        """Return the email as Django's EmailMultiAlternatives."""
        message = EmailMultiAlternatives(
            subject=self.subject,
            body=self.text,
            from_email=self.from_email,
            to=self.to,
            reply_to=self.reply_to or None,
            headers=self.headers,
            connection=connection,
        )
        if self.html:
            message.attach_alternative(self.html, "text/html")
            # Read by leadflow.mail.backend.
            message.boundary = self.boundary
        return message


def compose(row: OutboxMessage) -> Email:
    """Return the email for `row`: HTML and text, tracked unless transactional, with its headers."""
    headers = {"Message-ID": row.message_id, "Date": formatdate(localtime=False)}
    html, text = row.html, row.text
    if row.kind == Kind.MARKETING:
        signed = sign("unsubscribe", row.token)
        unsubscribe = _unsubscribe_link(signed)
        headers["List-Unsubscribe"] = f"<{unsubscribe}>, <{_unsubscribe_mailto(signed)}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        html = _append(html, footer_html(unsubscribe)) if html else html
        text = (text or "") + footer_text(unsubscribe)
    if row.kind != Kind.TRANSACTIONAL and html:
        html = tracked_html(row, html)
    return Email(
        subject=row.subject,
        from_email=row.from_email,
        to=[row.to_email],
        reply_to=[a.strip() for a in row.reply_to.split(",") if a.strip()],
        headers=headers,
        text=text or "",
        html=html or "",
        boundary=f"=_leadflow_{row.token}" if html else None,
    )


def build_message(row: OutboxMessage, *, connection=None) -> EmailMultiAlternatives:
    """Return the email for `row` as Django's EmailMultiAlternatives (see `compose`)."""
    return compose(row).as_django(connection=connection)
