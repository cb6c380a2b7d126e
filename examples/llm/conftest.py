"""A tiny OpenAI-compatible backend for the LLM recipes: `POST /v1/chat/completions` with `"stream": true`
answers with Server-Sent Events the way the OpenAI API does — one `chat.completion.chunk` per word, a last
chunk with `finish_reason: "stop"`, then `data: [DONE]` — on a free loopback port, with the standard library
only. Sputter (the `sputter` fixture) proxies it; swap in your own backend's URL in `sputter_upstream`.
"""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Iterator

import pytest

WORDS = ["Streams", "end", "when", "the", "server", "says", "so."]


class ChatBackend(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("Content-Length", "0"))) or b"{}")
        if self.path != "/v1/chat/completions" or not body.get("stream"):
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        model = body.get("model", "tiny")
        for n, word in enumerate(WORDS):
            self.event({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": model,
                        "choices": [{"index": 0, "delta": {"content": word if n == 0 else " " + word},
                                     "finish_reason": None}]})
        self.event({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": model,
                    "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        self.chunk(b"data: [DONE]\n\n")
        self.chunk(b"")

    def event(self, obj: object) -> None:
        self.chunk(b"data: " + json.dumps(obj).encode() + b"\n\n")

    def chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


@pytest.fixture(scope="session")
def chat_backend() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), ChatBackend)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.fixture
def words() -> list[str]:
    """The words the backend streams, one chunk each."""
    return list(WORDS)


@pytest.fixture
def sputter_upstream(chat_backend: str) -> str:
    return chat_backend
