"""A live server on 127.0.0.1 and Debian's Chromium driven by Playwright.

Never ``playwright install``: the browser is /usr/bin/chromium (package chromium).
Screenshots land in test-artifacts/ for people to look at.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import PG_URL

CHROMIUM = Path("/usr/bin/chromium")
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts"

pytestmark = pytest.mark.browser


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/browser/" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail("Chromium is missing: apt-get install chromium (make test does this)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            chromium_sandbox=False,
            headless=True,
            args=[
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-dev-shm-usage",
            ],
        )
        yield browser
        browser.close()


@pytest.fixture
def live_server(app, world, make_app):
    """Serve the test database (with ``world`` in it) over HTTP, CSRF on, as in production."""
    if PG_URL:
        pytest.skip("browser tests run in the SQLite pass")
    served = make_app()  # CSRF on
    server = make_server("127.0.0.1", 0, served, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    served.config["BASE_URL"] = f"http://127.0.0.1:{server.server_port}"
    yield served.config["BASE_URL"]
    server.shutdown()
    thread.join(timeout=5)


@pytest.fixture
def page_factory(browser):
    """Return a factory of fresh pages (own cookies), at a given viewport width."""
    contexts = []

    def factory(width: int = 1280, bypass_csp: bool = False):
        context = browser.new_context(
            viewport={"width": width, "height": 900}, bypass_csp=bypass_csp, locale="vi-VN"
        )
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(10_000)
        return page

    yield factory
    for context in contexts:
        context.close()


def sign_in(page, base: str, username: str, password: str) -> None:
    """Sign in through the form."""
    page.goto(f"{base}/login")
    page.get_by_label("Tên đăng nhập").fill(username)
    page.get_by_label("Mật khẩu", exact=True).fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Đăng nhập").click()


def screenshot(page, name: str) -> None:
    """Keep a picture of the page for people to review."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
