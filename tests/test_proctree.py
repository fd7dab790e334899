"""Process-tree membership and CPU accounting on real processes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

from _procfs import (CHILD, GRANDCHILD, PAGE_BYTES, ROOT, TICK_S, WRITER, ZOMBIE, edit_stat,
                     fake_proc, set_children)
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
        # compared with psutil on the subtree this test owns: the test process's other
        # children (services of earlier tests) may come and go between the two reads
        subtree = set(descendant_pids(child.pid))
        assert subtree == {p.pid for p in psutil.Process(child.pid).children(recursive=True)}
        assert subtree == {grandchild}
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


class FakeClock:
    """Monotonic seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def test_live_child_cpu_is_read_from_procfs() -> None:
    clock = FakeClock()
    tree = ProcessTree(refresh_s=3600, clock=clock)  # walks only when the clock says so
    before = tree.cpu_s()
    child = _burnt_child()
    try:
        clock.advance(3600)  # a walk is due: the child becomes a member
        assert tree.cpu_s() - before >= 0.28  # 10 ms ticks: 0.3 s of burn may read 0.29
        assert child.pid in tree.pids()
    finally:
        child.stdin.close()
        child.wait()


def test_without_procfs_psutil_does_the_reads() -> None:
    clock = FakeClock()
    tree = ProcessTree(refresh_s=0, procfs_path=None, clock=clock)  # as on macOS
    before = tree.cpu_s()
    child = _burnt_child()
    try:
        assert child.pid in tree.pids()
        assert tree.rss_bytes() > psutil.Process().memory_info().rss
        clock.advance(1.0)
        assert tree.cpu_s() - before >= 0.28
        assert tree.alive()
    finally:
        child.stdin.close()
        child.wait()


def test_calls_in_the_same_instant_share_one_reading() -> None:
    clock = FakeClock()
    tree = ProcessTree(clock=clock)
    first = tree.cpu_s()
    t = time.process_time()
    while time.process_time() - t < 0.05:
        pass
    clock.advance(tree.SAME_INSTANT_S / 2)
    assert tree.cpu_s() == first  # the CPU model and the attribution, one tick
    clock.advance(tree.SAME_INSTANT_S)
    assert tree.cpu_s() >= first + 0.025  # 0.05 s burnt, read in 10 ms ticks


# -- a fake /proc tree (tests/fixtures/proc): every case, no real process needed ----------

@pytest.fixture
def proc(tmp_path) -> Path:
    return fake_proc(tmp_path)


def test_fake_tree_membership_follows_children_files(proc) -> None:
    members = {ROOT, CHILD, ZOMBIE, WRITER, GRANDCHILD}
    assert set(descendant_pids(ROOT, str(proc))) == members - {ROOT}
    tree = ProcessTree(ROOT, procfs_path=str(proc), clock=FakeClock())
    assert tree.pids() == members  # the outsider (999) is not in it
    assert tree.cpu_s() == 0.0  # counted from creation on
    assert tree.rss_bytes() == (2048 + 1024 + 0 + 512 + 256) * PAGE_BYTES


def test_fake_tree_without_children_files_uses_parent_pids(proc) -> None:
    for children in proc.glob("*/task/*/children"):
        children.unlink()
    tree = ProcessTree(ROOT, procfs_path=str(proc), clock=FakeClock())
    assert tree.pids() == {ROOT, CHILD, ZOMBIE, WRITER, GRANDCHILD}


def test_fake_tree_cpu_counts_every_process_once(proc) -> None:
    clock = FakeClock()
    tree = ProcessTree(ROOT, procfs_path=str(proc), refresh_s=1.0, clock=clock)
    edit_stat(proc, CHILD, utime=100 + 50)  # the child works 50 ticks
    clock.advance(0.5)
    assert tree.cpu_s() == pytest.approx(50 * TICK_S)
    # the grandchild exits and is reaped: its 40 ticks move into the child's cutime
    shutil.rmtree(proc / str(GRANDCHILD))
    set_children(proc, CHILD, CHILD, [])
    edit_stat(proc, CHILD, cutime=40)
    clock.advance(1.0)
    assert tree.cpu_s() == pytest.approx(50 * TICK_S)  # neither lost nor counted twice
    assert GRANDCHILD not in tree.pids()


def test_fake_tree_never_goes_backwards_when_a_process_leaves_unreaped(proc) -> None:
    clock = FakeClock()
    tree = ProcessTree(ROOT, procfs_path=str(proc), refresh_s=1.0, clock=clock)
    edit_stat(proc, WRITER, utime=10 + 30)
    clock.advance(1.0)
    assert tree.cpu_s() == pytest.approx(30 * TICK_S)
    # the writer is re-parented to init (its parent did not reap it): its time leaves
    set_children(proc, ROOT, 4210, [])
    edit_stat(proc, WRITER, ppid=1)
    clock.advance(1.0)
    assert WRITER not in tree.pids()
    assert tree.cpu_s() == pytest.approx(30 * TICK_S)  # carried


def test_fake_tree_a_reused_pid_is_not_counted(proc) -> None:
    clock = FakeClock()
    tree = ProcessTree(ROOT, procfs_path=str(proc), refresh_s=3600, clock=clock)
    clock.advance(1.0)
    assert tree.cpu_s() == 0.0
    # between two walks the writer exits and an unrelated process gets its PID
    edit_stat(proc, WRITER, starttime=9999, utime=5000, stime=0)
    clock.advance(1.0)
    assert tree.cpu_s() == 0.0  # the newcomer's 5,000 ticks are not ours; none lost either


def test_fake_tree_walks_at_most_every_refresh_s_and_loses_nothing(proc) -> None:
    clock = FakeClock()
    tree = ProcessTree(ROOT, procfs_path=str(proc), refresh_s=1.0, clock=clock)
    # a new child (started after the last walk) with 70 ticks of CPU already
    shutil.copytree(proc / str(WRITER), proc / "4206")
    (proc / "4206" / "task" / str(WRITER)).rename(proc / "4206" / "task" / "4206")
    stat = proc / "4206" / "stat"
    stat.write_text(stat.read_text().replace(f"{WRITER} (", "4206 (", 1))
    edit_stat(proc, 4206, utime=70, stime=0, starttime=6000)
    set_children(proc, ROOT, ROOT, [CHILD, ZOMBIE, 4206])
    clock.advance(0.5)
    assert tree.cpu_s() == 0.0  # no walk yet: found late...
    clock.advance(0.5)
    assert tree.cpu_s() == pytest.approx(70 * TICK_S)  # ...but never lost


def _child_total(proc: Path, ticks: int) -> None:
    """The fake child's own CPU (utime + stime, stime 20 in the fixture) set to ``ticks``."""
    edit_stat(proc, CHILD, utime=ticks - 20)


def test_fake_tree_a_left_out_rank_is_counted_once_however_late_the_reads(proc) -> None:
    """``wattprint run -- torchrun``: a rank below the launcher measures itself from its
    start mark to its stop mark. The launcher's tree keeps the rank's CPU before its start
    and after its stop (its exit) and nothing in between, even when the tree read the rank
    after its start (the walk that sees the registration comes up to a second late) and
    last read it before its stop. A tree that uses only its own reads (no marks) is the
    control: it counts both late windows twice."""
    shutil.rmtree(proc / str(GRANDCHILD))  # the rank: one process, 120 ticks at our start
    set_children(proc, CHILD, CHILD, [])
    clock = FakeClock()
    peers: set[int] = set()
    marks: dict[int, tuple[float | None, float | None]] = {}
    finals: list[int] = []

    def counted(pid: int, final: bool = False) -> tuple[float | None, float | None]:
        if final:
            finals.append(pid)
        return marks.get(pid, (None, None))

    tree = ProcessTree(ROOT, procfs_path=str(proc), refresh_s=1.0, clock=clock,
                       exclude=lambda: peers, counted=counted)
    control = ProcessTree(ROOT, procfs_path=str(proc), refresh_s=1.0, clock=clock,
                          exclude=lambda: peers)
    both = (tree, control)
    _child_total(proc, 170)  # before the rank measures itself: the tree's
    clock.advance(1.0)
    assert [t.cpu_s() for t in both] == pytest.approx([50 * TICK_S] * 2)
    # the rank starts measuring at 150 ticks and registers; it works on to 270 ticks while
    # the tree still reads it as a member (no walk yet)
    marks[CHILD] = (150 * TICK_S, None)
    peers.add(CHILD)
    _child_total(proc, 270)
    clock.advance(0.5)
    assert [t.cpu_s() for t in both] == pytest.approx([150 * TICK_S] * 2)
    clock.advance(0.5)  # the walk: the rank is left out; 120 ticks it counts are owed
    assert [t.cpu_s() for t in both] == pytest.approx([150 * TICK_S] * 2)  # never back
    edit_stat(proc, ROOT, utime=150 + 200)  # the launcher's own work pays the debt
    clock.advance(1.0)
    assert tree.cpu_s() == pytest.approx((30 + 200) * TICK_S)
    assert control.cpu_s() == pytest.approx((150 + 200) * TICK_S)
    _child_total(proc, 380)  # the trees' last read of the rank...
    clock.advance(1.0)
    assert tree.cpu_s() == pytest.approx(230 * TICK_S)
    assert control.cpu_s() == pytest.approx(350 * TICK_S)
    # ...the rank stops at 400 ticks, exits at 410 and is reaped: the time moves into the
    # launcher's children times
    marks[CHILD] = (150 * TICK_S, 400 * TICK_S)
    shutil.rmtree(proc / str(CHILD))
    set_children(proc, ROOT, ROOT, [ZOMBIE])
    edit_stat(proc, ROOT, cutime=20 + 410)
    clock.advance(1.0)
    rank_s = (400 - 150) * TICK_S
    assert tree.cpu_s() == pytest.approx((30 + 200 + 10) * TICK_S)  # before, own, exit
    assert finals == [CHILD]  # the marks used up
    # every tick once: the launcher's 200 and the rank's 290 since the trees started
    assert tree.cpu_s() + rank_s == pytest.approx((200 + 410 - 120) * TICK_S)
    # the control: the 120 ticks read after the rank's start and the 20 before its stop
    assert control.cpu_s() + rank_s == pytest.approx((200 + 410 - 120 + 120 + 20) * TICK_S)


def test_fake_tree_a_rank_left_out_from_the_start_is_never_counted(proc) -> None:
    """A rank registered before the tree starts (its marks known at once) is left out of
    the start reading: nothing owed, nothing kept, its exit alone is the tree's."""
    shutil.rmtree(proc / str(GRANDCHILD))
    set_children(proc, CHILD, CHILD, [])
    clock = FakeClock()
    marks = {CHILD: (120 * TICK_S, 300 * TICK_S)}
    tree = ProcessTree(ROOT, procfs_path=str(proc), refresh_s=1.0, clock=clock,
                       exclude=lambda: {CHILD},
                       counted=lambda pid, final=False: marks.get(pid, (None, None)))
    _child_total(proc, 300)
    clock.advance(1.0)
    assert tree.cpu_s() == 0.0
    shutil.rmtree(proc / str(CHILD))
    set_children(proc, ROOT, ROOT, [ZOMBIE])
    edit_stat(proc, ROOT, cutime=20 + 305)
    clock.advance(1.0)
    assert tree.cpu_s() == pytest.approx(5 * TICK_S)


def test_fake_tree_same_instant_and_alive(proc) -> None:
    clock = FakeClock()
    tree = ProcessTree(ROOT, procfs_path=str(proc), clock=clock)
    first = tree.cpu_s()
    edit_stat(proc, ROOT, utime=150 + 10)
    clock.advance(ProcessTree.SAME_INSTANT_S / 2)
    assert tree.cpu_s() == first
    clock.advance(ProcessTree.SAME_INSTANT_S)
    assert tree.cpu_s() == pytest.approx(10 * TICK_S)
    assert tree.alive()
    edit_stat(proc, ROOT, state="Z")
    assert not tree.alive()
    shutil.rmtree(proc / str(ROOT))
    assert not tree.alive()


def test_fake_tree_unknown_pid_and_machine_cpu(proc) -> None:
    from wattprint._proctree import machine_busy_cpu_s

    with pytest.raises(UsageError, match="no process with PID 4242"):
        ProcessTree(4242, procfs_path=str(proc))
    assert machine_busy_cpu_s(str(proc)) == pytest.approx(1380 * TICK_S)


def test_machine_busy_cpu_matches_psutils_count() -> None:
    from wattprint._proctree import machine_busy_cpu_s

    def psutils_count() -> float:
        t = psutil.cpu_times()
        return sum(t) - t.idle - t.iowait - t.guest - t.guest_nice

    # the machine keeps working between the reads (every core, as long as a loaded
    # machine keeps this thread waiting): ours lies between psutil's before and after
    before = psutils_count()
    ours = machine_busy_cpu_s()
    after = psutils_count()
    assert before - 0.05 <= ours <= after + 0.05  # 10 ms ticks, rounded per field
    assert machine_busy_cpu_s() >= ours


def test_long_procfs_files_are_read_to_the_end(tmp_path) -> None:
    """A thread with hundreds of live children has a children file longer than one read."""
    from wattprint._proctree import _read_small

    pids = " ".join(str(100000 + k) for k in range(2000)).encode() + b" "
    (tmp_path / "children").write_bytes(pids)
    assert _read_small(str(tmp_path / "children")) == pids
    assert len(pids) > 4096
