"""CPU time, memory and PIDs of a process tree, including children that have already exited.

Linux folds the CPU time of a child into its parent's ``children_user/children_system``
when the parent reaps it, so summing ``user + system + children_user + children_system``
over the *live* processes of the tree counts every process once: a reaped child's time
has moved into its (live) parent. A process reaped by someone outside the tree (an orphan
adopted by init) would make the sum drop; the drop is kept in a carry so the total never
goes backwards. Zombies still show their times until they are reaped, so nothing is lost
between exit and reap.
"""

from __future__ import annotations

import os
import threading

import psutil

__all__ = ["ProcessTree", "machine_busy_cpu_s", "logical_cpu_count"]


def logical_cpu_count() -> int:
    return psutil.cpu_count(logical=True) or os.cpu_count() or 1


def machine_busy_cpu_s() -> float:
    """Busy CPU seconds of the whole machine since boot (all logical CPUs)."""
    t = psutil.cpu_times()
    idle = t.idle + getattr(t, "iowait", 0.0)
    total = sum(t)
    # guest time is already included in user on Linux
    total -= getattr(t, "guest", 0.0) + getattr(t, "guest_nice", 0.0)
    return max(total - idle, 0.0)


def _cumulative_cpu_s(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system + t.children_user + t.children_system


class ProcessTree:
    """The process ``root_pid`` and all its descendants.

    ``cpu_s()`` is monotone: the CPU seconds used by the tree since ``ProcessTree`` was
    created (exited children included). ``rss_bytes()`` is the resident memory of the live
    tree. ``pids()`` is the set of live PIDs. Calls are thread-safe and cheap (one
    ``/proc`` walk of the tree per call).
    """

    def __init__(self, root_pid: int | None = None) -> None:
        self.root_pid = os.getpid() if root_pid is None else int(root_pid)
        try:
            self._root = psutil.Process(self.root_pid)
        except psutil.NoSuchProcess as err:
            from .errors import UsageError

            raise UsageError(f"no process with PID {self.root_pid}; pass the PID of a "
                             "running process") from err
        self._procs: dict[int, psutil.Process] = {self.root_pid: self._root}
        self._lock = threading.Lock()
        self._carry_s = 0.0
        self._last_total_s = 0.0
        self._start_s = 0.0
        self._start_s = self._raw_total()
        self._last_total_s = self._start_s

    def _refresh(self) -> list[psutil.Process]:
        try:
            children = self._root.children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        live = [self._root] + children
        # Reuse Process objects so psutil's create-time checks guard against PID reuse.
        procs: dict[int, psutil.Process] = {}
        for p in live:
            procs[p.pid] = self._procs.get(p.pid, p)
        self._procs = procs
        return list(procs.values())

    def _raw_total(self) -> float:
        total = 0.0
        for p in self._refresh():
            try:
                total += _cumulative_cpu_s(p)
            except (psutil.NoSuchProcess, psutil.AccessDenied):
                continue
        return total

    def cpu_s(self) -> float:
        """CPU seconds (user + system) used by the tree since this object was created."""
        with self._lock:
            raw = self._raw_total()
            if raw < self._last_total_s:  # a process left the tree without being reaped in it
                self._carry_s += self._last_total_s - raw
            self._last_total_s = raw
            return raw + self._carry_s - self._start_s

    def rss_bytes(self) -> int:
        """Resident memory of the live processes of the tree."""
        with self._lock:
            total = 0
            for p in self._refresh():
                try:
                    total += p.memory_info().rss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
            return total

    def pids(self) -> set[int]:
        with self._lock:
            return {p.pid for p in self._refresh()}

    def alive(self) -> bool:
        try:
            return self._root.is_running() and self._root.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False
