"""Fixtures for the end-to-end suite: the demo origin and Sputter (once per session, ports picked by the
kernel), headless Chromium through Playwright (once per session), and the results table printed at the
end of the run (also written as JSON to $E2E_RESULTS, default .build/e2e-results.json).

Environment: SPUTTER (the binary; default .build/debug/sputter), CHROMIUM (default: chromium on PATH).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

import sputter_testing
from sputter_testing.plugin import ledger_file_problems

from harness import HTTP_TIMEOUT, REPO_ROOT, SPUTTER, START_TIMEOUT, DemoOriginProcess, Sputter, SputterProcess

E2E_DIR = Path(__file__).resolve().parent
RESULTS: list[dict] = []
RESULTS_FILE = Path(os.environ.get("E2E_RESULTS", REPO_ROOT / ".build" / "e2e-results.json"))


@pytest.fixture(scope="session")
def sputter_binary() -> Path:
    if not SPUTTER.is_file() or not os.access(SPUTTER, os.X_OK):
        pytest.exit(f"no Sputter binary at {SPUTTER}: run `swift build --product sputter` or set SPUTTER", returncode=2)
    return SPUTTER


@pytest.fixture(scope="session")
def demo_origin(sputter_binary: Path, tmp_path_factory: pytest.TempPathFactory):
    logs = tmp_path_factory.mktemp("origin")
    with DemoOriginProcess(sputter_binary, log_dir=logs, start_timeout=START_TIMEOUT, timeout=HTTP_TIMEOUT) as origin:
        yield origin


@pytest.fixture(scope="session")
def profiles_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The shipped profiles plus the suite's own (e2e/profiles), in one directory for --profiles."""
    directory = tmp_path_factory.mktemp("profiles")
    for source in sorted((REPO_ROOT / "Profiles").glob("*.yaml")) + sorted((E2E_DIR / "profiles").glob("*.yaml")):
        assert not (directory / source.name).exists(), f"profile {source.name} is both shipped and in e2e/profiles"
        shutil.copy(source, directory / source.name)
    return directory


@pytest.fixture(scope="session")
def sputter_server(sputter_binary: Path, demo_origin: DemoOriginProcess, profiles_dir: Path,
                   tmp_path_factory: pytest.TempPathFactory):
    logs = tmp_path_factory.mktemp("sputter")
    ledger = logs / "ledger.jsonl"
    process = SputterProcess(sputter_binary, [demo_origin.url], log_dir=logs, profiles=profiles_dir, ledger=ledger,
                             extra_args=["--log-level", "warning"], start_timeout=START_TIMEOUT)
    try:
        control = sputter_testing.Sputter(process.url, process.control_url, upstream=process.upstream, ledger_path=ledger,
                                          binary=sputter_binary, process=process, timeout=HTTP_TIMEOUT)
        server = Sputter(url=process.url, control=control, origin=demo_origin, ledger_file=ledger, process=process)
        assert server.control.health()
        yield server
    finally:
        status = process.stop()
    assert status == 0, f"sputter exited {status} after SIGTERM\n{process.output()}"
    assert ledger.exists(), f"no ledger file at {ledger}"
    problems = ledger_file_problems(ledger)
    assert not problems, "\n".join(problems)


@pytest.fixture
def sputter(sputter_server: Sputter) -> Sputter:
    """Sputter with no history: ledger and attempt counters reset, the origin's request log cleared."""
    sputter_server.control.reset()
    sputter_server.origin.clear_requests()
    return sputter_server


@pytest.fixture(scope="session")
def chromium_path() -> str:
    path = os.environ.get("CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.exit("no chromium on PATH (apt-get install chromium, or set CHROMIUM): scripts/test-e2e installs it",
                    returncode=2)
    return path


@pytest.fixture(scope="session")
def browser(chromium_path: str):
    """Headless Chromium (Debian's package) driven by Playwright; Playwright's own browser download is
    never used. --no-sandbox: the suite runs as root in CI containers."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path, headless=True, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture(scope="session")
def results() -> list[dict]:
    return RESULTS


# ---------------------------------------------------------------------------------------------------
# The table at the end of the run


def _table(rows: list[dict]) -> list[str]:
    header = ["profile", "client", "contract", "conns", "dispatched", "reconnects", "messages = ledger", "Last-Event-ID = ledger",
              "deviations found (expected findings)", "result"]
    body = []
    for r in rows:
        body.append([
            r["profile"], r["client"], r.get("contract") or "?", str(r["connections"]), str(r["dispatched"]), str(r["reconnects"]),
            f"{r['messages_agreed']}/{r['messages_checked']} conns" if r["messages_checked"] else "-",
            f"{r['ids_agreed']}/{r['ids_checked']}" if r["ids_checked"] else "-",
            ", ".join(sorted(r["deviations"])) or "none",
            r.get("result", "?"),
        ])
    widths = [max(len(row[i]) for row in [header] + body) for i in range(len(header))]
    fmt = lambda row: "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip()
    return [fmt(header), fmt(["-" * w for w in widths])] + [fmt(row) for row in body]


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if not RESULTS:
        return
    RESULTS_FILE.parent.mkdir(parents=True, exist_ok=True)
    RESULTS_FILE.write_text(json.dumps(RESULTS, indent=1, ensure_ascii=False))
    tr = terminalreporter
    tr.section("end-to-end results: each client through Sputter, against the ledger")
    for line in _table(RESULTS):
        tr.write_line(line)
    tr.write_line("")
    tr.write_line("contract: how the ledger judged the client (docs/LEDGER.md): the GET clients name none (the default "
                  "rule: eventsource), openai names once (test_contracts.py); e2e/README.md says why for each client")
    tr.write_line("messages = ledger: connections whose dispatched messages equal the ledger's spec-exact prediction, "
                  "message by message (type, data, last event ID)")
    tr.write_line("Last-Event-ID = ledger: reconnects that carried (as the origin saw it) the Last-Event-ID the ledger "
                  "expected")
    found: dict[tuple[str, str], list[str]] = {}
    for r in RESULTS:
        for kind, evidence in r["deviations"].items():
            found.setdefault((r["client"], kind), []).append(f"{r['profile']}: {evidence[0]}")
    if found:
        tr.write_line("")
        tr.write_line("deviations from the spec (each asserted as an expected finding):")
        for (client, kind), where in sorted(found.items()):
            tr.write_line(f"  {client} / {kind}: {len(where)} profile(s)")
            for w in where[:3]:
                tr.write_line(f"      {w[:220]}")
    tr.write_line(f"(results as JSON: {RESULTS_FILE})")
