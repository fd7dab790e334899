"""CPU time, memory and PIDs of a process tree, including children that have already exited.

Linux folds the CPU time of a child into its parent's ``children_user/children_system``
when the parent reaps it, so summing ``user + system + children_user + children_system``
over the *live* processes of the tree counts every process once: a reaped child's time
has moved into its (live) parent. A process reaped by someone outside the tree (an orphan
adopted by init) would make the sum drop; the drop is kept in a carry so the total never
goes backwards. Zombies still show their times until they are reaped, so nothing is lost
between exit and reap.

Cost matters: the sampler asks for CPU times up to 10 times a second. Membership is found
by reading ``/proc/<pid>/task/<tid>/children`` down from the root (one small read per
thread of the tree; ``psutil.Process.children(recursive=True)``, used only where the kernel
lacks those files, reads the stat file of every process on the machine) and is refreshed
for ``cpu_s()`` at most every ``refresh_s`` (1 s); CPU times of the known members are read
on every call, the root's own with ``os.times()`` when it is this process. A child younger
than the last walk is therefore counted late, never lost: its CPU time is cumulative, and
once its parent in the tree reaps it, it is in the parent's ``children_*`` times.
``rss_bytes()`` and ``pids()`` are not cumulative and walk the tree on every call.
"""

from __future__ import annotations

import os
import threading
import time

import psutil

__all__ = ["ProcessTree", "descendant_pids", "machine_busy_cpu_s", "logical_cpu_count"]


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


def _children_files_exist(proc_root: str = "/proc") -> bool:
    """Whether this kernel has ``/proc/<pid>/task/<tid>/children`` (CONFIG_PROC_CHILDREN)."""
    own = os.getpid()
    return os.path.exists(f"{proc_root}/{own}/task/{own}/children")


def descendant_pids(root_pid: int, proc_root: str = "/proc") -> list[int]:
    """PIDs of every live descendant of ``root_pid``, read from the ``children`` file of
    each of their threads (a child is listed under the thread that forked it). Processes
    and threads that vanish during the walk are skipped; a PID is listed once."""
    seen = {root_pid}
    found: list[int] = []
    stack = [root_pid]
    while stack:
        pid = stack.pop()
        task_dir = f"{proc_root}/{pid}/task"
        try:
            tids = os.listdir(task_dir)
        except OSError:  # exited meanwhile
            continue
        for tid in tids:
            try:
                with open(f"{task_dir}/{tid}/children", "rb") as f:
                    kids = f.read().split()
            except OSError:  # the thread exited meanwhile
                continue
            for kid in kids:
                child = int(kid)
                if child not in seen:
                    seen.add(child)
                    found.append(child)
                    stack.append(child)
    return found


def _cumulative_cpu_s(proc: psutil.Process, own: bool = False) -> float:
    t = os.times() if own else proc.cpu_times()  # os.times(): no /proc read for ourselves
    return t.user + t.system + t.children_user + t.children_system


class ProcessTree:
    """The process ``root_pid`` and all its descendants.

    ``cpu_s()`` is monotone: the CPU seconds used by the tree since ``ProcessTree`` was
    created (exited children included). ``rss_bytes()`` is the resident memory of the live
    tree. ``pids()`` is the set of live PIDs. Calls are thread-safe and cheap: one read per
    member, plus a walk of the tree; ``cpu_s()`` walks only when the last walk is older than
    ``refresh_s`` seconds (``0``: on every call), as a late-found child loses no CPU time.
    """

    def __init__(self, root_pid: int | None = None, *, refresh_s: float = 1.0) -> None:
        self.root_pid = os.getpid() if root_pid is None else int(root_pid)
        self.refresh_s = float(refresh_s)
        self._refreshed_s = float("-inf")
        try:
            self._root = psutil.Process(self.root_pid)
        except psutil.NoSuchProcess as err:
            from .errors import UsageError

            raise UsageError(f"no process with PID {self.root_pid}; pass the PID of a "
                             "running process") from err
        self._procs: dict[int, psutil.Process] = {self.root_pid: self._root}
        self._children_files = _children_files_exist()
        self._lock = threading.Lock()
        self._carry_s = 0.0
        self._last_total_s = 0.0
        self._start_s = 0.0
        self._start_s = self._raw_total()
        self._last_total_s = self._start_s

    def _members(self, max_age_s: float = 0.0) -> list[psutil.Process]:
        """The live tree, walked again when the last walk is older than ``max_age_s``."""
        now = time.monotonic()
        if now - self._refreshed_s >= max_age_s:
            self._refresh()
            self._refreshed_s = now
        return list(self._procs.values())

    def _refresh(self) -> list[psutil.Process]:
        if self._children_files:
            procs: dict[int, psutil.Process] = {self.root_pid: self._root}
            for pid in descendant_pids(self.root_pid):
                proc = self._procs.get(pid)
                if proc is None:
                    try:
                        proc = psutil.Process(pid)
                    except psutil.Error:  # exited, or not ours to read
                        continue
                procs[pid] = proc
            self._procs = procs
            return list(procs.values())
        try:
            children = self._root.children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        live = [self._root] + children
        # Reuse Process objects so psutil's create-time checks guard against PID reuse.
        procs = {}
        for p in live:
            procs[p.pid] = self._procs.get(p.pid, p)
        self._procs = procs
        return list(procs.values())

    def _raw_total(self) -> float:
        total = 0.0
        own = os.getpid()
        for p in self._members(self.refresh_s):
            try:
                total += _cumulative_cpu_s(p, own=p.pid == own)
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
            for p in self._members():
                try:
                    total += p.memory_info().rss
                except (psutil.NoSuchProcess, psutil.AccessDenied):
                    continue
            return total

    def pids(self) -> set[int]:
        with self._lock:
            return {p.pid for p in self._members()}

    def alive(self) -> bool:
        try:
            return self._root.is_running() and self._root.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False
