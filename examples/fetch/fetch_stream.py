"""A fetch-style SSE client: a POST whose answer is an event stream (as @microsoft/fetch-event-source, an
LLM SDK or an MCP client makes it), read with httpx-sse, and the resume loop applications write around it.

httpx-sse parses one response; it does not reconnect. `FetchStream.run()` is the loop:

- POST (the same body every time) with `Accept: text/event-stream`; after the first attempt with
  `Last-Event-ID` = the last event id seen, so the backend resumes after it;
- the stream is done when the final event arrives (`is_final`): the loop closes the response and stops;
- a network error (reset, a body cut short) or a clean end *without* the final event: wait the stream's
  `retry:` (else `default_retry_ms`) and resume;
- 5xx, 408 or 429: wait its `Retry-After` (seconds or an HTTP date; else the retry time) and resume;
- any other 4xx, or a 200 that is not `text/event-stream`: stop (`StreamFailed`); retrying cannot help;
- at most `max_attempts` requests (`StreamFailed` after that).

httpx-sse 0.4.3 dispatches blocks that carry no `data` (a `retry:`-only block, a comment after an `id:`)
as events with empty data, where the SSE spec dispatches nothing: the loop reads their `retry` and `id`
but does not hand them to the application. Its decoder also starts each response with an empty last
event id, so the loop keeps the last id across responses itself, as an `EventSource` does.

Everything the loop did is in the returned `Transcript` (per attempt: the Last-Event-ID sent, the
status, the messages, how it ended), which the tests compare with Sputter's ledger.
"""

from __future__ import annotations

import email.utils
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Optional

import httpx
from httpx_sse import ServerSentEvent, connect_sse


@dataclass(frozen=True)
class Message:
    """One event the loop handed to the application."""
    type: str
    data: str
    id: str  # the last event id when it was dispatched ("" when none yet)

    def observed(self, connection: int) -> dict[str, Any]:
        """As Sputter's `observed` endpoint takes it (`connection`: 1 for the client key's first)."""
        return {"type": self.type, "data": self.data, "id": self.id, "connection": connection}


@dataclass
class Attempt:
    """One request of the loop."""
    last_event_id_sent: Optional[str]
    waited_s: float  # how long the loop slept before sending it
    status: Optional[int] = None  # None: no response (connection refused, reset before the head)
    messages: list[Message] = field(default_factory=list)
    #: every event httpx-sse yielded, blocks without data included (what the application would get unfiltered)
    raw: list[ServerSentEvent] = field(default_factory=list)
    ended: str = ""  # "final event", "end of stream", "status 503", the error …


@dataclass
class Transcript:
    attempts: list[Attempt] = field(default_factory=list)
    done: bool = False  # the final event arrived

    @property
    def messages(self) -> list[Message]:
        return [m for a in self.attempts for m in a.messages]

    @property
    def ids(self) -> list[str]:
        return [m.id for m in self.messages]

    def observed(self, *, raw: bool = False) -> list[dict[str, Any]]:
        """The dispatched messages for `Sputter.observed` (raw: httpx-sse's events, unfiltered)."""
        if not raw:
            return [m.observed(n) for n, a in enumerate(self.attempts, 1) for m in a.messages]
        return [{"type": e.event or "message", "data": e.data, "id": e.id, "connection": n}
                for n, a in enumerate(self.attempts, 1) for e in a.raw]

    def describe(self) -> str:
        return "\n".join(f"  attempt {n}: Last-Event-ID {a.last_event_id_sent!r} after {a.waited_s:.3f}s -> "
                         f"status {a.status}, ids {[m.id for m in a.messages]}, ended: {a.ended}"
                         for n, a in enumerate(self.attempts, 1))


class StreamFailed(Exception):
    """The loop stopped without the final event: a status retrying cannot fix, or too many attempts."""

    def __init__(self, reason: str, transcript: Transcript):
        super().__init__(f"{reason}\n{transcript.describe()}")
        self.reason = reason
        self.transcript = transcript


RETRYABLE = {408, 429}


def retry_after_seconds(value: Optional[str], now: Callable[[], float] = time.time) -> Optional[float]:
    """A `Retry-After` header: delay-seconds or an HTTP date; None when absent or unreadable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - now())


class FetchStream:
    """The resume loop around one POST stream (see the module's docstring). Subclass hooks:
    `request_headers` (what each attempt sends) and `resume_after` (whether to come back after a cut)."""

    def __init__(self, http: httpx.Client, url: str, *, json: Any = None, headers: Optional[Mapping[str, str]] = None,
                 is_final: Callable[[Message], bool], max_attempts: int = 10, default_retry_ms: int = 1000,
                 sleep: Callable[[float], None] = time.sleep):
        self.http = http
        self.url = url
        self.json = json
        self.headers = dict(headers or {})
        self.is_final = is_final
        self.max_attempts = max_attempts
        self.retry_ms = default_retry_ms  # the stream's `retry:` replaces it
        self.sleep = sleep
        self.last_event_id = ""

    # -- hooks

    def request_headers(self) -> dict[str, str]:
        """The headers of the next attempt: the caller's, and `Last-Event-ID` once an id was seen."""
        headers = dict(self.headers)
        if self.last_event_id:
            headers["Last-Event-ID"] = self.last_event_id
        return headers

    def resume_after(self, attempt: Attempt) -> bool:
        """Whether to come back after `attempt` was cut or ended without the final event."""
        return True

    def retry_delay(self, response: httpx.Response) -> float:
        """Seconds to wait after a failed answer that may be retried: its `Retry-After`, else the retry time."""
        wait = retry_after_seconds(response.headers.get("Retry-After"))
        return wait if wait is not None else self.retry_ms / 1000

    # -- the loop

    def run(self) -> Transcript:
        transcript = Transcript()
        delay = 0.0
        while True:
            if len(transcript.attempts) >= self.max_attempts:
                raise StreamFailed(f"no final event after {self.max_attempts} attempts", transcript)
            if delay > 0:
                self.sleep(delay)
            headers = self.request_headers()
            attempt = Attempt(last_event_id_sent=headers.get("Last-Event-ID"), waited_s=delay)
            transcript.attempts.append(attempt)
            retry_after = self._attempt(headers, attempt, transcript)
            if transcript.done:
                return transcript
            if retry_after is not None:  # a failed answer that may be retried
                delay = retry_after
                continue
            if not self.resume_after(attempt):
                raise StreamFailed(f"gave up after attempt {len(transcript.attempts)} ({attempt.ended})", transcript)
            delay = self.retry_ms / 1000

    def _attempt(self, headers: dict[str, str], attempt: Attempt, transcript: Transcript) -> Optional[float]:
        """One request. Returns the delay a retryable failed answer asks for, else None (then the attempt
        either brought the final event or was cut). Raises StreamFailed for an answer not worth retrying."""
        try:
            with connect_sse(self.http, "POST", self.url, json=self.json, headers=headers) as source:
                response = source.response
                attempt.status = response.status_code
                if response.status_code != 200:
                    attempt.ended = f"status {response.status_code}"
                    if response.status_code >= 500 or response.status_code in RETRYABLE:
                        return self.retry_delay(response)
                    raise StreamFailed(f"status {response.status_code}: not retried", transcript)
                content_type = response.headers.get("content-type", "").partition(";")[0].strip()
                if content_type != "text/event-stream":
                    attempt.ended = f"content type {content_type!r}"
                    raise StreamFailed(f"200 with content type {content_type!r}, not an event stream", transcript)
                for sse in source.iter_sse():
                    attempt.raw.append(sse)
                    if sse.retry is not None:
                        self.retry_ms = sse.retry
                    if sse.id:
                        self.last_event_id = sse.id
                    if not sse.data:  # a block without data: nothing to dispatch
                        continue
                    message = Message(sse.event or "message", sse.data, self.last_event_id)
                    attempt.messages.append(message)
                    if self.is_final(message):
                        attempt.ended = "final event"
                        transcript.done = True
                        return None
                attempt.ended = "end of stream"
        except httpx.TransportError as error:
            attempt.ended = f"{type(error).__name__}: {error}"
        return None
