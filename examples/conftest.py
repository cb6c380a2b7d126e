"""Fixtures for testing an SSE client through Sputter.

`sputter` (per test) gives a running Sputter in front of Sputter's demo origin, with the ledger and
the origin's request log cleared, and small clients for both:

    sputter.url                  http://127.0.0.1:PORT — point the client under test here
    sputter.control              the control API: reset(), clients(), client(key), settings(...)
    sputter.origin.requests()    what the origin saw (method, path, Last-Event-ID of each request)

Both processes are started once per session on ports the kernel picks (`--listen 127.0.0.1:0`; each
prints the address it got on its "listening" line) and stopped with SIGTERM at the end. The binary is
$SPUTTER, else .build/debug/sputter at the repository root.

To test against your own backend instead of the demo origin, replace `demo_origin` with your
server's URL (see README.md next to this file).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
SPUTTER = Path(shutil.which(os.environ["SPUTTER"]) or os.environ["SPUTTER"]).resolve() if os.environ.get("SPUTTER") \
    else REPO_ROOT / ".build" / "debug" / "sputter"
START_TIMEOUT = 30.0  # seconds for a process to print its "listening" line
STOP_TIMEOUT = 15.0  # seconds for a process to exit after SIGTERM


def wait_until(condition: Callable[[], Any], timeout: float, what: str, interval: float = 0.02) -> Any:
    """Polls `condition` until it returns something truthy, and returns that; fails after `timeout`."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            pytest.fail(f"timed out after {timeout:g}s waiting for {what}")
        time.sleep(interval)


class Process:
    """A child process whose stdout is read line by line on a thread (so it never blocks on a full
    pipe); stderr goes to a log file that failures quote."""

    def __init__(self, name: str, args: list[str], log_dir: Path):
        self.name = name
        self.args = args
        self.stderr_path = log_dir / f"{name}.stderr.log"
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr,
                                     cwd=REPO_ROOT, text=True, bufsize=1)
        self._reader = threading.Thread(target=self._read, name=f"{name}-stdout", daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()  # EOF: the process is exiting

    def output(self) -> str:
        stderr = self.stderr_path.read_text(errors="replace")[-4000:]
        return f"$ {' '.join(self.args)}\n--- stdout\n" + "\n".join(self.lines) + f"\n--- stderr (tail)\n{stderr}"

    def wait_for_line(self, pattern: str, timeout: float = START_TIMEOUT) -> re.Match:
        """Waits for a stdout line matching `pattern` (a regex); returns the match."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        with self._changed:
            while True:
                for line in self.lines[seen:]:
                    if m := regex.search(line):
                        return m
                seen = len(self.lines)
                if not self._reader.is_alive():
                    pytest.fail(f"{self.name} exited ({self.proc.wait()}) before printing /{pattern}/\n{self.output()}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    pytest.fail(f"{self.name} printed no line matching /{pattern}/ within {timeout:g}s\n{self.output()}")
                self._changed.wait(remaining)

    def stop(self) -> int:
        """SIGTERM, then wait for the exit; returns the exit status (kills and fails if it hangs)."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            pytest.fail(f"{self.name} did not exit within {STOP_TIMEOUT:g}s of SIGTERM\n{self.output()}")
        self._reader.join(STOP_TIMEOUT)
        self._stderr.close()
        return status


def http_json(method: str, url: str, body: Any = None, timeout: float = 10.0) -> tuple[int, Any]:
    """One JSON request; returns (status, parsed body). HTTP errors are returned, not raised."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method,
                                     headers={"Content-Type": "application/json"} if data is not None else {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"null")
    except urllib.error.HTTPError as error:
        raw = error.read()
        try:
            return error.code, json.loads(raw)
        except ValueError:
            return error.code, raw.decode(errors="replace")


class _Unset:
    def __repr__(self) -> str:
        return "UNSET"


UNSET: Any = _Unset()


class ControlAPI:
    """Sputter's control API (JSON over HTTP). See the README's "Control API" section."""

    def __init__(self, base_url: str):
        self.base_url = base_url

    def _call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200,)) -> Any:
        status, payload = http_json(method, self.base_url + path, body)
        if status not in ok:
            raise AssertionError(f"control API {method} {path} answered {status}: {payload}")
        return status, payload

    def health(self) -> bool:
        return self._call("GET", "/health")[1] == {"ok": True}

    def reset(self) -> None:
        """Forgets attempt counters and the ledger: the next connection of every client is attempt 1."""
        self._call("POST", "/reset")

    def clients(self) -> list[dict]:
        """Every client's summary (`GET /clients`)."""
        return self._call("GET", "/clients")[1]["clients"]

    def client(self, key: str) -> Optional[dict]:
        """One client's report, `{"summary", "findings", "connections"}`, or None when the ledger has
        not seen that key."""
        status, payload = self._call("GET", "/clients/" + urllib.parse.quote(key, safe=""), ok=(200, 404))
        return payload if status == 200 else None

    def connection(self, conn_id: int) -> dict:
        """One connection with its frames and fault decisions (`GET /connections/ID`)."""
        return self._call("GET", f"/connections/{conn_id}")[1]

    def settings(self, profile: Optional[str] = UNSET, seed: Optional[int] = UNSET) -> dict:
        """Reads the runtime defaults, or sets those given (None clears one): `settings(profile="lossy", seed=7)`."""
        changes = {k: v for k, v in (("profile", profile), ("seed", seed)) if v is not UNSET}
        if not changes:
            return self._call("GET", "/settings")[1]
        return self._call("PUT", "/settings", changes)[1]

    def settled_client(self, key: str, timeout: float = 15.0) -> dict:
        """The client's report once the ledger has it and none of its connections is still open (the
        client has closed, but Sputter may not have seen the close yet)."""
        def settled() -> Optional[dict]:
            report = self.client(key)
            return report if report and report["summary"]["open"] == 0 else None
        return wait_until(settled, timeout, f"the ledger to close every connection of client {key!r}")


class DemoOriginClient:
    def __init__(self, url: str):
        self.url = url

    def requests(self, path: Optional[str] = "/events") -> list[dict]:
        """What the origin saw, in order: `{"method", "path", "last_event_id"}` (None: no header)."""
        status, seen = http_json("GET", self.url + "/_origin/requests")
        assert status == 200, seen
        return [r for r in seen if path is None or r["path"] == path]

    def clear(self) -> None:
        status, _ = http_json("DELETE", self.url + "/_origin/requests")
        assert status == 200


@dataclass
class Sputter:
    url: str
    control: ControlAPI
    origin: DemoOriginClient
    ledger_file: Path
    process: Process


@pytest.fixture(scope="session")
def sputter_binary() -> Path:
    if not SPUTTER.is_file() or not os.access(SPUTTER, os.X_OK):
        pytest.exit(f"no Sputter binary at {SPUTTER}: run `swift build --product sputter` or set SPUTTER", returncode=2)
    return SPUTTER


@pytest.fixture(scope="session")
def demo_origin(sputter_binary: Path, tmp_path_factory: pytest.TempPathFactory):
    logs = tmp_path_factory.mktemp("logs")
    origin = Process("demo-origin", [str(sputter_binary), "demo-origin", "--listen", "127.0.0.1:0"], logs)
    try:
        m = origin.wait_for_line(r"listening on (http://[\d.]+:\d+)")
        yield DemoOriginClient(m.group(1))
    finally:
        origin.stop()


@pytest.fixture(scope="session")
def sputter_server(sputter_binary: Path, demo_origin: DemoOriginClient, tmp_path_factory: pytest.TempPathFactory):
    logs = tmp_path_factory.mktemp("sputter")
    ledger = logs / "ledger.jsonl"
    process = Process("sputter", [
        str(sputter_binary), "serve",
        "--listen", "127.0.0.1:0",
        "--control", "127.0.0.1:0",
        "--upstream", demo_origin.url,
        "--profiles", str(REPO_ROOT / "Profiles"),
        "--ledger", str(ledger),
    ], logs)
    try:
        url = process.wait_for_line(r"sputter listening on (http://[\d.]+:\d+)").group(1)
        control = process.wait_for_line(r"control API on (http://[\d.]+:\d+)").group(1)
        server = Sputter(url=url, control=ControlAPI(control), origin=demo_origin, ledger_file=ledger, process=process)
        assert server.control.health()
        yield server
    finally:
        status = process.stop()
    # Shutdown contract: SIGTERM exits 0, and the ledger file is complete JSON Lines.
    assert status == 0, f"sputter exited {status} after SIGTERM\n{process.output()}"
    for number, line in enumerate(ledger.read_text().splitlines(), 1):
        try:
            json.loads(line)
        except ValueError as error:
            raise AssertionError(f"{ledger}:{number} is not JSON ({error}): {line[:200]}") from None


@pytest.fixture
def sputter(sputter_server: Sputter) -> Sputter:
    """A Sputter with no history: ledger and attempt counters reset, no runtime profile or seed, the
    origin's request log cleared."""
    sputter_server.control.reset()
    sputter_server.control.settings(profile=None, seed=None)
    sputter_server.origin.clear()
    return sputter_server
