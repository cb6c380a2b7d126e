"""The pytest plugin (registered through the `pytest11` entry point, so installing the package enables it).

Fixtures:

- `sputter` — a `Sputter` in front of the test's upstream, with the ledger and attempt counters reset and
  the test's profile and seed in force. The upstream and profile come from
  `@pytest.mark.sputter(upstream=…, profile=…, seed=…)` (on the test, its class or its module; the
  closest wins per keyword) or, for the upstream, from the `sputter_upstream` fixture you override.
- `sputter_upstream` — override it (e.g. in conftest.py) to return your backend's URL, a list of URLs /
  `PREFIX=URL` routes, or anything with a `.url`.
- `sputter_binary` — the `sputter` executable: `--sputter-bin PATH`, else `$SPUTTER`, else `sputter` on PATH.
- `sputter_demo_origin` — Sputter's built-in SSE origin (`sputter demo-origin`) on a free port, for trying
  things out: `def sputter_upstream(sputter_demo_origin): return sputter_demo_origin.url`. Its
  `requests()` is what it received (the `Last-Event-ID` of each request, after Sputter).

One `sputter serve` process is started per distinct (upstream, profiles directory, extra args) on first
use, on ports the kernel picks, and kept for the session; it is stopped with SIGTERM at the end and must
exit 0 and leave a ledger file of complete JSON Lines. When a test that used `sputter` fails, the report gets a "sputter ledger" section with every
client's verdict.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generator, Iterable, Optional

import pytest

from .client import Sputter
from .process import DemoOriginProcess, SputterError, SputterProcess, find_binary

MARKER_KEYS = ("upstream", "profile", "seed", "profiles", "args")


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("sputter", "Sputter (fault-injecting SSE proxy)")
    group.addoption("--sputter-bin", action="store", dest="sputter_bin", default=None, metavar="PATH",
                    help="the sputter executable (default: $SPUTTER, else `sputter` on PATH)")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        "sputter(upstream=None, profile=None, seed=None, profiles=None, args=()): configure the `sputter` fixture — "
        "the upstream URL(s) it proxies, the profile and seed in force for the test, a profiles directory and "
        "extra `sputter serve` arguments.")


@dataclass(frozen=True)
class ServeConfig:
    upstream: tuple[str, ...]
    profiles: Optional[str]
    args: tuple[str, ...]


def marker_options(node: pytest.Item) -> dict[str, Any]:
    """The keywords of every `sputter` marker on the test, its class and module; the closest wins."""
    options: dict[str, Any] = {}
    for mark in node.iter_markers("sputter"):
        if mark.args:
            raise pytest.UsageError(f"{node.nodeid}: @pytest.mark.sputter takes keywords only "
                                    f"({', '.join(MARKER_KEYS)}), got positional {mark.args!r}")
        unknown = sorted(set(mark.kwargs) - set(MARKER_KEYS))
        if unknown:
            raise pytest.UsageError(f"{node.nodeid}: @pytest.mark.sputter: unknown keyword(s) {', '.join(unknown)}; "
                                    f"known: {', '.join(MARKER_KEYS)}")
        for key, value in mark.kwargs.items():
            options.setdefault(key, value)
    return options


def normalise_upstream(value: Any) -> tuple[str, ...]:
    """A URL, `PREFIX=URL`, something with a `.url`, or a sequence of those."""
    def one(v: Any) -> str:
        if isinstance(v, str):
            return v
        url = getattr(v, "url", None)
        if isinstance(url, str):
            return url
        raise pytest.UsageError(f"sputter upstream: expected a URL string (or an object with .url), got {v!r}")

    if isinstance(value, (str, bytes)) or hasattr(value, "url"):
        return (one(value),)
    if isinstance(value, Iterable):
        out = tuple(one(v) for v in value)
        if out:
            return out
    raise pytest.UsageError(f"sputter upstream: expected a URL or a list of URLs, got {value!r}")


class SputterPool:
    """The `sputter serve` processes of a session, one per ServeConfig, started on first use."""

    def __init__(self, config: pytest.Config, log_root: Path):
        self._config = config
        self._log_root = log_root
        self._binary: Optional[Path] = None
        self._servers: dict[ServeConfig, SputterProcess] = {}

    @property
    def binary(self) -> Path:
        if self._binary is None:
            try:
                self._binary = find_binary(self._config.getoption("sputter_bin"))
            except SputterError as error:
                pytest.fail(str(error), pytrace=False)
        return self._binary

    def get(self, serve: ServeConfig) -> SputterProcess:
        server = self._servers.get(serve)
        if server is not None and not server.running:
            del self._servers[serve]
            pytest.fail(f"Sputter exited during the session:\n{server.output()}", pytrace=False)
        if server is None:
            log_dir = self._log_root / f"serve-{len(self._servers) + 1}"
            try:
                server = SputterProcess(self.binary, serve.upstream, log_dir=log_dir, profiles=serve.profiles,
                                        extra_args=serve.args)
            except SputterError as error:
                pytest.fail(str(error), pytrace=False)
            self._servers[serve] = server
        return server

    def close(self) -> list[str]:
        problems: list[str] = []
        for server in self._servers.values():
            try:
                status = server.stop()
            except SputterError as error:
                problems.append(str(error))
                continue
            if status != 0:
                problems.append(f"sputter exited {status} after SIGTERM (expected 0)\n{server.output()}")
            problems += ledger_file_problems(server.ledger_path)
        self._servers.clear()
        return problems


def ledger_file_problems(path: Optional[Path]) -> list[str]:
    """After SIGTERM the ledger file must be complete JSON Lines: one problem per line that is not."""
    if path is None or not path.exists():
        return []
    problems = []
    for number, line in enumerate(path.read_text(errors="replace").splitlines(), 1):
        try:
            json.loads(line)
        except ValueError as error:
            problems.append(f"{path}:{number} is not JSON ({error}): {line[:200]}")
    return problems


@pytest.fixture(scope="session")
def _sputter_pool(pytestconfig: pytest.Config, tmp_path_factory: pytest.TempPathFactory) -> Generator[SputterPool, None, None]:
    pool = SputterPool(pytestconfig, tmp_path_factory.mktemp("sputter"))
    yield pool
    problems = pool.close()
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


@pytest.fixture(scope="session")
def sputter_binary(_sputter_pool: SputterPool) -> Path:
    """The `sputter` executable (`--sputter-bin`, `$SPUTTER`, or PATH)."""
    return _sputter_pool.binary


@pytest.fixture(scope="session")
def sputter_demo_origin(sputter_binary: Path, tmp_path_factory: pytest.TempPathFactory) -> Generator[DemoOriginProcess, None, None]:
    """Sputter's built-in SSE origin on a free port (`.url`)."""
    try:
        origin = DemoOriginProcess(sputter_binary, log_dir=tmp_path_factory.mktemp("demo-origin"))
    except SputterError as error:
        pytest.fail(str(error), pytrace=False)
    yield origin
    origin.stop()


@pytest.fixture
def sputter_upstream() -> Any:
    """The upstream the `sputter` fixture proxies when the test's marker names none. Override it."""
    pytest.fail(
        "the `sputter` fixture needs an upstream: mark the test with @pytest.mark.sputter(upstream=\"http://HOST:PORT\") "
        "or override the `sputter_upstream` fixture (e.g. in conftest.py) to return your backend's URL",
        pytrace=False)


@pytest.fixture
def sputter(request: pytest.FixtureRequest, _sputter_pool: SputterPool) -> Sputter:
    """A running Sputter for this test: ledger and attempt counters reset, the marker's profile and seed
    in force (passthrough when none)."""
    options = marker_options(request.node)
    upstream = options.get("upstream")
    if upstream is None:
        upstream = request.getfixturevalue("sputter_upstream")
    profiles = options.get("profiles")
    args = options.get("args") or ()
    if isinstance(args, str):
        args = args.split()
    serve = ServeConfig(normalise_upstream(upstream), None if profiles is None else os.fspath(profiles),
                        tuple(str(a) for a in args))
    server = _sputter_pool.get(serve)
    client = Sputter.attach(server)
    try:
        client.reset()
        client.set_profile(options.get("profile"), seed=options.get("seed"))
    except SputterError as error:
        pytest.fail(f"could not prepare Sputter for {request.node.nodeid}: {error}", pytrace=False)
    return client


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Generator[None, Any, None]:
    outcome = yield
    report = outcome.get_result()
    if call.when != "call" or not report.failed:
        return
    client = getattr(item, "funcargs", {}).get("sputter")
    if not isinstance(client, Sputter):
        return
    try:
        summaries = client.clients()
    except Exception as error:  # the report must not fail because Sputter is gone
        report.sections.append(("sputter ledger", f"(could not read the ledger: {error})"))
        return
    lines = [f"{client!r}"]
    if client.ledger_path is not None:
        lines.append(f"ledger file: {client.ledger_path}")
    if not summaries:
        lines.append("no client in the ledger (did the requests go through sputter.url(...)?)")
    for s in summaries:
        lines.append(f"client {s.key!r}: {s.verdict}")
    report.sections.append(("sputter ledger", "\n".join(lines)))


def pytest_report_header(config: pytest.Config) -> Optional[str]:
    try:
        return f"sputter: {find_binary(config.getoption('sputter_bin'))}"
    except SputterError:
        return None
