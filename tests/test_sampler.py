"""The sampler: counter differencing, trapezoid integration, attribution, faults."""

from __future__ import annotations

import math
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from _wait import until
from wattprint.errors import UsageError
from wattprint.sampler import Sampler, counter_energy_j, trapezoid_energy_j
from wattprint.testing import FakeSensor, ReplaySensor


class Clock:
    """A hand-advanced monotonic clock for deterministic sensors."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@given(st.lists(st.floats(min_value=0, max_value=1e4, allow_nan=False), min_size=1,
                max_size=50))
def test_counter_energy_sums_to_total(increments: list[float]) -> None:
    values = [0.0]
    for inc in increments:
        values.append(values[-1] + inc)
    total = sum(counter_energy_j(a, b) for a, b in zip(values, values[1:]))
    assert math.isclose(total, values[-1], rel_tol=1e-9, abs_tol=1e-9)


@given(st.floats(min_value=0, max_value=1e6), st.floats(min_value=0, max_value=1e6))
def test_counter_reset_never_negative(a: float, b: float) -> None:
    assert counter_energy_j(a, b) >= 0.0


@given(st.lists(st.tuples(st.floats(0.001, 10), st.floats(0, 1000)), min_size=2, max_size=40))
@settings(max_examples=200)
def test_trapezoid_exact_for_piecewise_linear(points: list[tuple[float, float]]) -> None:
    # integrating a piecewise-linear power sampled at its knots is exact
    t, trace = 0.0, []
    for dt, p in points:
        t += dt
        trace.append((t, p))
    replay = ReplaySensor(trace)
    exact = replay.energy_at(trace[-1][0] - trace[0][0])
    total = sum(trapezoid_energy_j(p0, p1, t1 - t0)
                for (t0, p0), (t1, p1) in zip(trace, trace[1:]))
    assert math.isclose(total, exact, rel_tol=1e-9, abs_tol=1e-6)


def test_trapezoid_zero_interval() -> None:
    assert trapezoid_energy_j(100, 200, 0.0) == 0.0
    assert trapezoid_energy_j(100, 200, -1.0) == 0.0


def test_counter_and_power_sensors_integrate_to_the_same_energy() -> None:
    clock = Clock()
    counter = FakeSensor(150.0, name="a", counter=True, clock=clock)
    polled = FakeSensor(150.0, name="b", counter=False, clock=clock)
    sampler = Sampler([counter, polled], rate_hz=10, clock=clock)
    # drive the sampler by hand: no thread, deterministic clock
    sampler.start(background=False)
    for _ in range(20):
        clock.t += 0.1
        sampler.step(clock.t)
    a, b = sampler.totals
    assert a.energy_j == pytest.approx(300.0)
    assert b.energy_j == pytest.approx(300.0)
    assert a.power_w == pytest.approx(150.0)
    assert a.samples == 20


def test_failing_sensor_marks_gap_and_counter_bridges_it() -> None:
    clock = Clock()
    sensor = FakeSensor(100.0, counter=True, fail_at={3, 4}, clock=clock)
    sampler = Sampler([sensor], rate_hz=10, max_failures=5, clock=clock)
    sampler.start(background=False)  # read 1
    for _ in range(5):  # reads 2..6; 3 and 4 fail
        clock.t += 1.0
        sampler.step(clock.t)
    totals = sampler.totals[0]
    assert totals.errors == 2
    assert len(totals.gaps) == 1 and totals.gaps[0][1] is not None
    # the counter kept counting through the gap: nothing is lost
    assert totals.energy_j == pytest.approx(500.0)


def test_dead_sensor_is_replaced_by_its_fallback() -> None:
    clock = Clock()
    backup = FakeSensor(80.0, name="backup", counter=False, clock=clock)
    sensor = FakeSensor(80.0, name="main", counter=True, fail_after=2,
                        fallback_sensor=backup, clock=clock)
    sampler = Sampler([sensor], rate_hz=10, max_failures=3, clock=clock)
    sampler.start(background=False)
    for _ in range(10):
        clock.t += 1.0
        sampler.step(clock.t)
    totals = sampler.totals[0]
    assert totals.replaced_by == "backup"
    assert sampler.sensors[0] is backup
    assert sensor.closed
    # 10 s at 80 W; the 3 s gap was bridged with the last known power
    assert totals.energy_j == pytest.approx(800.0)
    assert totals.bridged_j == pytest.approx(240.0)


def test_reading_share_attributes_part_of_a_device() -> None:
    clock = Clock()
    gpu = FakeSensor(300.0, share=0.25, clock=clock)
    sampler = Sampler([gpu], rate_hz=10, clock=clock)
    sampler.start(background=False)
    clock.t += 10.0
    sampler.step(clock.t)
    t = sampler.totals[0]
    assert t.energy_j == pytest.approx(3000.0)
    assert t.attributed_j == pytest.approx(750.0)


def test_host_sensor_attributed_by_cpu_time_share() -> None:
    clock = Clock()
    cpu_times = {"tree": 0.0, "busy": 0.0}
    package = FakeSensor(60.0, name="rapl:package-0", domain="cpu", clock=clock)
    gpu = FakeSensor(300.0, name="gpu", domain="gpu", clock=clock)
    sampler = Sampler([package, gpu], rate_hz=10, clock=clock,
                      cpu_share_source=lambda: (cpu_times["tree"], cpu_times["busy"]))
    sampler.start(background=False)
    clock.t += 10.0
    cpu_times["tree"], cpu_times["busy"] = 3.0, 12.0  # the tree used 25 % of busy CPU
    sampler.step(clock.t)
    pkg, g = sampler.totals
    assert pkg.energy_j == pytest.approx(600.0)
    assert pkg.attributed_j == pytest.approx(150.0)
    assert g.attributed_j == pytest.approx(3000.0)  # a GPU is not attributed by CPU share


def test_threaded_sampler_runs_and_stops() -> None:
    sensor = FakeSensor(50.0)
    sampler = Sampler([sensor], rate_hz=50)
    sampler.start()
    time.sleep(0.3)
    assert until(lambda: sensor.reads >= 6)  # the first read and five of the thread's
    sampler.stop()
    sampler.stop()  # twice is fine
    t = sampler.totals[0]
    assert t.samples >= 5
    assert t.energy_j == pytest.approx(50.0 * (sampler.stop_s - sampler.start_s), rel=0.1)
    assert sensor.closed


def test_slow_sensor_is_read_at_its_own_interval() -> None:
    fast = FakeSensor(10.0, name="fast")
    slow = FakeSensor(10.0, name="slow", interval_s=10.0)
    sampler = Sampler([fast, slow], rate_hz=50)
    sampler.start()
    time.sleep(0.4)
    assert until(lambda: fast.reads >= 10)
    sampler.stop()
    assert fast.reads >= 10
    assert slow.reads == 2  # the first read and the final read at stop


def test_bad_rate() -> None:
    with pytest.raises(UsageError, match="rate_hz"):
        Sampler([], rate_hz=0)


def test_host_share_read_once_a_window_and_applied_to_its_own_window() -> None:
    from wattprint.sampler import SHARE_INTERVAL_S

    clock = Clock()
    calls = []
    cpu = {"tree": 0.0, "busy": 0.0}

    def source():
        calls.append(clock.t)
        return cpu["tree"], cpu["busy"]

    # a host *power* sensor is read at the sampler's rate (a host counter would be read
    # once a window anyway): the CPU-time share must still be read once a window only
    package = FakeSensor(100.0, name="psys", domain="system", counter=False, clock=clock)
    sampler = Sampler([package], rate_hz=10, cpu_share_source=source, clock=clock)
    sampler.start(background=False)
    steps = int(round(SHARE_INTERVAL_S / 0.1))
    for window_share in (0.25, 0.75):
        for _ in range(steps):
            clock.t += 0.1
            cpu["tree"] += 0.1 * window_share
            cpu["busy"] += 0.1
            sampler.step(clock.t)
    t = sampler.totals[0]
    assert package.reads == 1 + 2 * steps  # read at every 10 Hz tick
    assert len(calls) == 3  # start + one per window, not one per 10 Hz read
    assert t.energy_j == pytest.approx(200.0)
    assert t.attributed_j + t.pending_j * t.provisional_share == pytest.approx(100.0)
    assert t.provisional_share == pytest.approx(0.75)


def test_a_phase_boundary_closes_the_share_window_so_a_phase_never_exceeds_the_run() -> None:
    """Busy for 0.6 s, then idle inside the same phase: the boundary must attribute the
    idle part with the idle share, not extrapolate the busy share over it (the phase came
    out above the whole run before)."""
    clock = Clock()
    cpu = {"tree": 0.0, "busy": 0.0}
    package = FakeSensor(100.0, name="rapl:package-0", domain="cpu", clock=clock)
    sampler = Sampler([package], rate_hz=10, clock=clock,
                      cpu_share_source=lambda: (cpu["tree"], cpu["busy"]))
    sampler.start(background=False)
    start = sampler.snapshot()
    for k in range(14):  # 1.4 s: busy (share 1) for 0.6 s, then idle (share 0)
        clock.t += 0.1
        cpu["busy"] += 0.1
        cpu["tree"] += 0.1 if k < 6 else 0.0
        sampler.step(clock.t)
    end = sampler.snapshot()
    clock.t += 0.5
    cpu["busy"] += 0.5
    sampler.step(clock.t)
    sampler.stop()
    phase_j = end.attributed_j[0] - start.attributed_j[0]
    assert phase_j == pytest.approx(60.0, abs=1.0)  # 0.6 s at 100 W, share 1
    assert phase_j <= sampler.totals[0].attributed_j + 1e-9


def test_shared_host_counter_is_read_once_a_window_in_process_mode() -> None:
    """A RAPL-like counter attributed by CPU share is read with the share window (plus at
    phase boundaries); a host power sensor, a GPU counter and machine mode keep rate_hz."""
    from wattprint.sampler import SHARE_INTERVAL_S

    read_times: list[float] = []

    def clock() -> float:
        read_times.append(time.monotonic())
        return read_times[-1]

    package = FakeSensor(100.0, name="rapl:package-0", domain="cpu", clock=clock)
    host_power = FakeSensor(5.0, name="psu", domain="system", counter=False)
    gpu = FakeSensor(200.0, name="nvml:0", domain="gpu")
    sampler = Sampler([package, host_power, gpu], rate_hz=50,
                      cpu_share_source=lambda: (time.process_time(), time.process_time()))
    sampler.start()
    intervals = sampler.intervals_s
    time.sleep(0.3)
    before = package.reads
    sampler.snapshot()  # a phase boundary reads the slow counter on demand
    assert package.reads == before + 1
    time.sleep(0.3)
    assert until(lambda: host_power.reads >= 10 and gpu.reads >= 10)
    sampler.stop()
    elapsed = sampler.stop_s - sampler.start_s
    assert intervals == [SHARE_INTERVAL_S, pytest.approx(0.02), pytest.approx(0.02)]
    # start, the boundary, stop, and one a second (0 here unless the machine stalled)
    assert 3 <= package.reads <= 3 + int(elapsed // SHARE_INTERVAL_S)
    assert host_power.reads >= 10 and gpu.reads >= 10
    # energy is not lost by reading less often: the counter's total is exact
    assert sampler.totals[0].energy_j == pytest.approx(
        100.0 * (read_times[-1] - read_times[1]), rel=1e-6)  # [0]: when it was opened

    machine = FakeSensor(100.0, name="rapl:package-0", domain="cpu")
    unattributed = Sampler([machine], rate_hz=50)  # machine mode: no share source
    unattributed.start()
    time.sleep(0.2)
    assert until(lambda: machine.reads >= 5)
    unattributed.stop()
    assert machine.reads >= 5


def test_step_reads_what_is_due_without_a_thread() -> None:
    import threading

    clock = Clock()
    fast = FakeSensor(10.0, name="fast", clock=clock)
    slow = FakeSensor(10.0, name="slow", interval_s=1.0, clock=clock)
    sampler = Sampler([fast, slow], rate_hz=10, clock=clock)
    with pytest.raises(UsageError, match="start"):
        sampler.step(clock.t)
    threads = threading.active_count()
    sampler.start(background=False)
    assert threading.active_count() == threads  # nothing runs in the background
    for _ in range(5):
        clock.t += 0.1
        sampler.step(clock.t)
    assert (fast.reads, slow.reads) == (6, 1)  # start + 5 ticks; slow not due yet
    clock.t += 0.5
    sampler.step(clock.t)
    assert (fast.reads, slow.reads) == (7, 2)
    sampler.stop()  # the final reading of every sensor
    assert (fast.reads, slow.reads) == (8, 3)
    assert sampler.totals[0].energy_j == pytest.approx(10.0)
    with pytest.raises(UsageError):
        sampler.step(clock.t)


@given(t0=st.floats(-1e3, 1e3), length=st.floats(0.01, 100.0), delta=st.floats(0.001, 1e6),
       points=st.lists(st.tuples(st.floats(-0.2, 1.2), st.floats(0.0, 2000.0)), max_size=40),
       min_dt=st.floats(0.0, 0.5))
@settings(max_examples=300)
def test_spread_counter_rises_inside_the_interval_towards_the_counter(
        t0: float, length: float, delta: float, points: list[tuple[float, float]],
        min_dt: float) -> None:
    from wattprint.sampler import spread_counter_j

    t1 = t0 + length
    trace = sorted((t0 + f * length, p) for f, p in points)
    rows = spread_counter_j(t0, t1, delta, trace, min_dt * length)
    times = [t0] + [t for t, _ in rows] + [t1]
    energies = [0.0] + [e for _, e in rows]
    assert all(t0 < t < t1 for t, _ in rows)  # and apart from both ends:
    assert all(b - a >= 0.9 * min_dt * length for a, b in zip(times, times[1:]))
    assert all(0.0 <= a <= b <= delta * (1 + 1e-12) for a, b in zip(energies, energies[1:]))


def test_spread_counter_follows_the_trace_shape() -> None:
    from wattprint.sampler import spread_counter_j

    # 100 W then 300 W, sampled every 0.25 s: the trace's trapezoid holds 375 J
    # (100 + 50 on the ramp from 1.0 to 1.25 s + 150 + 75 held after the last point),
    # the counter says 750 J: every part of the trace gets twice its own energy
    trace = [(0.25 * k, 100.0 if k <= 4 else 300.0) for k in range(1, 8)]
    rows = dict(spread_counter_j(0.0, 2.0, 750.0, trace, 0.25))
    assert sorted(rows) == [0.25 * k for k in range(1, 8)]
    assert rows[0.5] == pytest.approx(100.0)
    assert rows[1.0] == pytest.approx(200.0)
    assert rows[1.25] == pytest.approx(300.0)
    assert rows[1.75] == pytest.approx(600.0)
    assert sorted(spread_counter_j(0.0, 2.0, 750.0, trace, 0.5)) == [
        (0.5, pytest.approx(100.0)), (1.0, pytest.approx(200.0)),
        (1.5, pytest.approx(450.0))]  # at most one row per 0.5 s
    assert spread_counter_j(0.0, 2.0, 400.0, [(-1.0, 5.0), (2.0, 5.0)], 0.1) == []
    assert spread_counter_j(0.0, 2.0, 0.0, trace, 0.1) == []
    flat = spread_counter_j(0.0, 2.0, 10.0, [(0.5, 0.0), (1.5, 0.0)], 0.1)
    assert flat == [(0.5, pytest.approx(2.5)), (1.5, pytest.approx(7.5))]  # even in time
