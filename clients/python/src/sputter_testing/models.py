"""Typed views of the control API's JSON (see Sputter's README, "Control API" and "The ledger").

Each class has `from_json(dict)`; unknown fields are ignored so a newer Sputter does not break an older
client, and every field keeps the meaning (and, where it is not a Python keyword clash, the name) it has
in the JSON.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping, Optional


def _opt_int(v: Any) -> Optional[int]:
    return None if v is None else int(v)


def _opt_str(v: Any) -> Optional[str]:
    return None if v is None else str(v)


@dataclass(frozen=True)
class ClientSummary:
    """A client's standing over all its attempts (`GET /clients`, and `summary` of `GET /clients/KEY`)."""

    key: str
    connections: int
    reconnects: int
    #: Connections of this client still open.
    open_connections: int
    #: Events the upstream sent (events with an id count once however often they were sent).
    expected: int
    #: Of those, dispatched intact at least once by a spec-exact EventSource.
    received: int
    missing: int
    duplicated: int
    #: Messages dispatched that the upstream never sent (corrupted, injected, re-identified).
    unexpected: int
    #: Number of findings.
    finding_count: int
    missing_ids: tuple[str, ...]
    duplicated_ids: tuple[str, ...]
    #: What a spec-exact EventSource holds now ("" = none).
    last_event_id: str
    reconnection_ms: int
    #: The last response made EventSource fail for good (a 503, 204, wrong content type…).
    failed: bool
    verdict: str
    #: The client contract it is judged by: "eventsource", "resume" or "once" (docs/LEDGER.md).
    contract: str = "eventsource"

    @property
    def ok(self) -> bool:
        """No findings (the client got every event once, reconnected as it should)."""
        return self.finding_count == 0

    @property
    def settled(self) -> bool:
        """No connection of the client is open any more."""
        return self.open_connections == 0

    @classmethod
    def from_json(cls, o: Mapping[str, Any]) -> "ClientSummary":
        return cls(
            key=str(o["client"]),
            connections=int(o["connections"]),
            reconnects=int(o["reconnects"]),
            open_connections=int(o["open"]),
            expected=int(o["expected"]),
            received=int(o["received"]),
            missing=int(o["missing"]),
            duplicated=int(o["duplicated"]),
            unexpected=int(o["unexpected"]),
            finding_count=int(o["findings"]),
            missing_ids=tuple(str(i) for i in o.get("missing_ids") or ()),
            duplicated_ids=tuple(str(i) for i in o.get("duplicated_ids") or ()),
            last_event_id=str(o.get("last_event_id") or ""),
            reconnection_ms=int(o["reconnection_ms"]),
            failed=bool(o["failed"]),
            verdict=str(o["verdict"]),
            contract=str(o.get("contract") or "eventsource"),
        )


@dataclass(frozen=True)
class Finding:
    """Something the ledger found about the client under test.

    `kind` is one of `missing`, `duplicated`, `unexpected`, `wrongLastEventID`, `reconnectTooEarly`,
    `reconnectAfterFailure`.
    """

    kind: str
    client: str
    #: The attempt it is about (None for findings about the whole history: missing, duplicated).
    attempt: Optional[int]
    conn: Optional[int]
    detail: str
    #: For wrongLastEventID: what a spec-exact client sends ("" = no header) and what was sent.
    expected: Optional[str] = None
    actual: Optional[str] = None
    ids: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, o: Mapping[str, Any]) -> "Finding":
        return cls(
            kind=str(o["kind"]),
            client=str(o.get("client", "")),
            attempt=_opt_int(o.get("attempt")),
            conn=_opt_int(o.get("conn")),
            detail=str(o.get("detail", "")),
            expected=_opt_str(o.get("expected")),
            actual=_opt_str(o.get("actual")),
            ids=tuple(str(i) for i in o.get("ids") or ()),
        )


@dataclass(frozen=True)
class Prediction:
    """What a spec-exact EventSource did with one connection, from the bytes actually delivered."""

    attempt: int
    dispatched: int
    intact: int
    unexpected: int
    last_event_id: str
    reconnection_ms: int
    discarded_tail: bool
    #: "reconnect" or "fail".
    next: str
    reason: Optional[str] = None

    @property
    def reconnects(self) -> bool:
        return self.next == "reconnect"

    @classmethod
    def from_json(cls, o: Mapping[str, Any]) -> "Prediction":
        return cls(
            attempt=int(o["attempt"]),
            dispatched=int(o["dispatched"]),
            intact=int(o["intact"]),
            unexpected=int(o["unexpected"]),
            last_event_id=str(o.get("last_event_id") or ""),
            reconnection_ms=int(o["reconnection_ms"]),
            discarded_tail=bool(o["discarded_tail"]),
            next=str(o["next"]),
            reason=_opt_str(o.get("reason")),
        )


@dataclass(frozen=True)
class Frame:
    """One upstream frame (`GET /connections/ID`)."""

    index: int
    #: event, fieldsOnly, commentOnly or blank.
    kind: str
    id: Optional[str]
    #: The type it dispatches as (None when it is not an event).
    event: Optional[str]
    size: int
    digest: str
    t: int
    retry: Optional[int] = None
    #: What the faults did to it: delivered, delayed, reordered, duplicated, corrupted, dropped or lost.
    fate: Optional[str] = None

    @classmethod
    def from_json(cls, o: Mapping[str, Any]) -> "Frame":
        return cls(
            index=int(o["index"]),
            kind=str(o["kind"]),
            id=_opt_str(o.get("id")),
            event=_opt_str(o.get("event")),
            size=int(o["size"]),
            digest=str(o["digest"]),
            t=int(o.get("t", 0)),
            retry=_opt_int(o.get("retry")),
            fate=_opt_str(o.get("fate")),
        )


@dataclass(frozen=True)
class FaultAction:
    """One decision of a fault (`GET /connections/ID`): `fault` is its catalog name (drop, delay…)."""

    fault: str
    #: What it did, in words (for people: compare `effect`, not this text).
    action: str
    frame: Optional[int]
    t: int
    #: What it did, as fields: `kind` (dropped, delayed, cut, …), its own values and the `fate` of the frame.
    effect: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def from_json(cls, o: Mapping[str, Any]) -> "FaultAction":
        return cls(fault=str(o["fault"]), action=str(o["action"]), frame=_opt_int(o.get("frame")), t=int(o.get("t", 0)),
                   effect=dict(o.get("effect") or {}))


@dataclass(frozen=True)
class DispatchedMessage:
    """A message a spec-exact EventSource dispatched from the bytes Sputter delivered (`message_list` of
    `GET /connections/ID`)."""

    index: int
    #: The event type ("message" when the stream named none).
    type: str
    data: str
    #: The last event ID after it ("" = none).
    last_event_id: str
    #: Equal to an event the upstream sent (not corrupted, injected or re-identified).
    intact: bool

    @classmethod
    def from_json(cls, o: Mapping[str, Any]) -> "DispatchedMessage":
        return cls(index=int(o.get("index", 0)), type=str(o["type"]), data=str(o["data"]),
                   last_event_id=str(o.get("last_event_id") or ""), intact=bool(o.get("intact", True)))


@dataclass(frozen=True)
class Connection:
    """One connection attempt as the ledger saw it."""

    conn: int
    client: str
    attempt: int
    method: str
    path: str
    last_event_id_sent: Optional[str]
    profile: str
    seed: int
    status: Optional[int]
    content_type: Optional[str]
    #: The response was written by a fault (respond 503, …), not relayed.
    synthetic: bool
    frames: int
    events: int
    upstream_bytes: int
    first_id: Optional[str]
    last_id: Optional[str]
    faults: int
    bytes_delivered: int
    #: upstream_end, client_close, fault, upstream_error, refused, shutdown; None while open.
    end: Optional[str]
    end_summary: Optional[str]
    prediction: Prediction
    #: For a reconnect: the Last-Event-ID a spec-exact client sends ("" = none).
    expected_last_event_id: Optional[str]
    waited_ms: Optional[int]
    required_wait_ms: Optional[int]
    opened_t: int
    closed_t: Optional[int]
    wall_ms: int
    #: Only from `Sputter.connection(id)`.
    frame_list: tuple[Frame, ...] = ()
    fault_list: tuple[FaultAction, ...] = ()
    #: What a spec-exact EventSource dispatched on this connection, in order (only from `connection(id)`).
    message_list: tuple[DispatchedMessage, ...] = ()
    #: `message_list` holds every dispatched message (False when the ledger level keeps only a summary).
    message_list_complete: bool = False
    #: The client contract the connection was judged by (eventsource, resume, once).
    contract: str = "eventsource"
    #: `resume`: a 2xx answer that was not an event stream (JSON, 202): not a stream attempt, not judged.
    not_stream: bool = False
    #: `resume`: a stream of its own (no Last-Event-ID while no reconnect was owed), not a reconnect.
    new_stream: bool = False

    @property
    def is_open(self) -> bool:
        return self.closed_t is None

    @classmethod
    def from_json(cls, o: Mapping[str, Any]) -> "Connection":
        return cls(
            conn=int(o["conn"]),
            client=str(o["client"]),
            attempt=int(o["attempt"]),
            method=str(o["method"]),
            path=str(o["path"]),
            last_event_id_sent=_opt_str(o.get("last_event_id_sent")),
            profile=str(o["profile"]),
            seed=int(o["seed"]),
            status=_opt_int(o.get("status")),
            content_type=_opt_str(o.get("content_type")),
            synthetic=bool(o.get("synthetic", False)),
            frames=int(o["frames"]),
            events=int(o["events"]),
            upstream_bytes=int(o.get("upstream_bytes", 0)),
            first_id=_opt_str(o.get("first_id")),
            last_id=_opt_str(o.get("last_id")),
            faults=int(o["faults"]),
            bytes_delivered=int(o["bytes_delivered"]),
            end=_opt_str(o.get("end")),
            end_summary=_opt_str(o.get("end_summary")),
            prediction=Prediction.from_json(o["prediction"]),
            expected_last_event_id=_opt_str(o.get("expected_last_event_id")),
            waited_ms=_opt_int(o.get("waited_ms")),
            required_wait_ms=_opt_int(o.get("required_wait_ms")),
            opened_t=int(o.get("opened_t", 0)),
            closed_t=_opt_int(o.get("closed_t")),
            wall_ms=int(o.get("wall_ms", 0)),
            frame_list=tuple(Frame.from_json(f) for f in o.get("frame_list") or ()),
            fault_list=tuple(FaultAction.from_json(f) for f in o.get("fault_list") or ()),
            message_list=tuple(DispatchedMessage.from_json(m) for m in o.get("message_list") or ()),
            contract=str(o.get("contract") or "eventsource"),
            not_stream=bool(o.get("not_stream", False)),
            new_stream=bool(o.get("new_stream", False)),
            message_list_complete=bool(o.get("message_list_complete", False)),
        )


@dataclass(frozen=True)
class EventStatus:
    """One event with an id the upstream sent to a client, and how often it was dispatched intact."""

    id: str
    digest: str
    sent: int
    received: int
    #: The attempt that first dispatched it, and the last one when another (empty while none did).
    attempts: tuple[int, ...]

    @classmethod
    def from_json(cls, o: Mapping[str, Any]) -> "EventStatus":
        return cls(id=str(o["id"]), digest=str(o["digest"]), sent=int(o["sent"]), received=int(o["received"]),
                   attempts=tuple(int(a) for a in o.get("attempts") or ()))


@dataclass(frozen=True)
class ClientReport:
    """`GET /clients/KEY`: the summary, the findings, each connection, and the events with ids."""

    summary: ClientSummary
    findings: tuple[Finding, ...]
    connections: tuple[Connection, ...]
    events: tuple[EventStatus, ...] = ()
    events_total: int = 0

    def findings_of(self, kind: str) -> list[Finding]:
        return [f for f in self.findings if f.kind == kind]

    @property
    def finding_kinds(self) -> list[str]:
        return [f.kind for f in self.findings]

    @classmethod
    def from_json(cls, o: Mapping[str, Any]) -> "ClientReport":
        events = tuple(EventStatus.from_json(e) for e in o.get("events") or ())
        return cls(
            summary=ClientSummary.from_json(o["summary"]),
            findings=tuple(Finding.from_json(f) for f in o.get("findings") or ()),
            connections=tuple(Connection.from_json(c) for c in o.get("connections") or ()),
            events=events,
            events_total=int(o.get("events_total", len(events))),
        )


@dataclass(frozen=True)
class Settings:
    """`GET /settings`: the runtime defaults and what is in force."""

    profile: Optional[str]
    seed: Optional[int]
    effective_profile: str
    effective_seed: int
    cli_profile: Optional[str]
    locked: bool

    @classmethod
    def from_json(cls, o: Mapping[str, Any]) -> "Settings":
        return cls(
            profile=_opt_str(o.get("profile")),
            seed=_opt_int(o.get("seed")),
            effective_profile=str(o.get("effective_profile", "passthrough")),
            effective_seed=int(o.get("effective_seed", 0)),
            cli_profile=_opt_str(o.get("cli_profile")),
            locked=bool(o.get("locked", False)),
        )


@dataclass(frozen=True)
class Profile:
    """One profile Sputter knows (`GET /profiles`)."""

    name: str
    description: str
    file: Optional[str] = None
    #: "file", "runtime" (defined with `define_profile`) or "built-in".
    origin: Optional[str] = None
    extra: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False)

    @classmethod
    def from_json(cls, o: Mapping[str, Any]) -> "Profile":
        return cls(name=str(o["name"]), description=str(o.get("description", "")).strip(), file=_opt_str(o.get("file")),
                   origin=_opt_str(o.get("origin")),
                   extra={k: v for k, v in o.items() if k not in ("name", "description", "file", "origin")})


@dataclass(frozen=True)
class ClientProgress:
    """How far a client has got (`GET /clients/KEY/wait`)."""

    connections: int
    open_connections: int
    reconnects: int
    #: Messages a spec-exact client dispatched from the bytes delivered, over all connections.
    dispatched: int
    delivered_bytes: int

    @classmethod
    def from_json(cls, o: Mapping[str, Any]) -> "ClientProgress":
        return cls(connections=int(o["connections"]), open_connections=int(o["open_connections"]),
                   reconnects=int(o["reconnects"]), dispatched=int(o["dispatched"]), delivered_bytes=int(o["delivered_bytes"]))


@dataclass(frozen=True)
class WaitResult:
    """The answer to a wait: the condition, whether it held, how long it took, where the client stands."""

    client: str
    condition: str
    met: bool
    waited_ms: int
    #: None when the ledger has not seen the client.
    progress: Optional[ClientProgress]
    #: On a timeout for a client the ledger does not know: the keys it does know.
    clients: tuple[str, ...] = ()

    @classmethod
    def from_json(cls, o: Mapping[str, Any]) -> "WaitResult":
        progress = o.get("progress")
        return cls(client=str(o["client"]), condition=str(o["condition"]), met=bool(o["met"]), waited_ms=int(o["waited_ms"]),
                   progress=None if progress is None else ClientProgress.from_json(progress),
                   clients=tuple(str(k) for k in o.get("clients", ())))
