"""Compares what a client did with the ledger's answer key, connection by connection.

The ledger models a spec-exact EventSource fed the bytes Sputter actually delivered: per connection
it lists the messages that client dispatched (`Connection.message_list`, from `GET /connections/ID`), the last event
ID it ended with, the Last-Event-ID the next attempt must carry, and whether it reconnects at all.

`compare()` returns an `Outcome`: agreements, the deviations it recognised (see scenarios.py), and
`problems` — differences nothing explains, which fail the test.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Optional

from sputter_testing import ClientReport, Connection, Finding, OriginRequest

from clients import UNKNOWN, Message, Transcript
from scenarios import Scenario

RECONNECT_FINDINGS = {"reconnectAfterFailure": "reconnect-after-failure", "wrongLastEventID": "wrong-last-event-id",
                      "reconnectTooEarly": "reconnect-too-early"}


@dataclass
class Outcome:
    profile: str
    client: str
    contract: str = ""  # the client contract the ledger judged it under (docs/LEDGER.md)
    connections: int = 0
    dispatched: int = 0  # messages the client dispatched, over all its connections
    reconnects: int = 0
    messages_agreed: int = 0  # connections whose dispatched messages equal the ledger's, message by message
    messages_checked: int = 0  # connections with a comparison (a 200 event stream, or a failed response)
    ids_agreed: int = 0  # reconnects whose Last-Event-ID (as the origin saw it) equals the ledger's expected one
    ids_checked: int = 0
    stopped: str = ""
    deviations: dict[str, list[str]] = field(default_factory=dict)  # kind -> evidence
    findings: list[str] = field(default_factory=list)  # the ledger's finding kinds, with attempts
    problems: list[str] = field(default_factory=list)
    verdict: str = ""

    def deviate(self, kind: str, evidence: str) -> None:
        self.deviations.setdefault(kind, []).append(evidence)

    def problem(self, text: str) -> None:
        self.problems.append(text)

    def as_dict(self) -> dict:
        return {k: getattr(self, k) for k in self.__dataclass_fields__}


def _ledger_messages(conn: Connection) -> list[Message]:
    return [Message(m.type, m.data, m.last_event_id) for m in conn.message_list]


def _origin_events(n: int) -> list[Message]:
    """The demo origin's first n events, as a client that parses them would dispatch them."""
    return [Message("progress" if k % 5 == 0 else "tick", json.dumps({"n": k}, separators=(",", ":")), str(k))
            for k in range(1, n + 1)]


def _diff(client: list[Message], ledger: list[Message]) -> str:
    lines = []
    for i in range(max(len(client), len(ledger))):
        c = str(client[i]) if i < len(client) else "-"
        l = str(ledger[i]) if i < len(ledger) else "-"
        lines.append(f"      {'  ' if c == l else '≠ '}#{i}: client {c} | ledger {l}")
    return "\n".join(lines)


def _explain_messages(outcome: Outcome, n: int, attempt, got: list[Message], want: list[Message], conn: Connection) -> bool:
    """Tries the known deviations on one connection's messages; True when they explain the difference."""
    rest = got
    # blocks-without-data: extra messages with empty data where the spec dispatches nothing.
    empty = [m for m in rest if m.data == "" and m not in want]
    if empty:
        rest = [m for m in rest if not (m.data == "" and m not in want)]
        if rest == want or (len(rest) < len(want) and rest == want[:len(rest)]):
            outcome.deviate("blocks-without-data", f"attempt {n}: {len(empty)} extra message(s) with empty data: "
                            + "; ".join(str(m) for m in empty[:3]))
    if rest == want:
        return bool(empty)
    # invalid-utf8: it stopped at the first message whose data the spec decodes with U+FFFD.
    ended = attempt.ended or ""
    k = len(rest)
    if "UnicodeDecodeError" in ended and k < len(want) and rest == want[:k] and "\ufffd" in want[k].data:
        outcome.deviate("invalid-utf8", f"attempt {n}: {ended.split(':')[0]} before {want[k]}; "
                        f"dispatched {k} of the {len(want)} messages a spec-exact client dispatched")
        return True
    # bom-mid-stream: the same messages, some with another last event ID, on a connection where Sputter
    # wrote a byte order mark before a frame (the spec strips one only at the start of the stream).
    if len(rest) == len(want) and all((g.type, g.data) == (w.type, w.data) for g, w in zip(rest, want)) \
            and any(f.effect.get("mode") == "injected_bom" for f in conn.fault_list):
        differ = [f"#{i}: {g.last_event_id!r} where the spec has {w.last_event_id!r}"
                  for i, (g, w) in enumerate(zip(rest, want)) if g != w]
        outcome.deviate("bom-mid-stream", f"attempt {n}: last event ID of message " + "; ".join(differ[:3]))
        return True
    return False


def compare(scenario: Scenario, transcript: Transcript, report: ClientReport, connections: list[Connection],
            origin_requests: list[OriginRequest]) -> Outcome:
    outcome = Outcome(scenario.id, transcript.client)
    summary = report.summary
    outcome.contract = summary.contract
    outcome.connections = len(connections)
    outcome.reconnects = summary.reconnects
    outcome.dispatched = len(transcript.messages)
    outcome.stopped = f"{transcript.stopped_by}: {transcript.stop_reason}"
    outcome.verdict = summary.verdict
    outcome.findings = [f"{f.kind}" + (f" (attempt {f.attempt})" if f.attempt else "") for f in report.findings]
    context = f"\nclient transcript:\n{transcript.describe()}\nledger: {summary.verdict}"

    if transcript.stopped_by == "deadline":
        outcome.problem(f"the client did not finish: {transcript.stop_reason}{context}")
        return outcome
    if len(transcript.attempts) != len(connections):
        outcome.problem(f"the client made {len(transcript.attempts)} connection attempts, the ledger saw "
                        f"{len(connections)}{context}")
        return outcome

    # --- Message by message, per connection.
    for n, (attempt, conn) in enumerate(zip(transcript.attempts, connections), 1):
        if attempt.status is not UNKNOWN and attempt.status != conn.status:
            outcome.problem(f"attempt {n}: the client got status {attempt.status}, the ledger recorded {conn.status}")
        if attempt.sent_last_event_id is not UNKNOWN and attempt.sent_last_event_id != conn.last_event_id_sent:
            outcome.problem(f"attempt {n}: the client says it sent Last-Event-ID {attempt.sent_last_event_id!r}, "
                            f"Sputter recorded {conn.last_event_id_sent!r}")
        prediction = conn.prediction
        want = _ledger_messages(conn)
        got = attempt.messages
        if not conn.message_list_complete:
            outcome.problem(f"attempt {n}: the ledger's message list is incomplete ({len(want)} of {prediction.dispatched})")
            continue
        outcome.messages_checked += 1
        if prediction.next == "fail":
            # A spec-exact EventSource fails on this response and dispatches nothing.
            if not got:
                outcome.messages_agreed += 1
            elif got == _origin_events(len(got)):
                outcome.deviate("parses-failed-response",
                                f"attempt {n}: status {conn.status} {conn.content_type!r} "
                                f"({prediction.reason}), yet it dispatched {len(got)} events from the body")
            else:
                outcome.problem(f"attempt {n}: {len(got)} messages from a response EventSource fails on:\n"
                                + _diff(got, []))
            continue
        if got == want:
            outcome.messages_agreed += 1
        elif not _explain_messages(outcome, n, attempt, got, want, conn):
            outcome.problem(f"attempt {n}: dispatched messages differ from the ledger's prediction:\n{_diff(got, want)}")

    # --- Reconnects: the findings the ledger made, and the Last-Event-ID each reconnect carried.
    flagged: dict[tuple[str, int], Finding] = {}
    for f in report.findings:
        if f.kind in RECONNECT_FINDINGS:
            flagged[(f.kind, f.attempt)] = f
            outcome.deviate(RECONNECT_FINDINGS[f.kind], f"attempt {f.attempt}: {f.detail}")
    expected_origin: list[Optional[str]] = []
    for n, conn in enumerate(connections, 1):
        sent = conn.last_event_id_sent
        if n > 1:
            previous = connections[n - 2]
            if previous.prediction.next == "fail":
                # No reconnect was expected at all: the ledger must say so.
                if ("reconnectAfterFailure", n) not in flagged:
                    outcome.problem(f"attempt {n} follows a failed attempt {n - 1} but the ledger has no reconnectAfterFailure")
                expected = previous.prediction.last_event_id  # what a client that retries anyway resumes from
            else:
                expected = conn.expected_last_event_id
                if expected != previous.prediction.last_event_id:
                    outcome.problem(f"attempt {n}: the ledger expects Last-Event-ID {expected!r}, but attempt {n - 1}'s "
                                    f"prediction ended with {previous.prediction.last_event_id!r}")
            outcome.ids_checked += 1
            if (sent or "") == (expected or ""):
                outcome.ids_agreed += 1
            elif previous.prediction.next == "fail" and "parses-failed-response" in outcome.deviations \
                    and transcript.attempts[n - 2].messages and sent == transcript.attempts[n - 2].messages[-1].last_event_id:
                # It read the failed response's body as events, so it resumes after the last of them.
                outcome.deviate("parses-failed-response", f"attempt {n}: sent Last-Event-ID {sent!r}, from the events "
                                f"it parsed out of attempt {n - 1}'s failed response (a spec-exact client holds {expected!r})")
            elif ("wrongLastEventID", n) in flagged and previous.prediction.next != "fail":
                f = flagged[("wrongLastEventID", n)]
                if (f.expected, f.actual) != ((expected or ""), (sent or "")):
                    outcome.problem(f"attempt {n}: wrongLastEventID finding {f} does not match expected {expected!r} sent {sent!r}")
            else:
                outcome.problem(f"attempt {n}: sent Last-Event-ID {sent!r}, the ledger expected {expected!r}, "
                                f"and it has no wrongLastEventID finding")
        if not conn.synthetic:
            carried = sent
            for fault in conn.fault_list:
                if fault.fault == "last_event_id":
                    assert fault.effect["kind"] == "last_event_id_removed", fault  # only `remove` is used by the shipped profiles
                    carried = None
            expected_origin.append(carried)
    seen = [r.last_event_id for r in origin_requests]
    if seen != expected_origin:
        outcome.problem(f"the origin saw Last-Event-IDs {seen}, expected {expected_origin} (the ones the client sent, "
                        f"checked above against the ledger, after the profile's own Last-Event-ID faults)")

    # --- Where it stopped.
    last = connections[-1]
    if transcript.stopped_by in ("client", "crash") and last.prediction.next == "reconnect":
        outcome.deviate("no-reconnect", f"after attempt {len(connections)} ({last.end_summary}) the ledger predicts "
                        f"'{last.prediction.next}' with Last-Event-ID {last.prediction.last_event_id!r}; "
                        f"the client stopped ({transcript.stop_reason[:120]})")
    # A client the test had to stop after a failed response reconnected after it: that must be flagged.
    if transcript.stopped_by == "test" and last.prediction.next == "fail" and "reconnect-after-failure" not in outcome.deviations:
        outcome.problem("the test had to stop a client the ledger says failed, and no reconnectAfterFailure was flagged")

    # --- The ledger's counts agree with its own message lists.
    non_intact = sum(1 for c in connections for m in c.message_list if not m.intact)
    if summary.unexpected != non_intact:
        outcome.problem(f"ledger: {summary.unexpected} unexpected in the summary, {non_intact} in the message lists")
    if summary.received + summary.missing != summary.expected:
        outcome.problem(f"ledger: received + missing != expected: {summary}")
    if outcome.problems:
        outcome.problems[-1] += context
    return outcome
