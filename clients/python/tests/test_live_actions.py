"""Live actions on a client's open stream (cut, stall, resume, inject, faults) against the real binary,
with the stream read by a real HTTP client (urllib, de-chunking) and dispatched as a browser would."""

from __future__ import annotations

import threading

import pytest

from sse_reader import Stream, read_stream
from sputter_testing import ControlAPIError, Sputter


def test_stall_inject_and_a_clean_cut_after_events(sputter: Sputter) -> None:
    result: list[Stream] = []
    reader = threading.Thread(target=lambda: result.append(
        read_stream(sputter.url("/events?interval_ms=20", client="live-py"), timeout=30)))
    reader.start()
    sputter.wait("live-py", received=2)

    held = sputter.stall("live-py")
    assert held["action"] == "stall" and len(held["connections"]) == 1
    injected = sputter.inject("live-py", event="error", data="boom", id="X")
    assert injected["connections"] == held["connections"]
    cut = sputter.cut("live-py", "clean", after_events=2)
    assert (cut["kind"], cut["after_events"]) == ("clean", 2)
    sputter.resume("live-py")
    reader.join(30)

    [stream] = result
    assert stream.error is None, "a clean cut is a complete response"
    types = [e.type for e in stream.events]
    assert "error" in types
    x = types.index("error")
    assert (stream.events[x].id, stream.events[x].data) == ("X", "boom")
    # Resumed: the injected event first, then exactly two more events, then the end.
    assert len(stream.events) - x - 1 == 2, stream.ids
    assert [int(i) for i in stream.ids[:x]] == list(range(1, x + 1))

    with pytest.raises(ControlAPIError) as unknown:
        sputter.cut("nobody")
    assert unknown.value.status == 404
    with pytest.raises(ControlAPIError) as closed:
        sputter.faults("live-py", [{"drop": {"every_nth": 2}}])
    assert closed.value.status == 409 and closed.value.body["open"] == []
