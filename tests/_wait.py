"""Waiting in tests for what another thread or process does: poll a condition with a
deadline generous enough for a machine ten times slower, never a fixed sleep."""

from __future__ import annotations

import time
from typing import Callable

#: How long a test waits for something that takes a fraction of a second on a quiet
#: machine (a sampler's reads, a flush, a check once a second) before it fails.
PATIENCE_S = 60.0


def until(condition: Callable[[], object], timeout_s: float = PATIENCE_S,
          every_s: float = 0.01) -> bool:
    """Poll ``condition`` until it is true (returns True) or ``timeout_s`` has passed
    (returns False: assert on the condition itself for a clear failure)."""
    deadline = time.monotonic() + timeout_s
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(every_s)
    return True
