"""Named crash points for fault-injection tests (in the spirit of fail-rs / FoundationDB's buggify).

`failpoint("land-items")` kills the process with SIGKILL when DESK_FAILPOINT names it, so tests can
prove a run killed at that point loses nothing and duplicates nothing. Unset, it costs one dict lookup.
"""
from __future__ import annotations

import os
import signal


def failpoint(name: str) -> None:
    if os.environ.get("DESK_FAILPOINT") == name:
        os.kill(os.getpid(), signal.SIGKILL)
