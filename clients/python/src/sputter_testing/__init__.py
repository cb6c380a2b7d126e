"""Test SSE clients through Sputter, the fault-injecting SSE proxy, from Python.

In pytest (the plugin is enabled by installing the package)::

    @pytest.mark.sputter(upstream="http://127.0.0.1:5000", profile="lossy")
    def test_my_client_notices_gaps(sputter):
        run_my_client(sputter.url("/events", client="feed"))
        report = sputter.wait_settled("feed")
        assert report.summary.missing_ids == ...

Outside pytest::

    with sputter_testing.launch("http://127.0.0.1:5000") as sputter:
        sputter.set_profile("reconnect-ladder")
        ...
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterator, Optional, Sequence, Union

from .client import UNSET, ControlAPIError, Sputter, WaitTimeout, wait_until
from .models import (ClientProgress, ClientReport, ClientSummary, Connection, DispatchedMessage, EventStatus, FaultAction, Finding, Frame, Prediction,
                     Profile, Settings, WaitResult)
from .process import (DemoOriginProcess, OriginRequest, PathLike, SputterError, SputterNotFound, SputterProcess,
                      find_binary)

__version__ = "0.1.0"

__all__ = [
    "ClientProgress", "ClientReport", "ClientSummary", "Connection", "ControlAPIError", "DemoOriginProcess", "DispatchedMessage", "EventStatus", "FaultAction",
    "Finding", "Frame", "OriginRequest", "Prediction", "Profile", "Settings", "Sputter", "SputterError", "SputterNotFound",
    "SputterProcess", "UNSET", "WaitResult", "WaitTimeout", "find_binary", "launch", "wait_until",
]


@contextmanager
def launch(upstream: Union[str, Sequence[str]], *, binary: Optional[PathLike] = None, profile: Optional[str] = None,
           seed: Optional[int] = None, profiles: Optional[PathLike] = None,
           extra_args: Sequence[str] = ()) -> Iterator[Sputter]:
    """Starts `sputter serve` on free loopback ports in front of `upstream` (a URL, `PREFIX=URL`, or a list
    of them), yields a `Sputter` for it, and stops it (SIGTERM) at the end of the block."""
    routes = [upstream] if isinstance(upstream, str) else list(upstream)
    process = SputterProcess(find_binary(binary), routes, profile=profile, seed=seed, profiles=profiles,
                             extra_args=extra_args)
    try:
        yield Sputter.attach(process)
    finally:
        process.stop()
