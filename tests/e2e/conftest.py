"""A real headless Chromium (Debian's) driven by Playwright against a live server."""

from __future__ import annotations

import os
import shutil
import tempfile
import threading
import time

import pytest

from tests.conftest import PASSWORD

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests
# make between browser steps are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("LEADFLOW_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def pytest_collection_modifyitems(items) -> None:
    for item in items:
        if "/e2e/" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


def _wait_for_request_threads(timeout: float = 10.0) -> None:
    """Wait until the live server's request threads have ended: each closes its database connection as it ends."""
    deadline = time.monotonic() + timeout
    for thread in threading.enumerate():
        if thread.name.endswith("(process_request_thread)"):
            thread.join(max(0.0, deadline - time.monotonic()))


@pytest.fixture(scope="session")
def browser(live_server):
    # Asking for the live server here makes it start first and stop last: the browser's open
    # connections end while the server may still share the test database with its request threads.
    if not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM):
        pytest.fail(f"Chromium not found at {CHROMIUM}: run scripts/system-deps.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright, tempfile.TemporaryDirectory() as profile:
        context = playwright.chromium.launch_persistent_context(
            profile,
            executable_path=CHROMIUM,
            args=CHROMIUM_ARGS,
            headless=True,
            viewport={"width": 1366, "height": 900},
        )
        yield context
        context.close()
    _wait_for_request_threads()


# htmx wires swapped-in content about 20 ms after inserting it (the settle step).
# A person cannot click that fast; Playwright can, and the click would be lost.
# Content still marked .htmx-added takes no pointer events, so Playwright's
# actionability check waits until htmx has wired it, as a person would.
WAIT_FOR_HTMX_WIRING = """
document.addEventListener("DOMContentLoaded", () => {
  const style = document.createElement("style");
  style.textContent = ".htmx-added, .htmx-added * { pointer-events: none !important; }";
  document.head.appendChild(style);
});
"""


@pytest.fixture
def page(browser):
    browser.clear_cookies()
    page = browser.new_page()
    page.add_init_script(WAIT_FOR_HTMX_WIRING)
    page.set_default_timeout(10_000)
    yield page
    page.close()


@pytest.fixture
def sign_in(page, live_server):
    """Return a function that signs `user` in and leaves the page on the leads list."""

    def sign_in_as(user) -> None:
        page.goto(f"{live_server.url}/accounts/login/")
        page.fill("input[name=username]", user.username)
        page.fill("input[name=password]", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_url(f"{live_server.url}/")

    return sign_in_as


@pytest.fixture
def screenshot(page, request):
    """Return a function that saves a screenshot under var/screenshots/ for a person to look at."""

    def take(name: str) -> str:
        folder = os.path.join("var", "screenshots")
        os.makedirs(folder, exist_ok=True)
        path = os.path.join(folder, f"{request.node.name}-{name}.png")
        page.screenshot(path=path, full_page=True)
        return path

    return take
