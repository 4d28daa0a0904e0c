"""Opens and clicks: which message, whether a person or a machine, and stitching the click's visitor."""

from __future__ import annotations

import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from urllib.parse import urlsplit, urlunsplit

from django.utils import timezone

from leadflow.mail.models import EventType, MessageEvent, OutboxMessage, Status
from leadflow.mail.services.compose import sign, unsign
from leadflow.mail.services.events import record_engagement

IDENTIFY_PARAM = "lf_e"
# A click this soon after the message left is a link scanner at the receiving server.
TOO_SOON = timedelta(seconds=10)
# Several links of one message clicked within this window: something followed every link.
BURST = timedelta(seconds=5)

MACHINE_AGENTS = re.compile(
    r"GoogleImageProxy|ggpht\.com|YahooMailProxy|Barracuda|Mimecast|Proofpoint|MessageLabs|Symantec|"
    r"Forcepoint|Sophos|Fortinet|FortiGuard|IronPort|Cisco|Trend ?Micro|Zscaler|Bitdefender|Kaspersky|"
    r"SafeLinks|Microsoft Office Protocol Discovery|BingPreview|Slackbot|Twitterbot|facebookexternalhit|"
    r"HeadlessChrome|PhantomJS|python-requests|python-urllib|aiohttp|curl/|Wget|Go-http-client|okhttp|"
    r"Java/|libwww|Apache-HttpClient|node-fetch|axios|bot\b|crawler|spider|scanner|preview",
    re.IGNORECASE,
)
MACHINE_NETWORKS = (
    "17.0.0.0/8",  # Apple (Mail Privacy Protection fetches every image through it)
    "66.102.0.0/20",  # Google image proxy
    "66.249.80.0/20",
    "64.233.160.0/19",
    "72.14.192.0/18",
    "74.125.0.0/16",
    "40.92.0.0/15",  # Microsoft Exchange Online Protection
    "40.107.0.0/16",
    "52.100.0.0/14",
    "104.47.0.0/17",
    "148.163.128.0/19",  # Proofpoint
    "67.231.144.0/20",
    "205.139.110.0/24",  # Mimecast
    "207.211.30.0/24",
    "170.10.128.0/24",
    "64.235.144.0/20",  # Barracuda
    "209.222.80.0/21",
)


@cache
def _networks() -> tuple:
    return tuple(ipaddress.ip_network(net) for net in MACHINE_NETWORKS)


@dataclass(frozen=True)
class Visit:
    """What a tracking request tells about who made it."""

    method: str
    user_agent: str
    ip: str

    def machine_reason(self) -> str:
        """Return why this request looks made by a machine, or "" when it looks like a person."""
        if self.method == "HEAD":
            return "head_request"
        if not self.user_agent.strip():
            return "no_user_agent"
        if MACHINE_AGENTS.search(self.user_agent):
            return "known_user_agent"
        try:
            address = ipaddress.ip_address(self.ip)
        except ValueError:
            return ""
        if any(address in network for network in _networks()):
            return "known_network"
        return ""


def message_for(purpose: str, signed: str) -> OutboxMessage | None:
    """Return the sent message a signed tracking token names, or None."""
    token = unsign(purpose, signed)
    if token is None:
        return None
    return (
        OutboxMessage.objects.filter(token=token, status__in=(Status.SENT, Status.BOUNCED))
        .select_related("lead")
        .first()
    )


def record_open(*, message: OutboxMessage, visit: Visit, now: datetime | None = None) -> MessageEvent:
    """Record that the message's pixel was fetched."""
    reason = visit.machine_reason()
    data = {"reason": reason} if reason else {}
    return record_engagement(message=message, type=EventType.OPEN, machine=bool(reason), data=data, now=now)


def record_click(*, message: OutboxMessage, position: int, visit: Visit, now: datetime | None = None) -> str | None:
    """Record a click on the message's link at `position`; return where to send the browser, or None.

    Only a link that was in the message is ever a destination.
    """
    if not 0 <= position < len(message.links or []):
        return None
    now = now or timezone.now()
    url = message.links[position]
    reason = visit.machine_reason() or _click_pattern(message, url, now)
    data = {"url": url[:500], **({"reason": reason} if reason else {})}
    record_engagement(message=message, type=EventType.CLICK, machine=bool(reason), data=data, now=now)
    if reason == "every_link_at_once":
        MessageEvent.objects.filter(message=message, type=EventType.CLICK, occurred_at__gte=now - BURST).update(
            machine=True
        )
    return url if reason or message.lead_id is None else with_identification(url, message.token)


def _click_pattern(message: OutboxMessage, url: str, now: datetime) -> str:
    if message.sent_at is not None and now - message.sent_at < TOO_SOON:
        return "too_soon_after_delivery"
    recent = MessageEvent.objects.filter(message=message, type=EventType.CLICK, occurred_at__gte=now - BURST)
    others = {data.get("url") for data in recent.values_list("data", flat=True)} - {url}
    return "every_link_at_once" if len(others) >= 2 else ""


def with_identification(url: str, token: str) -> str:
    """Return `url` with the signed parameter the tracking snippet turns into an identification."""
    parts = urlsplit(url)
    kept = "&".join(p for p in parts.query.split("&") if p and p.split("=", 1)[0] != IDENTIFY_PARAM)
    query = (kept + "&" if kept else "") + f"{IDENTIFY_PARAM}={sign('identify', token)}"
    return urlunsplit(parts._replace(query=query))


def identify_clicker(*, visitor_id: str, signed: str) -> int:
    """Join the website visitor who arrived from an email click to the lead the email went to."""
    from leadflow.tracking.services.stitching import identify_visitor

    token = unsign("identify", signed)
    if token is None:
        return 0
    message = OutboxMessage.objects.filter(token=token).select_related("lead").first()
    if message is None or message.lead is None:
        return 0
    return identify_visitor(visitor_id=visitor_id, lead=message.lead, via="email_click")
