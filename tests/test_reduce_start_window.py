"""``wattprint run --start-within``: the wait (a real subprocess: SIGUSR1 starts now,
SIGINT cancels without running the command), the wait recorded with the run, the
command's exit status untouched; the countdown loop on a fake clock."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone

import pytest

from _cli import WATTPRINT, cli_env, wp
from wattprint.ledger import Ledger
from wattprint.reduce._wait import wait
from wattprint.reduce.when import plan_when

PLANNED_NOW = "2026-07-01T03:30:00Z"  # California evening: a cleaner start is hours away


def _start(tmp_path, *cmd: str) -> subprocess.Popen:
    env = cli_env(tmp_path, WATTPRINT_NOW=PLANNED_NOW)
    return subprocess.Popen([*WATTPRINT, "run", "--zone", "US-CAL-CISO", "--start-within",
                             "12h", "--", *cmd], env=env, cwd=str(tmp_path),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _wait_for_line(proc: subprocess.Popen, text: str) -> str:
    line = proc.stderr.readline()
    assert text in line, line
    return line


def test_sigint_while_waiting_cancels_and_the_command_never_runs(tmp_path):
    marker = tmp_path / "ran"
    proc = _start(tmp_path, sys.executable, "-c", f"open({str(marker)!r}, 'w')")
    _wait_for_line(proc, "waiting for the cleanest start")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 130
    assert "cancelled while waiting" in err and "not run" in err
    assert not marker.exists()
    with Ledger(str(tmp_path / "ledger.db")) as ledger:
        assert ledger.runs() == []


def test_sigusr1_starts_now_and_the_wait_is_recorded(tmp_path):
    proc = _start(tmp_path, sys.executable, "-c", "import sys; sys.exit(7)")
    _wait_for_line(proc, "waiting for the cleanest start")
    proc.send_signal(signal.SIGUSR1)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 7, err  # the command's own status
    assert "starting now, as asked" in err
    with Ledger(str(tmp_path / "ledger.db")) as ledger:
        (run,) = ledger.runs()
    window = run.settings["start_window"]
    plan = plan_when("US-CAL-CISO", 3600, now=datetime(2026, 7, 1, 3, 30, tzinfo=timezone.utc),
                     within_s=12 * 3600)
    assert window["how"] == "started_now" and 0 <= window["waited_s"] < 60
    assert window["planned_start"] == plan.best.start.isoformat()
    assert window["intensity_planned_g_per_kwh"] == pytest.approx(plan.best.mean_g_per_kwh)
    assert window["start_within_s"] == 12 * 3600 and window["basis"] == "estimated"


def test_no_wait_when_now_is_the_cleanest_start(tmp_path):
    first = plan_when("US-CAL-CISO", 3600, now=datetime(2026, 7, 1, 3, 30, tzinfo=timezone.utc),
                      within_s=24 * 3600)
    # from the best start of a day, the next hour holds no cleaner start
    start = first.best.start
    assert plan_when("US-CAL-CISO", 3600, now=start, within_s=3600).wait_s == 0
    env = cli_env(tmp_path, WATTPRINT_NOW=start.isoformat())
    proc = wp(tmp_path, "run", "--zone", "US-CAL-CISO", "--start-within", "1h", "--",
              sys.executable, "-c", "print('ran')", env=env)
    assert proc.returncode == 0, proc.stderr
    assert "now is the cleanest start" in proc.stderr and "ran" in proc.stdout
    with Ledger(str(tmp_path / "ledger.db")) as ledger:
        (run,) = ledger.runs()
    assert run.settings["start_window"]["how"] == "no wait"


def test_start_within_needs_a_zone_and_a_duration(tmp_path):
    proc = wp(tmp_path, "run", "--start-within", "12h", "--", "true")
    assert proc.returncode == 2 and "--start-within needs a zone" in proc.stderr
    proc = wp(tmp_path, "run", "--zone", "DE", "--start-within", "soon", "--", "true")
    assert proc.returncode == 2 and "cannot read 'soon' as a duration" in proc.stderr


def test_wait_counts_down_on_its_clock_and_stops_early_when_asked():
    t = [0.0]
    ticks: list[float] = []

    class Event(threading.Event):
        def wait(self, timeout=None):
            t[0] += timeout
            return False

    result = wait(3.5, start_now=Event(), on_tick=ticks.append, clock=lambda: t[0])
    assert result.how == "reached" and result.waited_s == pytest.approx(3.5)
    assert ticks == pytest.approx([3.5, 2.5, 1.5, 0.5])
    now = threading.Event()
    now.set()
    assert wait(3600, start_now=now).how == "started_now"


def test_on_a_terminal_a_countdown_shows_and_enter_starts_now(tmp_path):
    """A real pseudo-terminal: the countdown line is drawn, Enter starts the command."""
    import os
    import pty
    import select

    pid, fd = pty.fork()
    if pid == 0:  # the child: wattprint on the terminal
        env = cli_env(tmp_path, WATTPRINT_NOW=PLANNED_NOW)
        os.chdir(str(tmp_path))
        os.execvpe(WATTPRINT[0], [*WATTPRINT, "run", "--zone", "US-CAL-CISO",
                                  "--start-within", "12h", "--", sys.executable, "-c",
                                  "print('ran on the terminal')"], env)
    seen = b""
    deadline = time.monotonic() + 60
    try:
        while b"Enter starts now" not in seen and time.monotonic() < deadline:
            if select.select([fd], [], [], 1.0)[0]:
                seen += os.read(fd, 4096)
        assert b"starts in " in seen and b"Ctrl-C cancels" in seen, seen
        os.write(fd, b"\n")
        while time.monotonic() < deadline:
            if select.select([fd], [], [], 1.0)[0]:
                try:
                    chunk = os.read(fd, 4096)
                except OSError:  # the terminal closed: wattprint ended
                    break
                if not chunk:
                    break
                seen += chunk
    finally:
        _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0, seen
    assert b"starting now, as asked" in seen and b"ran on the terminal" in seen
