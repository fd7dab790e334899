"""Runs the program never stopped are stopped at interpreter exit, with the real end."""

from __future__ import annotations

import subprocess
import sys

import pytest

from wattprint.ledger import Ledger

BURN = ("t = time.process_time()\n"
        "while time.process_time() - t < 0.3: pass\n")


def _run(tmp_path, body: str) -> subprocess.CompletedProcess:
    script = ("import os, sys, time, wattprint\n"
              f"run = wattprint.start('exit-test', ledger={str(tmp_path / 'l.db')!r})\n"
              + BURN + body)
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=60)


def _only_run(tmp_path):
    with Ledger(str(tmp_path / "l.db"), readonly=True) as ledger:
        runs = ledger.runs()
        assert len(runs) == 1
        return ledger.get(runs[0].id)


def test_uncaught_exception_records_the_run_failed_with_its_energy(tmp_path) -> None:
    proc = _run(tmp_path, "raise RuntimeError('CUDA out of memory')\n")
    assert proc.returncode == 1 and "RuntimeError: CUDA out of memory" in proc.stderr
    run = _only_run(tmp_path)
    assert run.status == "failed"
    assert any("uncaught RuntimeError: CUDA out of memory" in w for w in run.warnings)
    assert run.energy_j > 0 and run.cpu_s >= 0.28  # the final reading was taken (10 ms ticks)


def test_missing_stop_finishes_the_run_at_exit(tmp_path) -> None:
    proc = _run(tmp_path, "print('done')\n")
    assert proc.returncode == 0, proc.stderr
    run = _only_run(tmp_path)
    assert run.status == "finished"
    assert any("without calling stop()" in w for w in run.warnings)
    assert run.cpu_s >= 0.28


def test_keyboard_interrupt_records_interrupted(tmp_path) -> None:
    _run(tmp_path, "raise KeyboardInterrupt\n")
    assert _only_run(tmp_path).status == "interrupted"


def test_a_stopped_run_is_left_alone_and_a_forked_child_does_not_finish_the_parents_run(
        tmp_path) -> None:
    proc = _run(tmp_path, "pid = os.fork()\n"
                          "if pid == 0:\n    sys.exit(0)\n"  # the child exits through atexit
                          "os.waitpid(pid, 0)\n"
                          "from wattprint.ledger import Ledger\n"
                          "with Ledger(run._recording.writer.ledger.path, readonly=True) as l:\n"
                          "    print(l.get(run.run_id).status)\n"
                          "time.sleep(0.2)\n"
                          "result = run.stop()\nprint(result.duration_s)\n")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split()[0] == "running"  # the child's exit left the run alone
    run = _only_run(tmp_path)
    assert run.status == "finished"
    assert not [w for w in run.warnings if "interpreter exit" in w]
    assert run.duration_s == pytest.approx(float(proc.stdout.split()[-1]), rel=1e-6)
