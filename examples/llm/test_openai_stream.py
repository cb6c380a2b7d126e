"""Recipe: an OpenAI-style streaming chat client (the `openai` package, pinned in requirements.txt) under
the faults LLM streams meet in production, with Sputter's ledger as the answer key.

The backend (conftest.py) streams one chunk per word, a `finish_reason: "stop"` chunk, then `data: [DONE]`.
Each test queues the faults for its client's next attempt (`sputter.next(key, faults=[…])`), streams one
completion through Sputter (`Sputter-Client` / `Sputter-Profile` go in `default_headers`: the SDK cannot
put them in the URL), and checks what the application saw against what the ledger says happened.

What the recipes show about the SDK (so your application knows what to check):
- `end` (clean end, no `[DONE]`): the SDK's iterator simply stops, without error. Only a missing
  `finish_reason` tells a truncated answer from a complete one.
- `end` with `terminator: "data: [DONE]\\n\\n"`: indistinguishable from a complete answer except by
  `finish_reason`.
- `inject` of `{"error": …}`: the SDK raises `openai.APIError` with the message, mid-stream.
- `disconnect` (RST, or FIN without the zero-length chunk): the transport raises; no `[DONE]`.
"""

from __future__ import annotations

import uuid

import openai
import pytest
from sputter_testing import Sputter

OVERLOADED = 'data: {"error": {"message": "overloaded", "type": "server_error"}}\n\n'


def chat(sputter: Sputter, key: str) -> tuple[list[str], list[str | None]]:
    """Streams one completion through Sputter as client `key`: the content deltas and finish reasons seen."""
    client = openai.OpenAI(base_url=sputter.base_url + "/v1", api_key="test", max_retries=0, timeout=30,
                           default_headers=Sputter.headers(client=key, event_stream=False))
    contents: list[str] = []
    finish: list[str | None] = []
    stream = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "hi"}], stream=True)
    with stream:
        for chunk in stream:
            contents.append(chunk.choices[0].delta.content or "")
            finish.append(chunk.choices[0].finish_reason)
    return contents, finish


def faults_of(sputter: Sputter, key: str) -> list[dict]:
    report = sputter.wait_settled(key)
    assert len(report.connections) == 1, report
    return [dict(f.effect) | {"fault": f.fault} for f in sputter.connection(report.connections[0].conn).fault_list]


@pytest.fixture
def key() -> str:
    return "chat-" + uuid.uuid4().hex[:8]


def test_passthrough_delivers_the_whole_answer(sputter: Sputter, key: str, words: list[str]) -> None:
    contents, finish = chat(sputter, key)
    assert "".join(contents) == " ".join(words)
    assert finish[-1] == "stop"
    report = sputter.wait_settled(key)
    conn = report.connections[0]
    # The client stops at [DONE] and may close before the body's last chunk reaches it (then the ledger
    # saw the client close first): either way a whole answer, and no finding.
    assert conn.end in ("upstream_end", "client_close")
    assert report.findings == ()
    assert conn.events == len(words) + 2  # the words, the stop chunk, [DONE]
    assert conn.faults == 0


def test_clean_end_without_done_is_a_silent_truncation(sputter: Sputter, key: str, words: list[str]) -> None:
    sputter.next(key, faults=[{"end": {"after_events": 3}}])
    contents, finish = chat(sputter, key)  # no exception: the SDK just stops
    assert "".join(contents) == " ".join(words[:3])
    assert "stop" not in finish, "the only sign of truncation: no finish_reason"
    effects = faults_of(sputter, key)
    assert [(e["fault"], e["kind"], e["trigger"], e["dropped_bytes"]) for e in effects] == \
        [("end", "ended", {"after_events": 3}, 0)]


def test_clean_end_with_done_terminator(sputter: Sputter, key: str, words: list[str]) -> None:
    sputter.next(key, faults=[{"end": {"after_events": 2, "terminator": "data: [DONE]\n\n"}}])
    contents, finish = chat(sputter, key)
    assert "".join(contents) == " ".join(words[:2])
    assert "stop" not in finish
    assert [(e["kind"], e["terminator_bytes"]) for e in faults_of(sputter, key)] == [("ended", 14)]


def test_injected_error_event_raises_api_error(sputter: Sputter, key: str) -> None:
    sputter.next(key, faults=[{"inject": {"after_events": 2, "bytes": OVERLOADED, "then": "end"}}])
    with pytest.raises(openai.APIError, match="overloaded"):
        chat(sputter, key)
    effects = faults_of(sputter, key)
    assert [(e["fault"], e["kind"], e["bytes"], e["then_end"]) for e in effects] == \
        [("inject", "event_injected", len(OVERLOADED), True)]


@pytest.mark.parametrize("kind", ["rst", "fin"])
def test_disconnect_mid_answer_raises_from_the_transport(sputter: Sputter, key: str, kind: str, words: list[str]) -> None:
    sputter.next(key, faults=[{"disconnect": {"after_events": 3, "kind": kind}}])
    seen: list[str] = []
    with pytest.raises(Exception) as raised:
        client = openai.OpenAI(base_url=sputter.base_url + "/v1", api_key="test", max_retries=0, timeout=30,
                               default_headers=Sputter.headers(client=key, event_stream=False))
        for chunk in client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "hi"}],
                                                    stream=True):
            seen.append(chunk.choices[0].delta.content or "")
    assert not isinstance(raised.value, openai.APIError) or isinstance(raised.value, openai.APIConnectionError), raised.value
    assert "".join(seen) == " ".join(words[:3])
    conn = sputter.wait_settled(key).connections[0]
    assert conn.end == "fault"
    assert [(e["kind"], e["close"]) for e in faults_of(sputter, key)] == [("cut", kind)]
