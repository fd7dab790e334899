"""``wattprint run`` and the ledger, as real subprocesses: recording, exit codes and
statuses, SIGKILL of the child and of wattprint itself, two concurrent runs on one
ledger, the CPU time of children that exited before the end, and user errors. Ledger
faults and signals: ``test_cli_run_faults.py``."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import psutil
import pytest

from _cli import WATTPRINT, assert_clean_error, cli_env, kill_tree, wp, wp_json
from wattprint.ledger import Ledger

PY = sys.executable
SLEEPER = [PY, "-c", "import time; print('started', flush=True); time.sleep(60)"]


def wait_for_samples(ledger_path: str, minimum: int, timeout: float = 60.0) -> tuple[str, int]:
    """The running run's id and its flushed sample count, once it has ``minimum``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if os.path.exists(ledger_path):
            with Ledger(ledger_path, readonly=True) as ledger:
                running = ledger.runs(status="running")
                if running:
                    n = sum(1 for _ in ledger.samples(running[0].id))
                    if n >= minimum:
                        return running[0].id, n
        time.sleep(0.1)
    raise AssertionError(f"no running run with {minimum} flushed samples in {timeout} s")


def test_run_is_recorded_with_command_exit_code_and_tags(tmp_path) -> None:
    proc = wp(tmp_path, "run", "--project", "demo", "--tag", "a", "--tag", "b", "--zone",
              "FR", "--", PY, "-c", "import sys; sum(range(10**6)); sys.exit(3)")
    assert proc.returncode == 3
    assert "run id:" in proc.stderr
    run_id = proc.stderr.split("run id: ")[1].split()[0]
    data = wp_json(tmp_path, "show", run_id)
    assert data["status"] == "failed" and data["exit_code"] == 3
    assert data["project"] == "demo" and data["tags"] == ["a", "b"] and data["zone"] == "FR"
    assert data["command"][0] == PY and data["command"][-1].endswith("sys.exit(3)")
    assert data["pid"] != os.getpid() and data["devices"]
    assert data["energy_j"] is not None and data["cpu_s"] > 0


def test_no_ledger_flag_records_nothing(tmp_path) -> None:
    proc = wp(tmp_path, "run", "--no-ledger", "-q", "--", PY, "-c", "pass")
    assert proc.returncode == 0 and not (tmp_path / "ledger.db").exists()


def test_ctrl_c_reaches_the_child_and_the_run_is_interrupted(tmp_path) -> None:
    env = cli_env(tmp_path)
    child = subprocess.Popen([*WATTPRINT, "run", "-q", "--", *SLEEPER], env=env,
                             cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True,  # SIGINT at its default whatever the runner does
                             preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        assert child.stdout.readline().strip() == "started"
        child.send_signal(signal.SIGINT)
        child.wait(timeout=20)
    finally:
        kill_tree(child.pid)
    assert child.returncode == 130
    (run,) = wp_json(tmp_path, "runs")
    assert run["status"] == "interrupted" and run["exit_code"] == -signal.SIGINT


def test_child_killed_with_sigkill_leaves_an_interrupted_run_with_its_samples(tmp_path):
    env = cli_env(tmp_path)
    wattprint = subprocess.Popen([*WATTPRINT, "run", "-q", "--", *SLEEPER], env=env,
                                 cwd=tmp_path, stdout=subprocess.PIPE, text=True)
    try:
        run_id, flushed = wait_for_samples(env["WATTPRINT_LEDGER"], 2)
        (child,) = psutil.Process(wattprint.pid).children()
        child.kill()
        assert wattprint.wait(timeout=20) == 128 + signal.SIGKILL
    finally:
        kill_tree(wattprint.pid)
    data = wp_json(tmp_path, "show", run_id)
    assert data["status"] == "interrupted" and data["exit_code"] == -signal.SIGKILL
    assert data["samples"] >= flushed and data["energy_j"] > 0


def test_wattprint_killed_with_sigkill_is_recovered_on_next_open(tmp_path) -> None:
    env = cli_env(tmp_path)
    wattprint = subprocess.Popen([*WATTPRINT, "run", "--tag", "doomed", "-q", "--",
                                  *SLEEPER], env=env, cwd=tmp_path,
                                 stdout=subprocess.PIPE, text=True)
    try:
        run_id, flushed = wait_for_samples(env["WATTPRINT_LEDGER"], 4)
        os.kill(wattprint.pid, signal.SIGKILL)
        wattprint.wait(timeout=20)
    finally:
        kill_tree(wattprint.pid)
    runs = wp_json(tmp_path, "runs")  # listing recovers dead runs
    assert [(r["id"], r["status"]) for r in runs] == [(run_id, "interrupted")]
    data = wp_json(tmp_path, "show", run_id)
    assert data["samples"] >= flushed
    assert data["energy_j"] > 0 and data["duration_s"] > 0 and data["tags"] == ["doomed"]
    assert any("interrupted" in w for w in data["warnings"])
    with Ledger(env["WATTPRINT_LEDGER"], readonly=True) as ledger:
        samples = list(ledger.samples(run_id))
    assert len(samples) == data["samples"]
    by_device: dict[int, float] = {}
    for device, _t, _p, energy in samples:
        by_device[device] = max(by_device.get(device, 0.0), energy)
    assert data["energy_j"] == pytest.approx(sum(by_device.values()))


def test_two_concurrent_runs_on_one_ledger(tmp_path) -> None:
    env = cli_env(tmp_path)
    burn = "import time\nt=time.time()\nwhile time.time()-t<1.5: pass"
    procs = [subprocess.Popen([*WATTPRINT, "run", "-q", "--rate", "50", "--tag", f"c{k}",
                               "--", PY, "-c", burn], env=env, cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for k in range(2)]
    outs = [p.communicate(timeout=60) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outs
    assert all("error" not in err for _, err in outs), outs
    runs = wp_json(tmp_path, "runs")
    assert sorted(r["tags"][0] for r in runs) == ["c0", "c1"]
    assert all(r["status"] == "finished" and r["samples"] >= 2 for r in runs)


def test_cpu_time_of_exited_children_counts(tmp_path) -> None:
    script = textwrap.dedent(f"""
        import subprocess, sys, time
        burn = "import time\\nt = time.process_time()\\nwhile time.process_time() - t < 0.3: pass"
        for _ in range(3):
            subprocess.run([{PY!r}, "-c", burn], check=True)
        time.sleep(1.2)  # the children are long gone when the run ends
    """)
    proc = wp(tmp_path, "run", "-q", "--", PY, "-c", script)
    assert proc.returncode == 0, proc.stderr
    data = wp_json(tmp_path, "show", "last")
    assert data["cpu_s"] >= 0.9 * 0.95
    (cpu,) = [d for d in data["devices"] if d["name"] == "cpu-model"]
    assert cpu["kind"] == "modelled"
    max_w = cpu["provenance"]["coefficients"]["max_w_per_vcpu"]["value"]
    # process mode: a busy vCPU-second of the tree costs the per-vCPU max draw
    assert cpu["energy_j"] >= 0.9 * 0.95 * max_w
    assert cpu["energy_j"] == pytest.approx(data["cpu_s"] * max_w, rel=0.25)


def test_missing_command(tmp_path) -> None:
    assert_clean_error(wp(tmp_path, "run"), "no command given")
    assert_clean_error(wp(tmp_path, "run", "--", "no-such-program-xyz"), "command not found")


def test_bad_setting_names_key_value_and_allowed(tmp_path) -> None:
    (tmp_path / "wattprint.toml").write_text('rate_hz = 5000\n')
    proc = wp(tmp_path, "run", "--", PY, "-c", "pass")
    assert_clean_error(proc, "wattprint.toml", "rate_hz", "5000", "at most 1000")
    (tmp_path / "wattprint.toml").write_text('colour = "red"\n')
    assert_clean_error(wp(tmp_path, "config"), "unknown setting 'colour'", "known settings")
