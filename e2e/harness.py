"""What the end-to-end suite runs on: the `sputter_testing` package (clients/python). Its `SputterProcess`
and `DemoOriginProcess` start the binaries on ports the kernel picks; its `Sputter` is the typed control-API
client (settled client reports, connections with the ledger's dispatched `message_list`); the origin's
`requests()` is what reached it. This file only bundles them for the tests.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import sputter_testing
from sputter_testing import DemoOriginProcess, SputterProcess

REPO_ROOT = Path(__file__).resolve().parent.parent
SPUTTER = Path(shutil.which(os.environ["SPUTTER"]) or os.environ["SPUTTER"]).resolve() if os.environ.get("SPUTTER") \
    else REPO_ROOT / ".build" / "debug" / "sputter"
START_TIMEOUT = 60.0  # seconds for a process to print its "listening" line (a busy 2-core machine)
HTTP_TIMEOUT = 30.0


@dataclass
class Sputter:
    """The running Sputter of the session and the demo origin behind it."""

    #: Where clients connect, e.g. http://127.0.0.1:40123.
    url: str
    #: The control API (`wait_settled`, `client`, `connection`, `reset`…).
    control: sputter_testing.Sputter
    origin: DemoOriginProcess
    ledger_file: Path
    process: SputterProcess
