"""The clients under test, each run the way an application would use it, recording what it did.

Every runner takes the stream's URL (through Sputter) and `ends`: how many times a connection may end
(end of stream, reset, error response) before the test stops the client. A client may also stop by
itself (EventSource fails on 204, 503 or a wrong content type; a library raises). Nothing is timed:
a runner waits for its client on conditions, bounded by a generous deadline.

Each returns a `Transcript`: per connection attempt, the response status and content type (when the
client exposes them), the `Last-Event-ID` it sent (when known), and every message it dispatched as
(type, data, last event ID).

- chromium: a real `EventSource` in headless Chromium (page.html, served by Playwright's routing on
  Sputter's origin); DevTools (CDP) adds what the page cannot see: each request's Last-Event-ID header,
  the response status and content type, and every message whatever its type.
- launchdarkly-eventsource: `SSEClient`, reconnects with Last-Event-ID (as examples/ configures it).
- requests-sse: `EventSource`, reconnects with Last-Event-ID, stops on a non-200 or wrong content type.
- httpx-sse: `connect_sse` + `iter_sse`; one connection, no reconnect.
- sseclient-py: `SSEClient(requests response).events()`; one connection, no reconnect.
- node-eventsource: Debian's package of the npm `eventsource` (an EventSource for Node), driven by
  node_eventsource.js; reconnects with Last-Event-ID.
"""

from __future__ import annotations

import json
import os
import subprocess
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Optional

DEADLINE = 90.0  # seconds for one client run; generous on a busy 2-core machine, never a speed assertion
RETRY_MS = 50  # launchdarkly-eventsource's own initial reconnect delay: the `retry:` most scenarios send
PAGE_HTML = (Path(__file__).parent / "page.html").read_text()
# Event types the page listens for: the demo origin sends `tick` and `progress`; `message` is the
# default type. DevTools reports messages of every type, so a message of another type fails the test.
EVENT_TYPES = ["message", "tick", "progress"]

UNKNOWN = "?"  # a Last-Event-ID or status the client does not expose


@dataclass(frozen=True)
class Message:
    type: str
    data: str
    last_event_id: str  # "" when none

    def __str__(self) -> str:
        return f"{self.type} {self.data!r} (last event ID {self.last_event_id!r})"


@dataclass
class Attempt:
    status: Any = UNKNOWN  # int, None (no response), or UNKNOWN
    content_type: Any = UNKNOWN
    sent_last_event_id: Any = UNKNOWN  # str, None (no header), or UNKNOWN
    messages: list[Message] = field(default_factory=list)
    ended: Optional[str] = None  # how the client saw it end; None while open


@dataclass
class Transcript:
    client: str
    attempts: list[Attempt] = field(default_factory=list)
    # Who stopped it: "test" (after `ends` connection ends), "client" (the client gave up by itself, as
    # EventSource does on a failed connection), "crash" (the library raised on its own stream).
    stopped_by: Optional[str] = None
    stop_reason: str = ""
    extra: dict = field(default_factory=dict)

    @property
    def messages(self) -> list[Message]:
        return [m for a in self.attempts for m in a.messages]

    def describe(self) -> str:
        lines = [f"  {self.client}: stopped by {self.stopped_by} ({self.stop_reason})"]
        for n, a in enumerate(self.attempts, 1):
            lines.append(f"  attempt {n}: Last-Event-ID {a.sent_last_event_id!r} -> status {a.status!r} "
                         f"{a.content_type!r}, {len(a.messages)} messages, ended: {a.ended}")
            lines.extend(f"      {m}" for m in a.messages)
        return "\n".join(lines)


class Watchdog:
    """Calls `action` once if the run is not over after `deadline` seconds (unblocks a stuck read)."""

    def __init__(self, deadline: float, action):
        self.fired = False

        def fire():
            self.fired = True
            try:
                action()
            except Exception:
                pass
        self._timer = threading.Timer(deadline, fire)
        self._timer.daemon = True
        self._timer.start()

    def cancel(self) -> None:
        self._timer.cancel()


def _describe_error(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:300]


# ---------------------------------------------------------------------------------------------------
# Chromium's EventSource


def run_chromium(browser, base_url: str, path: str, ends: int, deadline: float = DEADLINE) -> Transcript:
    """Opens page.html on Sputter's origin (answered by Playwright, never sent to Sputter) and runs a
    real EventSource on `path` until the page stops it after `ends` connection ends, or it fails."""
    transcript = Transcript("chromium")
    context = browser.new_context()
    try:
        page = context.new_page()
        cdp = context.new_cdp_session(page)
        requests: dict[str, dict] = {}
        order: list[str] = []

        def on_request(e):
            if "/events" in e["request"]["url"]:
                requests.setdefault(e["requestId"], {"messages": [], "headers": None, "status": None,
                                                     "content_type": None, "end": None})
                order.append(e["requestId"])

        def on_extra(e):
            if e["requestId"] in requests:
                requests[e["requestId"]]["headers"] = e["headers"]

        def on_response(e):
            if e["requestId"] in requests:
                r = requests[e["requestId"]]
                r["status"] = e["response"]["status"]
                r["content_type"] = {k.lower(): v for k, v in e["response"]["headers"].items()}.get("content-type")

        def on_message(e):
            if e["requestId"] in requests:
                requests[e["requestId"]]["messages"].append(Message(e["eventName"], e["data"], e["eventId"]))

        def on_end(kind):
            def handler(e):
                if e["requestId"] in requests:
                    requests[e["requestId"]]["end"] = kind if kind == "finished" else f"failed: {e.get('errorText')}"
            return handler

        cdp.on("Network.requestWillBeSent", on_request)
        cdp.on("Network.requestWillBeSentExtraInfo", on_extra)
        cdp.on("Network.responseReceived", on_response)
        cdp.on("Network.eventSourceMessageReceived", on_message)
        cdp.on("Network.loadingFinished", on_end("finished"))
        cdp.on("Network.loadingFailed", on_end("failed"))
        cdp.send("Network.enable")
        page.route(base_url + "/__page.html",
                   lambda route: route.fulfill(status=200, content_type="text/html; charset=utf-8", body=PAGE_HTML))
        page.route(base_url + "/favicon.ico", lambda route: route.fulfill(status=404, body=""))
        page.goto(base_url + "/__page.html")
        page.evaluate("([url, types, ends]) => startStream(url, types, ends)", [path, EVENT_TYPES, ends])

        stop_at = time.monotonic() + deadline
        done = None
        while time.monotonic() < stop_at:
            # Polling through Playwright also pumps the DevTools events into the handlers above.
            done = page.evaluate("window.__done")
            if done:
                break
            page.wait_for_timeout(25)
        log = page.evaluate("window.__log")
        transcript.extra["log"] = log
        if not done:
            transcript.stopped_by, transcript.stop_reason = "deadline", f"not done after {deadline:g}s"
            return transcript
        # DevTools events may trail the page's log a little: wait until every request has its answer.
        while time.monotonic() < stop_at and not all(r["status"] is not None or r["end"] for r in requests.values()):
            page.wait_for_timeout(25)
        page.wait_for_timeout(50)

        transcript.stopped_by = "test" if done == "stopped" else "client"
        transcript.stop_reason = ("page closed the EventSource after the connection ended" if done == "stopped"
                                  else "EventSource failed (readyState CLOSED): it does not reconnect")
        current: Optional[Attempt] = None
        for entry in log:
            kind = entry["kind"]
            if kind == "open":
                current = Attempt(ended=None)
                transcript.attempts.append(current)
            elif kind == "message":
                assert current is not None, f"message outside a connection: {entry}"
                current.messages.append(Message(entry["type"], entry["data"], entry["lastEventId"]))
            elif kind == "error":
                state = "CLOSED" if entry["readyState"] == 2 else "CONNECTING"
                if current is None:  # failed before it opened
                    transcript.attempts.append(Attempt(ended=f"error, readyState {state}"))
                else:
                    current.ended = f"error, readyState {state}"
                current = None
        devtools = [requests[r] for r in order]
        transcript.extra["devtools"] = devtools
        for attempt, request in zip(transcript.attempts, devtools):
            attempt.status = request["status"]
            attempt.content_type = request["content_type"]
            headers = {k.lower(): v for k, v in (request["headers"] or {}).items()}
            attempt.sent_last_event_id = headers.get("last-event-id")
        return transcript
    finally:
        context.close()


# ---------------------------------------------------------------------------------------------------
# launchdarkly-eventsource


def run_launchdarkly(url: str, ends: int, deadline: float = DEADLINE) -> Transcript:
    """`SSEClient` set up as examples/ does: reconnect after anything, 50 ms initial delay with backoff
    and no jitter, and application logic that honours `Retry-After` on an error response."""
    from ld_eventsource import SSEClient
    from ld_eventsource.actions import Event, Fault, Start
    from ld_eventsource.config import ConnectStrategy, ErrorStrategy, RetryDelayStrategy
    from ld_eventsource.errors import HTTPContentTypeError, HTTPStatusError

    transcript = Transcript("launchdarkly-eventsource")
    client = SSEClient(
        connect=ConnectStrategy.http(url),
        initial_retry_delay=RETRY_MS / 1000,
        retry_delay_strategy=RetryDelayStrategy.default(max_delay=1.0, backoff_multiplier=2, jitter_multiplier=None),
        error_strategy=ErrorStrategy.always_continue(),
    )
    current: Optional[Attempt] = None
    seen_ends = 0
    last_id: Optional[str] = None  # the client's last event ID before each attempt: what it sends
    watchdog = Watchdog(deadline, client.close)
    try:
        for action in client.all:
            if isinstance(action, Start):
                current = Attempt(status=200, content_type="text/event-stream", sent_last_event_id=last_id or None)
                transcript.attempts.append(current)
            elif isinstance(action, Event):
                assert current is not None and current.ended is None, f"event outside a connection: {action}"
                current.messages.append(Message(action.event, action.data, action.last_event_id or ""))
            elif isinstance(action, Fault):
                error = action.error
                seen_ends += 1
                if current is not None and current.ended is None:
                    current.ended = "end of stream" if error is None else _describe_error(error)
                else:  # the connection attempt itself failed
                    status = error.status if isinstance(error, HTTPStatusError) else 200 if isinstance(error, HTTPContentTypeError) else None
                    content_type = error.content_type if isinstance(error, HTTPContentTypeError) else UNKNOWN
                    transcript.attempts.append(Attempt(status=status, content_type=content_type,
                                                       sent_last_event_id=last_id or None, ended=_describe_error(error)))
                    if seen_ends < ends:
                        # Application logic: honour Retry-After (seconds) before the library's own delay.
                        retry_after = (action.headers or {}).get("Retry-After")
                        if retry_after and retry_after.isdigit():
                            time.sleep(int(retry_after))
                current = None
                last_id = client.last_event_id
                if seen_ends >= ends:
                    transcript.stopped_by, transcript.stop_reason = "test", f"after {ends} connection end(s)"
                    break
    except Exception as error:  # the library raised out of its own loop
        transcript.stopped_by, transcript.stop_reason = "crash", _describe_error(error)
    finally:
        watchdog.cancel()
        client.close()
    if watchdog.fired:
        transcript.stopped_by, transcript.stop_reason = "deadline", f"not done after {deadline:g}s"
    return transcript


# ---------------------------------------------------------------------------------------------------
# requests-sse


class _Stop(Exception):
    pass


def run_requests_sse(url: str, ends: int, deadline: float = DEADLINE) -> Transcript:
    """`requests_sse.EventSource` with its defaults (5 s reconnection time until the stream's `retry:`
    changes it), iterated until the test stops it from `on_error` or it raises."""
    import requests
    from requests_sse import EventSource, InvalidContentTypeError, InvalidStatusCodeError

    transcript = Transcript("requests-sse")
    state = {"ends": 0}
    source: Optional[EventSource] = None

    def on_open():
        sent = source._kwargs["headers"].get("Last-Event-Id") if source is not None else None
        transcript.attempts.append(Attempt(status=200, content_type="text/event-stream", sent_last_event_id=sent))

    def on_error():
        # Called when a connection ends (before the library sleeps and reconnects) and when a
        # connection fails (before it raises): only the first kind ends an open attempt.
        if transcript.attempts and transcript.attempts[-1].ended is None:
            transcript.attempts[-1].ended = "connection ended"
            state["ends"] += 1
            if state["ends"] >= ends:
                raise _Stop()

    source = EventSource(url, timeout=60, on_open=on_open, on_error=on_error)
    watchdog = Watchdog(deadline, source.close)
    try:
        source.connect(0)
        for event in source:
            transcript.attempts[-1].messages.append(Message(event.type, event.data, event.last_event_id))
    except _Stop:
        transcript.stopped_by, transcript.stop_reason = "test", f"after {ends} connection end(s)"
    except (InvalidStatusCodeError, InvalidContentTypeError) as error:
        response = error.response
        transcript.attempts.append(Attempt(
            status=response.status_code if response is not None else None,
            content_type=response.headers.get("Content-Type") if response is not None else None,
            sent_last_event_id=response.request.headers.get("Last-Event-Id") if response is not None else UNKNOWN,
            ended=_describe_error(error)))
        transcript.stopped_by, transcript.stop_reason = "client", _describe_error(error)
    except requests.RequestException as error:
        transcript.stopped_by, transcript.stop_reason = "client", _describe_error(error)
    except Exception as error:
        if transcript.attempts and transcript.attempts[-1].ended is None:
            transcript.attempts[-1].ended = _describe_error(error)
        transcript.stopped_by, transcript.stop_reason = "crash", _describe_error(error)
    finally:
        watchdog.cancel()
        source.close()
    if watchdog.fired:
        transcript.stopped_by, transcript.stop_reason = "deadline", f"not done after {deadline:g}s"
    return transcript


# ---------------------------------------------------------------------------------------------------
# httpx-sse


def run_httpx_sse(url: str, ends: int, deadline: float = DEADLINE) -> Transcript:
    """One `connect_sse` connection read to its end: httpx-sse does not reconnect."""
    import httpx
    from httpx_sse import SSEError, connect_sse

    transcript = Transcript("httpx-sse")
    with httpx.Client(timeout=httpx.Timeout(deadline)) as http:
        try:
            with connect_sse(http, "GET", url) as source:
                response = source.response
                attempt = Attempt(status=response.status_code, content_type=response.headers.get("content-type"),
                                  sent_last_event_id=response.request.headers.get("last-event-id"))
                transcript.attempts.append(attempt)
                try:
                    for sse in source.iter_sse():
                        attempt.messages.append(Message(sse.event, sse.data, sse.id))
                    attempt.ended = "end of stream"
                    transcript.stopped_by, transcript.stop_reason = "client", "end of stream; httpx-sse does not reconnect"
                except SSEError as error:
                    attempt.ended = _describe_error(error)
                    transcript.stopped_by, transcript.stop_reason = "client", _describe_error(error)
                except httpx.HTTPError as error:
                    attempt.ended = _describe_error(error)
                    transcript.stopped_by, transcript.stop_reason = "client", f"{_describe_error(error)}; httpx-sse does not reconnect"
        except Exception as error:
            transcript.stopped_by, transcript.stop_reason = "crash", _describe_error(error)
    return transcript


# ---------------------------------------------------------------------------------------------------
# sseclient-py


def run_sseclient(url: str, ends: int, deadline: float = DEADLINE) -> Transcript:
    """`sseclient.SSEClient` over a streaming `requests` response, as its README shows: one
    connection, no reconnect, no status or content-type check (that is left to the application; the
    README's example does none)."""
    import requests
    import sseclient

    transcript = Transcript("sseclient-py")
    response = requests.get(url, stream=True, headers={"Accept": "text/event-stream"}, timeout=(30, deadline))
    attempt = Attempt(status=response.status_code, content_type=response.headers.get("Content-Type"),
                      sent_last_event_id=response.request.headers.get("Last-Event-ID"))
    transcript.attempts.append(attempt)
    watchdog = Watchdog(deadline, response.close)
    try:
        for event in sseclient.SSEClient(response).events():
            attempt.messages.append(Message(event.event, event.data, event.id or ""))
        attempt.ended = "end of stream"
        transcript.stopped_by, transcript.stop_reason = "client", "end of stream; sseclient-py does not reconnect"
    except requests.RequestException as error:
        attempt.ended = _describe_error(error)
        transcript.stopped_by, transcript.stop_reason = "client", f"{_describe_error(error)}; sseclient-py does not reconnect"
    except Exception as error:
        attempt.ended = _describe_error(error)
        transcript.stopped_by, transcript.stop_reason = "crash", _describe_error(error)
    finally:
        watchdog.cancel()
        response.close()
    return transcript


# ---------------------------------------------------------------------------------------------------
# node-eventsource (Debian's package of the npm `eventsource` EventSource for Node)

NODE_SCRIPT = Path(__file__).parent / "node_eventsource.js"
NODE_PATH = os.environ.get("NODE_EVENTSOURCE_PATH", "/usr/share/nodejs")  # where Debian installs Node packages


def run_node_eventsource(url: str, ends: int, deadline: float = DEADLINE) -> Transcript:
    """`new EventSource(url)` in Node (node_eventsource.js), listening for every type the origin sends;
    it reconnects by itself (after the stream's `retry:`, default 1 s) with Last-Event-ID. The script
    reports each request (with the Last-Event-ID it sent), open, message and error (a status comes with
    an error); the content type is not exposed."""
    transcript = Transcript("node-eventsource")
    env = dict(os.environ, NODE_PATH=NODE_PATH + (os.pathsep + os.environ["NODE_PATH"] if os.environ.get("NODE_PATH") else ""))
    try:
        result = subprocess.run(["node", str(NODE_SCRIPT), url, str(ends), json.dumps(EVENT_TYPES)],
                                capture_output=True, text=True, timeout=deadline, env=env)
    except subprocess.TimeoutExpired as error:
        transcript.stopped_by, transcript.stop_reason = "deadline", f"not done after {deadline:g}s"
        transcript.extra["stderr"] = (error.stderr or b"")[-2000:]
        return transcript
    log = [json.loads(line) for line in result.stdout.splitlines() if line.strip()]
    transcript.extra["log"] = log
    current: Optional[Attempt] = None  # the latest attempt
    for entry in log:
        kind = entry["kind"]
        if kind == "request":
            current = Attempt(status=None, content_type=UNKNOWN, sent_last_event_id=entry["lastEventId"])
            transcript.attempts.append(current)
        elif kind == "open":
            assert current is not None, f"open without a request: {entry}"
            current.status = 200
        elif kind == "message":
            assert current is not None and current.ended is None, f"message outside a connection: {entry}"
            current.messages.append(Message(entry["type"], entry["data"], entry["lastEventId"]))
        elif kind == "error":
            assert current is not None, f"error without a request: {entry}"
            if entry["status"] is not None:  # an answer it does not read as a stream
                current.status = entry["status"]
            if current.ended is None:  # one attempt may report several errors (a reset: request and response)
                current.ended = f"error {entry['status'] or ''} {entry['message'] or ''}".replace("  ", " ").strip()
        elif kind == "done":
            by = entry["by"]
            transcript.stopped_by = by
            transcript.stop_reason = (f"after {ends} connection end(s)" if by == "test"
                                      else "the library closed the EventSource: it does not reconnect")
    if transcript.stopped_by is None:
        transcript.stopped_by = "crash"
        transcript.stop_reason = f"node exited {result.returncode}: {result.stderr.strip()[-300:]}"
    return transcript


RECONNECTING = {"chromium", "launchdarkly-eventsource", "requests-sse", "node-eventsource"}
CLIENTS = ["chromium", "launchdarkly-eventsource", "requests-sse", "httpx-sse", "sseclient-py", "node-eventsource"]
# The client contract each is judged under (docs/LEDGER.md). All of them open the stream with a GET and
# name no contract, so the default rule applies: GET -> eventsource (e2e/README.md says why that is right).
CONTRACTS = {client: "eventsource" for client in CLIENTS}
