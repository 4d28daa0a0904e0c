"""Origins ('https://www.example.com'): the unit browsers, CORS and site settings agree on."""

from __future__ import annotations

import re
from urllib.parse import urlsplit


def origin_of(url: str) -> str:
    """Return the origin of an http(s) URL as 'scheme://host[:port]' in lower case; '' when it has none."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return ""
    if parts.scheme not in {"http", "https"} or not parts.hostname:
        return ""
    default = {"http": 80, "https": 443}[parts.scheme]
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    return f"{parts.scheme}://{host}" + (f":{port}" if port and port != default else "")


def normalise_origin(value: str) -> str:
    """Return `value` as an origin when it is a bare one (no path, query or user); '' otherwise."""
    try:
        parts = urlsplit(value.strip())
    except ValueError:
        return ""
    if parts.path not in {"", "/"} or parts.query or parts.fragment or "@" in parts.netloc:
        return ""
    return origin_of(value)


def origin_lines(text: str) -> list[str]:
    """Split an origins field on lines, spaces or commas."""
    return [line for line in re.split(r"[\s,]+", text) if line]
