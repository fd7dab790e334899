"""The public tracker API with fake sensors: lifecycle, phases, counters, faults, misuse."""

from __future__ import annotations

import logging
import time

import pytest

import wattprint
from _wait import until
from wattprint import UsageError
from wattprint.testing import FakeSensor


def gpu(power_w: float = 200.0, **kw) -> FakeSensor:
    return FakeSensor(power_w, name=kw.pop("name", "gpu:0"), domain="gpu", **kw)


class ReadClock:
    """time.monotonic for a FakeSensor, remembering when it read: [0] is when the sensor
    was made, [1] its first read in the run, [-1] its last."""

    def __init__(self) -> None:
        self.times: list[float] = []

    def __call__(self) -> float:
        self.times.append(time.monotonic())
        return self.times[-1]

    @property
    def read_span_s(self) -> float:
        return self.times[-1] - self.times[1]


def test_context_manager_measures_energy_and_duration() -> None:
    clock = ReadClock()
    started = time.monotonic()
    with wattprint.track("ctx", sensors=[gpu(200.0, clock=clock)], rate_hz=50) as run:
        time.sleep(0.3)
    outside_s = time.monotonic() - started  # a loaded machine stretches both alike
    r = run.result
    assert r.name == "ctx" and r.status == "finished"
    assert 0.3 <= clock.read_span_s <= r.duration_s <= outside_s
    # exact over the reads (a stalled thread between the run's start and the first read
    # would make "200 W x duration" miss by the stall)
    assert r.energy_j == pytest.approx(200.0 * clock.read_span_s, rel=1e-9)
    assert r.by_domain == {"gpu": pytest.approx(r.energy_j)}
    assert r.basis == "measured" and r.measured_fraction == pytest.approx(1.0)
    assert r.peak_power_w == pytest.approx(200.0, rel=0.05)
    assert r.devices[0].provenance["kind"] == "measured"


def test_start_stop_and_live_figures() -> None:
    clock = ReadClock()
    run = wattprint.start("manual", sensors=[gpu(100.0, clock=clock)], rate_hz=50)
    time.sleep(0.2)
    assert run.running
    assert until(lambda: run.energy_j > 0)  # the sampler thread's first interval
    assert run.power_w == pytest.approx(100.0, rel=0.05)
    result = run.stop()
    assert not run.running
    assert run.stop() is result  # idempotent
    assert clock.read_span_s <= result.duration_s
    assert result.energy_j == pytest.approx(100.0 * clock.read_span_s, rel=1e-9)


def test_decorator_with_and_without_arguments() -> None:
    @wattprint.track
    def plain(x):
        return x * 2

    assert plain(21) == 42
    assert plain.last_tracker.result.name.endswith("plain")

    @wattprint.track("named", sensors=[gpu(50.0)])
    def named():
        time.sleep(0.05)
        return "ok"

    assert named() == "ok"
    assert named.last_tracker.result.name == "named"
    first = named.last_tracker
    named()
    assert named.last_tracker is not first  # each call is its own run


def test_decorator_records_failure_and_reraises() -> None:
    @wattprint.track(sensors=[gpu()])
    def boom():
        raise RuntimeError("user bug")

    with pytest.raises(RuntimeError, match="user bug"):
        boom()
    assert boom.last_tracker.result.status == "failed"


def test_nested_and_repeated_phases() -> None:
    with wattprint.track(sensors=[gpu(100.0)], rate_hz=100) as run:
        for _ in range(2):
            with run.phase("train"):
                time.sleep(0.1)
                run.count(samples=32, tokens=1000, steps=1)
                with run.phase("eval"):
                    time.sleep(0.05)
                    run.count(samples=8)
    r = run.result
    train, evaluation = r.phase("train"), r.phase("train/eval")
    assert [p.name for p in r.phases] == ["train", "train/eval"]
    assert train.entries == 2 and evaluation.entries == 2
    assert 0.3 <= train.duration_s <= r.duration_s  # sleeps last at least that long
    assert train.energy_j == pytest.approx(100.0 * train.duration_s, rel=0.15)
    assert evaluation.energy_j < train.energy_j
    assert train.counters == {"samples": 80, "tokens": 2000, "steps": 2}
    assert evaluation.counters == {"samples": 16}
    assert r.counters == {"samples": 80, "tokens": 2000, "steps": 2}
    assert r.per_unit["j_per_token"] == pytest.approx(r.energy_j / 2000)
    assert train.per_unit["j_per_sample"] == pytest.approx(train.energy_j / 80)
    with pytest.raises(KeyError, match="phases: train"):
        r.phase("test")


def test_phase_start_stop_methods_for_callbacks() -> None:
    with wattprint.track(sensors=[gpu()]) as run:
        p = run.phase("epoch").start()
        time.sleep(0.05)
        p.stop()
    assert run.result.phase("epoch").entries == 1


def test_open_phase_closed_at_stop_with_warning() -> None:
    run = wattprint.start(sensors=[gpu()])
    run.phase("forgotten").start()
    r = run.stop()
    assert r.phase("forgotten").entries == 1
    assert any("still open" in w for w in r.warnings)


def test_phases_by_domain_and_modelled_range() -> None:
    model = FakeSensor(20.0, name="cpu-model", domain="cpu", kind="modelled",
                       scope="process", provenance={"uncertainty": 0.4})
    with wattprint.track(sensors=[gpu(80.0), model], rate_hz=100) as run:
        with run.phase("work"):
            time.sleep(0.2)
    r = run.result
    assert r.basis == "mixed"
    assert r.measured_fraction == pytest.approx(0.8, abs=0.02)
    modelled = r.by_domain["cpu"]
    assert r.energy_low_j == pytest.approx(r.energy_j - 0.4 * modelled)
    assert r.energy_high_j == pytest.approx(r.energy_j + 0.4 * modelled)
    assert set(r.phase("work").by_domain) == {"gpu", "cpu"}
    assert "range" in r.summary()


def test_a_closed_phase_window_gives_its_energy_per_device() -> None:
    # Phase.by_device_j / duration_s: the window just closed, per counted sensor (the
    # bench's mean power per device); they sum to the phase's energy, a nested one is out
    nested = FakeSensor(5.0, name="rapl:core-0", domain="cpu")
    nested.nested_in = "gpu:1"  # as RAPL core inside package: never counted twice
    with wattprint.track(sensors=[gpu(80.0), gpu(20.0, name="gpu:1"), nested],
                         rate_hz=100) as run:
        windows = []
        for _ in range(2):
            with run.phase("step") as p:
                assert p.by_device_j == {} and p.duration_s is None  # open: nothing yet
                time.sleep(0.1)
            windows.append((p.duration_s, dict(p.by_device_j)))
    total = run.result.phase("step")
    assert [sorted(w) for _, w in windows] == [["gpu:0", "gpu:1"]] * 2
    assert sum(d for d, _ in windows) == pytest.approx(total.duration_s)
    assert sum(sum(w.values()) for _, w in windows) == pytest.approx(total.energy_j)
    for d, w in windows:
        assert d >= 0.1
        assert w["gpu:0"] == pytest.approx(4 * w["gpu:1"], rel=0.02)
        assert w["gpu:0"] / d == pytest.approx(80.0, rel=0.1)


def test_failing_sensor_never_kills_the_program(caplog) -> None:
    broken = gpu(100.0, fail_after=1)
    with caplog.at_level(logging.WARNING, logger="wattprint"):
        with wattprint.track(sensors=[broken, gpu(50.0, name="gpu:1")], rate_hz=100) as run:
            time.sleep(0.1)
    r = run.result
    assert r.status == "finished"
    dead = r.devices[0]
    assert dead.errors > 0 and dead.gaps and dead.last_error
    assert any("failed" in w for w in r.warnings)
    assert "failed to read" in caplog.text
    assert r.devices[1].energy_j > 0


def test_nested_sensor_reported_but_not_summed() -> None:
    package = gpu(100.0, name="pkg")
    core = gpu(60.0, name="core")
    core.nested_in = "pkg"
    with wattprint.track(sensors=[package, core], rate_hz=100) as run:
        time.sleep(0.1)
    r = run.result
    assert r.energy_j == pytest.approx(r.devices[0].energy_j)
    assert r.devices[1].counted is False and r.devices[1].energy_j > 0


@pytest.mark.parametrize("call, match", [
    (lambda: wattprint.Tracker().stop(), "before start"),
    (lambda: wattprint.track(mode="cluster"), "mode='cluster'"),
    (lambda: wattprint.track(rate_hz=-1), "rate_hz"),
    (lambda: wattprint.Tracker().result, "no result yet"),
    (lambda: wattprint.Tracker(sensors=[]).phase("a/b"), "without '/'"),
    (lambda: wattprint.Tracker(sensors=[]).phase("x").start(), "outside a running run"),
    (lambda: wattprint.Tracker(sensors=[]).count(watts=3), "unknown counter watts"),
    (lambda: wattprint.Tracker(sensors=[]).count(tokens=-1), "non-negative"),
])
def test_misuse_raises_clear_usage_errors(call, match) -> None:
    with pytest.raises(UsageError, match=match):
        call()


def test_start_twice_and_out_of_order_phases() -> None:
    run = wattprint.start(sensors=[gpu()])
    with pytest.raises(UsageError, match="already started"):
        run.start()
    outer = run.phase("outer").start()
    run.phase("inner").start()
    with pytest.raises(UsageError, match="out of order"):
        outer.stop()
    run.stop()


def test_no_sensors_gives_zero_with_warning() -> None:
    with wattprint.track(sensors=[]) as run:
        pass
    assert run.result.energy_j == 0.0
    assert run.result.basis == "none"


def test_result_to_dict_has_provenance_and_units() -> None:
    with wattprint.track(sensors=[gpu()]) as run:
        run.count(requests=2)
        time.sleep(0.02)
    d = run.result.to_dict()
    assert d["devices"][0]["provenance"]["method"] == "FakeSensor (test helper)"
    assert d["per_unit"]["j_per_request"] == pytest.approx(d["energy_j"] / 2)
    assert d["energy_kwh"] == pytest.approx(d["energy_j"] / 3.6e6)


def test_result_reports_what_sampling_itself_cost() -> None:
    """The sampler thread's own CPU clock, over a second of 50 Hz sampling: more than
    nothing (it really read 50 times a second), far less than the run (it must not be the
    workload), and said in the summary as measured."""
    fake = FakeSensor(10.0)
    with wattprint.track("self-cost", sensors=[fake], rate_hz=50) as run:
        time.sleep(1.0)
        assert until(lambda: fake.reads >= 40)  # a thread starved by a loaded machine
    r = run.result
    assert fake.reads >= 40
    assert 0.0 < r.overhead_cpu_s < 0.05 * r.duration_s
    assert "wattprint's own threads:" in r.summary() and "measured" in r.summary()
    assert r.to_dict()["overhead_cpu_s"] == r.overhead_cpu_s
