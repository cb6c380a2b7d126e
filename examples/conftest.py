"""What the `sputter` fixture proxies in these examples: Sputter's built-in demo origin.

The fixtures come from the `sputter-testing` pytest plugin (`pip install ./clients/python`; installing it
enables the plugin):

    sputter                  a running `sputter serve` (started once per session on free ports, stopped
                             with SIGTERM at the end: it must exit 0 and leave a complete JSON Lines
                             ledger), with the ledger, attempt counters and runtime profile reset before
                             each test; `sputter.url(path, profile=…, client=…)` points a client at it,
                             `sputter.wait_settled(key)` is the ledger's report on one client
    sputter_demo_origin      `sputter demo-origin` on a free port
    sputter_upstream         what Sputter proxies: override it (below) with your backend's URL

The binary is `--sputter-bin PATH`, else $SPUTTER, else `sputter` on PATH (scripts/test-examples sets
SPUTTER to the one just built).
"""

from __future__ import annotations

import pytest
from sputter_testing import DemoOriginProcess

# examples/browser/ is its own suite (Playwright and Chromium): scripts/test-browser.
collect_ignore = ["browser"]


@pytest.fixture
def sputter_upstream(sputter_demo_origin: DemoOriginProcess) -> str:
    """Your backend's URL goes here (e.g. "http://127.0.0.1:5000", or a live server fixture's URL)."""
    return sputter_demo_origin.url


@pytest.fixture
def origin(sputter_demo_origin: DemoOriginProcess) -> DemoOriginProcess:
    """The demo origin with its request log cleared: `origin.requests()` is what reached it during the test
    (the `Last-Event-ID` each request carried upstream). Your backend probably cannot say that: drop the
    `origin.requests()` checks then."""
    sputter_demo_origin.clear_requests()
    return sputter_demo_origin
