"""Process-tree membership and CPU accounting on real processes."""

from __future__ import annotations

import os
import subprocess
import sys

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
    assert after - before >= 0.4
    assert tree.cpu_s() >= after  # never goes backwards


def test_unknown_pid_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="no process with PID"):
        ProcessTree(2**22 + 12345)
