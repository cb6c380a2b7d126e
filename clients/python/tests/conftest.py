"""The package's own tests run against the real binary ($SPUTTER or --sputter-bin) in front of Sputter's
demo origin, started once per session on a free port by the plugin's `sputter_demo_origin` fixture."""

from __future__ import annotations

import pytest

from sputter_testing import DemoOriginProcess


@pytest.fixture(scope="session")
def sputter_upstream(sputter_demo_origin: DemoOriginProcess) -> str:
    return sputter_demo_origin.url
