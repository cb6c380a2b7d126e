"""Processes and HTTP helpers for the end-to-end suite: the demo origin and Sputter as child processes
on ports the kernel picks, Sputter's control API, and the demo origin's request log.

The same patterns as examples/conftest.py (not imported from there: examples/ is a stand-alone
example to copy), plus `ControlAPI.messages()` for the ledger's dispatched-message list.
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
START_TIMEOUT = 60.0  # seconds for a process to print its "listening" line (a busy 2-core machine)
STOP_TIMEOUT = 20.0  # seconds for a process to exit after SIGTERM


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
    """A child process whose stdout is read line by line on a thread; stderr goes to a log file."""

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
            self._changed.notify_all()

    def output(self) -> str:
        stderr = self.stderr_path.read_text(errors="replace")[-4000:]
        return f"$ {' '.join(self.args)}\n--- stdout\n" + "\n".join(self.lines) + f"\n--- stderr (tail)\n{stderr}"

    def wait_for_line(self, pattern: str, timeout: float = START_TIMEOUT) -> re.Match:
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
        """SIGTERM, then wait; returns the exit status (kills it and fails if it hangs)."""
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


def http_json(method: str, url: str, body: Any = None, timeout: float = 30.0) -> tuple[int, Any]:
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


class ControlAPI:
    """Sputter's control API (JSON over HTTP); see the README's "Control API" section."""

    def __init__(self, base_url: str):
        self.base_url = base_url

    def _call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200,)) -> tuple[int, Any]:
        status, payload = http_json(method, self.base_url + path, body)
        if status not in ok:
            raise AssertionError(f"control API {method} {path} answered {status}: {payload}")
        return status, payload

    def health(self) -> bool:
        return self._call("GET", "/health")[1] == {"ok": True}

    def reset(self) -> None:
        self._call("POST", "/reset")

    def settings(self, **changes: Any) -> dict:
        return self._call("PUT", "/settings", changes)[1] if changes else self._call("GET", "/settings")[1]

    def client(self, key: str) -> Optional[dict]:
        """`{"summary", "findings", "connections", "events"}`, or None when the ledger has not seen `key`."""
        status, payload = self._call("GET", "/clients/" + urllib.parse.quote(key, safe=""), ok=(200, 404))
        return payload if status == 200 else None

    def connection(self, conn_id: int) -> dict:
        """One connection with `frame_list`, `fault_list` and `message_list` (what a spec-exact client dispatched)."""
        return self._call("GET", f"/connections/{conn_id}")[1]

    def settled_client(self, key: str, timeout: float = 30.0) -> dict:
        """The client's report once none of its connections is still open."""
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
