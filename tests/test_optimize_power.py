"""The GPU power-limit optimiser against FakeNVML power curves: it finds the optimum the
curve implies (computed here by brute force from the curve itself), respects
max_slowdown, costs under 2 % of a 1,000-step run, restores the original limit on a
normal end, an exception, SIGTERM and Ctrl-C (real subprocesses), and without permission
changes nothing and says the fix."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import textwrap

import pytest

from _cli import cli_env
from wattprint.errors import UsageError
from wattprint.optimize import PowerLimitOptimizer, choose, cost
from wattprint.testing.fake_nvml import FakeGPU, FakeNVML, PowerCurve

CURVE = PowerCurve(full_power_w=600.0, idle_power_w=170.0, step_s=0.25)
LIMITS = [700.0 - 50 * k for k in range(11)]  # what the optimiser tries on a 200-700 W GPU


def run(fake: FakeNVML, steps: int, **kw) -> PowerLimitOptimizer:
    with PowerLimitOptimizer(nvml=fake, clock=fake.time, log=lambda text: None,
                             guard_signals=False, **kw) as opt:
        for _ in range(steps):
            fake.run_steps(1)
            opt.step()
    return opt


def gpu(**kw) -> FakeGPU:
    return FakeGPU(workload=kw.pop("workload", CURVE), **kw)


def brute_force(eta: float | None = None, max_slowdown: float | None = None) -> float:
    """The limit the curve says is best, by the rule the optimiser documents."""
    tried = LIMITS
    if max_slowdown is not None:
        ref = CURVE.step_time_s(max(tried))
        ok = [w for w in tried if CURVE.step_time_s(w) <= ref * (1 + max_slowdown) + 1e-12]
        return min(ok, key=lambda w: (CURVE.step_energy_j(w), -w))
    return min(tried, key=lambda w: (eta * CURVE.step_energy_j(w)
                                     + (1 - eta) * 700.0 * CURVE.step_time_s(w), -w))


@pytest.mark.parametrize("eta", [1.0, 0.8, 0.5, 0.0])
def test_finds_the_optimum_of_the_energy_time_cost(eta):
    fake = FakeNVML([gpu()])
    opt = run(fake, 200, eta=eta)
    report = opt.report
    assert report.applied and report.chosen.limit_w == brute_force(eta=eta)
    for p in report.profiles:  # the measurements are the curve's
        assert p.step_s == pytest.approx(CURVE.step_time_s(p.limit_w), rel=1e-6)
        assert p.energy_j == pytest.approx(CURVE.step_energy_j(p.limit_w), rel=1e-3)
    assert fake.gpus[0].power_limit_w == 700.0  # restored at the end


@pytest.mark.parametrize("max_slowdown", [0.0, 0.05, 0.2, 0.5])
def test_respects_max_slowdown(max_slowdown):
    fake = FakeNVML([gpu()])
    report = run(fake, 200, max_slowdown=max_slowdown).report
    ref = report.profiles[0]
    assert report.chosen.limit_w == brute_force(max_slowdown=max_slowdown)
    assert report.chosen.step_s <= ref.step_s * (1 + max_slowdown) + 1e-9
    assert report.slowdown_pct <= max_slowdown * 100 + 1e-6


def test_profiling_costs_under_two_percent_of_a_1000_step_run():
    for kw in ({"eta": 1.0}, {"eta": 0.5}, {"max_slowdown": 0.1}):
        fake = FakeNVML([gpu()])
        report = run(fake, 1000, **kw).report
        chosen = report.chosen.limit_w
        ideal_j = 1000 * CURVE.step_energy_j(chosen)
        ideal_s = 1000 * CURVE.step_time_s(chosen)
        assert fake.drawn_j(0) <= ideal_j * 1.02, kw
        assert fake.now_s <= ideal_s * 1.02 or report.chosen.limit_w < 700, kw
        assert report.profiling_steps < 100


def test_keeps_the_chosen_limit_until_close_and_restores_an_uncommon_original():
    fake = FakeNVML([gpu(power_limit_w=650.0)])
    with PowerLimitOptimizer(nvml=fake, clock=fake.time, eta=1.0, log=lambda t: None,
                             guard_signals=False) as opt:
        for _ in range(150):
            fake.run_steps(1)
            opt.step()
        assert fake.gpus[0].power_limit_w == opt.report.chosen.limit_w < 650
    assert fake.gpus[0].power_limit_w == 650.0 and opt.report.restored
    assert opt.report.reference.limit_w == 650.0  # savings are against the original


def test_restores_after_an_exception():
    fake = FakeNVML([gpu()])
    with pytest.raises(RuntimeError, match="loss is NaN"):
        with PowerLimitOptimizer(nvml=fake, clock=fake.time, log=lambda t: None,
                                 guard_signals=False) as opt:
            for i in range(30):
                fake.run_steps(1)
                opt.step()
                if i == 20:
                    assert fake.gpus[0].power_limit_w < 700  # mid-profile, capped
                    raise RuntimeError("loss is NaN")
    assert fake.gpus[0].power_limit_w == 700.0 and opt.report.restored


def test_two_gpus_get_the_same_limit_and_their_energy_adds_up():
    fake = FakeNVML([gpu(), gpu()])
    report = run(fake, 200, eta=1.0).report
    assert report.chosen.limit_w == brute_force(eta=1.0)
    assert report.profiles[0].energy_j == pytest.approx(2 * CURVE.step_energy_j(700), rel=1e-3)
    assert {g.power_limit_w for g in fake.gpus} == {700.0}
    assert {g for _, g, _ in fake.limit_history} == {0, 1}


def test_without_an_energy_counter_power_times_time_is_used():
    fake = FakeNVML([gpu(energy_counter=False)])
    report = run(fake, 200, eta=1.0).report
    assert report.chosen.limit_w == brute_force(eta=1.0)


def test_without_permission_nothing_changes_and_the_fix_is_said():
    fake = FakeNVML([gpu(power_limit_permission=False)])
    said: list[str] = []
    with PowerLimitOptimizer(nvml=fake, clock=fake.time, log=said.append,
                             guard_signals=False) as opt:
        for _ in range(60):
            fake.run_steps(1)
            opt.step()
    report = opt.report
    assert not report.permission and not report.applied and fake.limit_history == []
    assert fake.calls["nvmlDeviceSetPowerManagementLimit"] == 1  # the probe only
    assert len(report.profiles) == 1 and report.profiles[0].limit_w == 700.0
    assert "sudo nvidia-smi -i 0 -pl" in report.message and "root" in report.message
    would = report.would_save
    assert would["energy_j_per_step_low"] == pytest.approx(
        report.profiles[0].energy_j * 0.12)
    assert "SoCC 2023" in would["source"] and any("Insufficient Permissions" in s for s in said)


@pytest.mark.parametrize("kw, message", [
    ({"eta": 1.5}, "eta=1.5"), ({"max_slowdown": -0.1}, "max_slowdown=-0.1"),
    ({"steps_per_limit": 0}, "steps_per_limit=0"), ({"limits_w": [900]}, "900 W is outside"),
])
def test_bad_settings_are_refused(kw, message):
    fake = FakeNVML([gpu()])
    with pytest.raises(UsageError, match=message):
        PowerLimitOptimizer(nvml=fake, clock=fake.time, **kw).start()
    assert fake.gpus[0].power_limit_w == 700.0


def test_choose_is_pure_and_prefers_the_higher_limit_on_a_tie():
    from wattprint.optimize import LimitProfile

    a, b = LimitProfile(300, 1.0, 100.0, 5), LimitProfile(400, 1.0, 100.0, 5)
    assert choose([a, b], eta=1.0) is b
    assert cost(a, 0.5, 400) == pytest.approx(0.5 * 100 + 0.5 * 400 * 1.0)


# -- signals, in real processes --------------------------------------------------------------
CHILD = textwrap.dedent("""
    import json, os, sys, time
    from wattprint.optimize import PowerLimitOptimizer
    from wattprint.testing.fake_nvml import FakeGPU, FakeNVML, PowerCurve

    log = open(sys.argv[1], "a", buffering=1)

    class Logged(FakeNVML):
        def nvmlDeviceSetPowerManagementLimit(self, handle, limit):
            super().nvmlDeviceSetPowerManagementLimit(handle, limit)
            log.write(json.dumps(limit) + "\\n")

    fake = Logged([FakeGPU(workload=PowerCurve(idle_power_w=170.0), power_limit_w=650.0)])
    with PowerLimitOptimizer(nvml=fake, clock=fake.time, eta=1.0) as opt:
        for i in range(100000):
            fake.run_steps(1)
            opt.step()
            if i == 20:
                log.write("capped\\n")
            time.sleep(0.01)
""")


def _child(tmp_path):
    log = tmp_path / "limits.log"
    proc = subprocess.Popen([sys.executable, "-c", CHILD, str(log)], env=cli_env(tmp_path),
                            stderr=subprocess.PIPE, text=True)
    for _ in range(3000):
        if log.exists() and "capped" in log.read_text():
            break
        if proc.poll() is not None:
            raise AssertionError(proc.stderr.read())
        subprocess.run(["sleep", "0.01"])
    return proc, log


def _limits(log) -> list[int]:
    return [json.loads(line) for line in log.read_text().splitlines() if line != "capped"]


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_a_signal_mid_profile_restores_the_original_limit(tmp_path, signum):
    proc, log = _child(tmp_path)
    assert _limits(log)[-1] < 650_000  # capped while profiling
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    limits = _limits(log)
    assert limits[-1] == 650_000, (limits, err)
    if signum == signal.SIGINT:  # Ctrl-C: KeyboardInterrupt through the with block
        assert "KeyboardInterrupt" in err
    assert proc.returncode == -signum  # the process still dies of the signal


def test_no_gpu_to_tune_is_said_before_anything_changes():
    from wattprint.errors import SensorUnavailable

    fake = FakeNVML(0)
    with pytest.raises(SensorUnavailable, match="no NVIDIA GPU to tune"):
        PowerLimitOptimizer(nvml=fake, clock=fake.time).start()
    assert fake.init_count == 0  # NVML released again


def test_an_nvml_that_does_not_start_is_a_clear_error():
    from wattprint.errors import SensorUnavailable
    from wattprint.testing.fake_nvml import NVML_ERROR_DRIVER_NOT_LOADED

    fake = FakeNVML([gpu()])
    fake.fail_init(NVML_ERROR_DRIVER_NOT_LOADED)
    with pytest.raises(SensorUnavailable, match="no NVIDIA GPU/driver.*wattprint doctor"):
        PowerLimitOptimizer(nvml=fake, clock=fake.time).start()
