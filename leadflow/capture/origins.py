"""Websites a form may run on, and pages it may send people to afterwards."""

from __future__ import annotations

from functools import lru_cache
from urllib.parse import urlsplit

from django.utils.http import url_has_allowed_host_and_scheme

DEFAULT_PORTS = {"http": 80, "https": 443}
MAX_ORIGINS = 50


# Every public post normalises its Origin header and this site's own address; a handful of values repeat.
@lru_cache(maxsize=1024)
def normalise_origin(text: str) -> str:
    """Return 'scheme://host[:port]' for a website address, or raise ValueError saying what is wrong."""
    value = text.strip().rstrip("/")
    if "://" not in value:
        raise ValueError(f"“{text.strip()}” needs its scheme, like https://www.example.com.")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError:
        raise ValueError(f"“{text.strip()}” is not a website address.") from None
    if parts.scheme not in DEFAULT_PORTS or not parts.hostname:
        raise ValueError(f"“{text.strip()}” must start with http:// or https:// and name a host.")
    if parts.path or parts.query or parts.fragment or parts.username or parts.password:
        raise ValueError(f"“{text.strip()}” should be just the website, like {parts.scheme}://{parts.hostname}.")
    try:
        host = parts.hostname.encode("idna").decode("ascii").lower()
    except UnicodeError:
        raise ValueError(f"“{text.strip()}” has a host name that cannot be used on the web.") from None
    if ":" in host:
        host = f"[{host}]"
    suffix = f":{port}" if port and port != DEFAULT_PORTS[parts.scheme] else ""
    return f"{parts.scheme}://{host}{suffix}"


def parse_origins(text: str) -> tuple[list[str], list[str]]:
    """Return the distinct origins in `text` (one per line or comma-separated) and a message per bad one."""
    origins: list[str] = []
    problems: list[str] = []
    for item in text.replace(",", "\n").splitlines():
        if not item.strip():
            continue
        try:
            origin = normalise_origin(item)
        except ValueError as error:
            problems.append(str(error))
            continue
        if origin not in origins:
            origins.append(origin)
    if len(origins) > MAX_ORIGINS:
        problems.append(f"List at most {MAX_ORIGINS} websites.")
    return origins, problems


def origin_of(url: str) -> str:
    """Return the origin of a full URL (a Referer, say), or '' when it has none."""
    try:
        return normalise_origin(f"{urlsplit(url).scheme}://{urlsplit(url).netloc}") if url else ""
    except ValueError:
        return ""


def is_allowed_origin(origin: str, allowed: list[str]) -> bool:
    """Return True when a request's Origin header names one of the form's websites."""
    if not origin or origin == "null":
        return False
    try:
        return normalise_origin(origin) in allowed
    except ValueError:
        return False


def is_allowed_redirect(url: str, *, site_host: str, allowed_origins: list[str]) -> bool:
    """Return True for a page on this site (a path, or this host) or on one of the form's websites."""
    if not url or len(url) > 2000 or url != url.strip() or any(ord(char) < 32 for char in url):
        return False
    hosts = {site_host, *(urlsplit(origin).netloc for origin in allowed_origins)}
    if not url_has_allowed_host_and_scheme(url, allowed_hosts=hosts):
        return False
    parts = urlsplit(url)
    if not parts.netloc:
        return url.startswith("/") and not url.startswith("//")
    return parts.netloc == site_host or origin_of(url) in allowed_origins
