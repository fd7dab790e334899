"""Putting a changed GPU setting back whatever happens: on :meth:`RestoreGuard.run`
(normal end), at interpreter exit, and on SIGTERM / SIGHUP (restore, then let the signal
do what it did before: the previous handler, or the default — the process dies of it, so
its exit status still says so). SIGINT needs no handler: Python turns it into
KeyboardInterrupt and the ``with`` block / ``finally`` restores, then atexit as a last
resort. SIGKILL cannot be caught: nothing can restore then, and the docs say so."""

from __future__ import annotations

import atexit
import os
import signal
import threading
from typing import Any, Callable

__all__ = ["RestoreGuard"]

_SIGNALS = tuple(s for s in (getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None))
                 if s is not None)


class RestoreGuard:
    def __init__(self, restore: Callable[[], None]) -> None:
        self._restore = restore
        self._done = False
        self._lock = threading.Lock()
        self._previous: dict[int, Any] = {}

    def install(self, *, signals: bool = True) -> "RestoreGuard":
        """Restore at exit, and (``signals``) on SIGTERM / SIGHUP. A caller that already
        handles those signals (``wattprint tune-power`` forwards them to its command and
        restores after it ends) passes ``signals=False``."""
        atexit.register(self.run)
        if signals and threading.current_thread() is threading.main_thread():
            for sig in _SIGNALS:
                try:
                    self._previous[sig] = signal.signal(sig, self._on_signal)
                except (ValueError, OSError):  # not settable here: atexit still runs
                    pass
        return self

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.run()
        previous = self._previous.get(signum, signal.SIG_DFL)
        self.uninstall()
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            signal.signal(signum, signal.SIG_DFL)
            os.kill(os.getpid(), signum)

    def run(self) -> None:
        """Restore once (later calls do nothing)."""
        with self._lock:
            if self._done:
                return
            self._done = True
        self._restore()

    def uninstall(self) -> None:
        atexit.unregister(self.run)
        for sig, previous in self._previous.items():
            try:
                if signal.getsignal(sig) == self._on_signal:
                    signal.signal(sig, previous)
            except (ValueError, OSError):
                pass
        self._previous.clear()
