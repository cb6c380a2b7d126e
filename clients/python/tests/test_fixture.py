"""The `sputter` fixture and its client against the real binary and the demo origin."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from sse_reader import read_stream
from sputter_testing import ControlAPIError, Sputter

ALL_12 = [str(i) for i in range(1, 13)]


def test_passthrough_stream_read_with_urllib(sputter: Sputter) -> None:
    assert sputter.settings().effective_profile == "passthrough"
    stream = read_stream(sputter.url("/events?count=5&interval_ms=0", client="plain"))
    assert stream.status == 200
    assert stream.content_type is not None and stream.content_type.startswith("text/event-stream")
    assert stream.ids == ["1", "2", "3", "4", "5"]
    assert stream.error is None

    report = sputter.wait_settled("plain")
    s = report.summary
    assert (s.key, s.ok, s.expected, s.received, s.missing_ids, s.duplicated_ids) == ("plain", True, 5, 5, (), ())
    assert s.last_event_id == "5" and not s.failed
    assert s.verdict == "ok: 5 events, 0 reconnects, all ids received once"
    assert report.findings == ()
    [c] = report.connections
    assert (c.attempt, c.status, c.profile, c.end, c.synthetic, c.events) == (1, 200, "passthrough", "upstream_end", False, 5)
    assert (c.prediction.dispatched, c.prediction.intact, c.prediction.last_event_id, c.prediction.reconnects) == (5, 5, "5", True)
    assert [e.id for e in report.events] == ["1", "2", "3", "4", "5"] and all(e.received == 1 for e in report.events)
    assert [x.key for x in sputter.clients()] == ["plain"]


@pytest.mark.sputter(profile="lossy")
def test_lossy_stream_reports_the_missing_ids(sputter: Sputter) -> None:
    assert sputter.settings().effective_profile == "lossy"
    stream = read_stream(sputter.url("/events?count=12&interval_ms=0", client="lossy"))
    assert stream.status == 200
    missing = [i for i in ALL_12 if i not in stream.ids]
    # lossy drops every 4th event (and 5% of the others, seeded): 4, 8 and 12 at least.
    assert {"4", "8", "12"} <= set(missing), stream.ids

    report = sputter.wait_settled("lossy")
    assert report.summary.missing_ids == tuple(missing)
    assert report.summary.received == 12 - len(missing)
    assert report.finding_kinds == ["missing"]
    [finding] = sputter.findings("lossy")
    assert finding.kind == "missing" and finding.ids == tuple(missing) and finding.attempt is None

    # The connection's detail: one drop decision per missing event, on the frames carrying those ids.
    detail = sputter.connection(report.connections[0].conn)
    drops = [f for f in detail.fault_list if f.fault == "drop"]
    frames = {f.index: f for f in detail.frame_list}
    assert sorted((str(frames[d.frame].id) for d in drops if d.frame is not None), key=int) == missing
    assert all(d.effect["kind"] == "dropped" and d.effect["bytes"] == frames[d.frame].size for d in drops if d.frame is not None)
    assert sorted(str(f.id) for f in detail.frame_list if f.fate == "dropped") == sorted(missing)


@pytest.mark.sputter(profile="lossy", seed=123)
def test_marker_seed_is_the_runtime_seed(sputter: Sputter) -> None:
    settings = sputter.settings()
    assert (settings.profile, settings.seed, settings.effective_seed) == ("lossy", 123, 123)
    read_stream(sputter.url("/events?count=3&interval_ms=0", client="seeded"))
    assert sputter.wait_settled("seeded").connections[0].seed == 123


def test_each_test_starts_with_passthrough_and_an_empty_ledger(sputter: Sputter) -> None:
    # The previous tests selected lossy with a seed and left clients in the ledger.
    settings = sputter.settings()
    assert (settings.profile, settings.seed, settings.effective_profile) == (None, None, "passthrough")
    assert sputter.clients() == []


def test_reset_forgets_clients_and_attempts(sputter: Sputter) -> None:
    url = sputter.url("/events?count=2&interval_ms=0", client="again")
    read_stream(url)
    read_stream(url)
    report = sputter.wait_settled("again", connections=2)
    assert [c.attempt for c in report.connections] == [1, 2]

    sputter.reset()
    assert sputter.clients() == []
    assert sputter.client("again") is None
    assert sputter.findings("again") == []

    read_stream(url)
    assert [c.attempt for c in sputter.wait_settled("again").connections] == [1]


def test_set_profile_and_per_request_profile(sputter: Sputter) -> None:
    settings = sputter.set_profile("lossy", seed=7)
    assert (settings.profile, settings.seed, settings.effective_profile) == ("lossy", 7, "lossy")
    # A request that names a profile gets that one, whatever the default.
    read_stream(sputter.url("/events?count=2&interval_ms=0", client="named", profile="passthrough"))
    read_stream(sputter.url("/events?count=2&interval_ms=0", client="default"))
    assert sputter.wait_settled("named").connections[0].profile == "passthrough"
    assert sputter.wait_settled("default").connections[0].profile == "lossy"
    # Headers work too (EventSource cannot set them, other clients can).
    read_stream(sputter.url("/events?count=2&interval_ms=0"), headers=Sputter.headers(client="by-header", profile="duplicates-and-reorder"))
    assert sputter.wait_settled("by-header").connections[0].profile == "duplicates-and-reorder"

    cleared = sputter.set_profile(None, seed=None)
    assert (cleared.profile, cleared.seed, cleared.effective_profile) == (None, None, "passthrough")
    assert "lossy" in {p.name for p in sputter.profiles()}

    with pytest.raises(ControlAPIError) as raised:
        sputter.set_profile("no-such-profile")
    assert raised.value.status == 400
    assert "unknown profile 'no-such-profile'" in str(raised.value) and "reconnect-ladder" in str(raised.value)


@pytest.mark.sputter(profile="reconnect-ladder")
def test_reconnect_ladder_reset_then_synthetic_503(sputter: Sputter) -> None:
    key = "ladder"
    first = read_stream(sputter.url("/events?count=10&interval_ms=0", client=key))
    assert first.ids == ["1", "2", "3"] and first.error is not None  # reset after 3 events

    # Reconnect at once with the right Last-Event-ID: the 503 a fault writes (Accept: text/event-stream,
    # so the ledger records it although it is not a stream).
    second = read_stream(sputter.url("/events?count=10&interval_ms=0"),
                         headers=Sputter.headers(client=key, last_event_id="3"))
    assert second.status == 503

    report = sputter.wait_settled(key, connections=2)
    c1, c2 = report.connections
    assert (c1.end, c1.prediction.last_event_id, c1.prediction.reconnects) == ("fault", "3", True)
    assert (c2.attempt, c2.status, c2.synthetic, c2.last_event_id_sent, c2.expected_last_event_id) == (2, 503, True, "3", "3")
    assert c2.prediction.next == "fail" and c2.prediction.reason == "status 503 is not 200"
    assert report.summary.failed
    # It reconnected immediately although the reconnection time was 3000ms: that is a finding.
    [early] = report.findings_of("reconnectTooEarly")
    assert early.attempt == 2
    # Whatever the upstream had sent after id 3 before the reset never reached the client (the 503 ends it).
    assert set(report.finding_kinds) <= {"reconnectTooEarly", "missing"}
    assert not {"1", "2", "3"} & set(report.summary.missing_ids)


def test_wait_settled_times_out_with_what_the_ledger_has(sputter: Sputter) -> None:
    with pytest.raises(TimeoutError, match="did not settle within 0.2s.*the ledger has nothing"):
        sputter.wait_settled("never-connected", timeout=0.2)


def test_html_report_of_the_ledger(sputter: Sputter, tmp_path: Path) -> None:
    read_stream(sputter.url("/events?count=8&interval_ms=0", client="<report & html>", profile="lossy"))
    sputter.wait_settled("<report & html>")
    page = sputter.html_report(tmp_path / "report.html").read_text()
    assert page.startswith("<!DOCTYPE html>")
    # The page's script draws the replay the page embeds as JSON (its `<` written as \u003c).
    start = page.index('<script type="application/json" id="replay">') + len('<script type="application/json" id="replay">')
    replay = json.loads(page[start:page.index("</script>", start)])
    assert "<report" not in page
    # The file holds the earlier tests' runs too (the fixture resets the ledger between tests).
    [client] = [c for c in replay["clients"] if c["key"] == "<report & html>"]
    # lossy drops every 4th event: at least events 4 and 8.
    assert [f["fate"] for f in client["connections"][0]["frames"] if f["kind"] == "event"].count("dropped") >= 2
    records = sputter.ledger_records()
    # The fixture resets the ledger before each test: a `reset` record, then this test's connection.
    assert [r for r in records if r["type"] != "reset"][0]["type"] == "connection_open"


def test_url_builder() -> None:
    s = Sputter("http://127.0.0.1:9/", "http://127.0.0.1:10")
    assert s.url() == "http://127.0.0.1:9/"
    assert s.url("events") == "http://127.0.0.1:9/events"
    assert s.url("/events?count=5", profile="lossy", client="feed") == \
        "http://127.0.0.1:9/events?count=5&sputter_profile=lossy&sputter_client=feed"
    assert s.url("/e", client="a b/c&d", seed=7) == "http://127.0.0.1:9/e?sputter_client=a%20b%2Fc%26d&sputter_seed=7"
    assert s.url("/e?x=1#frag", profile="p") == "http://127.0.0.1:9/e?x=1&sputter_profile=p#frag"
    with pytest.raises(ValueError):
        s.url("http://elsewhere/events")
    assert Sputter.headers(client="k", seed=3) == {"Accept": "text/event-stream", "Sputter-Client": "k", "Sputter-Seed": "3"}


def test_runtime_profile_next_attempts_and_waits(sputter: Sputter) -> None:
    """A test drives faults as it goes: defines a profile, queues a 503 for the next attempt, waits without sleeping."""
    defined = sputter.define_profile({"name": "cut-after-2", "description": "reset after two events",
                                      "faults": [{"disconnect": {"after_events": 2, "kind": "rst"}}]})
    assert defined["defined"] == "cut-after-2"
    assert {p.name: p.origin for p in sputter.profiles()}["cut-after-2"] == "runtime"

    cut = read_stream(sputter.url("/events?count=20&interval_ms=0", profile="cut-after-2", client="live"))
    assert cut.ids == ["1", "2"] and cut.error is not None
    assert sputter.wait("live", settled=True, quiet_ms=20).progress.open_connections == 0

    assert sputter.next("live", respond={"status": 503, "retry_after": 1}) == 1
    refused = read_stream(sputter.url("/events?count=3&interval_ms=0", client="live"))
    assert refused.status == 503
    resumed = read_stream(sputter.url("/events?count=3&interval_ms=0", client="live"),
                          headers={"Accept": "text/event-stream", "Last-Event-ID": "2"})
    assert resumed.ids == ["3"]
    result = sputter.wait("live", reconnected=2, timeout=30)
    assert result.met and result.progress is not None and result.progress.connections == 3
    assert [c.profile for c in sputter.wait_settled("live", connections=3).connections] == \
        ["cut-after-2", "passthrough+next", "passthrough"]

    with pytest.raises(ControlAPIError) as bad:
        sputter.define_profile("name: broken\ndescription: x\nfaults:\n  - drop: { probability: 3 }\n")
    assert bad.value.status == 400 and bad.value.body["line"] == 4
    sputter.delete_profile("cut-after-2")
    assert "cut-after-2" not in [p.name for p in sputter.profiles()]

    from sputter_testing import WaitTimeout
    with pytest.raises(WaitTimeout) as late:
        sputter.wait("nobody", received=1, timeout=0.05)
    assert late.value.result.progress is None and "live" in late.value.result.clients


def test_control_token_is_sent_when_given(sputter_demo_origin, tmp_path) -> None:
    from sputter_testing import SputterProcess, find_binary
    with SputterProcess(find_binary(), [sputter_demo_origin.url], log_dir=tmp_path,
                        extra_args=["--control-token", "s3cret-token"]) as process:
        guarded = Sputter(process.url, process.control_url, token="s3cret-token")
        assert "passthrough" in [p.name for p in guarded.profiles()]
        with pytest.raises(ControlAPIError) as refused:
            Sputter(process.url, process.control_url, token="").profiles()
        assert refused.value.status == 401
