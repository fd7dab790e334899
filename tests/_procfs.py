"""A copy of the fake procfs in tests/fixtures/proc, and edits the kernel would make to it
(a process working, exiting, being re-parented), for ProcessTree(procfs_path=...)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

FIXTURE = Path(__file__).parent / "fixtures" / "proc"
TICK_S = 1.0 / os.sysconf("SC_CLK_TCK")
PAGE_BYTES = os.sysconf("SC_PAGE_SIZE")
ROOT, CHILD, ZOMBIE, WRITER, GRANDCHILD, OUTSIDER = 4200, 4201, 4202, 4203, 4205, 999
_FIELDS = {"state": 0, "ppid": 1, "utime": 11, "stime": 12, "cutime": 13, "cstime": 14,
           "starttime": 19}


def fake_proc(tmp_path: Path) -> Path:
    """A writable copy of the fixture tree under ``tmp_path``."""
    root = tmp_path / "proc"
    shutil.copytree(FIXTURE, root)
    return root


def edit_stat(proc: Path, pid: int, **fields: int | str) -> None:
    """Rewrite fields of ``<proc>/<pid>/stat`` by name (``utime=150``, ``state="Z"``)."""
    path = proc / str(pid) / "stat"
    raw = path.read_text()
    head, tail = raw[:raw.rindex(")") + 2], raw[raw.rindex(")") + 2:].split()
    for name, value in fields.items():
        tail[_FIELDS[name]] = str(value)
    path.write_text(head + " ".join(tail) + "\n")


def set_children(proc: Path, pid: int, tid: int, kids: list[int]) -> None:
    """The ``children`` file of thread ``tid`` of ``pid``."""
    (proc / str(pid) / "task" / str(tid) / "children").write_text(
        "".join(f"{k} " for k in kids))


def set_rss(proc: Path, pid: int, rss_bytes: int) -> None:
    """The resident set of ``pid`` (``statm`` field 2, in pages)."""
    path = proc / str(pid) / "statm"
    fields = path.read_text().split()
    fields[1] = str(rss_bytes // PAGE_BYTES)
    path.write_text(" ".join(fields) + "\n")


def lone_process(tmp_path: Path, rss_bytes: int = 0) -> tuple[Path, int]:
    """A fake procfs whose root process (``ROOT``) has no children and ``rss_bytes``."""
    proc = fake_proc(tmp_path)
    for children in (proc / str(ROOT) / "task").glob("*/children"):
        children.write_text("")
    set_rss(proc, ROOT, rss_bytes)
    return proc, ROOT
