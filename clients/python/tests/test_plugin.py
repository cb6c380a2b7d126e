"""The plugin as users meet it: an inner pytest run (a subprocess, so the plugin is loaded through its
`pytest11` entry point exactly as after `pip install`), with the marker, the options and the errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from sputter_testing import DemoOriginProcess

def run(pytester: pytest.Pytester, binary: Path, *args: str) -> pytest.RunResult:
    return pytester.runpytest_subprocess("--sputter-bin", str(binary), "-p", "no:cacheprovider", *args, timeout=120)


def test_marker_upstream_and_profile(pytester: pytest.Pytester, sputter_binary: Path,
                                     sputter_demo_origin: DemoOriginProcess) -> None:
    pytester.makepyfile(f"""
        import urllib.request
        import pytest

        pytestmark = pytest.mark.sputter(upstream={sputter_demo_origin.url!r}, profile="lossy")

        def test_module_marker(sputter):
            assert sputter.settings().effective_profile == "lossy"
            assert sputter.upstream == ({sputter_demo_origin.url!r},)

        @pytest.mark.sputter(profile=None)
        def test_closest_marker_wins(sputter):
            assert sputter.settings().effective_profile == "passthrough"
            with urllib.request.urlopen(sputter.url("/events?count=2&interval_ms=0", client="k")) as r:
                assert b"id: 2" in r.read()
            assert sputter.wait_settled("k").summary.ok

        def test_same_process_for_the_same_upstream(sputter, request):
            # Three tests, one upstream: one `sputter serve` for all of them.
            pool = request.getfixturevalue("_sputter_pool")
            assert len(pool._servers) == 1
    """)
    result = run(pytester, sputter_binary, "-v")
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines([f"sputter: {sputter_binary}"])


def test_sputter_upstream_fixture_override(pytester: pytest.Pytester, sputter_binary: Path,
                                           sputter_demo_origin: DemoOriginProcess) -> None:
    pytester.makeconftest(f"""
        import pytest

        @pytest.fixture
        def sputter_upstream():
            # A default route and a path prefix routed to a port nothing listens on.
            return [{sputter_demo_origin.url!r}, "/nowhere=http://127.0.0.1:1"]
    """)
    pytester.makepyfile("""
        import json, urllib.error, urllib.request
        import pytest

        def test_routes(sputter):
            with urllib.request.urlopen(sputter.url("/json")) as r:
                assert r.status == 200
                json.loads(r.read())
            with pytest.raises(urllib.error.HTTPError) as raised:
                urllib.request.urlopen(sputter.url("/nowhere/x"))
            assert raised.value.code == 502
    """)
    run(pytester, sputter_binary).assert_outcomes(passed=1)


def test_without_an_upstream_the_error_says_what_to_do(pytester: pytest.Pytester, sputter_binary: Path) -> None:
    pytester.makepyfile("""
        def test_no_upstream(sputter):
            pass
    """)
    result = run(pytester, sputter_binary)
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*the `sputter` fixture needs an upstream*@pytest.mark.sputter(upstream=*sputter_upstream*"])


def test_a_failing_test_gets_the_ledger_verdicts(pytester: pytest.Pytester, sputter_binary: Path,
                                                 sputter_demo_origin: DemoOriginProcess) -> None:
    pytester.makepyfile(f"""
        import urllib.request
        import pytest

        @pytest.mark.sputter(upstream={sputter_demo_origin.url!r}, profile="lossy")
        def test_fails(sputter):
            with urllib.request.urlopen(sputter.url("/events?count=8&interval_ms=0", client="feed")) as r:
                r.read()
            sputter.wait_settled("feed")
            assert False, "the client missed events"
    """)
    result = run(pytester, sputter_binary)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*- sputter ledger -*", "client 'feed': 1 finding: * missing (ids *)"])


def test_bad_binary_and_bad_marker(pytester: pytest.Pytester, sputter_demo_origin: DemoOriginProcess) -> None:
    pytester.makepyfile(f"""
        import pytest

        @pytest.mark.sputter(upstream={sputter_demo_origin.url!r})
        def test_uses_it(sputter):
            pass
    """)
    result = pytester.runpytest_subprocess("--sputter-bin", str(pytester.path / "no-such-sputter"), "-p", "no:cacheprovider")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*--sputter-bin: *no-such-sputter is not an executable file*"])

    pytester.makepyfile(test_marker="""
        import pytest

        @pytest.mark.sputter(upstrem="http://127.0.0.1:1")
        def test_typo(sputter):
            pass
    """)
    result = pytester.runpytest_subprocess("test_marker.py", "-p", "no:cacheprovider")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*unknown keyword(s) upstrem*"])


def test_readme_pytest_example(pytester: pytest.Pytester, sputter_binary: Path,
                               sputter_demo_origin: DemoOriginProcess) -> None:
    """The repository README's "From pytest" block, run as written: its upstream URL swapped for the demo
    origin's, and `run_my_client` a small reconnecting SSE client (Last-Event-ID after each cut)."""
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text()
    blocks = readme.split("```python\n")[1:]
    assert len(blocks) == 1, "one python block in the README"
    example = blocks[0].split("```", 1)[0]
    assert "http://127.0.0.1:5000" in example
    example = example.replace("http://127.0.0.1:5000", sputter_demo_origin.url)
    pytester.makeconftest("""
        import http.client, urllib.parse

        def run_my_client(url):
            # The demo origin's parameters: 7 events, fast, and `retry: 0` (reconnecting at once is on time).
            parts = urllib.parse.urlsplit(url + "&count=7&interval_ms=5&heartbeat_ms=0&retry=0")
            last_id = None
            for _ in range(10):
                connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=30)
                headers = {"Accept": "text/event-stream"}
                if last_id is not None:
                    headers["Last-Event-ID"] = last_id
                connection.request("GET", parts.path + "?" + parts.query, headers=headers)
                response = connection.getresponse()
                try:
                    for line in response:
                        if line.startswith(b"id: "):
                            last_id = line[4:].strip().decode()
                except (ConnectionError, http.client.IncompleteRead):
                    pass
                connection.close()
                if last_id == "7":
                    return
            raise AssertionError(f"the stream did not reach id 7 (last id {last_id})")
    """)
    pytester.makepyfile(test_readme="from conftest import run_my_client\n" + example)
    result = run(pytester, sputter_binary, "-v")
    result.assert_outcomes(passed=1)
