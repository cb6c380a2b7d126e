"""Fixtures for the browser example: Sputter (the `sputter-testing` plugin's `sputter` fixture) in front of
Sputter's demo origin, and headless Chromium driven by Playwright.

The browser is Debian's `chromium` package (`$CHROMIUM`, else `chromium` on PATH), launched by Playwright
with `executable_path`; Playwright's own browser download is never used. scripts/test-browser installs both.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Generator

import pytest
from sputter_testing import DemoOriginProcess

HERE = Path(__file__).resolve().parent
#: Where the tests save screenshots of the page (default: the repository's .build/).
SCREENSHOTS = Path(os.environ.get("BROWSER_SCREENSHOTS", HERE.parent.parent / ".build"))


@pytest.fixture
def sputter_upstream(sputter_demo_origin: DemoOriginProcess) -> str:
    """Your backend's URL goes here."""
    return sputter_demo_origin.url


@pytest.fixture
def origin(sputter_demo_origin: DemoOriginProcess) -> DemoOriginProcess:
    """The demo origin with its request log cleared: `origin.requests()` is what reached it during the test
    (the `Last-Event-ID` each request carried, after Sputter)."""
    sputter_demo_origin.clear_requests()
    return sputter_demo_origin


@pytest.fixture(scope="session")
def browser() -> Generator:
    from playwright.sync_api import sync_playwright

    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("no chromium on PATH (apt-get install chromium, or set CHROMIUM); scripts/test-browser installs it",
                    pytrace=False)
    with sync_playwright() as playwright:
        # --no-sandbox: CI runs the suite as root in a container.
        browser = playwright.chromium.launch(executable_path=path, headless=True, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def context(browser) -> Generator:
    context = browser.new_context()
    try:
        yield context
    finally:
        context.close()
