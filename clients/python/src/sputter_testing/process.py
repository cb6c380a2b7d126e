"""Starting and stopping the `sputter` binary: `sputter serve` in front of an upstream, and the built-in
`sputter demo-origin`.

Both listen on port 0 (the kernel picks a free port) and the real addresses are read from the lines the
binary prints on stdout ("sputter listening on http://…", "control API on http://…", "demo origin
listening on http://…"). Stdout is read on a thread so the child never blocks on a full pipe; stderr goes
to a log file whose tail is quoted in every error.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional, Sequence, TypeVar, Union

START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0

PathLike = Union[str, "os.PathLike[str]"]


class SputterError(Exception):
    """Sputter could not be found, started or stopped, or its control API answered an error."""


class SputterNotFound(SputterError):
    pass


def find_binary(explicit: Optional[PathLike] = None) -> Path:
    """The `sputter` executable: `explicit` if given, else `$SPUTTER`, else `sputter` on PATH.

    A bare name is looked up on PATH; a relative path is taken relative to the current directory.
    """
    if explicit:
        source, value = "--sputter-bin", os.fspath(explicit)
    elif os.environ.get("SPUTTER"):
        source, value = "$SPUTTER", os.environ["SPUTTER"]
    else:
        source, value = "PATH", "sputter"
    if os.sep not in value:
        found = shutil.which(value)
        if found:
            return Path(found).resolve()
        if source == "PATH":
            raise SputterNotFound(
                "no `sputter` on PATH: build it (`swift build --product sputter`) and pass --sputter-bin PATH "
                "or set SPUTTER=PATH")
    path = Path(value).expanduser().resolve()
    if not path.is_file() or not os.access(path, os.X_OK):
        raise SputterNotFound(f"{source}: {value} is not an executable file")
    return path


class _Child:
    """A child process whose stdout lines are collected on a thread."""

    def __init__(self, name: str, args: Sequence[str], log_dir: Path, cwd: Optional[PathLike] = None):
        self.name = name
        self.args = list(args)
        log_dir.mkdir(parents=True, exist_ok=True)
        self.stderr_path = log_dir / f"{name}.stderr.log"
        self.lines: list[str] = []
        self._changed = threading.Condition()
        self._stderr = open(self.stderr_path, "wb")
        try:
            self.proc = subprocess.Popen(self.args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=self._stderr,
                                         cwd=cwd, text=True, bufsize=1)
        except OSError as error:
            self._stderr.close()
            raise SputterError(f"cannot start {self.args[0]}: {error}") from error
        self._reader = threading.Thread(target=self._read, name=f"{name}-stdout", daemon=True)
        self._reader.start()
        self.exit_status: Optional[int] = None

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._changed:
                self.lines.append(line.rstrip("\n"))
                self._changed.notify_all()
        with self._changed:
            self._changed.notify_all()

    def output(self) -> str:
        try:
            stderr = self.stderr_path.read_text(errors="replace")[-4000:]
        except OSError:
            stderr = ""
        return f"$ {' '.join(self.args)}\n--- stdout\n" + "\n".join(self.lines[-40:]) + f"\n--- stderr (tail)\n{stderr}"

    def wait_for_line(self, pattern: str, timeout: float = START_TIMEOUT) -> "re.Match[str]":
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        seen = 0
        with self._changed:
            while True:
                for line in self.lines[seen:]:
                    m = regex.search(line)
                    if m:
                        return m
                seen = len(self.lines)
                if not self._reader.is_alive():
                    status = self.proc.wait()
                    raise SputterError(f"{self.name} exited ({status}) before printing /{pattern}/\n{self.output()}")
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise SputterError(f"{self.name} printed no line matching /{pattern}/ within {timeout:g}s\n{self.output()}")
                self._changed.wait(remaining)

    @property
    def running(self) -> bool:
        return self.proc.poll() is None

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM and wait; SIGKILL (and an error) if it does not exit in time. Returns the exit status."""
        if self.exit_status is not None:
            return self.exit_status
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            status = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self._close()
            raise SputterError(f"{self.name} did not exit within {timeout:g}s of SIGTERM\n{self.output()}") from None
        self._close()
        self.exit_status = status
        return status

    def _close(self) -> None:
        self._reader.join(STOP_TIMEOUT)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._stderr.close()


_R = TypeVar("_R", bound="_Running")


class _Running:
    """A started `_Child`: its addresses read from its stdout, its output, `stop()`, and `with` support."""

    _child: _Child

    def _address(self, pattern: str, timeout: float) -> str:
        """The first group of the first stdout line matching `pattern`; on failure the child is stopped."""
        try:
            return self._child.wait_for_line(pattern, timeout).group(1)
        except BaseException:
            try:
                self._child.stop()
            except SputterError:
                pass
            raise

    def output(self) -> str:
        """The command line, stdout and the tail of stderr, for error messages."""
        return self._child.output()

    def stop(self) -> int:
        """SIGTERM and wait; returns the exit status."""
        return self._child.stop()

    def __enter__(self: _R) -> _R:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


class SputterProcess(_Running):
    """A running `sputter serve` on loopback ports the kernel picked.

    `url` is where clients connect, `control_url` the control API, `ledger_path` the JSON Lines ledger.
    Use as a context manager, or call `stop()` (SIGTERM: Sputter ends its streams, flushes the ledger and
    exits 0; the exit status is returned).
    """

    def __init__(self, binary: Path, upstream: Sequence[str], *, log_dir: Optional[PathLike] = None,
                 profiles: Optional[PathLike] = None, profile: Optional[str] = None, seed: Optional[int] = None,
                 ledger: Union[PathLike, bool] = True, extra_args: Sequence[str] = (), cwd: Optional[PathLike] = None,
                 start_timeout: float = START_TIMEOUT):
        if not upstream:
            raise SputterError("no upstream: give at least one URL (or PREFIX=URL)")
        self.binary = Path(binary)
        self.upstream = tuple(upstream)
        self.log_dir = Path(log_dir) if log_dir is not None else Path(tempfile.mkdtemp(prefix="sputter-"))
        self.ledger_path: Optional[Path]
        if ledger is True:
            self.ledger_path = self.log_dir / "ledger.jsonl"
        elif ledger is False:
            self.ledger_path = None
        else:
            self.ledger_path = Path(ledger)
        args = [str(self.binary), "serve", "--listen", "127.0.0.1:0", "--control", "127.0.0.1:0"]
        for u in self.upstream:
            args += ["--upstream", u]
        if profiles is not None:
            args += ["--profiles", os.fspath(profiles)]
        if profile is not None:
            args += ["--profile", profile]
        if seed is not None:
            args += ["--seed", str(seed)]
        if self.ledger_path is not None:
            args += ["--ledger", str(self.ledger_path)]
        args += list(extra_args)
        self._child = _Child("sputter", args, self.log_dir, cwd=cwd)
        self.url: str = self._address(r"sputter listening on (http://[^\s]+)", start_timeout)
        self.control_url: str = self._address(r"control API on (http://[^\s]+)", start_timeout)

    @property
    def running(self) -> bool:
        return self._child.running

    @property
    def stdout_lines(self) -> list[str]:
        return list(self._child.lines)


@dataclass(frozen=True)
class OriginRequest:
    """A request the demo origin received (`GET /_origin/requests`)."""

    method: str
    path: str
    #: The Last-Event-ID header it carried (None: no header).
    last_event_id: Optional[str]


class DemoOriginProcess(_Running):
    """A running `sputter demo-origin` (SSE at /events with ids, `count`, `interval_ms`, `retry`…; see the README).

    `requests()` is what it received — after Sputter's faults and header removals, so a test can check
    the `Last-Event-ID` each reconnect really carried upstream; `clear_requests()` empties that log.
    """

    def __init__(self, binary: Path, *, log_dir: Optional[PathLike] = None, start_timeout: float = START_TIMEOUT,
                 timeout: float = 10.0):
        self.log_dir = Path(log_dir) if log_dir is not None else Path(tempfile.mkdtemp(prefix="sputter-origin-"))
        self.timeout = timeout
        self._child = _Child("demo-origin", [str(binary), "demo-origin", "--listen", "127.0.0.1:0"], self.log_dir)
        self.url: str = self._address(r"listening on (http://[^\s]+)", start_timeout)

    def _call(self, method: str, path: str) -> Any:
        request = urllib.request.Request(self.url + path, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                raw = response.read()
        except (urllib.error.URLError, OSError) as error:
            raise SputterError(f"demo origin {method} {path}: {error}\n{self.output()}") from error
        return json.loads(raw) if raw else None

    def requests(self, path: Optional[str] = "/events") -> list[OriginRequest]:
        """What the origin received, oldest first; only requests for `path` (None: all)."""
        return [OriginRequest(method=str(r["method"]), path=str(r["path"]),
                              last_event_id=None if r.get("last_event_id") is None else str(r["last_event_id"]))
                for r in self._call("GET", "/_origin/requests") if path is None or r["path"] == path]

    def clear_requests(self) -> None:
        """Forgets the requests received so far."""
        self._call("DELETE", "/_origin/requests")
