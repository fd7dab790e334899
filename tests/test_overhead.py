"""What measuring costs: ``overhead_cpu_s`` counts every wattprint thread of a run."""

from __future__ import annotations

import io
import threading
import time

import pytest

import wattprint
from wattprint._threadcpu import ThreadCPU
from wattprint.ledger import Ledger
from wattprint.testing import FakeSensor


def burn(cpu_s: float) -> float:
    """Spin until this thread has used ``cpu_s`` more CPU seconds; returns what it used."""
    start = time.thread_time()
    while time.thread_time() - start < cpu_s:
        pass
    return time.thread_time() - start


def test_thread_cpu_sums_ended_and_live_threads() -> None:
    meter = ThreadCPU()
    busy, release = threading.Event(), threading.Event()
    used = []

    def live() -> None:
        used.append(burn(0.05))
        busy.set()
        release.wait(30)

    meter.start(lambda: used.append(burn(0.05)), "ended").join()
    assert meter.cpu_s() >= used[0]
    thread = meter.start(live, "live")
    assert busy.wait(30)
    if hasattr(time, "pthread_getcpuclockid"):  # a live thread is read through its clock
        assert meter.cpu_s() >= sum(used)
    release.set()
    thread.join()
    assert meter.cpu_s() >= sum(used)
    assert meter.cpu_s() < sum(used) + 1.0  # nothing counted twice


def test_overhead_counts_the_ledger_writer_thread(tmp_path, monkeypatch) -> None:
    from wattprint.ledger._writer import RunWriter

    burned: list[float] = []
    flush = RunWriter.flush

    def costly_flush(self: RunWriter) -> bool:
        if threading.current_thread().name == "wattprint-ledger":
            burned.append(burn(0.03))
        return flush(self)

    monkeypatch.setattr(RunWriter, "flush", costly_flush)
    with wattprint.track("overhead", sensors=[FakeSensor(10.0)],
                         ledger=tmp_path / "ledger.db") as run:
        deadline = time.monotonic() + 60
        while len(burned) < 2 and time.monotonic() < deadline:
            time.sleep(0.05)
        seen = list(burned)  # the flush at stop may still append; these are all done
    result = run.result
    assert len(seen) >= 2
    # the sampler alone used far less: the writer's CPU is in the figure
    assert result.overhead_cpu_s >= sum(seen)
    assert "wattprint's own threads" in result.summary()
    with Ledger(tmp_path / "ledger.db") as ledger:
        recorded = ledger.get(result.run_id)
    assert recorded.overhead_cpu_s == pytest.approx(result.overhead_cpu_s)


def test_overhead_counts_the_budget_thread(monkeypatch) -> None:
    from wattprint.budget import BudgetGuard

    burned: list[float] = []
    check = BudgetGuard.check

    def costly_check(self: BudgetGuard):
        if threading.current_thread().name == "wattprint-budget":
            burned.append(burn(0.03))
        return check(self)

    monkeypatch.setattr(BudgetGuard, "check", costly_check)
    with wattprint.track("budget", sensors=[FakeSensor(10.0)], budget_kwh=1.0,
                         on_budget="warn") as run:
        deadline = time.monotonic() + 60
        while not burned and time.monotonic() < deadline:
            time.sleep(0.05)
        seen = list(burned)  # a later check may be under way while the run stops
    assert seen
    assert run.result.overhead_cpu_s >= sum(seen)


def test_a_helper_thread_of_the_run_counts_too() -> None:
    """``wattprint run``'s live line runs on such a thread."""
    burned: list[float] = []
    tracker = wattprint.Tracker("helper", sensors=[FakeSensor(10.0)])
    with pytest.raises(wattprint.UsageError):
        tracker.start_thread(lambda: None, "too-early")
    tracker.start()
    tracker.start_thread(lambda: burned.append(burn(0.05)), "wattprint-live").join()
    result = tracker.stop()
    assert result.overhead_cpu_s >= burned[0] >= 0.05


def _free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_overhead_counts_the_metrics_server_threads() -> None:
    """``prometheus_port=``: serving and rendering the run's scrapes is measuring's cost.
    The truth is the operating system's: every thread of this process but the test's own
    (which only asks for the scrapes) is wattprint's while the run is scraped."""
    import urllib.request

    port = _free_port()
    with wattprint.track("scraped", sensors=[FakeSensor(10.0)], prometheus_port=port) as run:
        main0, process0 = time.thread_time(), time.process_time()
        for _ in range(300):
            urllib.request.urlopen(f"http://127.0.0.1:{port}/metrics", timeout=30).read()
        others = (time.process_time() - process0) - (time.thread_time() - main0)
    assert others > 0
    # uncounted, the scrape threads left only the sampler's few ms of a window's CPU
    assert run.result.overhead_cpu_s >= 0.5 * others, (run.result.overhead_cpu_s, others)


def test_overhead_counts_the_notebook_live_view() -> None:
    """A LiveView refreshing every 10 ms for a second: its thread is wattprint's cost. The
    truth is the OS's CPU of every thread but the test's own (which only sleeps)."""
    from wattprint.notebook import LiveView

    with wattprint.track("live", sensors=[FakeSensor(10.0)]) as run:
        view = LiveView(run, every_s=0.01, file=io.StringIO(), ipython=False)
        main0, process0 = time.thread_time(), time.process_time()
        view.start()
        time.sleep(1.0)
        view.stop()  # joins the thread
        others = (time.process_time() - process0) - (time.thread_time() - main0)
    assert others > 0
    assert run.result.overhead_cpu_s >= 0.5 * others, (run.result.overhead_cpu_s, others)


def test_every_library_thread_starts_through_thread_cpu() -> None:
    """One mechanism: a thread a run starts is a ThreadCPU thread, so it counts. The two
    left are the command line's, outside any run (a keypress watch before the start
    window opens; tune-power's step reader, which tracks no run)."""
    import pathlib
    import re

    src = pathlib.Path(wattprint.__file__).parent
    starts = sorted(str(p.relative_to(src)) for p in src.rglob("*.py")
                    if re.search(r"threading\.Thread\(", p.read_text()))
    assert starts == ["_threadcpu.py", "cli/_start_window.py", "cli/_tune_power.py"]
