"""A web page's live feed (feed.html: EventSource, a status line, the events by id) in headless Chromium,
through Sputter in front of the demo origin, with faults driven as the test goes.

Each test opens the page on the stream's own origin (Playwright's request routing answers the page's URL
with feed.html, so the page and the stream share an origin and no CORS is involved), waits on what the
page shows (Playwright waits, no sleeps), acts on the live stream through the control API, and checks the
page — every event id shown once, in order — and Sputter's ledger: no duplicates, and each reconnect
carried the Last-Event-ID a spec-exact EventSource sends (also as the origin saw it).

- a `next`-queued disconnect: the first attempt is reset after 3 events, the page says "reconnecting",
  then "connected" again and resumes after id 3;
- a live cut (`POST /clients/KEY/cut {"kind": "rst"}`) of the open stream, after the page has 5 events;
- a live stall then resume (`POST /clients/KEY/stall`, `/resume`): the page stays "connected" while
  nothing arrives, then the held events appear, none twice.
"""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import Any, Optional

import pytest
from playwright.sync_api import Page, expect
from sputter_testing import ClientReport, ControlAPIError, DemoOriginProcess, Sputter

from conftest import HERE, SCREENSHOTS

PAGE_HTML = (HERE / "feed.html").read_text()
#: The demo origin's endless stream: an event every 100 ms, and `retry: 300` (EventSource's reconnection time).
STREAM = "/events?interval_ms=100&retry=300"
RETRY_MS = 300
KEY = "browser"
WAIT_MS = 30_000  # a generous bound on each wait (a busy 2-core machine); never an assertion about speed


# ---------------------------------------------------------------------------------------------------
# The page


@dataclass
class Feed:
    """feed.html open in a tab, on `KEY`'s stream through Sputter."""

    page: Page

    @property
    def status(self):
        return self.page.locator("#status")

    def ids(self) -> list[str]:
        return self.page.eval_on_selector_all("#events li", "items => items.map(i => i.dataset.id)")

    def count(self) -> int:
        return self.page.locator("#events li").count()

    def history(self) -> list[str]:
        """Every status the page has shown, in order."""
        return self.page.evaluate("feed.history.slice()")

    def wait_events(self, n: int) -> None:
        self.page.wait_for_function("n => document.querySelectorAll('#events li').length >= n", arg=n, timeout=WAIT_MS)

    def wait_reconnected(self, more_events: int) -> None:
        """Until the page has said "reconnecting", then "connected" again, and shown `more_events` events since."""
        self.page.wait_for_function(
            """([more]) => {
                 const h = feed.history, lost = h.indexOf("reconnecting"), back = h.indexOf("connected", lost);
                 return lost >= 0 && back > lost && document.querySelectorAll("#events li").length >= feed.counts[back] + more;
               }""", arg=[more_events], timeout=WAIT_MS)

    def screenshot(self, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        self.page.screenshot(path=str(SCREENSHOTS / name), full_page=True)


def open_feed(context: Any, sputter: Sputter, key: str = KEY) -> Feed:
    """Opens feed.html at Sputter's address, on the stream `sputter.url(STREAM, client=key)`."""
    page = context.new_page()
    base = sputter.base_url
    page.route(lambda url: urllib.parse.urlsplit(url).path == "/feed.html",
               lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8", body=PAGE_HTML))
    page.route(base + "/favicon.ico", lambda route: route.fulfill(status=404, body=""))
    stream = sputter.url(STREAM, client=key)
    assert stream.startswith(base)
    page.goto(base + "/feed.html?" + urllib.parse.urlencode({"stream": stream[len(base):]}))
    feed = Feed(page)
    expect(feed.status).to_have_text("connected", timeout=WAIT_MS)
    return feed


# ---------------------------------------------------------------------------------------------------
# Live control (POST /clients/KEY/cut, /stall, /resume)


def live(sputter: Sputter, action: str, **options: Any) -> dict:
    """`sputter.cut(KEY, kind=…)`, `sputter.stall(KEY)` or `sputter.resume(KEY)` (POST /clients/KEY/ACTION) on
    the page's open stream. Skips the test when this Sputter has no such endpoint: a 404 that is not the
    endpoint's own "no client" answer, which lists the known clients."""
    try:
        payload = getattr(sputter, action)(KEY, **options)
    except ControlAPIError as error:
        if error.status in (404, 405) and not (isinstance(error.body, dict) and "clients" in error.body):
            reason = error.body.get("error") if isinstance(error.body, dict) else error.body
            pytest.skip(f"needs POST /clients/KEY/{action} (live control): this Sputter answers {error.status} ({reason})")
        raise
    assert payload["client"] == KEY and len(payload["connections"]) == 1, payload
    return payload


def dispatched(sputter: Sputter, key: str = KEY) -> int:
    """How many messages the ledger says a spec-exact EventSource dispatched from what Sputter delivered."""
    progress = sputter.wait(key, received=1, timeout=WAIT_MS / 1000).progress
    assert progress is not None
    return progress.dispatched


# ---------------------------------------------------------------------------------------------------
# Checks


def check_once_in_order(ids: list[str], report: ClientReport) -> None:
    """The page showed ids 1, 2, … n, each once; the ledger has no duplicate, and nothing missing up to n
    (what Sputter had not delivered when the page closed may be missing; nothing before)."""
    assert ids == [str(i) for i in range(1, len(ids) + 1)], ids
    summary = report.summary
    assert summary.duplicated_ids == () and summary.duplicated == 0, summary
    assert all(int(m) > len(ids) for m in summary.missing_ids), (summary.missing_ids, ids)


def check_resumed_with_last_event_id(ids: list[str], report: ClientReport, origin: DemoOriginProcess,
                                     resumed_after: Optional[str] = None) -> str:
    """Two connections; the second carried the Last-Event-ID a spec-exact EventSource holds after the
    first (an id the page showed), waited the stream's `retry:`, and the origin saw that id. Returns it."""
    first, second = report.connections
    sent = second.last_event_id_sent
    assert first.last_event_id_sent is None
    assert sent == second.expected_last_event_id == first.prediction.last_event_id, report.connections
    if resumed_after is not None:
        assert sent == resumed_after
    assert sent in ids, (sent, ids)
    assert second.required_wait_ms == RETRY_MS and second.waited_ms >= RETRY_MS, second
    assert [r.last_event_id for r in origin.requests()] == [None, sent]
    return sent


def close_and_settle(feed: Feed, sputter: Sputter, connections: int) -> ClientReport:
    feed.page.close()  # closes the EventSource: the stream's last connection ends
    report = sputter.wait_settled(KEY, timeout=WAIT_MS / 1000, connections=connections)
    assert len(report.connections) == connections, report.connections
    return report


# ---------------------------------------------------------------------------------------------------
# The tests


def test_page_resumes_after_a_queued_reset(sputter: Sputter, origin: DemoOriginProcess, context):
    # Before the page loads: the client's next attempt (its first) is reset after 3 events.
    assert sputter.next(KEY, faults=[{"disconnect": {"after_events": 3, "kind": "rst"}}]) == 1
    feed = open_feed(context, sputter)

    feed.wait_reconnected(more_events=5)
    expect(feed.status).to_have_text("connected")
    feed.screenshot("browser-example-reconnected.png")
    ids, history = feed.ids(), feed.history()
    report = close_and_settle(feed, sputter, connections=2)

    assert history == ["connecting", "connected", "reconnecting", "connected"], history
    check_once_in_order(ids, report)
    assert len(ids) >= 8
    cut = report.connections[0]
    assert cut.end == "fault" and cut.end_summary.startswith("rst") and cut.profile.endswith("+next"), cut
    check_resumed_with_last_event_id(ids, report, origin, resumed_after="3")


def test_page_resumes_after_a_live_cut(sputter: Sputter, origin: DemoOriginProcess, context):
    feed = open_feed(context, sputter)
    feed.wait_events(5)

    answer = live(sputter, "cut", kind="rst")
    assert (answer["action"], answer["kind"]) == ("cut", "rst"), answer

    feed.wait_reconnected(more_events=5)
    expect(feed.status).to_have_text("connected")
    ids, history = feed.ids(), feed.history()
    report = close_and_settle(feed, sputter, connections=2)

    assert history == ["connecting", "connected", "reconnecting", "connected"], history
    check_once_in_order(ids, report)
    cut = report.connections[0]
    assert cut.end == "fault" and cut.end_summary.startswith("rst") and cut.profile == "passthrough", cut
    resumed_after = check_resumed_with_last_event_id(ids, report, origin)
    assert int(resumed_after) >= 5  # the cut came after the page had shown 5 events


def test_page_stays_connected_through_a_stall(sputter: Sputter, context):
    feed = open_feed(context, sputter)
    feed.wait_events(3)

    live(sputter, "stall")
    held_at = dispatched(sputter)  # nothing more reaches the page from here until resume
    feed.wait_events(held_at)
    # A second feed on its own client key is the clock: while it shows 5 more events (~0.5 s of the
    # stream), the stalled feed would have shown about as many. It shows none, and is still "connected".
    clock = open_feed(context, sputter, key="browser-clock")
    clock.wait_events(5)
    assert dispatched(sputter) == held_at
    assert feed.count() == held_at
    expect(feed.status).to_have_text("connected")
    feed.screenshot("browser-example-stalled.png")

    live(sputter, "resume")
    feed.wait_events(held_at + 5)
    expect(feed.status).to_have_text("connected")
    ids, history = feed.ids(), feed.history()
    clock.page.close()
    report = close_and_settle(feed, sputter, connections=1)

    assert history == ["connecting", "connected"], history
    check_once_in_order(ids, report)
    assert report.findings == () or report.finding_kinds == ["missing"], report.findings
