"""`Sputter`: URLs through the proxy, and a typed client for its control API and ledger."""

from __future__ import annotations

import json
import os
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any, Callable, Mapping, Optional, Sequence, TypeVar, Union

from .models import ClientReport, ClientSummary, Connection, Finding, Profile, Settings, WaitResult
from .process import SputterError, SputterProcess

T = TypeVar("T")


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


#: "Leave this setting as it is" (as opposed to None, which clears it).
UNSET: Any = _Unset()


class ControlAPIError(SputterError):
    """The control API answered with an error status."""

    def __init__(self, method: str, path: str, status: int, body: Any):
        self.method = method
        self.path = path
        self.status = status
        self.body = body
        message = body.get("error") if isinstance(body, dict) and "error" in body else body
        super().__init__(f"control API {method} {path} answered {status}: {message}")


class WaitTimeout(SputterError, TimeoutError):
    """A wait's condition did not hold in time; `result` says where the client stands."""

    def __init__(self, key: str, result: WaitResult):
        self.result = result
        super().__init__(f"client {key!r}: {result.condition} not reached within {result.waited_ms} ms "
                         f"(progress: {result.progress})")


class Sputter:
    """A running Sputter: build URLs that go through it, select profiles, read the ledger.

    The pytest fixture `sputter` returns one of these, with the ledger and attempt counters reset and the
    test's profile (from `@pytest.mark.sputter(profile=…, seed=…)`) in force. Outside pytest, wrap a
    `SputterProcess` (see `launch`).
    """

    def __init__(self, base_url: str, control_url: str, *, upstream: Sequence[str] = (),
                 ledger_path: Optional[Path] = None, binary: Optional[Path] = None,
                 process: Optional[SputterProcess] = None, timeout: float = 10.0, token: Optional[str] = None):
        #: Where clients connect, e.g. http://127.0.0.1:40123 (no trailing slash).
        self.base_url = base_url.rstrip("/")
        #: The control API, e.g. http://127.0.0.1:40124.
        self.control_url = control_url.rstrip("/")
        self.upstream = tuple(upstream)
        #: The JSON Lines ledger Sputter writes (flushed at each connection's end), if any.
        self.ledger_path = ledger_path
        self.binary = binary
        self.process = process
        self.timeout = timeout
        #: The control token (`--control-token`), sent as `Authorization: Bearer`; default $SPUTTER_CONTROL_TOKEN.
        self.token = token if token is not None else os.environ.get("SPUTTER_CONTROL_TOKEN") or None
        #: The profile and seed the fixture selected for the current test (None: passthrough / Sputter's choice).
        self.profile: Optional[str] = None
        self.seed: Optional[int] = None

    @classmethod
    def attach(cls, process: SputterProcess) -> "Sputter":
        return cls(process.url, process.control_url, upstream=process.upstream, ledger_path=process.ledger_path,
                   binary=process.binary, process=process)

    def __repr__(self) -> str:
        return f"Sputter({self.base_url!r}, control={self.control_url!r}, upstream={list(self.upstream)!r}, profile={self.profile!r})"

    # MARK: URLs and headers

    def url(self, path: str = "/", *, profile: Optional[str] = None, client: Optional[str] = None,
            seed: Optional[int] = None) -> str:
        """The URL of `path` through Sputter, optionally naming a profile, a client key and a seed for this
        request (`sputter_profile`, `sputter_client`, `sputter_seed` query parameters; Sputter removes them
        before the request goes upstream). Keep the same `client` across a client's reconnects: attempts
        and findings are counted per client key.

        >>> sputter.url("/events?count=5", profile="lossy", client="feed")
        'http://127.0.0.1:40123/events?count=5&sputter_profile=lossy&sputter_client=feed'
        """
        if "://" in path.split("?", 1)[0]:
            raise ValueError(f"url() takes a path, not a URL: {path!r}")
        if not path.startswith("/"):
            path = "/" + path
        base, _, fragment = path.partition("#")
        route, sep, query = base.partition("?")
        params = [(k, v) for k, v in (("sputter_profile", profile), ("sputter_client", client),
                                      ("sputter_seed", None if seed is None else str(seed))) if v is not None]
        extra = urllib.parse.urlencode(params, quote_via=urllib.parse.quote)
        query = "&".join(q for q in (query, extra) if q)
        return self.base_url + route + ("?" + query if query else "") + ("#" + fragment if fragment else "")

    @staticmethod
    def headers(*, profile: Optional[str] = None, client: Optional[str] = None, seed: Optional[int] = None,
                last_event_id: Optional[str] = None, event_stream: bool = True) -> dict[str, str]:
        """Request headers for a stream through Sputter: `Accept: text/event-stream` (so the ledger records
        the exchange even when a fault answers 503 or 204 instead of a stream), and the Sputter-Profile,
        Sputter-Client, Sputter-Seed and Last-Event-ID headers that are given."""
        h: dict[str, str] = {}
        if event_stream:
            h["Accept"] = "text/event-stream"
        if profile is not None:
            h["Sputter-Profile"] = profile
        if client is not None:
            h["Sputter-Client"] = client
        if seed is not None:
            h["Sputter-Seed"] = str(seed)
        if last_event_id is not None:
            h["Last-Event-ID"] = last_event_id
        return h

    # MARK: Control API

    def _call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200,), *,
              timeout: Optional[float] = None) -> tuple[int, Any]:
        """One control-API call. `body` is sent as JSON, or as is when it is text (a YAML profile)."""
        if isinstance(body, str):
            data: Optional[bytes] = body.encode()
            content_type = "application/yaml"
        else:
            data = None if body is None else json.dumps(body).encode()
            content_type = "application/json"
        headers = {"Content-Type": content_type} if data is not None else {}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(self.control_url + path, data=data, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=timeout or self.timeout) as response:
                status, raw = response.status, response.read()
        except urllib.error.HTTPError as error:
            status, raw = error.code, error.read()
        except (urllib.error.URLError, OSError) as error:
            hint = ""
            if self.process is not None and not self.process.running:
                hint = f"\nSputter is not running:\n{self.process.output()}"
            raise SputterError(f"control API {method} {path}: {error}{hint}") from error
        try:
            payload = json.loads(raw) if raw else None
        except ValueError:
            payload = raw.decode(errors="replace")
        if status not in ok:
            raise ControlAPIError(method, path, status, payload)
        return status, payload

    def health(self) -> bool:
        """True when the control API answers `{"ok": true}`."""
        try:
            return bool(self._call("GET", "/health")[1] == {"ok": True})
        except SputterError:
            return False

    def profiles(self) -> list[Profile]:
        """Every profile Sputter loaded (name, description, file)."""
        return [Profile.from_json(p) for p in self._call("GET", "/profiles")[1]["profiles"]]

    def settings(self) -> Settings:
        """The runtime default profile and seed, and what is in force."""
        return Settings.from_json(self._call("GET", "/settings")[1])

    def set_profile(self, profile: Optional[str], seed: Optional[int] = UNSET) -> Settings:
        """Makes `profile` the default for requests that name none (None: back to Sputter's own default),
        and sets the seed too when given (None clears it). An unknown profile raises ControlAPIError (400)
        whose message lists the known ones."""
        changes: dict[str, Any] = {"profile": profile}
        if seed is not UNSET:
            changes["seed"] = seed
        self.profile = profile
        if seed is not UNSET:
            self.seed = seed
        return Settings.from_json(self._call("PUT", "/settings", changes)[1])

    def reset(self) -> None:
        """Forgets attempt counters and the in-memory ledger: the next connection of every client is attempt 1."""
        self._call("POST", "/reset")

    def clients(self) -> list[ClientSummary]:
        """Every client the ledger has seen since the last reset, in order of first connection."""
        return [ClientSummary.from_json(c) for c in self._call("GET", "/clients")[1]["clients"]]

    def client(self, key: str) -> Optional[ClientReport]:
        """One client's report (summary, findings, connections, events), or None when the ledger has not
        seen that key."""
        status, payload = self._call("GET", "/clients/" + urllib.parse.quote(key, safe=""), ok=(200, 404))
        return ClientReport.from_json(payload) if status == 200 else None

    def findings(self, key: str) -> list[Finding]:
        """The findings about one client (empty when it has none or is unknown)."""
        report = self.client(key)
        return list(report.findings) if report else []

    def connection(self, conn_id: int) -> Connection:
        """One connection with its frames (`frame_list`) and fault decisions (`fault_list`)."""
        return Connection.from_json(self._call("GET", f"/connections/{int(conn_id)}")[1])

    def wait_settled(self, key: str, timeout: float = 15.0, *, connections: int = 1, interval: float = 0.02) -> ClientReport:
        """The client's report once the ledger has at least `connections` of its connections and none is
        still open. Use it after your client has stopped: Sputter may not have seen the close yet.

        Raises TimeoutError (with what the ledger had) after `timeout` seconds."""
        last: list[Optional[ClientReport]] = [None]

        def settled() -> Optional[ClientReport]:
            report = self.client(key)
            last[0] = report
            if report and report.summary.open_connections == 0 and len(report.connections) >= connections:
                return report
            return None

        try:
            return wait_until(settled, timeout, interval=interval)
        except TimeoutError:
            report = last[0]
            seen = "nothing" if report is None else (
                f"{len(report.connections)} connection(s), {report.summary.open_connections} open: {report.summary.verdict}")
            raise TimeoutError(f"client {key!r} did not settle within {timeout:g}s "
                               f"(wanted >= {connections} closed connection(s)); the ledger has {seen}") from None

    # MARK: Driving faults as the test goes

    def define_profile(self, profile: Union[str, Mapping[str, Any]]) -> dict[str, Any]:
        """Defines (or replaces) a runtime profile, as YAML/JSON text or a dict (sent as JSON). It is listed
        with origin "runtime", used by the next connections that name it, and kept across reloads. An
        invalid profile raises ControlAPIError (400) whose body has the `line` and `field`."""
        return self._call("POST", "/profiles", profile if isinstance(profile, str) else dict(profile), ok=(201,))[1]

    def delete_profile(self, name: str) -> None:
        """Removes a profile defined with `define_profile` (a file's profile of that name is back in force)."""
        self._call("DELETE", "/profiles/" + urllib.parse.quote(name, safe=""))

    def next(self, key: str, *, faults: Optional[Sequence[Mapping[str, Any]]] = None,
             respond: Optional[Mapping[str, Any]] = None, count: int = 1) -> int:
        """The client's next `count` attempts take these faults instead of their profile's, e.g.
        `sputter.next("feed", respond={"status": 503, "retry_after": 2})` or
        `sputter.next("feed", faults=[{"disconnect": {"after_events": 3, "kind": "rst"}}])`.
        Returns how many attempts are queued for the client now."""
        body: dict[str, Any] = {"count": count}
        if faults is not None:
            body["faults"] = [dict(f) for f in faults]
        if respond is not None:
            body["respond"] = dict(respond)
        return int(self._call("POST", "/clients/" + urllib.parse.quote(key, safe="") + "/next", body, ok=(201,))[1]["pending"])

    def clear_next(self, key: str) -> int:
        """Forgets what `next` queued for the client; returns how many attempts were dropped."""
        return int(self._call("DELETE", "/clients/" + urllib.parse.quote(key, safe="") + "/next")[1]["dropped"])

    # MARK: Live actions on a client's open streams

    def _live(self, key: str, verb: str, body: Mapping[str, Any]) -> dict[str, Any]:
        return dict(self._call("POST", "/clients/" + urllib.parse.quote(key, safe="") + "/" + verb, dict(body))[1])

    def cut(self, key: str, kind: str = "rst", *, after_events: Optional[int] = None) -> dict[str, Any]:
        """Ends the client's open streams: `kind` "rst", "fin" or "clean" (a complete chunked end, then FIN);
        now, or after `after_events` more events reach the client. Returns the answer (`connections`: ids acted on).
        Raises ControlAPIError (404 unknown client, 409 no open stream)."""
        body: dict[str, Any] = {"kind": kind}
        if after_events is not None:
            body["after_events"] = after_events
        return self._live(key, "cut", body)

    def stall(self, key: str, *, heartbeats: bool = False) -> dict[str, Any]:
        """Holds the client's open streams with their sockets open (comment-only frames pass with `heartbeats`)."""
        return self._live(key, "stall", {"heartbeats": True} if heartbeats else {})

    def resume(self, key: str) -> dict[str, Any]:
        """Lets stalled streams go on: what was held is written in order."""
        return self._live(key, "resume", {})

    def inject(self, key: str, *, raw: Optional[str] = None, event: Optional[str] = None, data: Optional[str] = None,
               id: Optional[str] = None) -> dict[str, Any]:
        """Writes one event into the client's open streams, between frames: `raw` (ending with a blank line)
        or `data` with optional `event` and `id`."""
        if raw is not None:
            return self._live(key, "inject", {"raw": raw})
        body: dict[str, Any] = {"data": data if data is not None else ""}
        if event is not None:
            body["event"] = event
        if id is not None:
            body["id"] = id
        return self._live(key, "inject", body)

    def faults(self, key: str, faults: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """The client's open streams take this fault list (profile syntax) from now on."""
        return self._live(key, "faults", {"faults": [dict(f) for f in faults]})

    def wait(self, key: str, *, received: Optional[int] = None, reconnected: Optional[int] = None,
             settled: bool = False, quiet_ms: Optional[int] = None, timeout: float = 10.0) -> WaitResult:
        """Waits, without sleeping, until the client has `received` messages (what a spec-exact client
        dispatched from the bytes delivered), `reconnected` times, or is `settled` (no new connection or
        message for `quiet_ms`, default 250). Sputter answers as soon as the condition holds; after
        `timeout` seconds this raises WaitTimeout with the client's progress."""
        params: list[tuple[str, str]] = []
        if received is not None:
            params.append(("received", str(received)))
        if reconnected is not None:
            params.append(("reconnected", str(reconnected)))
        if settled:
            params.append(("settled", ""))
        if quiet_ms is not None:
            params.append(("quiet_ms", str(quiet_ms)))
        params.append(("timeout_ms", str(int(timeout * 1000))))
        path = "/clients/" + urllib.parse.quote(key, safe="") + "/wait?" + urllib.parse.urlencode(params)
        status, payload = self._call("GET", path, ok=(200, 408), timeout=timeout + self.timeout)
        result = WaitResult.from_json(payload)
        if status == 408:
            raise WaitTimeout(key, result)
        return result

    # MARK: Ledger file

    def ledger_records(self) -> list[dict[str, Any]]:
        """The ledger file's records so far (written at each connection's end), oldest first."""
        if self.ledger_path is None:
            raise SputterError("this Sputter writes no ledger file")
        if not self.ledger_path.exists():
            return []
        return [json.loads(line) for line in self.ledger_path.read_text().splitlines() if line.strip()]

    def html_report(self, path: Union[str, "os.PathLike[str]"]) -> Path:
        """Writes the visual report of the ledger file so far (`sputter ledger FILE --html PATH`)."""
        if self.ledger_path is None or self.binary is None:
            raise SputterError("html_report needs the ledger file and the binary (a Sputter started by this package)")
        out = Path(path)
        result = subprocess.run([str(self.binary), "ledger", str(self.ledger_path), "--html", str(out)],
                                capture_output=True, text=True, timeout=60)
        if result.returncode != 0:
            raise SputterError(f"sputter ledger --html failed ({result.returncode}): {result.stderr.strip()}")
        return out

    # MARK: What the client says it got

    def observed(self, key: str, messages: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
        """Diffs the messages the client under test dispatched against what a spec-exact client dispatched
        from the bytes delivered (`POST /clients/KEY/observed`). Each message: `type` (default "message"),
        `data`, and optionally `id` (its last event ID) and `connection` (1 for the key's first connection).
        Returns `{"ok", "matched", "missing", "unexpected", "differs", "uncertain", "complete", "diff": [...]}`."""
        path = "/clients/" + urllib.parse.quote(key, safe="") + "/observed"
        _, payload = self._call("POST", path, {"messages": [dict(m) for m in messages]})
        return payload

    def settle(self, key: str, *, quiet_ms: Optional[int] = None, timeout: float = 30.0) -> ClientReport:
        """Waits until the client is settled (no new connection or message for `quiet_ms`, default 250) and
        any reconnect its contract still owes is overdue, then has Sputter judge it (a client that should
        have come back and did not is a `gaveUp` finding) and returns its report. Raises WaitTimeout after
        `timeout` seconds."""
        params = [("settled", ""), ("judge", "1"), ("timeout_ms", str(int(timeout * 1000)))]
        if quiet_ms is not None:
            params.append(("quiet_ms", str(quiet_ms)))
        path = "/clients/" + urllib.parse.quote(key, safe="") + "/wait?" + urllib.parse.urlencode(params)
        status, payload = self._call("GET", path, ok=(200, 408), timeout=timeout + self.timeout)
        if status == 408 or payload.get("report") is None:
            raise WaitTimeout(key, WaitResult.from_json(payload))
        return ClientReport.from_json(payload["report"])


def wait_until(condition: Callable[[], Optional[T]], timeout: float, *, interval: float = 0.02) -> T:
    """Polls `condition` until it returns something truthy and returns that; TimeoutError after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise TimeoutError(f"condition not met within {timeout:g}s")
        time.sleep(interval)
