"""Real SSE clients, nobody on the team wrote, driven through Sputter's profiles and checked against
the ledger (a spec-exact EventSource fed the bytes Sputter actually delivered).

For every (profile, client):
1. the client reads `/events?count=…&retry=50&sputter_profile=P&sputter_client=K` through Sputter in
   front of the demo origin, reconnecting as it does, until it has seen the scenario's number of
   connection ends or stops by itself (clients.py);
2. what it dispatched, per connection, must equal the ledger's prediction message by message
   (type, data, last event ID);
3. each reconnect's Last-Event-ID, as the origin saw it, must equal the one the ledger expected;
4. Chromium must stop exactly where the spec says (204, 503, wrong content type) and never reconnect
   after;
5. every deviation from the spec is an expected finding (scenarios.py): it must be observed, the
   ledger must flag what the proxy can see (reconnectAfterFailure, wrongLastEventID), and no other
   difference is allowed.
"""

from __future__ import annotations

import time
import urllib.parse

import pytest

import clients
from checks import compare
from harness import Sputter
from scenarios import SCENARIOS, Scenario, expected_deviations


def events_path(scenario: Scenario, key: str) -> str:
    query = {"count": scenario.count, "interval_ms": 20, "heartbeat_ms": 0, "retry": scenario.retry,
             "sputter_profile": scenario.profile, "sputter_client": key}
    return "/events?" + urllib.parse.urlencode(query)


def run_client(client: str, sputter: Sputter, browser_factory, scenario: Scenario, key: str) -> clients.Transcript:
    path = events_path(scenario, key)
    if client == "chromium":
        return clients.run_chromium(browser_factory(), sputter.url, path, scenario.ends)
    runner = {"launchdarkly-eventsource": clients.run_launchdarkly, "requests-sse": clients.run_requests_sse,
              "httpx-sse": clients.run_httpx_sse, "sseclient-py": clients.run_sseclient,
              "node-eventsource": clients.run_node_eventsource}[client]
    return runner(sputter.url + path, scenario.ends)


@pytest.fixture
def browser_factory(request):
    """The session's browser, started only when a Chromium test needs it."""
    return lambda: request.getfixturevalue("browser")


@pytest.mark.parametrize("client", clients.CLIENTS)
@pytest.mark.parametrize("scenario", SCENARIOS, ids=lambda s: s.id)
def test_client_agrees_with_the_ledger(sputter: Sputter, browser_factory, results, scenario: Scenario, client: str):
    key = f"{scenario.id}/{client}"
    transcript = run_client(client, sputter, browser_factory, scenario, key)
    report = sputter.control.wait_settled(key, timeout=30)

    if client == "chromium" and scenario.fail_attempt:
        check_browser_stopped_for_good(sputter, key, scenario, transcript, report)
        report = sputter.control.wait_settled(key, timeout=30)

    connections = [sputter.control.connection(c.conn) for c in report.connections]
    outcome = compare(scenario, transcript, report, connections, sputter.origin.requests())
    if outcome.contract != clients.CONTRACTS[client]:
        outcome.problem(f"the ledger judged {client} under the {outcome.contract!r} contract, "
                        f"expected {clients.CONTRACTS[client]!r} (e2e/README.md)")
    expected = expected_deviations(client, scenario)
    row = outcome.as_dict()
    row["expected_deviations"] = sorted(expected)
    row["result"] = "ok" if not outcome.problems and set(outcome.deviations) == expected else "FAIL"
    results.append(row)

    assert not outcome.problems, "\n\n".join(outcome.problems)
    if client == "chromium":
        check_devtools_agrees_with_the_page(transcript)
        assert transcript.stopped_by == ("client" if scenario.fail_attempt else "test"), transcript.describe()
    assert set(outcome.deviations) == expected, (
        f"deviations found {sorted(outcome.deviations)}, expected {sorted(expected)}:\n"
        + "\n".join(f"  {kind}: {ev}" for kind, evs in outcome.deviations.items() for ev in evs)
        + f"\n{transcript.describe()}\nledger: {report.summary.verdict}")


def check_browser_stopped_for_good(sputter: Sputter, key: str, scenario: Scenario, transcript, report) -> None:
    """EventSource fails the connection on 204, 503 or a wrong content type: readyState CLOSED, and no
    reconnect ever after, however long one waits (here: the reconnection time and a second more)."""
    log = transcript.extra.get("log", [])
    assert transcript.stopped_by == "client", transcript.describe()
    assert log and log[-1]["kind"] == "error" and log[-1]["readyState"] == 2, log[-3:]
    assert len(report.connections) == scenario.fail_attempt, transcript.describe()
    assert report.summary.failed, report.summary
    last = report.connections[-1]
    assert last.prediction.next == "fail", last
    time.sleep(report.summary.reconnection_ms / 1000 + 1.0)
    later = sputter.control.client(key)
    assert later is not None and len(later.connections) == scenario.fail_attempt, \
        f"Chromium reconnected after the failure:\n{later and later.connections[-1]}"


def check_devtools_agrees_with_the_page(transcript) -> None:
    """The page's listeners saw every message DevTools saw (so no message had a type the page did not
    listen for), connection by connection; and DevTools saw each connection the page did."""
    devtools = transcript.extra["devtools"]
    assert len(devtools) == len(transcript.attempts), (devtools, transcript.describe())
    for n, (attempt, request) in enumerate(zip(transcript.attempts, devtools), 1):
        page = [(m.type, m.data) for m in attempt.messages]
        seen = [(m.type, m.data) for m in request["messages"]]
        assert page == seen, f"attempt {n}: page {page} != DevTools {seen}"


def test_the_page_never_reached_sputter_or_the_origin(sputter: Sputter, browser):
    """Playwright's routing answers the page: Sputter relays only the stream, the origin sees only /events."""
    transcript = clients.run_chromium(browser, sputter.url, events_path(SCENARIOS[0], "page-check"), ends=1)
    assert transcript.stopped_by == "test", transcript.describe()
    seen = [r for r in sputter.origin.requests(path=None) if r.path != "/_origin/requests"]
    assert [r.path for r in seen] == ["/events"], seen
    assert len(transcript.attempts) == 1 and len(transcript.attempts[0].messages) == SCENARIOS[0].count


def test_stale_ids_every_later_event_carries_the_previous_id(sputter: Sputter, browser):
    scenario = Scenario("stale-ids", count=6, ends=1)
    transcript = clients.run_chromium(browser, sputter.url, events_path(scenario, "stale-ids-description"), ends=1)
    [attempt] = transcript.attempts
    assert [m.last_event_id for m in attempt.messages] == ["", "", "", "3", "4", "5"], transcript.describe()
