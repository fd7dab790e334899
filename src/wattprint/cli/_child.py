"""The command ``wattprint run`` measures, as a child process that never outlives it and
that gets the signals sent to it.

- **Signals first.** :class:`ChildSupervisor` installs its handlers for SIGINT, SIGTERM,
  SIGHUP and SIGQUIT when it is made, before the tracker and the child start. A signal
  that arrives before the child is started is kept (:attr:`ChildSupervisor.pending`), so
  the caller can decide not to start it; one that arrives while it is being started, or
  later, is forwarded to the child. A signal
  wattprint inherited as ignored (``nohup`` ignores SIGHUP) stays ignored, and the child
  inherits that too.
- **The child dies with wattprint.** On Linux the child asks the kernel for SIGKILL when
  its parent dies (``prctl(PR_SET_PDEATHSIG)``, called through ctypes between fork and
  exec), so ``kill -9`` of ``wattprint run`` does not leave the command running,
  unmeasured. Only the command itself is covered; what it starts is its own business (a
  launcher that must take its workers down should do the same). Elsewhere there is no
  such call: a wattprint killed by SIGKILL leaves the command running, every other
  signal is forwarded.
- **Waits that always wake up.** The main thread sleeps in ``select()`` on a pipe that
  the signal machinery writes to (``signal.set_wakeup_fd``) for every handled signal and
  for SIGCHLD, with a timeout, then polls the child: a signal delivered to another thread
  of wattprint is still forwarded at once, and no wait blocks in ``waitpid`` while the
  child is alive.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
from typing import Any, Callable, Mapping, Sequence

__all__ = ["ChildSupervisor", "FORWARDED", "death_signal_setup"]

FORWARDED = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT")
                  if hasattr(signal, name))

#: Seconds between two looks at the child when nothing wakes the wait earlier.
POLL_S = 5.0

_PR_SET_PDEATHSIG = 1


def death_signal_setup(sig: int = signal.SIGKILL) -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the kernel send ``sig`` to the child when this process
    dies (Linux), or None where that is not available. ``prctl`` is looked up here, in
    the parent: between fork and exec the function makes one foreign call and one system
    call, and takes no lock, so it is safe while wattprint's threads run."""
    if not sys.platform.startswith("linux"):
        return None
    try:
        import ctypes

        prctl = ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):
        return None
    args = tuple(ctypes.c_ulong(v) for v in (_PR_SET_PDEATHSIG, int(sig), 0, 0, 0))
    parent = os.getpid()

    def setup() -> None:
        prctl(*args)
        if os.getppid() != parent:  # the parent died before the request took effect
            os.kill(os.getpid(), sig)

    return setup


class ChildSupervisor:
    """Forwards signals to the child, starts it, and waits for it. Use as a context
    manager: leaving it restores the previous signal handling."""

    def __init__(self) -> None:
        self.child: subprocess.Popen[Any] | None = None
        self.pending: list[int] = []
        self._previous: dict[int, Any] = {}
        self._wake_r, self._wake_w = os.pipe()
        try:
            os.set_blocking(self._wake_r, False)
            os.set_blocking(self._wake_w, False)
            self._old_wakeup_fd = signal.set_wakeup_fd(self._wake_w,
                                                       warn_on_full_buffer=False)
        except BaseException:  # ValueError: not the main thread
            os.close(self._wake_r)
            os.close(self._wake_w)
            raise
        for sig in FORWARDED:
            if signal.getsignal(sig) is signal.SIG_IGN:
                continue  # ignored by whoever started wattprint (nohup): keep it so
            self._previous[sig] = signal.signal(sig, self._forward)
        if hasattr(signal, "SIGCHLD"):  # the child's exit wakes the wait too
            self._previous[signal.SIGCHLD] = signal.signal(signal.SIGCHLD, _ignore)

    def __enter__(self) -> "ChildSupervisor":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler if handler is not None else signal.SIG_DFL)
        self._previous.clear()
        if self._wake_r >= 0:
            signal.set_wakeup_fd(self._old_wakeup_fd)
            os.close(self._wake_r)
            os.close(self._wake_w)
            self._wake_r = self._wake_w = -1

    def _forward(self, signum: int, _frame: object) -> None:
        child = self.child
        if child is None:
            self.pending.append(signum)
            return
        try:
            child.send_signal(signum)  # a no-op once the child was reaped
        except ProcessLookupError:
            pass

    def start(self, cmd: Sequence[str], env: Mapping[str, str], *,
              pass_fds: Sequence[int] = ()) -> subprocess.Popen[Any]:
        """Start the command (raises ``OSError`` when it cannot be executed), then forward
        any signal that arrived while it was being started. ``pass_fds``: descriptors the
        command inherits (the step pipe of ``tune-power``)."""
        self.child = subprocess.Popen(list(cmd), env=dict(env), pass_fds=tuple(pass_fds),
                                      preexec_fn=death_signal_setup())
        while self.pending:
            self._forward(self.pending.pop(0), None)
        return self.child

    def wait(self) -> int:
        """The child's return code once it has ended (negative: killed by that signal)."""
        child = self.child
        assert child is not None, "start() the child first"
        while True:
            code = child.poll()
            if code is not None:
                return code
            try:
                select.select([self._wake_r], [], [], POLL_S)
            except InterruptedError:  # pragma: no cover - retried by Python (PEP 475)
                pass
            try:
                while os.read(self._wake_r, 512):
                    pass
            except BlockingIOError:
                pass


def _ignore(_signum: int, _frame: object) -> None:
    """A handler that does nothing: it only makes the signal wake :meth:`wait`."""
