"""Recipe: a fetch-style client (a POST that answers with an event stream, read with httpx-sse) and the
resume loop around it (fetch_stream.py), through Sputter, judged under the `resume` contract.

The backend is Sputter's demo origin (examples/conftest.py): `POST /events?count=N` streams ids 1…N and
resumes after the `Last-Event-ID` it is sent, whatever the method. `retry=50` makes the stream ask for
50 ms between attempts; the loop's final event is id N.

The contract is chosen explicitly with the `Sputter-Contract: resume` header: without it the default
rule judges a POST as `once` (an LLM completion: no reconnects expected). See docs/LEDGER.md.

What each test shows:
- the loop resumes across resets and gets every event exactly once; no findings, and the messages it
  dispatched equal a spec-exact client's (`observed`);
- a loop that forgets `Last-Event-ID` is `wrongLastEventID` and gets events twice (`duplicated`);
- a loop that gives up after a cut is `gaveUp` once Sputter settles the client (no sleeping in the test);
- a 503 with `Retry-After` is waited out (no `reconnectTooEarly`); a loop that ignores it is flagged;
- a 4xx stops the loop and owes nothing;
- httpx-sse's own events, unfiltered, are not what a spec-exact client dispatches (`observed` says so).
"""

from __future__ import annotations

import urllib.parse
import uuid
from typing import Iterator, Optional

import httpx
import pytest
from sputter_testing import ClientReport, DemoOriginProcess, Sputter

from fetch_stream import FetchStream, StreamFailed, Transcript, retry_after_seconds

RETRY_MS = 50  # the stream's `retry:` field
COUNT = 12


@pytest.fixture
def key() -> str:
    return "fetch-" + uuid.uuid4().hex[:8]


@pytest.fixture
def http() -> Iterator[httpx.Client]:
    # A generous read timeout (never an assertion about speed): a stuck stream fails the test, not hangs it.
    with httpx.Client(timeout=httpx.Timeout(30.0)) as client:
        yield client


def fetch_stream(sputter: Sputter, http: httpx.Client, key: str, *, profile: Optional[str] = None,
                 count: int = COUNT, cls: type[FetchStream] = FetchStream) -> FetchStream:
    """The loop aimed at the demo origin's stream through Sputter, as client `key` under `resume`."""
    query = urllib.parse.urlencode({"count": count, "interval_ms": 20, "heartbeat_ms": 0, "retry": RETRY_MS})
    headers = Sputter.headers(client=key, profile=profile, event_stream=False) | {"Sputter-Contract": "resume"}
    return cls(http, f"{sputter.base_url}/events?{query}", json={"prompt": f"count to {count}"}, headers=headers,
               is_final=lambda m: m.id == str(count))


def every_id(count: int = COUNT) -> list[str]:
    return [str(i) for i in range(1, count + 1)]


def kinds(report: ClientReport) -> list[tuple[str, Optional[int]]]:
    return [(f.kind, f.attempt) for f in report.findings]


def check_resumes_as_the_ledger_expects(report: ClientReport, transcript: Transcript,
                                        origin: DemoOriginProcess) -> None:
    """Every request was a POST the ledger judged under `resume`; each reconnect sent the Last-Event-ID
    the ledger expected, and the origin saw it (requests a fault answered never reach the origin)."""
    context = f"\n{transcript.describe()}\nledger: {report.summary.verdict}"
    conns = report.connections
    assert report.summary.contract == "resume", context
    assert [(c.method, c.status) for c in conns] == [("POST", a.status) for a in transcript.attempts], context
    assert [c.last_event_id_sent for c in conns] == [a.last_event_id_sent for a in transcript.attempts], context
    for conn in conns[1:]:
        assert conn.last_event_id_sent == (conn.expected_last_event_id or None), f"conn {conn.conn}{context}"
    relayed = [a.last_event_id_sent for a, c in zip(transcript.attempts, conns) if not c.synthetic]
    assert [r.last_event_id for r in origin.requests()] == relayed, context


def test_resumes_after_resets_and_gets_every_event_once(sputter: Sputter, origin: DemoOriginProcess,
                                                        http: httpx.Client, key: str):
    # abrupt-disconnects resets every attempt after 5 events: ids 1-5, 6-10, 11-12.
    transcript = fetch_stream(sputter, http, key, profile="abrupt-disconnects").run()

    assert transcript.done and transcript.ids == every_id(), transcript.describe()
    assert len(transcript.attempts) >= 3, transcript.describe()
    report = sputter.settle(key)  # judges gaveUp too: the loop owes no reconnect after the final event
    assert report.findings == (), report.summary.verdict
    summary = report.summary
    assert (summary.expected, summary.received, summary.missing, summary.duplicated) == (COUNT, COUNT, 0, 0), summary
    assert [c.end for c in report.connections][:2] == ["fault", "fault"], report.connections
    assert all(c.waited_ms >= c.required_wait_ms == RETRY_MS for c in report.connections[1:]), report.connections
    check_resumes_as_the_ledger_expects(report, transcript, origin)

    # What the application got, message by message, is what a spec-exact client dispatched.
    diff = sputter.observed(key, transcript.observed())
    assert diff["ok"] and diff["matched"] == COUNT, diff


class ForgetsLastEventID(FetchStream):
    """A wrong loop: every attempt starts from scratch (no Last-Event-ID)."""

    def request_headers(self) -> dict[str, str]:
        return dict(self.headers)


def test_a_loop_that_forgets_last_event_id_is_flagged(sputter: Sputter, origin: DemoOriginProcess,
                                                      http: httpx.Client, key: str):
    # A FIN after 5 events on the first attempt only (FIN, not RST: the client surely has ids 1-5).
    sputter.next(key, faults=[{"disconnect": {"after_events": 5, "kind": "fin"}}])
    transcript = fetch_stream(sputter, http, key, cls=ForgetsLastEventID).run()

    assert transcript.done, transcript.describe()
    assert transcript.ids == every_id()[:5] + every_id(), transcript.describe()  # the backend started over
    report = sputter.wait_settled(key, connections=2)
    assert kinds(report) == [("wrongLastEventID", 2), ("duplicated", None)], report.summary.verdict
    [wrong] = report.findings_of("wrongLastEventID")
    assert wrong.expected == "5" and wrong.actual in (None, ""), wrong
    assert list(report.summary.duplicated_ids) == every_id()[:5], report.summary
    assert [r.last_event_id for r in origin.requests()] == [None, None]


class GivesUpAfterACut(FetchStream):
    """A wrong loop: a cut stream is the end of it."""

    def resume_after(self, attempt) -> bool:
        return False


def test_a_loop_that_gives_up_after_a_cut_is_flagged_once_settled(sputter: Sputter, http: httpx.Client, key: str):
    sputter.next(key, faults=[{"disconnect": {"after_events": 5, "kind": "fin"}}])
    with pytest.raises(StreamFailed, match="gave up after attempt 1") as failed:
        fetch_stream(sputter, http, key, cls=GivesUpAfterACut).run()
    assert failed.value.transcript.ids == every_id()[:5]

    # settle: waits until the owed reconnect (retry 50 ms + Sputter's 2 s grace) is overdue, then judges.
    report = sputter.settle(key)
    assert kinds(report) == [("gaveUp", 1)], report.summary.verdict
    assert len(report.connections) == 1


def test_waits_out_retry_after_on_a_503(sputter: Sputter, origin: DemoOriginProcess, http: httpx.Client, key: str):
    # reconnect-ladder: attempt 1 reset after 3 events, attempt 2 answered 503 with Retry-After: 1, then clean.
    transcript = fetch_stream(sputter, http, key, profile="reconnect-ladder", count=10).run()

    assert transcript.done and transcript.ids == every_id(10), transcript.describe()
    assert [a.status for a in transcript.attempts] == [200, 503, 200], transcript.describe()
    report = sputter.settle(key)
    # Under `resume` a retry after a 503 is expected (an EventSource would stop there), so: no findings.
    assert report.findings == (), report.summary.verdict
    after_503 = report.connections[2]
    assert after_503.required_wait_ms == 1000 and after_503.waited_ms >= 1000, after_503
    check_resumes_as_the_ledger_expects(report, transcript, origin)


class IgnoresRetryAfter(FetchStream):
    """A wrong loop: retries a failed answer after its usual retry time, whatever Retry-After says."""

    def retry_delay(self, response: httpx.Response) -> float:
        return self.retry_ms / 1000


def test_a_loop_that_ignores_retry_after_is_flagged(sputter: Sputter, http: httpx.Client, key: str):
    transcript = fetch_stream(sputter, http, key, profile="reconnect-ladder", count=10, cls=IgnoresRetryAfter).run()

    assert transcript.done and transcript.ids == every_id(10), transcript.describe()
    report = sputter.settle(key)
    assert kinds(report) == [("reconnectTooEarly", 3)], report.summary.verdict
    assert "Retry-After" in report.findings[0].detail


def test_stops_on_a_4xx_and_owes_no_reconnect(sputter: Sputter, origin: DemoOriginProcess, http: httpx.Client, key: str):
    sputter.next(key, respond={"status": 404})
    with pytest.raises(StreamFailed, match="status 404: not retried") as failed:
        fetch_stream(sputter, http, key).run()
    assert [a.status for a in failed.value.transcript.attempts] == [404]

    report = sputter.settle(key)
    assert report.findings == (), report.summary.verdict
    assert [c.status for c in report.connections] == [404] and report.connections[0].synthetic
    assert origin.requests() == []


def test_httpx_sse_unfiltered_dispatches_blocks_without_data(sputter: Sputter, http: httpx.Client, key: str):
    # Why the loop skips events with empty data: httpx-sse 0.4.3 yields the stream's leading
    # `retry: 50` block as an event, where the spec dispatches nothing. `observed` catches it.
    transcript = fetch_stream(sputter, http, key, count=3).run()
    sputter.wait_settled(key)

    assert sputter.observed(key, transcript.observed())["ok"]
    diff = sputter.observed(key, transcript.observed(raw=True))
    assert not diff["ok"] and diff["unexpected"] == 1, diff
    [extra] = diff["diff"]
    assert extra["kind"] == "unexpected" and extra["observed"]["data"] == "", extra


def test_retry_after_takes_seconds_or_an_http_date():
    now = 1_700_000_000.0  # 2023-11-14 22:13:20 UTC
    assert retry_after_seconds("2", now=lambda: now) == 2.0
    assert retry_after_seconds(" 0 ", now=lambda: now) == 0.0
    assert retry_after_seconds("Tue, 14 Nov 2023 22:13:30 GMT", now=lambda: now) == 10.0
    assert retry_after_seconds("Tue, 14 Nov 2023 22:13:00 GMT", now=lambda: now) == 0.0  # in the past: now
    assert retry_after_seconds("soon", now=lambda: now) is None
    assert retry_after_seconds(None) is None
