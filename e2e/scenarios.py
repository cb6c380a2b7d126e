"""What each profile is run with, and the deviations from the spec each client is known to show.

A deviation listed here is an expected finding: the test asserts that it is observed (and that the
ledger flags it where the proxy can see it), not that it is tolerated. If a client stops deviating,
its test fails and this table must be updated; a deviation not listed here fails the test too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional


@dataclass(frozen=True)
class Scenario:
    profile: str
    count: int  # the demo origin ends the stream after id `count`
    ends: int  # connection ends a reconnecting client may see before the test stops it
    fail_attempt: Optional[int] = None  # the attempt whose response makes EventSource fail for good
    retry: int = 50  # the stream's `retry:` field, ms (demo origin `retry=`)
    note: str = ""

    @property
    def id(self) -> str:
        return self.profile if self.retry == 50 else f"{self.profile}-retry{self.retry}"


# Every stream: `retry: 50` first (the demo origin's `retry=50`), then `id: n`, `event: tick` (every
# fifth `progress`), `data: {"n":n}` every 20 ms, no heartbeats. Each scenario lets a reconnecting
# client make at least one reconnect, so its Last-Event-ID is checked against the ledger.
SCENARIOS = [
    Scenario("passthrough", count=10, ends=2, note="clean stream; reconnect after its end"),
    Scenario("lossy", count=20, ends=2, note="every 4th event and 5% of the others dropped"),
    Scenario("torn-events", count=8, ends=2, note="event 2 half cut, event 4 merged into 5, 7-byte writes"),
    Scenario("abrupt-disconnects", count=12, ends=3, note="RST after 5 events on every attempt"),
    Scenario("reconnect-ladder", count=10, ends=3, fail_attempt=2, note="RST after 3, then 503 Retry-After 1"),
    Scenario("gateway-restart", count=10, ends=3, fail_attempt=2, note="FIN after 4, then 503 Retry-After 2"),
    Scenario("stale-ids", count=6, ends=2, note="ids stripped or stale; Last-Event-ID removed upstream"),
    Scenario("stop-with-204", count=10, ends=2, fail_attempt=1, note="every request answered 204"),
    Scenario("malformed-frames", count=8, ends=2, note="Data:, invalid UTF-8, broken JSON, CR, BOM, NUL, garbage"),
    Scenario("buffering-intermediary", count=12, ends=2, note="events released in bursts of 5"),
    Scenario("wrong-content-type", count=6, ends=2, fail_attempt=1, note="e2e profile: the stream as text/plain"),
    # The reconnection time: `retry: 1000` where the Python clients' own delay is 50 ms.
    Scenario("abrupt-disconnects", count=7, ends=2, retry=1000, note="RST after 5 events; the stream asks for 1 s"),
]

# Kinds of deviation from the WHATWG EventSource processing model the suite recognises.
DEVIATION_KINDS = {
    "reconnect-after-failure": "reconnects after a response that fails EventSource for good (204, 503, wrong "
                               "content type); the ledger flags reconnectAfterFailure",
    "wrong-last-event-id": "reconnects with another Last-Event-ID than a spec-exact client holds; the ledger "
                           "flags wrongLastEventID",
    "reconnect-too-early": "reconnects before the reconnection time; the ledger flags reconnectTooEarly",
    "invalid-utf8": "stops reading the stream at invalid UTF-8 (UnicodeDecodeError) instead of decoding it "
                    "with U+FFFD: what it dispatched is the ledger's list cut before that message",
    "blocks-without-data": "dispatches a message with empty data for a block that has no data field (a "
                           "retry-only block, an id-only block, a comment-only block after an id)",
    "parses-failed-response": "dispatches the events of a response EventSource fails on (wrong content type)",
    "bom-mid-stream": "strips a byte order mark at the start of any read, not only of the stream: a frame after "
                      "one keeps its first field (an `id`), which the spec ignores, so its last event ID differs",
    "no-reconnect": "stops after the stream ends where a spec-exact client reconnects (the ledger's "
                    "prediction for the last connection is 'reconnect')",
}

_STREAMS = {"passthrough", "lossy", "torn-events", "abrupt-disconnects", "reconnect-ladder", "gateway-restart",
            "stale-ids", "malformed-frames", "buffering-intermediary"}  # attempt 1 is a 200 event stream


def expected_deviations(client: str, scenario: Scenario) -> set[str]:
    """The deviations the suite expects of `client` in `scenario` (pinned versions, requirements.txt)."""
    profile = scenario.profile
    if client == "chromium":
        return set()
    if client == "launchdarkly-eventsource":  # 1.7.4
        if scenario.retry > 50:
            # It parses `retry:` but never applies it (its SSEClient builds the reader without the
            # callback): it keeps its own 50 ms delay (examples/ shows the same).
            return {"reconnect-too-early"}
        if profile in ("reconnect-ladder", "gateway-restart", "stop-with-204", "wrong-content-type"):
            return {"reconnect-after-failure"}
        if profile == "malformed-frames":
            # It treats the decode error as a broken connection and reconnects, from the last event it
            # dispatched before the bad line: behind the spec-exact client, which the ledger flags.
            return {"invalid-utf8", "wrong-last-event-id"}
        return set()
    if client == "requests-sse":  # 0.5.3
        if profile == "malformed-frames":
            return {"invalid-utf8", "no-reconnect"}  # the error escapes its iterator: the stream is abandoned
        return set()
    if client == "httpx-sse":  # 0.4.3
        return {"blocks-without-data", "no-reconnect"} if profile in _STREAMS else set()
    if client == "sseclient-py":  # 1.9.0
        if profile == "malformed-frames":
            return {"invalid-utf8", "no-reconnect"}
        if profile == "wrong-content-type":
            return {"parses-failed-response"}
        return {"no-reconnect"} if profile in _STREAMS else set()
    if client == "node-eventsource":  # Debian's node-eventsource 2.0.2
        if profile in ("reconnect-ladder", "gateway-restart"):
            return {"reconnect-after-failure"}  # it retries 500, 502, 503 and 504 (Retry-After ignored)
        if profile == "wrong-content-type":
            # It never checks the content type: reads the text/plain body as events, then reconnects
            # after its end, from the last id it parsed.
            return {"parses-failed-response", "reconnect-after-failure"}
        if profile == "malformed-frames":
            return {"bom-mid-stream"}
        return set()
    raise KeyError(client)
