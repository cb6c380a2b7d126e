"""`sputter.observed`: what the client says it dispatched, diffed against a spec-exact client."""

from __future__ import annotations

import pytest

from sse_reader import read_stream
from sputter_testing import ControlAPIError, Sputter


def _messages(events: list) -> list[dict]:
    return [{"type": e.type or "message", "data": e.data, "id": e.id, "connection": 1} for e in events]


def test_a_correct_client_matches_and_a_wrong_one_is_found(sputter: Sputter) -> None:
    stream = read_stream(sputter.url("/events?count=6&interval_ms=0", client="obs"))
    assert stream.ids == ["1", "2", "3", "4", "5", "6"]
    sputter.wait_settled("obs")

    got = _messages(stream.events)
    diff = sputter.observed("obs", got)
    assert diff["ok"] is True and diff["matched"] == 6 and diff["diff"] == [], diff

    # A client that drops one message, and dispatches an empty one after another (as after a ping).
    wrong = got[:2] + got[3:4] + [{"type": "message", "data": "", "id": "4", "connection": 1}] + got[4:]
    diff = sputter.observed("obs", wrong)
    assert diff["ok"] is False
    assert (diff["missing"], diff["unexpected"], diff["differs"]) == (1, 1, 0), diff
    kinds = [(d["kind"], d.get("index")) for d in diff["diff"]]
    assert kinds == [("missing", 2), ("unexpected", None)], kinds

    # A client that loses the data's second half.
    cut = [dict(m) for m in got]
    cut[5]["data"] = cut[5]["data"][:3]
    diff = sputter.observed("obs", cut)
    assert diff["differs"] == 1 and diff["diff"][0]["index"] == 5, diff


def test_a_bad_body_is_named(sputter: Sputter) -> None:
    read_stream(sputter.url("/events?count=1&interval_ms=0", client="bad"))
    sputter.wait_settled("bad")
    with pytest.raises(ControlAPIError) as error:
        sputter.observed("bad", [{"type": "message"}])
    assert error.value.status == 400
    assert "messages[0].data" in str(error.value)
