"""Serve the public endpoints other websites post to through a shorter middleware chain.

A form's submit.json and the visit collector take most of the requests a busy site
serves, and they use no session, user, CSRF token or messages: they go through
Django with PUBLIC_MIDDLEWARE alone (security headers, Content-Length), which takes about a
tenth off their time. Every other request goes through the whole MIDDLEWARE.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from django.conf import settings
from django.core.handlers.wsgi import WSGIHandler

# The paths of capture's submit_json and tracking's collect (a slug as Django's <slug:> converter takes it).
PUBLIC_PATH = re.compile(r"/f/[-a-zA-Z0-9_]+/submit\.json|/t/collect")


class LeanHandler(WSGIHandler):
    """Django's WSGI handler with its own middleware chain."""

    def __init__(self, middleware: list[str]) -> None:
        self.middleware = middleware
        super().__init__()

    def load_middleware(self, is_async: bool = False) -> None:
        # Django builds the chain from settings.MIDDLEWARE: it reads this handler's list instead,
        # once, at start-up.
        full = settings.MIDDLEWARE
        settings.MIDDLEWARE = self.middleware
        try:
            super().load_middleware(is_async)
        finally:
            settings.MIDDLEWARE = full


def with_public_chain(full: WSGIHandler) -> Callable[[dict, Callable], Iterable[bytes]]:
    """Return the WSGI application serving PUBLIC_PATH through PUBLIC_MIDDLEWARE and the rest through `full`."""
    public = LeanHandler(settings.PUBLIC_MIDDLEWARE)

    def application(wsgi_env: dict, start_response: Callable) -> Iterable[bytes]:
        handler = public if PUBLIC_PATH.fullmatch(wsgi_env.get("PATH_INFO", "")) else full
        return handler(wsgi_env, start_response)

    return application
