"""NVML's buffered power samples: the fake's nvmlDeviceGetSamples, the sensor's power
trace, and the sampler reading GPU counters once a second with exact phase boundaries."""

from __future__ import annotations

import math

import pytest

from wattprint.sampler import COUNTER_INTERVAL_S, TRACE_ROW_S, Sampler
from wattprint.sensors._nvml import open_nvml_sensors
from wattprint.testing.fake_nvml import (NVML_ERROR_NOT_FOUND, NVML_ERROR_NOT_SUPPORTED,
                                         NVML_ERROR_UNKNOWN, NVML_TOTAL_POWER_SAMPLES,
                                         NVML_VALUE_TYPE_UNSIGNED_INT, FakeGPU, FakeNVML,
                                         NVMLError)


def sine_w(t: float) -> float:
    """200 W ± 100 W with a 2 s period: the mean between two counter reads hides it, the
    0.5-s rows of the trace show it."""
    return 200.0 + 100.0 * math.sin(2 * math.pi * t / 2.0)


def open_sensors(fake: FakeNVML):
    return open_nvml_sensors(nvml=fake, visible_devices=None, clock=fake.time,
                             wall_clock=fake.wall_time)


def test_fake_samples_behave_like_nvml() -> None:
    fake = FakeNVML([FakeGPU(power_w=[100.0, 250.0], trace_step_s=1.0,
                             power_sample_period_s=0.25, power_sample_buffer=6)])
    fake.nvmlInit()
    handle = fake.nvmlDeviceGetHandleByIndex(0)
    with pytest.raises(NVMLError) as err:  # nothing sampled yet
        fake.nvmlDeviceGetSamples(handle, NVML_TOTAL_POWER_SAMPLES, 0)
    assert err.value.value == NVML_ERROR_NOT_FOUND
    fake.advance(2.0)
    kind, samples = fake.nvmlDeviceGetSamples(handle, NVML_TOTAL_POWER_SAMPLES, 0)
    assert kind == NVML_VALUE_TYPE_UNSIGNED_INT
    # the buffer keeps the last 6 samples: 0.75 s .. 2.0 s, in mW at each instant
    assert [(s.timeStamp - fake.EPOCH_US) / 1e6 for s in samples] == [
        0.75, 1.0, 1.25, 1.5, 1.75, 2.0]
    assert [s.sampleValue.uiVal for s in samples] == [100_000] + [250_000] * 5
    newer = fake.nvmlDeviceGetSamples(handle, NVML_TOTAL_POWER_SAMPLES,
                                      samples[-2].timeStamp)[1]
    assert newer == samples[-1:]
    with pytest.raises(NVMLError) as err:
        fake.nvmlDeviceGetSamples(handle, 1, 0)  # only power samples are faked
    assert err.value.value == NVML_ERROR_NOT_SUPPORTED
    fake.gpus[0].power_samples = False
    with pytest.raises(NVMLError) as err:
        fake.nvmlDeviceGetSamples(handle, NVML_TOTAL_POWER_SAMPLES, 0)
    assert err.value.value == NVML_ERROR_NOT_SUPPORTED


def test_power_trace_starts_at_open_and_is_on_the_sensor_clock() -> None:
    fake = FakeNVML([FakeGPU(power_w=sine_w)])
    fake.advance(5.0)  # samples from before the run are not part of it
    (sensor,) = open_sensors(fake)
    assert sensor.power_trace is not None
    assert "nvmlDeviceGetSamples" in sensor.provenance()["power_trace"]
    assert sensor.power_trace() == []
    fake.advance(1.0)
    trace = sensor.power_trace()
    assert [t for t, _ in trace] == pytest.approx([5.1 + 0.1 * k for k in range(10)])
    assert [p for _, p in trace] == pytest.approx([sine_w(t) for t, _ in trace], abs=1e-3)
    assert sensor.power_trace() == []  # each sample once


def run_sampler(fake: FakeNVML, seconds: float, rows: list, boundaries=()):
    sensors = open_sensors(fake)
    sampler = Sampler(sensors, rate_hz=10, clock=fake.time,
                      sink=lambda *row: rows.append(row))
    sampler.start(background=False)
    first_j = [fake.energy_j(i) for i in range(len(fake.gpus))]
    snapshots = []
    step_s = 0.05
    for k in range(1, int(round(seconds / step_s)) + 1):
        fake.advance(step_s)
        if any(abs(k * step_s - b) < 1e-9 for b in boundaries):
            snapshots.append((sampler.snapshot(),
                              [fake.energy_j(i) - e for i, e in enumerate(first_j)]))
        sampler.step()
    sampler.stop()
    truth = [fake.energy_j(i) - e for i, e in enumerate(first_j)]
    return sampler, snapshots, truth


def test_counter_read_every_interval_with_the_trace_and_exact_phases() -> None:
    fake = FakeNVML([FakeGPU(power_w=sine_w), FakeGPU(power_w=300.0)])
    rows: list = []
    sampler, snapshots, truth = run_sampler(fake, 10.0, rows, boundaries=(2.35, 7.85))
    assert sampler.intervals_s == [COUNTER_INTERVAL_S, COUNTER_INTERVAL_S]
    # per GPU: the read at open, one at start, one per counter interval (not ten a second),
    # one at each of the 2 boundaries, and the final read at stop
    reads = fake.calls["nvmlDeviceGetTotalEnergyConsumption"]
    assert COUNTER_INTERVAL_S >= 1.0
    assert reads <= 2 * (1 + 1 + 10 / COUNTER_INTERVAL_S + 2 + 1)
    # boundaries read the counter: the phase energies are the counter's, to the mJ
    for snap, true_j in snapshots:
        assert list(snap.energy_j) == pytest.approx(true_j, abs=2e-3)
    totals = sampler.totals
    assert [t.energy_j for t in totals] == pytest.approx(truth, abs=2e-3)
    # the trace gives a row per TRACE_ROW_S per GPU (not one per counter read, not ten a
    # second), cumulative energies rising to the counter
    for gpu in (0, 1):
        mine = [r for r in rows if r[0] == gpu]
        times = [r[1] for r in mine]
        energies = [r[3] for r in mine]
        assert 10.0 / TRACE_ROW_S - 2 <= len(mine) <= 10.0 / TRACE_ROW_S + 4
        steady = [t for t in times if all(abs(t - b) > 1e-6 for b in (2.35, 7.85))]
        assert all(b - a >= 0.9 * TRACE_ROW_S - 0.01 for a, b in zip(steady, steady[1:]))
        assert all(a <= b for a, b in zip(energies, energies[1:]))
        assert energies[-1] == pytest.approx(totals[gpu].attributed_j)
        assert totals[gpu].samples == len(mine)
    # the sine's peaks show in the trace (means over a counter interval sit near 200 W)
    assert totals[0].peak_power_w > 270.0
    assert max(r[2] for r in rows if r[0] == 0) == pytest.approx(totals[0].peak_power_w)
    assert [r[2] for r in rows if r[0] == 1] == pytest.approx([300.0] * len(
        [r for r in rows if r[0] == 1]), rel=1e-3)


def test_without_buffered_samples_the_counter_keeps_the_sampler_rate() -> None:
    fake = FakeNVML([FakeGPU(power_w=150.0, power_samples=False)])
    (sensor,) = open_sensors(fake)
    assert sensor.power_trace is None
    assert sensor.provenance()["power_trace"].startswith("none")
    sensor.close()
    rows: list = []
    sampler, _, truth = run_sampler(fake, 2.0, rows)
    assert sampler.intervals_s == [pytest.approx(0.1)]
    assert fake.calls["nvmlDeviceGetTotalEnergyConsumption"] >= 2 + 20
    assert sampler.totals[0].energy_j == pytest.approx(truth[0], abs=2e-3)


def test_a_failing_trace_never_costs_energy() -> None:
    fake = FakeNVML([FakeGPU(power_w=sine_w)])
    rows: list = []
    fake.fail("nvmlDeviceGetSamples", NVML_ERROR_UNKNOWN, call=3, times=None)
    sampler, _, truth = run_sampler(fake, 12.0, rows)
    assert sampler.totals[0].energy_j == pytest.approx(truth[0], abs=2e-3)
    assert sampler.totals[0].errors == 0  # the counter never failed
    sensor = sampler.sensors[0]
    assert sensor.power_trace.enabled is False  # turned off after repeated errors
    calls = fake.calls["nvmlDeviceGetSamples"]
    assert calls <= 1 + 1 + 3  # the probe, one good fetch, then 3 errors and no more
    # the rows go on, one per counter read, and still add up to the counter
    assert rows[-1][3] == pytest.approx(truth[0], abs=2e-3)
