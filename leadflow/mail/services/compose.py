"""Turn an outbox row into the email that leaves: tracked links, pixel, footer and headers.

The result depends only on the row, so a message sent again after a crash is the
same message with the same Message-ID.
"""

from __future__ import annotations

import html as html_lib
import re
from email.utils import formatdate, parseaddr
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
    return site_url(UNSUBSCRIBE_PATH.format(signed=sign("unsubscribe", token)))


def unsubscribe_address() -> str:
    configured = getattr(settings, "LEADFLOW_MAIL_UNSUBSCRIBE_ADDRESS", "")
    return configured or parseaddr(settings.DEFAULT_FROM_EMAIL)[1]


def unsubscribe_mailto(token: str) -> str:
    return f"mailto:{unsubscribe_address()}?subject={quote('unsubscribe ' + sign('unsubscribe', token))}"


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


def footer_html(row: OutboxMessage) -> str:
    address = html_lib.escape(getattr(settings, "LEADFLOW_POSTAL_ADDRESS", ""))
    link = html_lib.escape(unsubscribe_url(row.token))
    return (
        '<p style="font-size:12px;color:#666;margin-top:24px">'
        f'You receive this email because you showed interest in us. <a href="{link}">Unsubscribe</a>'
        + (f"<br>{address}" if address else "")
        + "</p>"
    )


def footer_text(row: OutboxMessage) -> str:
    address = getattr(settings, "LEADFLOW_POSTAL_ADDRESS", "")
    return f"\n\n--\nUnsubscribe: {unsubscribe_url(row.token)}" + (f"\n{address}" if address else "") + "\n"


def build_message(row: OutboxMessage, *, connection=None) -> EmailMultiAlternatives:
    """Return the email for `row`: HTML and text, tracked unless transactional, with its headers."""
    headers = {"Message-ID": row.message_id, "Date": formatdate(localtime=False)}
    html, text = row.html, row.text
    if row.kind == Kind.MARKETING:
        headers["List-Unsubscribe"] = f"<{unsubscribe_url(row.token)}>, <{unsubscribe_mailto(row.token)}>"
        headers["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
        html = _append(html, footer_html(row)) if html else html
        text = (text or "") + footer_text(row)
    if row.kind != Kind.TRANSACTIONAL and html:
        html = tracked_html(row, html)
    message = EmailMultiAlternatives(
        subject=row.subject,
        body=text,
        from_email=row.from_email,
        to=[row.to_email],
        reply_to=[a.strip() for a in row.reply_to.split(",") if a.strip()] or None,
        headers=headers,
        connection=connection,
    )
    if html:
        message.attach_alternative(html, "text/html")
        # Read by leadflow.mail.backend: a boundary that cannot occur in the parts (it holds the random token).
        message.boundary = f"=_leadflow_{row.token}"
    return message
