"""The CPU time of a run's own threads (sampler, ledger writer, budget check), summed.

Threads started through one :class:`ThreadCPU` add their own CPU clock
(``time.thread_time()``) to the sum as they end; a thread still running is read through
its per-thread CPU clock (``time.pthread_getcpuclockid``, Linux and most Unixes; where
that is missing, a live thread counts once it has ended). This is what
``RunResult.overhead_cpu_s`` reports: what measuring the run cost, not only the sampler.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

__all__ = ["ThreadCPU"]


def _clock_id(ident: int) -> int | None:
    getter = getattr(time, "pthread_getcpuclockid", None)
    if getter is None:
        return None
    try:
        return getter(ident)
    except (OSError, OverflowError):
        return None


class ThreadCPU:
    """Starts threads and sums their CPU seconds, live or ended (see the module doc)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ended_s = 0.0
        self._live: dict[int, int | None] = {}  # thread ident -> its CPU clock id

    def start(self, target: Callable[..., Any], name: str, *args: Any) -> threading.Thread:
        """Start ``target(*args)`` on a daemon thread called ``name``, counted here."""
        thread = threading.Thread(target=self._run, args=(target, args), name=name,
                                  daemon=True)
        thread.start()
        return thread

    def _run(self, target: Callable[..., Any], args: tuple[Any, ...]) -> None:
        ident = threading.get_ident()
        with self._lock:
            self._live[ident] = _clock_id(ident)
        try:
            target(*args)
        finally:
            with self._lock:  # under the lock: cpu_s() never counts this thread twice
                self._ended_s += time.thread_time()
                del self._live[ident]

    def cpu_s(self) -> float:
        """CPU seconds of every thread started here, up to now."""
        with self._lock:
            total = self._ended_s
            for clock in self._live.values():
                if clock is not None:
                    try:
                        total += time.clock_gettime(clock)
                    except OSError:  # pragma: no cover - the thread is ending right now
                        pass
        return total
