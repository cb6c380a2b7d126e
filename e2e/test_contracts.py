"""The `once` client contract with a real LLM client: the `openai` Python package streaming chat
completions from a tiny OpenAI-compatible SSE backend (in this file), through Sputter.

- A completion whose stream Sputter resets (`abrupt-disconnects`) raises in the client and is a
  `truncated` finding; the ledger does not expect the client to reconnect (no `gaveUp`).
- The client's own retry after a refused connection is a new stream, not `reconnectTooEarly` against a
  reconnection time it never received.
- A completion that ends with `data: [DONE]` is no finding.
"""

from __future__ import annotations

import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import openai
import pytest

import sputter_testing

from harness import HTTP_TIMEOUT, START_TIMEOUT, SputterProcess

CHUNKS = 8  # content chunks per completion, then `data: [DONE]`


class _Completions(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        try:
            for i in range(CHUNKS):
                chunk = {"id": "c1", "object": "chat.completion.chunk", "created": 0, "model": "m",
                         "choices": [{"index": 0, "delta": {"content": f"w{i} "}, "finish_reason": None}]}
                self.wfile.write(f"data: {json.dumps(chunk)}\n\n".encode())
                self.wfile.flush()
                time.sleep(0.02)  # a live upstream: a cut lands while it still streams
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except OSError:
            pass  # Sputter cut the client off and closed the upstream


@pytest.fixture(scope="module")
def llm_sputter(sputter_binary, profiles_dir, tmp_path_factory):
    backend = ThreadingHTTPServer(("127.0.0.1", 0), _Completions)
    threading.Thread(target=backend.serve_forever, daemon=True).start()
    logs = tmp_path_factory.mktemp("sputter-llm")
    process = SputterProcess(sputter_binary, [f"http://127.0.0.1:{backend.server_address[1]}"], log_dir=logs,
                             profiles=profiles_dir, extra_args=["--log-level", "warning"], start_timeout=START_TIMEOUT)
    try:
        yield sputter_testing.Sputter(process.url, process.control_url, upstream=process.upstream,
                                      process=process, timeout=HTTP_TIMEOUT)
    finally:
        process.stop()
        backend.shutdown()


def complete(sputter: sputter_testing.Sputter, key: str, profile: str) -> tuple[str, str | None, int]:
    """One streamed completion as an application makes it; returns the text, the error it raised and how
    many chunks it got."""
    client = openai.OpenAI(base_url=sputter.base_url + "/v1", api_key="test", max_retries=2, timeout=60,
                           default_headers={"Sputter-Client": key, "Sputter-Profile": profile, "Sputter-Contract": "once"})
    text, error, chunks = "", None, 0
    try:
        stream = client.chat.completions.create(model="m", messages=[{"role": "user", "content": "hi"}], stream=True)
        for chunk in stream:
            text += chunk.choices[0].delta.content or ""
            chunks += 1
    except Exception as e:  # openai.APIConnectionError, httpx.RemoteProtocolError …
        error = type(e).__name__
    return text, error, chunks


def table_row(results: list[dict], profile: str, report: sputter_testing.ClientReport, chunks: int,
              expected_findings: tuple[str, ...]) -> dict:
    """A row of the results table (conftest.py) for this client: its contract, and the findings expected of
    it under that contract (listed as found only when the ledger made them). `result` is "ok" once the
    test's assertions passed."""
    found = {f.kind: [f"attempt {f.attempt}: {f.detail}"] for f in report.findings if f.kind in expected_findings}
    row = {"profile": profile, "client": "openai", "contract": report.summary.contract,
           "connections": len(report.connections), "dispatched": chunks, "reconnects": report.summary.reconnects,
           "messages_agreed": 0, "messages_checked": 0, "ids_agreed": 0, "ids_checked": 0,
           "deviations": found, "expected_deviations": list(expected_findings), "result": "FAIL"}
    results.append(row)
    return row


def test_a_reset_completion_is_truncated_and_no_reconnect_is_expected(llm_sputter, results):
    llm_sputter.reset()
    text, error, chunks = complete(llm_sputter, "llm-cut", "abrupt-disconnects")
    assert error is not None, f"the stream was reset after 5 chunks, yet the client finished: {text!r}"
    report = llm_sputter.settle("llm-cut")
    row = table_row(results, "abrupt-disconnects", report, chunks, ("truncated",))
    assert report.summary.contract == "once"
    kinds = report.finding_kinds
    assert "truncated" in kinds, report.summary.verdict
    assert not {"gaveUp", "reconnectTooEarly", "reconnectAfterFailure", "wrongLastEventID", "duplicated"} & set(kinds), kinds
    truncated = report.findings_of("truncated")
    assert len(truncated) == len(report.connections), [f.detail for f in truncated]
    row["result"] = "ok"


def test_a_retry_after_a_refused_connection_is_a_new_stream(llm_sputter, results):
    llm_sputter.reset()
    llm_sputter.define_profile({"name": "refuse-first", "description": "the first attempt is refused",
                                "attempts": {"1": ["refuse"], "default": []}})
    text, error, chunks = complete(llm_sputter, "llm-retry", "refuse-first")
    assert error is None, error
    assert text == "".join(f"w{i} " for i in range(CHUNKS))
    report = llm_sputter.settle("llm-retry")
    row = table_row(results, "refuse-first", report, chunks, ())
    assert report.summary.contract == "once"
    assert len(report.connections) == 2, report.summary.verdict  # the refused attempt, then the retry
    assert report.findings == (), [f.detail for f in report.findings]
    row["result"] = "ok"
