"""``wattprint tune-power -- CMD`` as a real process (fake GPUs, real time, a real child
reporting steps through WATTPRINT_STEP_FD): profiles, keeps the choice, restores the
original limit at the end and on SIGTERM, passes the exit status through."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from _cli import cli_env, wp

HELPER = str(Path(__file__).parent / "_fake_tune_power.py")
STEPS = textwrap.dedent("""
    import sys, time
    import wattprint.optimize as o
    for i in range(int(sys.argv[1])):
        time.sleep(0.02)
        o.step()
    print("trained", flush=True)
    sys.exit(int(sys.argv[2]))
""")


def tune(tmp_path, *args: str, env=None, timeout=120):
    return subprocess.run([sys.executable, HELPER, *args], env=env or cli_env(tmp_path),
                          capture_output=True, text=True, timeout=timeout)


def fake_state(stderr: str) -> dict:
    return json.loads(stderr.strip().splitlines()[-1])


def test_profiles_keeps_the_choice_and_restores_with_the_exit_status(tmp_path):
    out = tmp_path / "report.json"
    proc = tune(tmp_path, "--eta", "1", "--limits", "650,500,350,250", "--warmup-steps", "2",
                "--steps-per-limit", "4", "--json", str(out), "--",
                sys.executable, "-c", STEPS, "60", "3")
    assert proc.returncode == 3, proc.stderr  # the command's status
    assert "trained" in proc.stdout
    state = fake_state(proc.stderr)
    report = json.loads(out.read_text())
    assert report["steps"] == 60 and report["applied"]
    profiles = report["profiles"]
    assert [p["limit_w"] for p in profiles] == [650, 500, 350, 250]
    for p in profiles:  # the GPU drew the curve's power under each limit (timing-free)
        assert p["power_w"] == pytest.approx(min(p["limit_w"], 600.0), rel=0.02)
    # eta=1: the least energy per step among those measured (step times here are the
    # child's sleeps, so they vary with the machine's load; the rule does not)
    best = min(profiles, key=lambda p: (p["energy_j"], -p["limit_w"]))
    assert report["chosen_limit_w"] == best["limit_w"]
    assert state["set_w"][-1] == 650.0 and state["final_w"] == [650.0]
    assert best["limit_w"] in state["set_w"] and "restored" in proc.stderr


def test_sigterm_goes_to_the_command_and_the_limit_comes_back(tmp_path):
    proc = subprocess.Popen([sys.executable, HELPER, "--eta", "1", "--limits", "650,300",
                             "--warmup-steps", "1", "--steps-per-limit", "2", "--",
                             sys.executable, "-c", STEPS, "100000", "0"],
                            env=cli_env(tmp_path), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    seen = ""
    while " W applied" not in seen:  # the choice made (which one depends on timing)
        line = proc.stderr.readline()
        assert line, seen
        seen += line
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM
    state = fake_state(err)
    assert state["final_w"] == [650.0] and state["set_w"][-1] == 650.0


def test_without_permission_the_command_runs_unchanged_and_the_fix_is_said(tmp_path):
    env = cli_env(tmp_path, FAKE_PERMISSION="0")
    proc = tune(tmp_path, "--warmup-steps", "1", "--steps-per-limit", "3", "--",
                sys.executable, "-c", STEPS, "10", "0", env=env)
    assert proc.returncode == 0
    assert "sudo nvidia-smi -i 0 -pl" in proc.stderr and "SoCC 2023" in proc.stderr
    assert fake_state(proc.stderr) == {"final_w": [650.0], "set_w": []}


def test_a_command_that_reports_no_steps_is_told_how(tmp_path):
    proc = tune(tmp_path, "--", sys.executable, "-c", "pass")
    assert proc.returncode == 0 and "reported no steps" in proc.stderr
    assert fake_state(proc.stderr)["final_w"] == [650.0]


def test_bad_input_is_one_line_exit_2(tmp_path):
    proc = wp(tmp_path, "tune-power", "--eta", "2", "--", "true")
    assert proc.returncode == 2 and "eta=2" in proc.stderr and "Traceback" not in proc.stderr
    proc = wp(tmp_path, "tune-power")
    assert proc.returncode == 2 and "no command given" in proc.stderr


def test_step_outside_tune_power_is_a_no_op():
    code = "import wattprint.optimize as o\nfor _ in range(3): o.step()\nprint('ok')"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env={k: v for k, v in cli_env(Path("/tmp")).items()})
    assert proc.returncode == 0 and proc.stdout.strip() == "ok"
