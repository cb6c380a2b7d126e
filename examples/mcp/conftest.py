"""A small MCP server for the MCP recipe, written with the `mcp` SDK (pinned in ../requirements.txt): the
Streamable HTTP transport at `/mcp` on a free loopback port, with resumability (an in-memory `EventStore`,
so every SSE message gets an event id and a `GET` with `Last-Event-ID` replays what followed it) and one
streaming tool, `countdown(n)`, which sends `n` progress notifications on the `tools/call` POST's SSE
response before its result (and, with `hold_after=k`, waits after the k-th until the test opens `tool_gate`). Sputter (the `sputter` fixture) proxies it.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator

import anyio
import pytest
import uvicorn
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.streamable_http import EventCallback, EventId, EventMessage, EventStore, StreamId
from mcp.types import JSONRPCMessage

# The `retry` field the server's priming events carry: the SDK client waits this long before it resumes
# (without it, 1000 ms), and the ledger holds the client to it.
RETRY_MS = 100


class MemoryEventStore(EventStore):
    """Every message of every stream, in order; ids are one counter across streams, so an id names its stream."""

    def __init__(self) -> None:
        self.events: list[tuple[EventId, StreamId, JSONRPCMessage | None]] = []

    async def store_event(self, stream_id: StreamId, message: JSONRPCMessage | None) -> EventId:
        event_id = str(len(self.events) + 1)
        self.events.append((event_id, stream_id, message))
        return event_id

    async def replay_events_after(self, last_event_id: EventId, send_callback: EventCallback) -> StreamId | None:
        index = next((i for i, (eid, _, _) in enumerate(self.events) if eid == last_event_id), None)
        if index is None:
            return None
        stream_id = self.events[index][1]
        for eid, sid, message in self.events[index + 1:]:
            if sid == stream_id and message is not None:  # priming events (None) are not replayed
                await send_callback(EventMessage(message, eid))
        return stream_id


# `countdown(n, hold_after=k)` waits here after its k-th notification until the test releases it: a test can
# act on the open stream (`sputter.cut`) at a known point, without sleeping.
GATE = threading.Event()


def make_server() -> MCPServer:
    server = MCPServer("countdown")

    @server.tool()
    async def countdown(n: int, ctx: Context, hold_after: int = 0) -> str:
        """Counts down from n, one progress notification per step, then answers "liftoff"."""
        for step in range(1, n + 1):
            await ctx.report_progress(step, n, f"{n - step + 1}")
            if step == hold_after:
                await anyio.to_thread.run_sync(GATE.wait, 30)
        return "liftoff"

    return server


@pytest.fixture(scope="session")
def mcp_server() -> Iterator[str]:
    """The MCP server's endpoint URL (`http://127.0.0.1:PORT/mcp`), served by uvicorn in a thread."""
    app = make_server().streamable_http_app(event_store=MemoryEventStore(), retry_interval=RETRY_MS)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not server.started:
        assert thread.is_alive() and time.monotonic() < deadline, "the MCP server did not start"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/mcp"
    server.should_exit = True
    thread.join(10)
    sock.close()


@pytest.fixture
def sputter_upstream(mcp_server: str) -> str:
    return mcp_server.removesuffix("/mcp")


@pytest.fixture
def tool_gate() -> Iterator[threading.Event]:
    """Set it to let a `countdown(…, hold_after=k)` go on; it is set after the test whatever happened."""
    GATE.clear()
    yield GATE
    GATE.set()
