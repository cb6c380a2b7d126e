"""Recipe: an MCP session — the `mcp` SDK's own client (`streamable_http_client` + `ClientSession`) against a
small `mcp` server (conftest.py: Streamable HTTP with an in-memory EventStore) — through Sputter, with the
ledger as the answer key.

What the SDK (mcp 2.3.0) does, as these tests see it:
- every request (`initialize`, `tools/list`, `tools/call`) is a POST with `Accept: application/json,
  text/event-stream`, answered (by this server, whose `json_response` is off) with an event stream of its
  own: a priming event (an id, empty data, the `retry` field), then the messages, the result last. The
  `notifications/initialized` POST gets a 202. After it the client opens the session's GET stream (its
  `Accept` names JSON too); at the end it sends a DELETE.
- A POST stream cut before its result (here: a reset) is resumed: after the stream's `retry` (1 s without
  one) the client sends a GET with `Last-Event-ID` (the last id it got), and the server replays what came
  after it — the remaining progress notifications and the result. The tool call completes.

What the ledger does with that (the `resume` contract, chosen by the default rule for MCP-style requests):
the 202 and the DELETE's JSON are not streams; each POST stream and the GET stream are streams of their own
(`new_stream`), not reconnects; none of those requests is a stream attempt, so they all keep attempt 0 and
take a profile's `faults`, never a per-attempt entry; the resume GET (it carries `Last-Event-ID`) is attempt 1,
checked against the stream it names.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import anyio
import httpx2
import pytest
from mcp import ClientSession
from mcp.client.streamable_http import streamable_http_client
from sputter_testing import Connection, Sputter

STEPS = 5  # the tool's progress notifications: its stream carries a priming event, 5 notifications, the result


@dataclass
class Session:
    """What the application saw."""
    tools: list[str] = field(default_factory=list)
    progress: list[float] = field(default_factory=list)
    result: str = ""


async def mcp_session(url: str, key: str, *, profile: str | None = None) -> Session:
    """Initialize, list the tools, call `countdown` with a progress callback: one MCP session as client `key`.
    `Sputter-Client` (and `Sputter-Profile`) go on every request through the SDK's HTTP client's headers."""
    seen = Session()

    async def on_progress(progress: float, total: float | None, message: str | None) -> None:
        seen.progress.append(progress)

    headers = Sputter.headers(client=key, profile=profile, event_stream=False)
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=60)) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                await session.initialize()
                seen.tools = [t.name for t in (await session.list_tools()).tools]
                result = await session.call_tool("countdown", {"n": STEPS}, progress_callback=on_progress)
                assert not result.is_error, result
                seen.result = "".join(c.text for c in result.content if c.type == "text")
    return seen


def run(sputter: Sputter, key: str, profile: str | None = None) -> Session:
    return anyio.run(lambda: mcp_session(sputter.base_url + "/mcp", key, profile=profile))


def messages(sputter: Sputter, conn: Connection) -> list[dict[str, Any]]:
    """The JSON-RPC messages a spec-exact client dispatched on `conn` (priming events carry no data)."""
    return [json.loads(m.data) for m in sputter.connection(conn.conn).message_list if m.data]


def role(sputter: Sputter, conn: Connection) -> str:
    """Which MCP exchange a connection carried, told by what went over it (the ledger does not parse bodies)."""
    if conn.method != "POST" or not conn.content_type or not conn.content_type.startswith("text/event-stream"):
        return f"{conn.method} {conn.status}"
    sent = messages(sputter, conn)
    if any(m.get("method") == "notifications/progress" for m in sent):
        return "tools/call"
    results = [m["result"] for m in sent if "result" in m]
    if any("serverInfo" in r for r in results):
        return "initialize"
    if any("tools" in r for r in results):
        return "tools/list"
    return "POST stream"


@pytest.fixture
def key() -> str:
    return "mcp-" + uuid.uuid4().hex[:8]


def test_mcp_session_under_passthrough_has_no_findings(sputter: Sputter, key: str) -> None:
    seen = run(sputter, key)
    assert seen.tools == ["countdown"]
    assert seen.progress == [float(n) for n in range(1, STEPS + 1)]
    assert seen.result == "liftoff"

    report = sputter.settle(key)  # quiet, and judged: a stream owed a reconnect that never came is `gaveUp`
    assert report.findings == (), report.summary.verdict
    assert report.summary.contract == "resume"
    assert report.summary.missing_ids == () and report.summary.duplicated_ids == ()
    assert report.summary.reconnects == 0
    conns = report.connections
    # No request of the session is a stream attempt: the attempt counter never moved.
    assert {c.attempt for c in conns} == {0}
    # initialize: answered as an event stream by this server; with `json_response=True` it would be JSON,
    # which is no stream at all. Either way it is not judged as a reconnect.
    initialize = conns[0]
    assert initialize.method == "POST"
    if initialize.content_type and initialize.content_type.startswith("application/json"):
        assert initialize.not_stream
    else:
        assert role(sputter, initialize) == "initialize" and not initialize.not_stream
    # The 202 (notifications/initialized) and the DELETE's answer are not streams.
    answers = [c for c in conns if c.status == 202 or c.method == "DELETE"]
    assert [c.status for c in answers] == [202, 200] and all(c.not_stream for c in answers)
    # Every other stream is one of its own, not a reconnect of the stream before it.
    streams = [c for c in conns if not c.not_stream]
    assert sorted(role(sputter, c) for c in streams) == ["GET 200", "initialize", "tools/call", "tools/list"]
    assert all(c.new_stream and c.expected_last_event_id is None for c in streams[1:])
    call = next(c for c in streams if role(sputter, c) == "tools/call")
    # The SDK closes the stream once it has the result; the server's end of the stream may not have reached
    # Sputter yet (then the client closed first). Every event arrived either way.
    assert call.events == STEPS + 2 and call.end in ("upstream_end", "client_close") and call.faults == 0


def test_a_profile_cuts_the_tool_call_stream_not_initialize_and_the_sdk_resumes(sputter: Sputter, key: str) -> None:
    # The POSTs are not stream attempts, so a per-attempt entry can never reach them: they take `faults`.
    # After 3 events (the priming event and two progress notifications) only the tool call's stream is
    # long enough to be cut: initialize and tools/list carry a priming event and their result. The resume
    # (a GET with Last-Event-ID: stream attempt 1) takes `attempts: default`: no faults.
    sputter.define_profile({
        "name": "mcp-cut-tool-stream",
        "description": "reset every MCP POST stream after 3 events; resumes go through",
        "faults": [{"disconnect": {"after_events": 3, "kind": "rst"}}],
        "attempts": {"default": []},
    })
    seen = run(sputter, key, profile="mcp-cut-tool-stream")
    assert seen.result == "liftoff"
    assert seen.progress == [float(n) for n in range(1, STEPS + 1)], "every notification once, in order"

    report = sputter.settle(key)
    assert report.findings == (), report.summary.verdict
    assert report.summary.missing_ids == () and report.summary.duplicated_ids == ()
    assert report.summary.reconnects == 1
    conns = {role(sputter, c): c for c in report.connections if c.method == "POST" and not c.not_stream}
    assert set(conns) == {"initialize", "tools/list", "tools/call"}
    for name in ("initialize", "tools/list"):
        assert conns[name].faults == 0 and conns[name].end != "fault", conns[name]
    call = conns["tools/call"]
    assert call.end == "fault" and call.attempt == 0
    effects = [dict(f.effect) for f in sputter.connection(call.conn).fault_list]
    assert [(e["kind"], e["close"]) for e in effects] == [("cut", "rst")]
    assert [m.get("method") for m in messages(sputter, call)] == ["notifications/progress"] * 2

    # The SDK resumed the tool call's stream: a GET with the last id it got, after the stream's retry.
    resume = next(c for c in report.connections if c.last_event_id_sent is not None)
    assert (resume.method, resume.attempt, resume.faults) == ("GET", 1, 0)
    assert resume.last_event_id_sent == call.last_id == resume.expected_last_event_id
    assert resume.required_wait_ms is not None and resume.required_wait_ms > 0  # the retry field; no finding: it waited
    replayed = messages(sputter, resume)
    assert [m.get("method") for m in replayed[:STEPS - 2]] == ["notifications/progress"] * (STEPS - 2)
    assert replayed[STEPS - 2]["result"]["content"][0]["text"] == "liftoff"


def test_a_profile_matching_the_jsonrpc_method_cuts_only_the_tool_call(sputter: Sputter, key: str) -> None:
    """`match: {jsonrpc_method: tools/call}`: Sputter reads each POST's JSON body before it chooses the profile,
    so a cut right after the first event (which would break `initialize` and `tools/list` too) lands on the
    tool call's stream alone; every other request, and the resume GET (no body), is passthrough."""
    sputter.define_profile({
        "name": "mcp-cut-tools-call",
        "description": "reset the tools/call stream after its priming event",
        "match": {"jsonrpc_method": "tools/call"},
        "faults": [{"disconnect": {"after_events": 1, "kind": "rst"}}],
    })
    seen = run(sputter, key, profile="mcp-cut-tools-call")
    assert seen.result == "liftoff"
    assert seen.progress == [float(n) for n in range(1, STEPS + 1)], "every notification once, in order"

    report = sputter.settle(key)
    assert report.findings == (), report.summary.verdict
    faulted = [c for c in report.connections if c.faults > 0]
    assert len(faulted) == 1, [(c.method, c.profile, c.faults) for c in report.connections]
    call = faulted[0]
    assert (call.method, call.profile, call.end) == ("POST", "mcp-cut-tools-call", "fault")
    assert messages(sputter, call) == [], "only the priming event (no data) got through"
    others = [c for c in report.connections if c is not call]
    assert others and all(c.profile == "passthrough" and c.faults == 0 for c in others)
    assert {role(sputter, c) for c in others if c.method == "POST" and not c.not_stream} == {"initialize", "tools/list"}

    resume = next(c for c in report.connections if c.last_event_id_sent is not None)
    assert (resume.method, resume.attempt) == ("GET", 1)
    assert resume.last_event_id_sent == call.last_id == resume.expected_last_event_id
    replayed = messages(sputter, resume)
    assert [m.get("method") for m in replayed[:STEPS]] == ["notifications/progress"] * STEPS
    assert replayed[STEPS]["result"]["content"][0]["text"] == "liftoff"


def test_a_live_cut_mid_tool_call_is_resumed(sputter: Sputter, key: str, tool_gate) -> None:
    """`sputter.cut` while the tool waits after its second notification: every open stream of the client is
    reset (the tool call's, and the session's GET stream when it is open by then); the SDK resumes the tool
    call's stream from the last id it got. The session's GET stream it would reopen after 1 s (it carried no
    `retry`), by when the session is over; the ledger judges `gaveUp` on a client's last stream only (here the
    resume), so that cut stream goes unjudged."""
    progress: list[float] = []
    cuts: list[dict[str, Any]] = []

    async def session() -> str:
        async def on_progress(p: float, total: float | None, message: str | None) -> None:
            progress.append(p)
            if p == 2:  # the tool now waits on the gate: the stream is open and quiet
                cuts.append(await anyio.to_thread.run_sync(lambda: sputter.cut(key, kind="rst")))
                tool_gate.set()

        headers = Sputter.headers(client=key, event_stream=False)
        async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(30, read=60)) as http:
            async with streamable_http_client(sputter.base_url + "/mcp", http_client=http) as (read, write):
                async with ClientSession(read, write) as s:
                    await s.initialize()
                    result = await s.call_tool("countdown", {"n": STEPS, "hold_after": 2}, progress_callback=on_progress)
                    return "".join(c.text for c in result.content if c.type == "text")

    assert anyio.run(session) == "liftoff"
    assert progress == [float(n) for n in range(1, STEPS + 1)]
    assert len(cuts) == 1 and cuts[0]["kind"] == "rst"

    report = sputter.settle(key)
    assert report.findings == (), report.summary.verdict
    assert report.summary.missing_ids == () and report.summary.duplicated_ids == ()
    call = next(c for c in report.connections if role(sputter, c) == "tools/call" and c.method == "POST")
    assert call.conn in cuts[0]["connections"] and call.end == "fault"
    resume = next(c for c in report.connections if c.last_event_id_sent is not None)
    assert resume.last_event_id_sent == call.last_id == resume.expected_last_event_id
    assert [m.get("method") for m in messages(sputter, resume)][:STEPS - 2] == ["notifications/progress"] * (STEPS - 2)
