"""The ranks of one job on one machine, so that nothing on the machine is counted twice.

Each tracked rank writes a small file ``<rank>.pid`` (its PID and start time, and in
process mode the cumulative CPU seconds of its process tree when it started measuring)
into a folder per job under the user's runtime folder. Readers use it two ways:

- **process mode**: a rank's process tree leaves out the subtrees of the other ranks of
  its job (under Lightning's DDP launcher rank 1 is a child of rank 0; ``wattprint run --
  torchrun`` has every rank below it). Each rank then counts its own share of the
  host-level sensors (CPU share of RAPL package/DRAM, the CPU and RAM models, all linear
  in the tree's CPU time or memory), so the shares add up to the job's exactly once.
- **machine mode**: whole devices are counted by one process per machine each: the
  holder of the folder's ``host.lock`` counts the host devices, the holder of a GPU's
  lock that GPU (``flock`` locks, released when the holder exits). A launcher (``wattprint
  run -- torchrun …``) starts first and takes them all.

A registration of a process that is gone (PID dead or reused) is ignored.

A rank below another tracked member of its job (its launcher, or rank 0 under
Lightning) leaves its file behind at its stop with the CPU seconds it had counted up to
then: the member above, whose tree it was left out of, reads both marks and counts none of
that window, however late its own reads were; it removes the file once it has reaped the
rank (``counted(pid, final=True)``). A rank with no member above removes its own file.
"""

from __future__ import annotations

import os
import re
import tempfile
import time

import psutil

from .._proctree import _stat_times

__all__ = ["JobRegistry", "registry_root"]

try:
    import fcntl
except ImportError:  # Windows: machine-mode ownership falls back to local rank 0
    fcntl = None  # type: ignore[assignment]


def registry_root() -> str:
    """``$WATTPRINT_RUNTIME_DIR``, else ``$XDG_RUNTIME_DIR/wattprint``, else
    ``<tmp>/wattprint-<uid>``: a per-user folder on this machine."""
    explicit = os.environ.get("WATTPRINT_RUNTIME_DIR")
    if explicit:
        return explicit
    xdg = os.environ.get("XDG_RUNTIME_DIR")
    if xdg and os.path.isdir(xdg):
        return os.path.join(xdg, "wattprint")
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return os.path.join(tempfile.gettempdir(), f"wattprint-{uid}")


def _folder_name(job_id: str, host: str) -> str:
    import hashlib

    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", job_id)[:60]
    digest = hashlib.sha256(f"{job_id}\0{host}".encode()).hexdigest()[:10]
    return f"{safe}-{digest}"


def _started(pid: int) -> int:
    """The start time of ``pid`` in clock ticks since boot (procfs), or its creation time
    in milliseconds from psutil elsewhere; 0 when it is gone."""
    try:
        return _stat_times(pid)[1]
    except OSError:
        pass
    try:
        return int(psutil.Process(pid).create_time() * 1000)
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return 0


class JobRegistry:
    """This machine's registrations of one job (see the module doc)."""

    #: Seconds after which the registrations are checked again even if the folder did not
    #: change (a member killed with SIGKILL leaves its file; its PID may be reused).
    RECHECK_S = 10.0

    def __init__(self, job_id: str, host: str, *, root: str | None = None) -> None:
        self.folder = os.path.join(root or registry_root(), "jobs", _folder_name(job_id, host))
        self._own_file: str | None = None
        self._locks: dict[str, int] = {}  # what -> the fd holding its flock
        self._peers: set[int] = set()
        self._seen: tuple[int, int] | None = None  # the folder's (mtime_ns, size) last read
        self._read_s = float("-inf")
        self._files: dict[int, str] = {}  # member PID -> its file, from the last read
        self._own_pid: int | None = None
        self._own_line = ""

    def register(self, key: str, pid: int | None = None, *,
                 cpu_start_s: float | None = None) -> None:
        """Announce ``pid`` (default: this process) as a member under ``key`` (its rank).
        ``cpu_start_s``: the cumulative CPU seconds of its process tree when it started
        measuring (process mode), so that a tree it is left out of counts nothing after."""
        pid = os.getpid() if pid is None else pid
        os.makedirs(self.folder, mode=0o700, exist_ok=True)
        path = os.path.join(self.folder, f"{re.sub(r'[^A-Za-z0-9_-]', '_', key)}.pid")
        line = f"{pid} {_started(pid)}"
        if cpu_start_s is not None:
            line += f" {float(cpu_start_s)!r}"
        self._write(path, line)
        self._own_file, self._own_pid, self._own_line = path, pid, line

    @staticmethod
    def _write(path: str, line: str) -> None:
        tmp = f"{path}.{os.getpid()}.tmp"
        with open(tmp, "w", encoding="ascii") as f:
            f.write(line + "\n")
        os.replace(tmp, path)  # readers see the old line or the new one, never half

    def peers(self, exclude: int | None = None) -> set[int]:
        """PIDs of the live registered members, other than ``exclude``. The folder is read
        again only when it changed (a member came or went) or every :data:`RECHECK_S`:
        the process tree asks once a second, and this must cost next to nothing."""
        now = time.monotonic()
        try:
            st = os.stat(self.folder)
            seen: tuple[int, int] | None = (st.st_mtime_ns, st.st_size)
        except OSError:
            seen = None
        if seen != self._seen or now - self._read_s >= self.RECHECK_S:
            found: set[int] = set()
            try:
                names = os.listdir(self.folder)
            except OSError:
                names = []
            for name in names:
                if not name.endswith(".pid"):
                    continue
                path = os.path.join(self.folder, name)
                try:
                    with open(path, encoding="ascii") as f:
                        pid_text, started_text = f.read().split()[:2]
                    pid, started = int(pid_text), int(float(started_text))
                except (OSError, ValueError):
                    continue
                if started and _started(pid) == started:  # alive, and not a reused PID
                    found.add(pid)
                    self._files[pid] = path
            self._peers, self._seen, self._read_s = found, seen, now
        return self._peers - ({exclude} if exclude is not None else set())

    def counted(self, pid: int, *, final: bool = False) -> tuple[float | None, float | None]:
        """``(start, stop)``: the cumulative CPU seconds of member ``pid``'s process tree
        when it started and stopped measuring itself, as it wrote them (None where it did
        not: still running, machine mode, or an older wattprint). ``final``: the member
        was reaped and its marks are used up; its file is removed."""
        path = self._files.get(pid)
        if path is None:
            return None, None
        try:
            with open(path, encoding="ascii") as f:
                fields = f.read().split()
        except OSError:
            return None, None
        if len(fields) < 2 or fields[0] != str(pid):  # the key now holds another process
            return None, None
        marks: list[float | None] = []
        for text in fields[2:4]:
            try:
                value = float(text)
            except ValueError:
                value = None
            marks.append(value if value is not None and value >= 0 and value < float("inf")
                         else None)
        marks += [None] * (2 - len(marks))
        if final:
            self._files.pop(pid, None)
            try:
                os.unlink(path)
            except OSError:
                pass
        return marks[0], marks[1]

    def _member_above(self) -> bool:
        """Whether another live member of the job on this machine is an ancestor of
        this one (then its tree left this one out and needs this one's stop mark)."""
        if self._own_pid is None:
            return False
        others = self.peers(exclude=self._own_pid)
        if not others:
            return False
        try:
            return any(p.pid in others for p in psutil.Process(self._own_pid).parents())
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return False

    def claim_host(self) -> bool:
        """Try to become the one process that counts whole host devices (machine mode)
        on this machine for this job. Held until :meth:`close` or the process exits."""
        return self.claim("host")

    def claim(self, what: str) -> bool:
        """Try to become the one process of the job on this machine that counts ``what``
        whole (``"host"``, or a GPU's sensor name in machine mode): an ``flock`` on
        ``<what>.lock`` in the job's folder, held until :meth:`close` or exit. The
        launcher, which starts first, takes everything it measures."""
        if what in self._locks:
            return True
        if fcntl is None:
            return True
        os.makedirs(self.folder, mode=0o700, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", what)
        fd = os.open(os.path.join(self.folder, f"{name}.lock"), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._locks[what] = fd
        return True

    def close(self, *, cpu_stop_s: float | None = None) -> None:
        """Withdraw this process's registration and host claim. ``cpu_stop_s``: the
        cumulative CPU seconds of its process tree when it stopped measuring; with a
        member of the job above this process, the file stays with that mark for it
        (see the module doc)."""
        if self._own_file is not None:
            try:
                if (cpu_stop_s is not None and " " in self._own_line
                        and len(self._own_line.split()) == 3 and self._member_above()):
                    self._write(self._own_file, f"{self._own_line} {float(cpu_stop_s)!r}")
                else:
                    os.unlink(self._own_file)
            except OSError:
                pass
            self._own_file = None
        for fd in self._locks.values():
            os.close(fd)
        self._locks.clear()
