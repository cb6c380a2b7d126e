"""Three Sputter instances behind nginx's consistent `hash` on the client key, on 127.0.0.1, with the demo
origin behind them — the Kubernetes example's balancer configuration and profiles, run locally.

Clients (each a client key, sent as the Sputter-Client header, as the sputter_client parameter, both in
turn, or not at all) read a stream under `fleet-churn` (every attempt reset after 5 events) and
reconnect with Last-Event-ID until they have the last event. Then: every attempt of a client landed
on one instance (from each instance's ledger), and `sputter ledger a.jsonl b.jsonl c.jsonl` gives one
report covering every client with its attempt count. A second fleet behind a round-robin nginx (the
hash line removed: a mis-configured balancer) must be reported as split clients."""

from __future__ import annotations

import bisect
import http.client
import json
import re
import shutil
import socket
import subprocess
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

import pytest

from support import SPUTTER, DemoOriginProcess, SputterProcess, find, mount_config_map, wait_until

LAST_ID = 20                   # the demo origin ends the stream after this id
STREAM = f"/events?count={LAST_ID}&interval_ms=0&heartbeat_ms=60000"
MAX_ATTEMPTS = 30              # a client that needs more is broken; the test fails instead of looping


# --- nginx -----------------------------------------------------------------------------------------------

def nginx_binary() -> str:
    found = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if found is None:
        pytest.fail("nginx is not installed (scripts/test-fleet installs nginx-light with apt)")
    return found


def local_fleet_conf(conf: str, ports: list[int], listen_port: int, transform: Callable[[str], str] = lambda c: c) -> str:
    """The example's balancer file with its `server sputter-N.sputter:8080 …;` lines pointed at local
    instances (their parameters kept) and `listen` at a loopback port."""
    servers = list(re.finditer(r"^(\s*)server\s+sputter-\d+\.sputter:\d+(.*);\n", conf, re.M))
    assert len(servers) == len(ports), f"the balancer lists {len(servers)} servers, the test runs {len(ports)} instances"
    indent, params = servers[0].group(1), servers[0].group(2)
    local = "".join(f"{indent}server 127.0.0.1:{p}{params};\n" for p in ports)
    conf = conf[:servers[0].start()] + local + conf[servers[-1].end():]
    conf, n = re.subn(r"^(\s*)listen \d+;", rf"\g<1>listen 127.0.0.1:{listen_port};", conf, flags=re.M)
    assert n == 1
    return transform(conf)


def nginx_main_conf(prefix: Path, fleet_conf: str) -> Path:
    """A main nginx.conf that includes `fleet_conf` in http { }, everything under `prefix`."""
    (prefix / "sputter-fleet.conf").write_text(fleet_conf)
    version = subprocess.run([nginx_binary(), "-V"], capture_output=True, text=True).stderr
    temp = "".join(f"    {m}_temp_path {prefix}/{m}_temp;\n" for m in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
                   if m == "client_body" or f"--without-http_{m}_module" not in version)
    main = prefix / "nginx.conf"
    main.write_text(f"""pid {prefix}/nginx.pid;
error_log {prefix}/error.log info;
worker_processes 1;
events {{ worker_connections 512; }}
http {{
    access_log {prefix}/access.log;
{temp}    include {prefix}/sputter-fleet.conf;
}}
""")
    return main


def chash_server(key: str, servers: list[str]) -> str:
    """Which `server` nginx's `hash KEY consistent` picks for `key` (ngx_http_upstream_hash_module: 160
    points per server on a CRC32 ring, point i = crc32(host \\0 port point(i-1) as 4 little-endian bytes);
    the key goes to the first point at or above crc32(key), wrapping around)."""
    points = []
    for server in servers:
        host, _, port = server.rpartition(":")
        base, prev = (host + "\0" + port).encode(), 0
        for _ in range(160):
            prev = zlib.crc32(base + prev.to_bytes(4, "little"))
            points.append((prev, server))
    points.sort(key=lambda p: p[0])
    h = zlib.crc32(key.encode())
    hashes = [p[0] for p in points]
    return points[bisect.bisect_left(hashes, h) % len(points)][1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- the fleet ---------------------------------------------------------------------------------------------

@dataclass
class Fleet:
    ledgers: list[Path]
    instances: list[SputterProcess]
    ports: list[int]           # each instance's proxy port, in ledger order
    balancer_port: int
    nginx: subprocess.Popen
    prefix: Path

    def instance_of_port(self, port: int) -> int:
        return self.ports.index(port)

    def stop(self) -> None:
        """Stops nginx and the instances (SIGTERM: their ledgers are complete afterwards)."""
        if self.nginx.poll() is None:
            self.nginx.terminate()
            self.nginx.wait(15)
        for p in self.instances:
            assert p.stop() == 0, p.output()


@pytest.fixture(scope="module")
def origin(tmp_path_factory):
    logs = tmp_path_factory.mktemp("origin")
    process = DemoOriginProcess(SPUTTER, log_dir=logs)
    yield process.url
    process.stop()


@pytest.fixture(scope="module")
def profiles(tmp_path_factory):
    """The example's profile ConfigMap, mounted the kubelet's way."""
    return mount_config_map(find("ConfigMap", "sputter-profiles"), tmp_path_factory.mktemp("k8s") / "profiles")


def start_fleet(directory: Path, origin: str, profiles: Path, transform: Callable[[str], str] = lambda c: c) -> Fleet:
    instances, ports, ledgers = [], [], []
    for name in "abc":
        ledger = directory / f"{name}.jsonl"
        p = SputterProcess(SPUTTER, [origin], log_dir=directory / f"sputter-{name}", profiles=profiles, profile="fleet-churn",
                           ledger=ledger, extra_args=["--log-level", "warning"])
        instances.append(p)
        ledgers.append(ledger)
        ports.append(int(p.url.rsplit(":", 1)[1]))
    balancer_port = free_port()
    conf = local_fleet_conf(find("ConfigMap", "sputter-balancer")["data"]["sputter-fleet.conf"], ports, balancer_port, transform)
    main = nginx_main_conf(directory, conf)
    nginx = subprocess.Popen([nginx_binary(), "-p", str(directory), "-c", str(main), "-g", "daemon off;"],
                             stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=open(directory / "nginx.stderr", "wb"))

    def accepting() -> bool:
        if nginx.poll() is not None:
            pytest.fail(f"nginx exited ({nginx.returncode}): {(directory / 'nginx.stderr').read_text()}"
                        f"{(directory / 'error.log').read_text() if (directory / 'error.log').exists() else ''}")
        try:
            socket.create_connection(("127.0.0.1", balancer_port), timeout=1).close()
            return True
        except OSError:
            return False
    wait_until(accepting, 30)  # nginx accepts connections
    return Fleet(ledgers, instances, ports, balancer_port, nginx, directory)


# --- a small reconnecting SSE client ---------------------------------------------------------------------

@dataclass
class Client:
    """Reads the stream through the balancer until it has event LAST_ID, reconnecting as EventSource does:
    after the reconnection time (the stream's `retry:`), with Last-Event-ID. `send` says how the key
    travels on each attempt: "header", "query", "both-alternating" or "none"."""
    key: Optional[str]
    send: str
    attempts: int = 0
    instances: list[str] = field(default_factory=list)   # the Sputter-Instance header of each attempt
    statuses: list[int] = field(default_factory=list)    # not 200 (nginx's 502 for an instance that reset too early): just another attempt
    last_id: str = ""
    error: Optional[str] = None

    def run(self, port: int) -> None:
        try:
            self._run(port)
        except Exception as e:  # reported by the test, never lost in a thread
            self.error = f"{type(e).__name__}: {e}"

    def _run(self, port: int) -> None:
        retry_ms = 3000
        while self.last_id != str(LAST_ID):
            if self.attempts >= MAX_ATTEMPTS:
                raise AssertionError(f"no event {LAST_ID} after {MAX_ATTEMPTS} attempts (last id {self.last_id!r})")
            self.attempts += 1
            how = self.send if self.send != "both-alternating" else ("header" if self.attempts % 2 else "query")
            path, headers = STREAM, {"Accept": "text/event-stream"}
            if how == "header":
                headers["Sputter-Client"] = self.key
            elif how == "query":
                path += "&sputter_client=" + self.key
            if self.last_id:
                headers["Last-Event-ID"] = self.last_id
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                self.instances.append(response.getheader("Sputter-Instance", ""))
                self.statuses.append(response.status)
                pending_id, data = None, False
                while True:
                    line = response.readline()
                    if not line:
                        break
                    line = line.decode().rstrip("\r\n")
                    if line == "":
                        if data and pending_id is not None:
                            self.last_id = pending_id
                        data = False
                    elif line.startswith("id:"):
                        pending_id = line[3:].lstrip(" ")
                    elif line.startswith("retry:") and line[6:].strip().isdigit():
                        retry_ms = int(line[6:].strip())
                    elif line.startswith("data:"):
                        data = True
            except (http.client.HTTPException, OSError):
                pass  # the attempt ended abruptly (the profile resets it): reconnect
            finally:
                conn.close()
            if self.last_id != str(LAST_ID):
                time.sleep(retry_ms / 1000)


def run_clients(clients: list[Client], port: int) -> None:
    threads = [threading.Thread(target=c.run, args=(port,), daemon=True) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
        assert not t.is_alive(), "a client did not finish within 120 s"
    assert [c.error for c in clients if c.error] == []


def opens_by_instance(fleet: Fleet) -> dict[str, dict[int, int]]:
    """client key → {instance index: connection_open records}, from each instance's ledger file."""
    seen: dict[str, dict[int, int]] = {}
    for i, ledger in enumerate(fleet.ledgers):
        for line in ledger.read_text().splitlines():
            record = json.loads(line)
            if record["type"] == "connection_open":
                per = seen.setdefault(record["client"], {})
                per[i] = per.get(i, 0) + 1
    return seen


def merged_attempts(report: str) -> dict[str, int]:
    """client key → attempt lines under it, from the text report."""
    counts: dict[str, int] = {}
    key = None
    for line in report.splitlines():
        if m := re.fullmatch(r'client "(.*)"', line):
            key = json.loads(f'"{m.group(1)}"')
            counts[key] = 0
        elif key is not None and line.startswith("  attempt "):
            counts[key] += 1
        elif not line.startswith(" "):
            key = None
    return counts


def sputter(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([str(SPUTTER), *args], capture_output=True, text=True, cwd=cwd, timeout=60)


# --- the tests ---------------------------------------------------------------------------------------------

def test_every_attempt_of_a_client_reaches_one_instance_and_the_merged_report_covers_the_fleet(tmp_path, origin, profiles):
    fleet = start_fleet(tmp_path, origin, profiles)
    clients = ([Client(f"hdr-{i}", "header") for i in range(4)] + [Client(f"qry-{i}", "query") for i in range(4)]
               + [Client(f"mix-{i}", "both-alternating") for i in range(3)] + [Client(None, "none")])
    try:
        run_clients(clients, fleet.balancer_port)
    finally:
        fleet.stop()

    # What the balancer forwards for a client with no key: the key a single Sputter would use.
    keyless = "127.0.0.1 /events"
    expected = {c.key or keyless: c for c in clients}
    seen = opens_by_instance(fleet)
    assert set(seen) == set(expected)
    for key, client in expected.items():
        assert len(seen[key]) == 1, f"client {key!r} reached instances {sorted(seen[key])}"
        instance, opens = next(iter(seen[key].items()))
        assert opens == client.attempts, f"client {key!r}: {client.attempts} attempts, instance ledger has {opens}"
        assert client.attempts >= 4, f"client {key!r}: fleet-churn cuts every 5 events, {LAST_ID} events need 4 attempts"
        # The client's own view agrees: every response came from that instance.
        assert set(client.instances) == {f"127.0.0.1:{fleet.ports[instance]}"}, (key, client.instances)
        # And it is the instance nginx's ring gives the key, however the key travelled (header, parameter
        # or, for the keyless client, the address and path the balancer hashed instead).
        servers = [f"127.0.0.1:{p}" for p in fleet.ports]
        assert chash_server(key, servers) == servers[instance], f"client {key!r} is not where the key hashes"
    used = {i for per in seen.values() for i in per}
    assert len(used) >= 2, f"12 keys all hashed to one instance ({used}): the test proves nothing about the spread"

    # One merged report for the fleet.
    names = [p.name for p in fleet.ledgers]
    merged = sputter("ledger", *names, cwd=tmp_path)
    assert merged.returncode == 0, merged.stderr
    out = merged.stdout
    assert out.startswith("Sputter fleet: 3 ledgers merged by client key\n"), out[:400]
    assert "  every client key is in one file\n" in out and "warnings:" not in out, out[:2000]
    total = sum(c.attempts for c in clients)
    assert f"Sputter ledger: {len(clients)} clients, {total} connections\n" in out, out[:2000]
    assert merged_attempts(out) == {key: c.attempts for key, c in expected.items()}
    # Connection ids stay distinct: each instance's ids in their own block.
    ids = [int(m) for m in re.findall(r"^  attempt \d+ +\S+ +conn (\d+) ", out, re.M)]
    assert len(ids) == total and len(set(ids)) == total

    page = sputter("ledger", *names, "--html", "fleet.html", cwd=tmp_path)
    assert page.returncode == 0, page.stderr
    html = (tmp_path / "fleet.html").read_text()
    assert 'id="fleet"' in html and "a.jsonl + b.jsonl + c.jsonl" in html
    assert "clientOnSeveralInstances" not in html


def test_a_round_robin_balancer_is_caught_by_the_merge(tmp_path, origin, profiles):
    """The same fleet with the hash line removed: nginx balances round-robin, attempts scatter, and
    the merged report says so instead of folding the parts into one client."""
    def round_robin(conf: str) -> str:
        without, n = re.subn(r"^\s*hash \$sputter_hash_key consistent;\n", "", conf, flags=re.M)
        assert n == 1
        return without
    fleet = start_fleet(tmp_path, origin, profiles, round_robin)
    client = Client("wanderer", "header")
    try:
        run_clients([client], fleet.balancer_port)
    finally:
        fleet.stop()
    seen = opens_by_instance(fleet)["wanderer"]
    assert len(seen) >= 2, f"round-robin kept every attempt on one instance: {seen}"
    merged = sputter("ledger", *[p.name for p in fleet.ledgers], cwd=tmp_path)
    assert merged.returncode == 0, merged.stderr
    assert 'warnings:\n  - client "wanderer" has connections in ' in merged.stdout, merged.stdout[:2000]
    parts = {k: n for k, n in merged_attempts(merged.stdout).items() if k.startswith("wanderer @ ")}
    assert len(parts) == len(seen) and sum(parts.values()) == client.attempts, parts
