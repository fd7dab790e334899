"""Waiting for a start window (``wattprint run --start-within``): a countdown on a
monotonic clock that can be cut short ("start now") or cancelled (Ctrl-C), with no
command started before it ends.

``now()`` is the planning clock: UTC wall time, or ``WATTPRINT_NOW`` (an ISO date-time)
when set — the seam tests use to plan against a known hour; the wait itself always runs
on the monotonic clock, so a shifted wall clock never stretches it.
"""

from __future__ import annotations

import os
import threading
import time
from datetime import datetime, timezone
from typing import Callable

__all__ = ["now", "wait", "WaitResult"]


def now() -> datetime:
    text = os.environ.get("WATTPRINT_NOW")
    if text:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
        return when.replace(tzinfo=timezone.utc) if when.tzinfo is None \
            else when.astimezone(timezone.utc)
    return datetime.now(timezone.utc)


class WaitResult:
    """How the wait ended: ``reached`` (the window came) or ``started_now`` (the user
    asked to start early); ``waited_s`` on the monotonic clock."""

    def __init__(self, how: str, waited_s: float) -> None:
        self.how, self.waited_s = how, waited_s


def wait(wait_s: float, *, start_now: threading.Event | None = None,
         on_tick: Callable[[float], None] | None = None, tick_s: float = 1.0,
         clock: Callable[[], float] = time.monotonic) -> WaitResult:
    """Wait ``wait_s`` seconds, calling ``on_tick(remaining_s)`` every ``tick_s``; return
    early when ``start_now`` is set. KeyboardInterrupt propagates (the caller cancels)."""
    event = start_now or threading.Event()
    t0 = clock()
    while True:
        remaining = wait_s - (clock() - t0)
        if remaining <= 0:
            return WaitResult("reached", clock() - t0)
        if on_tick is not None:
            on_tick(remaining)
        if event.wait(min(tick_s, remaining)):
            return WaitResult("started_now", clock() - t0)
