"""CPU time, memory and PIDs of a process tree, including children that have already exited.

Linux folds the CPU time of a child into its parent's ``children_user/children_system``
when the parent reaps it, so summing ``user + system + children_user + children_system``
over the *live* processes of the tree counts every process once: a reaped child's time
has moved into its (live) parent. A process reaped by someone outside the tree (an orphan
adopted by init) would make the sum drop; the drop is kept in a carry so the total never
goes backwards. Zombies still show their times until they are reaped, so nothing is lost
between exit and reap.

Cost matters more than speed here: the sampler reads these once a second from a thread
that must stay under 0.1 % of a core, and on a VM whose caches are cold at every wake-up the
cost is mostly interpreter work, so the reads are plain ``os.open``/``os.read`` of procfs
files parsed by hand rather than psutil calls (about 3x less CPU per cold call here).
Membership is found by reading ``/proc/<pid>/task/<tid>/children`` down from the root (one
small read per thread of the tree; ``psutil.Process.children(recursive=True)``, used only
where the kernel lacks those files, reads the stat file of every process on the machine)
and is refreshed at most every ``refresh_s`` (1 s); CPU times of the known members are read
on every call, the root's own with ``os.times()`` when it is this process. A child younger
than the last walk is therefore counted late, never lost: its CPU time is cumulative, and
once its parent in the tree reaps it, it is in the parent's ``children_*`` times.
``rss_bytes()`` and ``pids()`` are not cumulative and walk the tree on every call.

Seams, psutil-style: every procfs read goes through ``procfs_path`` (``"/proc"``; ``None``
reads through psutil, as on a system without procfs), and the clock that paces walks and
same-instant reads is injectable, so tests run against a small fake ``/proc`` tree
(``tests/fixtures/proc``) and a fake clock instead of patching private state.
"""

from __future__ import annotations

import os
import threading
import time
from typing import Callable

import psutil

__all__ = ["ProcessTree", "descendant_pids", "machine_busy_cpu_s", "logical_cpu_count"]


def logical_cpu_count() -> int:
    return psutil.cpu_count(logical=True) or os.cpu_count() or 1


_CLK_TCK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_PAGE_BYTES = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096
_O_RDONLY = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0)
_proc_stat_fd = -1  # /proc/stat, opened once per process and kept (procfs renders on pread)


def _read_small(path: str) -> bytes:
    """One read of a small procfs file, without the cost of Python's buffered file objects
    (the sampler reads these every second, and cold interpreter paths dominate)."""
    fd = os.open(path, _O_RDONLY)
    try:
        data = os.read(fd, 4096)
        if len(data) == 4096:  # a long children list (hundreds of PIDs): read to the end
            chunks = [data]
            while chunk := os.read(fd, 65536):
                chunks.append(chunk)
            data = b"".join(chunks)
        return data
    finally:
        os.close(fd)


def machine_busy_cpu_s(procfs_path: str | None = "/proc") -> float:
    """Busy CPU seconds of the whole machine since boot (all logical CPUs): user + nice +
    system + irq + softirq + steal of the first line of ``<procfs_path>/stat`` (guest time
    is already inside user); from psutil when ``procfs_path`` is None or unreadable."""
    global _proc_stat_fd
    try:
        if procfs_path is None:
            raise OSError("no procfs")
        if procfs_path != "/proc":
            head = _read_small(f"{procfs_path}/stat")
        else:
            if _proc_stat_fd < 0:
                _proc_stat_fd = os.open("/proc/stat", _O_RDONLY)
            head = os.pread(_proc_stat_fd, 256, 0)
        ticks = head[:head.index(b"\n")].split()[1:9]
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, ticks)
        return (user + nice + system + irq + softirq + steal) / _CLK_TCK
    except (OSError, ValueError):
        pass
    t = psutil.cpu_times()
    idle = t.idle + getattr(t, "iowait", 0.0)
    total = sum(t)
    # guest time is already included in user on Linux
    total -= getattr(t, "guest", 0.0) + getattr(t, "guest_nice", 0.0)
    return max(total - idle, 0.0)


def _stat_times(pid: int, proc_root: str = "/proc") -> tuple[float, int]:
    """``(user + system + children_user + children_system seconds, start time in ticks)`` of
    ``pid`` from ``/proc/<pid>/stat``. Raises ``OSError`` when it is gone or not readable."""
    raw = _read_small(f"{proc_root}/{pid}/stat")
    try:
        # the command name (field 2) may hold spaces and parentheses: split after the last ")"
        f = raw[raw.rindex(b")") + 2:].split()
        return (int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])) / _CLK_TCK, int(f[19])
    except (ValueError, IndexError) as err:
        raise OSError(f"unexpected content in {proc_root}/{pid}/stat: {raw[:80]!r}") from err


def _stat_parent(pid: int, proc_root: str = "/proc") -> tuple[int, float, int]:
    """``(parent PID, CPU seconds as in _stat_times, start time in ticks)`` of ``pid``."""
    raw = _read_small(f"{proc_root}/{pid}/stat")
    try:
        f = raw[raw.rindex(b")") + 2:].split()
        return (int(f[1]), (int(f[11]) + int(f[12]) + int(f[13]) + int(f[14])) / _CLK_TCK,
                int(f[19]))
    except (ValueError, IndexError) as err:
        raise OSError(f"unexpected content in {proc_root}/{pid}/stat: {raw[:80]!r}") from err


def _rss_bytes(pid: int, proc_root: str = "/proc") -> int:
    """Resident set size of ``pid`` from ``/proc/<pid>/statm`` (as psutil reports it)."""
    raw = _read_small(f"{proc_root}/{pid}/statm")
    try:
        return int(raw.split()[1]) * _PAGE_BYTES
    except (ValueError, IndexError) as err:
        raise OSError(f"unexpected content in {proc_root}/{pid}/statm: {raw!r}") from err


def _children_files_exist(pid: int, proc_root: str = "/proc") -> bool:
    """Whether this kernel has ``/proc/<pid>/task/<tid>/children`` (CONFIG_PROC_CHILDREN)."""
    return os.path.exists(f"{proc_root}/{pid}/task/{pid}/children")


def _stat_state(pid: int, proc_root: str = "/proc") -> str:
    """The one-letter state of ``pid`` (``R``, ``S``, ``Z``...). Raises ``OSError``."""
    raw = _read_small(f"{proc_root}/{pid}/stat")
    try:
        return raw[raw.rindex(b")") + 2:].split()[0].decode()
    except (ValueError, IndexError) as err:
        raise OSError(f"unexpected content in {proc_root}/{pid}/stat: {raw[:80]!r}") from err


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
                kids = _read_small(f"{task_dir}/{tid}/children").split()
            except OSError:  # the thread exited meanwhile
                continue
            for kid in kids:
                child = int(kid)
                if child not in seen:
                    seen.add(child)
                    found.append(child)
                    stack.append(child)
    return found


def _descendants_by_stat(root_pid: int, proc_root: str) -> list[int]:
    """Descendants of ``root_pid`` from the parent PID in every ``<proc_root>/<pid>/stat``
    (kernels without ``children`` files)."""
    parent_of: dict[int, int] = {}
    for name in os.listdir(proc_root):
        if name.isdigit():
            try:
                raw = _read_small(f"{proc_root}/{name}/stat")
                parent_of[int(name)] = int(raw[raw.rindex(b")") + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found: list[int] = []
    frontier = {root_pid}
    while frontier:
        kids = [pid for pid, parent in parent_of.items() if parent in frontier
                and pid not in found and pid != root_pid]
        found.extend(kids)
        frontier = set(kids)
    return found


def _psutil_cpu_s(proc: psutil.Process) -> float:
    t = proc.cpu_times()
    return t.user + t.system + t.children_user + t.children_system


class ProcessTree:
    """The process ``root_pid`` and all its descendants.

    ``cpu_s()`` is monotone: the CPU seconds used by the tree since ``ProcessTree`` was
    created (exited children included). ``rss_bytes()`` is the resident memory of the live
    tree. ``pids()`` is the set of live PIDs. Calls are thread-safe and cheap: one small
    procfs read per member (``os.times()`` for this process itself), plus a walk of the
    tree when the last walk is older than ``refresh_s`` seconds (``0``: on every call) for
    ``cpu_s()``, as a late-found child loses no CPU time; ``rss_bytes()`` and ``pids()``
    always walk. Two ``cpu_s()`` calls less than ``SAME_INSTANT_S`` apart (the CPU model
    and the host-share attribution reading the same sampler tick) share one reading.

    A member is remembered with its start time, so a PID reused by an unrelated process
    between two walks is never counted. Without procfs (macOS, BSD) psutil does the reads.

    ``procfs_path`` is where procfs is mounted (``None``: read through psutil even where
    procfs exists); ``clock`` returns monotonic seconds and paces the walks and the
    same-instant rule. Both exist for tests, as psutil's ``PROCFS_PATH`` does.
    """

    #: Calls of ``cpu_s()`` closer together than this return the same reading.
    SAME_INSTANT_S = 0.002

    def __init__(self, root_pid: int | None = None, *, refresh_s: float = 1.0,
                 exclude: Callable[[], set[int]] | None = None,
                 counted: Callable[..., tuple[float | None, float | None]] | None = None,
                 procfs_path: str | None = "/proc",
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.root_pid = os.getpid() if root_pid is None else int(root_pid)
        self.refresh_s = float(refresh_s)
        self.procfs_path = procfs_path
        self._clock = clock
        #: PIDs whose subtrees are left out (the other ranks of a distributed job, which
        #: measure themselves: see wattprint.distributed); see _left_out_cpu_s
        self._exclude = exclude
        #: what a left-out member counted itself: ``counted(pid)`` gives the cumulative CPU
        #: seconds of its subtree when it started and stopped measuring (None: not known);
        #: ``counted(pid, final=True)`` once it is reaped (see _left_out_cpu_s)
        self._counted = counted
        # excluded root -> [its parent in the tree (-1: reparented outside), start ticks,
        # last CPU seconds read]
        self._excluded: dict[int, list[float]] = {}
        self._reaped_excluded_s = 0.0
        # CPU seconds of each member at its last read, and at this tree's start
        self._last_read: dict[int, float] = {}
        self._baseline: dict[int, float] = {}
        # excluded subtrees: what they had when left out stays in the sum (so leaving out
        # is no drop the carry would take for an orphan); the part of it that the member
        # counted itself is owed back (paid from later growth: cpu_s() never goes back)
        self._kept_s = 0.0
        self._owed_s = 0.0
        self._refreshed_s = float("-inf")
        # procfs mounted (Linux): read it, and a PID without a stat file is no process;
        # no procfs (macOS, BSD) or procfs_path=None: psutil does every read.
        self._procfs = procfs_path is not None and os.path.isdir(procfs_path)
        if self._procfs and not os.path.exists(f"{procfs_path}/{self.root_pid}/stat"):
            from .errors import UsageError

            raise UsageError(f"no process with PID {self.root_pid}; pass the PID of a "
                             "running process")
        # this process reads its own times with os.times(), never through a fake procfs
        self._own = os.getpid() if procfs_path in ("/proc", None) else None
        self._root: psutil.Process | None = None
        if not self._procfs:
            try:
                self._root = psutil.Process(self.root_pid)
            except psutil.NoSuchProcess as err:
                from .errors import UsageError

                raise UsageError(f"no process with PID {self.root_pid}; pass the PID of a "
                                 "running process") from err
        self._children_files = self._procfs and _children_files_exist(self.root_pid,
                                                                      self._proc)
        # pid -> start time in clock ticks (procfs), or psutil.Process (no procfs)
        self._members: dict[int, object] = {self.root_pid: self._root}
        self._lock = threading.Lock()
        self._carry_s = 0.0
        self._last_total_s = 0.0
        self._last_call_s = float("-inf")
        self._last_value_s = 0.0
        self._start_s = 0.0
        self._start_s = self._raw_total()
        self._last_total_s = self._start_s
        self._baseline = dict(self._last_read)

    @property
    def _proc(self) -> str:
        return self.procfs_path or "/proc"

    # -- membership -----------------------------------------------------------------------
    def _walk(self, max_age_s: float) -> dict[int, object]:
        """The live tree, walked again when the last walk is older than ``max_age_s``."""
        now = self._clock()
        if now - self._refreshed_s >= max_age_s:
            self._refresh()
            self._refreshed_s = now
        return self._members

    def _refresh(self) -> None:
        old = self._members
        members: dict[int, object] = {self.root_pid: self._root}
        if self._children_files:
            pids = descendant_pids(self.root_pid, self._proc)
            if self._exclude is not None:
                pids = self._leave_out(pids)
        elif self._root is not None:
            try:
                pids = [p.pid for p in self._root.children(recursive=True)]
            except psutil.Error:
                pids = []
        else:  # a procfs without children files: parents from each process's stat
            pids = _descendants_by_stat(self.root_pid, self._proc)
        for pid in pids:
            known = old.get(pid)
            if known is None:
                try:
                    known = (_stat_times(pid, self._proc)[1] if self._procfs
                             else psutil.Process(pid))
                except (OSError, psutil.Error):  # exited, or not ours to read
                    continue
            members[pid] = known
        self._members = members

    def _leave_out(self, pids: list[int]) -> list[int]:
        """``pids`` without the excluded subtrees; newly excluded roots are remembered
        with their parent, so their CPU time is taken out again when a member reaps them."""
        # once left out, always left out: a rank that stopped measuring itself is not
        # taken back with the CPU time it already reported (what it uses after its own
        # stop, a moment of clean-up, is nobody's)
        stop = set(self._excluded)
        if self._exclude is not None:
            stop |= self._exclude()
        if not stop:
            return pids
        dropped: set[int] = set()
        for pid in pids:
            if pid in stop and pid not in dropped:
                subtree = [pid, *descendant_pids(pid, self._proc)]
                dropped.update(subtree)
                if pid not in self._excluded:
                    self._keep_left_out(pid, subtree)
                    try:
                        ppid, cpu_s, started = _stat_parent(pid, self._proc)
                    except OSError:
                        continue
                    self._excluded[pid] = [ppid, started, cpu_s]
        return [p for p in pids if p not in dropped]

    def _keep_left_out(self, pid: int, subtree: list[int]) -> None:
        """A subtree rooted at ``pid`` is left out from now on. What this tree read of it
        stays counted, except what the member counted itself: its own count starts at
        ``start`` (the subtree's cumulative CPU then), and the reads since are owed."""
        had = sum(self._last_read.get(p, 0.0) for p in subtree)
        self._kept_s += had
        start = self._counted_marks(pid)[0]
        if start is not None:
            at_our_start = sum(self._baseline.get(p, 0.0) for p in subtree)
            self._owed_s += max(0.0, had - max(start, at_our_start))

    def _counted_marks(self, pid: int, final: bool = False) -> tuple[float | None, float | None]:
        if self._counted is None:
            return None, None
        try:
            return self._counted(pid, final=final)
        except Exception:  # noqa: BLE001 - a record that cannot be read: the reads alone
            return None, None

    def _left_out_cpu_s(self) -> float:
        """CPU seconds of excluded subtrees that a member of the tree reaped (Linux then
        adds them to the member's ``children_*`` times): to be taken out of the total.
        Each excluded root's CPU is read at every call; when it is reaped, what it counted
        itself up to its stop (``counted``) is taken out even if this tree's last read of
        it was earlier, so nothing is counted twice; what it used after its own stop (its
        exit) stays here, the only tree that sees it."""
        for pid, rec in list(self._excluded.items()):
            try:
                ppid, cpu_s, started = _stat_parent(pid, self._proc)
                if started == rec[1]:
                    # still ours to subtract while its parent is in the tree (a parent
                    # that died first leaves it to init, outside: then nothing moves here)
                    rec[0], rec[2] = (ppid if ppid in self._members else -1), cpu_s
                    continue
            except OSError:
                pass
            if rec[0] >= 0:  # reaped inside the tree: its time moved into a member's
                stop = self._counted_marks(pid, final=True)[1]
                self._reaped_excluded_s += max(rec[2], stop if stop is not None else 0.0)
            del self._excluded[pid]
        return self._reaped_excluded_s

    # -- reads ----------------------------------------------------------------------------
    def _raw_total(self) -> float:
        total = 0.0
        members = self._walk(self.refresh_s)
        if len(self._last_read) > len(members):  # forget processes no longer in the tree
            self._last_read = {p: v for p, v in self._last_read.items() if p in members}
        for pid, known in members.items():
            try:
                if pid == self.root_pid:
                    if pid == self._own:  # no file to read for ourselves
                        t = os.times()
                        total += t.user + t.system + t.children_user + t.children_system
                    elif self._procfs:
                        total += _stat_times(pid, self._proc)[0]
                    else:
                        total += _psutil_cpu_s(self._root)  # type: ignore[arg-type]
                elif self._procfs:
                    cpu_s, started = _stat_times(pid, self._proc)
                    if started == known:  # else the PID now belongs to another process
                        total += cpu_s
                        self._last_read[pid] = cpu_s
                else:
                    cpu_s = _psutil_cpu_s(known)  # type: ignore[arg-type]
                    total += cpu_s
                    self._last_read[pid] = cpu_s
            except (FileNotFoundError, ProcessLookupError, psutil.NoSuchProcess):
                continue  # exited since the walk
            except (PermissionError, psutil.AccessDenied):
                if pid == self.root_pid:
                    raise
                continue
        if self._excluded:
            total -= self._left_out_cpu_s()
        elif self._reaped_excluded_s:
            total -= self._reaped_excluded_s
        return total + self._kept_s

    def cpu_s(self) -> float:
        """CPU seconds (user + system) used by the tree since this object was created."""
        with self._lock:
            now = self._clock()
            if now - self._last_call_s < self.SAME_INSTANT_S:
                return self._last_value_s
            raw = self._raw_total()
            if raw < self._last_total_s:  # a process left the tree without being reaped in it
                self._carry_s += self._last_total_s - raw
            self._last_total_s = raw
            self._last_call_s = now
            # what left-out members counted themselves is owed: paid from growth, never
            # by going back
            self._last_value_s = max(self._last_value_s,
                                     raw + self._carry_s - self._start_s - self._owed_s)
            return self._last_value_s

    @property
    def counted_marks_s(self) -> tuple[float, float]:
        """``(start, now)``: the cumulative CPU seconds of this tree when it was created
        and at the last ``cpu_s()`` (``now - start`` is that reading). A member of a
        distributed job publishes them, so that a tree it is left out of (its launcher's,
        or a parent rank's) counts none of it twice."""
        with self._lock:
            return self._start_s, self._start_s + self._last_value_s

    def rss_bytes(self) -> int:
        """Resident memory of the live processes of the tree, walked again unless a walk
        is under ``SAME_INSTANT_S`` old (memory is not cumulative: a child found late would
        be missed, not counted late; the RAM model reads in the tick where ``cpu_s()``
        may just have walked)."""
        with self._lock:
            total = 0
            for pid, known in self._walk(self.SAME_INSTANT_S).items():
                try:
                    if self._procfs:
                        total += _rss_bytes(pid, self._proc)
                    else:
                        total += known.memory_info().rss  # type: ignore[attr-defined]
                except (FileNotFoundError, ProcessLookupError, psutil.NoSuchProcess):
                    continue
                except (PermissionError, psutil.AccessDenied):
                    if pid == self.root_pid:
                        raise
                    continue
            return total

    def pids(self) -> set[int]:
        with self._lock:
            return set(self._walk(0.0))

    def alive(self) -> bool:
        """Whether the root process still runs (an exited, unreaped zombie does not)."""
        if self._procfs:
            try:
                return _stat_state(self.root_pid, self._proc) not in ("Z", "X", "x")
            except OSError:
                return False
        try:
            assert self._root is not None
            return self._root.is_running() and self._root.status() != psutil.STATUS_ZOMBIE
        except psutil.NoSuchProcess:
            return False
