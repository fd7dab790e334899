"""Process-tree membership and CPU accounting on real processes."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import psutil
import pytest

from wattprint._proctree import ProcessTree, descendant_pids
from wattprint.errors import UsageError

# a child that starts a sleeping grandchild and then sleeps itself
NESTED = ("import subprocess, sys, time\n"
          "g = subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(30)'])\n"
          "print(g.pid, flush=True)\n"
          "time.sleep(30)\n")


def test_descendants_found_through_children_files_match_psutil() -> None:
    child = subprocess.Popen([sys.executable, "-c", NESTED], stdout=subprocess.PIPE,
                             text=True)
    try:
        grandchild = int(child.stdout.readline())
        found = set(descendant_pids(os.getpid()))
        assert {child.pid, grandchild} <= found
        expected = {p.pid for p in psutil.Process().children(recursive=True)}
        assert found == expected
        tree = ProcessTree(refresh_s=0)
        assert {os.getpid(), child.pid, grandchild} <= tree.pids()
        assert tree.rss_bytes() > psutil.Process().memory_info().rss
    finally:
        for p in psutil.Process(child.pid).children(recursive=True):
            p.kill()
        child.kill()
        child.wait()


def test_cpu_s_is_monotone_and_counts_a_reaped_child() -> None:
    tree = ProcessTree(refresh_s=0)
    before = tree.cpu_s()
    burn = "import time\nt=time.process_time()\nwhile time.process_time()-t<0.4: pass"
    subprocess.run([sys.executable, "-c", burn], check=True)
    after = tree.cpu_s()
    assert after - before >= 0.38  # 10 ms ticks
    assert tree.cpu_s() >= after  # never goes backwards


def test_unknown_pid_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no process with PID"):
        ProcessTree(2**22 + 12345)


BURN = ("import sys, time\nt = time.process_time()\n"
        "while time.process_time() - t < 0.3: pass\nprint('burnt', flush=True)\n"
        "sys.stdin.readline()\n")


def _burnt_child() -> subprocess.Popen:
    child = subprocess.Popen([sys.executable, "-c", BURN], stdin=subprocess.PIPE,
                             stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "burnt"
    return child


def test_live_child_cpu_is_read_from_procfs_and_a_reused_pid_is_not_counted() -> None:
    tree = ProcessTree(refresh_s=3600)  # no re-walk during the test: members stay as found
    child = _burnt_child()
    try:
        tree._refreshed_s = float("-inf")  # walk now: the child is a member
        with_child = tree.cpu_s()
        assert child.pid in tree._members
        assert with_child >= 0.28  # 10 ms ticks: 0.3 s of burn may read 0.29
        # the PID now "belongs" to another process: its start time no longer matches
        tree._members[child.pid] = tree._members[child.pid] + 1
        tree._last_call_s = float("-inf")
        assert tree.cpu_s() == pytest.approx(with_child, abs=0.05)  # carried, not re-added
        assert tree._carry_s >= 0.28
    finally:
        child.stdin.close()
        child.wait()


def test_without_procfs_psutil_does_the_reads() -> None:
    tree = ProcessTree(refresh_s=0)
    tree._procfs = tree._children_files = False  # as on macOS
    tree._members = {tree.root_pid: tree._root}
    before = tree.cpu_s()
    child = _burnt_child()
    try:
        assert child.pid in tree.pids()
        assert isinstance(tree._members[child.pid], psutil.Process)
        assert tree.rss_bytes() > psutil.Process().memory_info().rss
        tree._last_call_s = float("-inf")
        assert tree.cpu_s() - before >= 0.28
    finally:
        child.stdin.close()
        child.wait()


def test_calls_in_the_same_instant_share_one_reading() -> None:
    tree = ProcessTree()
    tree.SAME_INSTANT_S = 60.0  # this instance: every call below is "the same tick"
    first = tree.cpu_s()
    t = time.process_time()
    while time.process_time() - t < 0.05:
        pass
    assert tree.cpu_s() == first  # the CPU model and the attribution, one tick
    tree.SAME_INSTANT_S = 0.0
    assert tree.cpu_s() >= first + 0.025  # 0.05 s burnt, read in 10 ms ticks


def test_machine_busy_cpu_matches_psutils_count() -> None:
    from wattprint._proctree import machine_busy_cpu_s

    t = psutil.cpu_times()
    expected = (sum(t) - t.idle - t.iowait - t.guest - t.guest_nice)
    ours = machine_busy_cpu_s()
    assert ours == pytest.approx(expected, abs=0.5)  # read a moment apart, 10 ms ticks
    assert machine_busy_cpu_s() >= ours


def test_long_procfs_files_are_read_to_the_end(tmp_path) -> None:
    """A thread with hundreds of live children has a children file longer than one read."""
    from wattprint._proctree import _read_small

    pids = " ".join(str(100000 + k) for k in range(2000)).encode() + b" "
    (tmp_path / "children").write_bytes(pids)
    assert _read_small(str(tmp_path / "children")) == pids
    assert len(pids) > 4096
