"""Baseline reconnect tests for a Python SSE client, with Sputter's ledger as the answer key.

The client under test is launchdarkly-eventsource's `SSEClient` (pinned in requirements.txt), set up
the way an application would: reconnect on every error, small initial retry delay, no jitter, and a
few lines of application logic that honour `Retry-After` on an error response.

Sputter itself comes from the `sputter-testing` pytest plugin (clients/python): its `sputter` fixture is a
running Sputter with the ledger and attempt counters reset, and a typed client for the control API;
`conftest.py` next to this file says what Sputter proxies (the demo origin; put your backend there).

Each test:
1. points the client at Sputter (`sputter.url(...)`) with a profile (`sputter_profile`) and a client key
   (`sputter_client`) in the query string — EventSource-style clients cannot set headers — or
   chooses the profile through the control API;
2. reads until it has every event it can get (bounded by a generous deadline; nothing is timed);
3. asserts, from the ledger (`sputter.wait_settled(key)`: `GET /clients/KEY` once the client's
   connections are closed), that every event arrived exactly once, or that the
   ledger found exactly what the profile implies;
4. checks the client against the ledger's prediction of a spec-exact EventSource: per connection,
   how many events it dispatched and the last event ID it ended with; and the `Last-Event-ID` each
   reconnect carried, as the origin saw it, against the one the ledger expected.

The demo origin's stream: `id: 1, 2, …` every `interval_ms`, ending after id `count`; it resumes
after the `Last-Event-ID` it is sent; `retry=50` makes it send `retry: 50` first, so a spec-exact
client's reconnection time (3000 ms by default) becomes 50 ms, which is the client's own delay.
"""

from __future__ import annotations

import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from typing import Callable, Optional

import pytest
from ld_eventsource import SSEClient
from ld_eventsource.actions import Event, Fault, Start
from ld_eventsource.config import ConnectStrategy, ErrorStrategy, RetryDelayStrategy
from ld_eventsource.errors import HTTPStatusError
from sputter_testing import ClientReport, DemoOriginProcess, OriginRequest, Sputter


DEADLINE = 60.0  # seconds; a generous bound on a whole run, never an assertion about speed
RETRY_MS = 50  # the stream's `retry:` and the client's initial retry delay


# ---------------------------------------------------------------------------------------------------
# The client under test, and what it did


@dataclass
class Attempt:
    """One connection attempt as the client saw it."""
    sent_last_event_id: Optional[str]  # the Last-Event-ID it connected with (None: no header)
    status: Optional[int] = None  # 200 for a stream; the error status (503, …); None: no response
    events: list[Event] = field(default_factory=list)
    ended: Optional[str] = None  # None while open; "end of stream", the error, or "closed by test"
    last_event_id: Optional[str] = None  # the client's last event ID when the attempt was over

    @property
    def ids(self) -> list[Optional[str]]:
        return [e.id for e in self.events]


@dataclass
class Transcript:
    attempts: list[Attempt] = field(default_factory=list)

    @property
    def ids(self) -> list[Optional[str]]:
        return [i for a in self.attempts for i in a.ids]

    @property
    def streams_ended(self) -> int:
        return sum(1 for a in self.attempts if a.status == 200 and a.ended not in (None, "closed by test"))

    def describe(self) -> str:
        return "\n".join(f"  attempt {n}: Last-Event-ID {a.sent_last_event_id!r} -> status {a.status}, "
                         f"ids {a.ids}, ended: {a.ended}" for n, a in enumerate(self.attempts, 1))


def received_through(last_id: int) -> Callable[[Transcript], bool]:
    return lambda t: str(last_id) in t.ids


def first_stream_ended(t: Transcript) -> bool:
    return t.streams_ended >= 1


def read_stream(url: str, until: Callable[[Transcript], bool], headers: Optional[dict] = None,
                deadline: float = DEADLINE) -> Transcript:
    """Runs the client against `url` until `until(transcript)` holds (checked after every action),
    then closes it. Fails if that does not happen within `deadline` seconds."""
    client = SSEClient(
        connect=ConnectStrategy.http(url, headers=headers),
        initial_retry_delay=RETRY_MS / 1000,
        # Backoff x2 from 50 ms, capped, and no jitter: jitter subtracts from the delay, so the client
        # could reconnect before the stream's reconnection time and be flagged `reconnectTooEarly`.
        retry_delay_strategy=RetryDelayStrategy.default(max_delay=1.0, backoff_multiplier=2, jitter_multiplier=None),
        # Reconnect after anything: network errors, end of stream, error statuses.
        error_strategy=ErrorStrategy.always_continue(),
    )
    transcript = Transcript()
    current: Optional[Attempt] = None
    watchdog = threading.Timer(deadline, client.close)  # unblocks a read that never returns
    watchdog.start()
    stop_at = time.monotonic() + deadline
    try:
        for action in client.all:
            if isinstance(action, Start):
                current = Attempt(sent_last_event_id=last_sent(transcript), status=200)
                transcript.attempts.append(current)
            elif isinstance(action, Event):
                assert current is not None and current.ended is None, f"event outside a connection: {action}"
                current.events.append(action)
            elif isinstance(action, Fault):
                error = action.error
                if current is not None and current.ended is None:
                    current.ended = "end of stream" if error is None else f"{type(error).__name__}: {error}"
                    current.last_event_id = client.last_event_id
                else:  # the connection attempt itself failed
                    transcript.attempts.append(Attempt(
                        sent_last_event_id=last_sent(transcript),
                        status=error.status if isinstance(error, HTTPStatusError) else None,
                        ended=f"{type(error).__name__}: {error}", last_event_id=client.last_event_id))
                    # Application logic: honour Retry-After (seconds) before the library's own delay.
                    retry_after = (action.headers or {}).get("Retry-After")
                    if retry_after and retry_after.isdigit():
                        time.sleep(int(retry_after))
                current = None
            if until(transcript) or time.monotonic() > stop_at:
                break
    finally:
        watchdog.cancel()
        if current is not None and current.ended is None:
            current.ended = "closed by test"
            current.last_event_id = client.last_event_id
        client.close()
    assert until(transcript), f"the client did not get there within {deadline:g}s:\n{transcript.describe()}"
    return transcript


def last_sent(t: Transcript) -> Optional[str]:
    """The Last-Event-ID the client sends next: what it held after its previous attempt."""
    return t.attempts[-1].last_event_id if t.attempts else None


def events_url(sputter: Sputter, count: int, profile: Optional[str] = None, client: Optional[str] = None,
               retry: Optional[int] = RETRY_MS) -> str:
    """The demo origin's stream through Sputter, with the profile and client key in the query string."""
    query = {"interval_ms": 20, "heartbeat_ms": 0, "count": count}
    if retry is not None:
        query["retry"] = retry
    return sputter.url(f"/events?{urllib.parse.urlencode(query)}", profile=profile, client=client)


# ---------------------------------------------------------------------------------------------------
# Checks against the ledger


def finding_kinds(report: ClientReport) -> list[tuple[str, Optional[int]]]:
    return [(f.kind, f.attempt) for f in report.findings]


def check_client_against_ledger(report: ClientReport, transcript: Transcript, origin_requests: list[OriginRequest]) -> None:
    """The client agrees with the ledger's spec-exact prediction, connection by connection, and each
    reconnect's Last-Event-ID (as the origin saw it) is the one the ledger expected."""
    context = f"\nclient:\n{transcript.describe()}\nledger: {report.summary.verdict}"
    connections = report.connections
    assert [c.status for c in connections] == [a.status for a in transcript.attempts], context

    for n, (conn, attempt) in enumerate(zip(connections, transcript.attempts), 1):
        # What the client sent is what the ledger recorded.
        assert conn.last_event_id_sent == attempt.sent_last_event_id, f"attempt {n}{context}"
        prediction = conn.prediction
        if attempt.status == 200:
            # A spec-exact EventSource, fed the bytes Sputter delivered, dispatched as many events as
            # the client did (all of them intact) and ended with the same last event ID.
            assert prediction.dispatched == len(attempt.events), f"attempt {n}: {prediction}{context}"
            assert prediction.intact == len(attempt.events), f"attempt {n}: {prediction}{context}"
            assert prediction.last_event_id == (attempt.last_event_id or ""), f"attempt {n}: {prediction}{context}"
        else:
            assert prediction.next == "fail", f"attempt {n}: {prediction}{context}"

    # The Last-Event-ID each reconnect should carry: what the ledger expected, or — after a response
    # that makes a spec-exact EventSource fail, where it expects no reconnect at all — the last event
    # ID a spec-exact client held, which is what a client that retries anyway must resume from.
    expected_ids: list[Optional[str]] = [None]
    for previous, conn in zip(connections, connections[1:]):
        expected = conn.expected_last_event_id
        if expected is None:
            expected = previous.prediction.last_event_id
        expected_ids.append(expected or None)
    assert [c.last_event_id_sent for c in connections] == expected_ids, context

    # The origin saw exactly the requests Sputter relayed (not the ones a fault answered), with the
    # Last-Event-ID the ledger expected.
    relayed = [e for e, c in zip(expected_ids, connections) if not c.synthetic]
    assert [r.last_event_id for r in origin_requests] == relayed, f"origin saw {origin_requests}{context}"


def check_every_event_once(report: ClientReport, transcript: Transcript, count: int) -> None:
    everything = [str(i) for i in range(1, count + 1)]
    assert transcript.ids == everything, transcript.describe()
    summary = report.summary
    assert summary.missing_ids == () and summary.duplicated_ids == (), summary
    assert (summary.expected, summary.received, summary.missing, summary.duplicated, summary.unexpected) \
        == (count, count, 0, 0, 0), summary
    assert summary.open_connections == 0, summary


def run(sputter: Sputter, key: str, count: int, profile: Optional[str] = None,
        until: Optional[Callable[[Transcript], bool]] = None, **url_options) -> tuple[Transcript, ClientReport]:
    url = events_url(sputter, count, profile=profile, client=key, **url_options)
    transcript = read_stream(url, until or received_through(count))
    return transcript, sputter.wait_settled(key)


# ---------------------------------------------------------------------------------------------------
# The tests


def test_passthrough_delivers_every_event_once(sputter: Sputter, origin: DemoOriginProcess):
    transcript, report = run(sputter, "passthrough", count=10, profile="passthrough")

    check_every_event_once(report, transcript, 10)
    assert report.findings == ()
    assert report.summary.verdict.startswith("ok: 10 events, 0 reconnects"), report.summary
    check_client_against_ledger(report, transcript, origin.requests())


def test_abrupt_disconnects_resume_from_last_event_id(sputter: Sputter, origin: DemoOriginProcess):
    # Every attempt is reset (RST) after 5 events: ids 1-5, 6-10, 11-12.
    transcript, report = run(sputter, "abrupt", count=12, profile="abrupt-disconnects")

    check_every_event_once(report, transcript, 12)
    assert report.findings == (), report.summary.verdict
    assert report.summary.verdict.startswith("ok: 12 events, 2 reconnects"), report.summary
    conns = report.connections
    # The last connection ends either way round: the stream ends after id 12, the client closes on it.
    assert [c.end for c in conns][:2] == ["fault", "fault"], conns
    assert [c.last_event_id_sent for c in conns] == [None, "5", "10"]
    assert all(c.waited_ms >= c.required_wait_ms == RETRY_MS for c in conns[1:]), conns
    check_client_against_ledger(report, transcript, origin.requests())


def test_reconnect_ladder_resumes_after_503_and_is_flagged_for_it(sputter: Sputter, origin: DemoOriginProcess):
    # Attempt 1 is reset after 3 events, attempt 2 gets 503 with Retry-After: 1, attempt 3 is clean.
    transcript, report = run(sputter, "ladder", count=10, profile="reconnect-ladder")

    check_every_event_once(report, transcript, 10)
    assert [a.status for a in transcript.attempts] == [200, 503, 200]
    # A spec-exact EventSource STOPS on the 503 (any status but 200 fails the connection for good).
    # This client retries anyway — which is what the application wants here — so the ledger reports
    # attempt 3 as `reconnectAfterFailure`. That finding is the truth about the client, so the test
    # asserts it rather than ignoring findings; everything else must be clean.
    assert finding_kinds(report) == [("reconnectAfterFailure", 3)], report.findings
    assert report.summary.verdict.startswith("1 finding: reconnected after failure on attempt 3"), report.summary
    conns = report.connections
    assert [c.last_event_id_sent for c in conns] == [None, "3", "3"]
    assert conns[1].synthetic and conns[1].expected_last_event_id == "3"
    assert conns[2].waited_ms >= 1000, "the client honours Retry-After: 1"
    check_client_against_ledger(report, transcript, origin.requests())


def test_gateway_restart_resumes_after_503_and_is_flagged_for_it(sputter: Sputter, origin: DemoOriginProcess):
    # Attempt 1 ends cleanly (FIN) after 4 events, attempt 2 gets 503 with Retry-After: 2, then clean.
    transcript, report = run(sputter, "gateway", count=10, profile="gateway-restart")

    check_every_event_once(report, transcript, 10)
    assert [a.status for a in transcript.attempts] == [200, 503, 200]
    # As in the ladder: a spec-exact EventSource would stop at the 503; this client retries, and the
    # ledger says so.
    assert finding_kinds(report) == [("reconnectAfterFailure", 3)], report.findings
    conns = report.connections
    assert conns[0].end_summary.startswith("fin by fault"), conns[0]
    assert [c.last_event_id_sent for c in conns] == [None, "4", "4"]
    assert conns[2].waited_ms >= 2000, "the client honours Retry-After: 2"
    check_client_against_ledger(report, transcript, origin.requests())


def test_lossy_missing_ids_are_exactly_the_ones_the_client_never_got(sputter: Sputter, origin: DemoOriginProcess):
    # Every 4th event and 5% of the others are dropped by the proxy. The stream ends after id 20; the
    # test stops the client there, so the dropped events stay missing (a client that reconnected
    # after the end would only get what follows its last event ID).
    count = 20
    transcript, report = run(sputter, "lossy", count=count, profile="lossy", until=first_stream_ended)

    assert len(transcript.attempts) == 1, transcript.describe()
    received = transcript.ids
    assert len(received) == len(set(received)), f"duplicates: {received}"
    never_got = [str(i) for i in range(1, count + 1) if str(i) not in received]
    assert never_got, "lossy drops every 4th event"
    summary = report.summary
    assert list(summary.missing_ids) == never_got, summary
    assert (summary.expected, summary.received, summary.missing, summary.duplicated, summary.unexpected) \
        == (count, count - len(never_got), len(never_got), 0, 0), summary
    assert finding_kinds(report) == [("missing", None)], report.findings
    assert list(report.findings[0].ids) == never_got
    # The drops are the proxy's, not the origin's or the client's: each missing id has a `drop` fault.
    conn = sputter.connection(report.connections[0].conn)
    frame_ids = {f.index: f.id for f in conn.frame_list if f.kind == "event"}
    dropped = [frame_ids[f.frame] for f in conn.fault_list
               if f.fault == "drop" and f.frame in frame_ids]
    assert dropped == never_got, conn.fault_list
    check_client_against_ledger(report, transcript, origin.requests())


def test_profile_chosen_through_the_control_api(sputter: Sputter, origin: DemoOriginProcess):
    # No sputter_* parameters: the runtime default profile applies, and the client key is Sputter's
    # default, "<client address> <path>".
    settings = sputter.set_profile("abrupt-disconnects", seed=7)
    assert settings.effective_profile == "abrupt-disconnects" and settings.effective_seed == 7
    transcript = read_stream(events_url(sputter, count=7), received_through(7))

    [summary] = sputter.clients()
    assert summary.key == "127.0.0.1 /events"
    report = sputter.wait_settled(summary.key)
    check_every_event_once(report, transcript, 7)
    assert report.findings == ()
    assert [(c.profile, c.seed) for c in report.connections] == [("abrupt-disconnects", 7)] * 2
    check_client_against_ledger(report, transcript, origin.requests())


def test_client_ignores_the_streams_retry_field(sputter: Sputter, origin: DemoOriginProcess):
    # A deviation of launchdarkly-eventsource 1.7.4 from the spec, caught by the ledger: its SSEClient
    # parses `retry:` but drops it (it builds its reader without a retry callback), so it keeps its own
    # 50 ms delay where the stream asked for 5000 ms. The ledger flags the reconnect as
    # `reconnectTooEarly`. (The other tests avoid this by making `retry:` equal the client's delay.)
    # If this test starts failing, the client now honours `retry:` — update the comment above.
    transcript, report = run(sputter, "retry-ignored", count=7, profile="abrupt-disconnects", retry=5000)

    check_every_event_once(report, transcript, 7)
    assert finding_kinds(report) == [("reconnectTooEarly", 2)], report.findings
    second = report.connections[1]
    assert second.required_wait_ms == 5000 and second.waited_ms < 5000, second
    assert second.expected_last_event_id == "5" == second.last_event_id_sent
    check_client_against_ledger(report, transcript, origin.requests())


def test_ledger_records_a_clean_upstream_end_under_a_stream_fault(sputter: Sputter, origin: DemoOriginProcess):
    # count=3 ends the stream before abrupt-disconnects' reset after 5 events: no fault acts at all.
    transcript, report = run(sputter, "clean-end", count=3, profile="abrupt-disconnects", until=first_stream_ended)

    assert [a.ended for a in transcript.attempts] == ["end of stream"], transcript.describe()  # not a cut-off body
    check_every_event_once(report, transcript, 3)
    [conn] = report.connections
    assert conn.faults == 0, conn
    assert (conn.end, conn.end_summary) == ("upstream_end", "upstream ended"), conn
