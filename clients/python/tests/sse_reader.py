"""A small SSE reader on urllib for the tests: reads one connection until it ends, fails or has enough events."""

from __future__ import annotations

import http.client
import socket
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from typing import Optional


@dataclass
class Event:
    id: str
    type: str
    data: str


@dataclass
class Stream:
    status: int
    content_type: Optional[str]
    events: list[Event] = field(default_factory=list)
    #: How the stream ended when it did not end cleanly (e.g. "ConnectionResetError").
    error: Optional[str] = None
    body: str = ""

    @property
    def ids(self) -> list[str]:
        return [e.id for e in self.events]


def read_stream(url: str, headers: Optional[dict[str, str]] = None, max_events: Optional[int] = None,
                timeout: float = 10.0) -> Stream:
    request = urllib.request.Request(url, headers=headers or {"Accept": "text/event-stream"})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        return Stream(status=error.code, content_type=error.headers.get("Content-Type"),
                      body=error.read().decode(errors="replace"))
    stream = Stream(status=response.status, content_type=response.headers.get("Content-Type"))
    last_id = ""
    event_type = ""
    data: list[str] = []
    try:
        with response:
            while max_events is None or len(stream.events) < max_events:
                raw = response.readline()
                if not raw:
                    break
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                if line == "":
                    if data:
                        stream.events.append(Event(last_id, event_type or "message", "\n".join(data)))
                    event_type, data = "", []
                    continue
                if line.startswith(":"):
                    continue
                name, _, value = line.partition(":")
                value = value[1:] if value.startswith(" ") else value
                if name == "id" and "\0" not in value:
                    last_id = value
                elif name == "event":
                    event_type = value
                elif name == "data":
                    data.append(value)
    except (ConnectionError, http.client.IncompleteRead, socket.timeout) as error:
        stream.error = type(error).__name__
    return stream
