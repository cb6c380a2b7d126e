"""Processes and HTTP helpers for the end-to-end suite, on the `sputter_testing` package (clients/python):
its `SputterProcess` and `DemoOriginProcess` start the binaries on ports the kernel picks, and its control-API
client carries the calls. This suite reads the control API's JSON as dicts (it compares field by field,
including `message_list`, the ledger's dispatched messages), so `ControlAPI` returns them untyped.
"""

from __future__ import annotations

import os
import shutil
import urllib.parse
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Optional

import pytest
from sputter_testing import client as sputter_client
from sputter_testing.process import DemoOriginProcess, SputterProcess

REPO_ROOT = Path(__file__).resolve().parent.parent
SPUTTER = Path(shutil.which(os.environ["SPUTTER"]) or os.environ["SPUTTER"]).resolve() if os.environ.get("SPUTTER") \
    else REPO_ROOT / ".build" / "debug" / "sputter"
START_TIMEOUT = 60.0  # seconds for a process to print its "listening" line (a busy 2-core machine)
HTTP_TIMEOUT = 30.0


def wait_until(condition: Callable[[], Any], timeout: float, what: str) -> Any:
    """Polls `condition` until it returns something truthy, and returns that; fails the test after `timeout`."""
    try:
        return sputter_client.wait_until(condition, timeout)
    except TimeoutError:
        pytest.fail(f"timed out after {timeout:g}s waiting for {what}")


def json_api(base_url: str) -> sputter_client.Sputter:
    """A JSON-over-HTTP caller for `base_url` (`._call(method, path, body, ok)` → (status, parsed body))."""
    return sputter_client.Sputter(base_url, base_url, timeout=HTTP_TIMEOUT)


class ControlAPI:
    """Sputter's control API (JSON over HTTP); see the README's "Control API" section."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self._api = json_api(base_url)

    def _call(self, method: str, path: str, body: Any = None, ok: tuple[int, ...] = (200,)) -> tuple[int, Any]:
        return self._api._call(method, path, body, ok)

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
        self._api = json_api(url)

    def requests(self, path: Optional[str] = "/events") -> list[dict]:
        """What the origin saw, in order: `{"method", "path", "last_event_id"}` (None: no header)."""
        _, seen = self._api._call("GET", "/_origin/requests")
        return [r for r in seen if path is None or r["path"] == path]

    def clear(self) -> None:
        self._api._call("DELETE", "/_origin/requests")


@dataclass
class Sputter:
    url: str
    control: ControlAPI
    origin: DemoOriginClient
    ledger_file: Path
    process: SputterProcess
