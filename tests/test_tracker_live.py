"""Live views of a running tracker with fake sensors: the closed phase windows so far
(``phase_totals``) and taking over a budget stop (``accept_stop``)."""

from __future__ import annotations

import threading
import time

import pytest

import wattprint
from wattprint.ledger import Ledger
from wattprint.result import PhaseEnergy
from wattprint.testing import FakeSensor


def gpu(power_w: float = 200.0) -> FakeSensor:
    return FakeSensor(power_w, name="gpu:0", domain="gpu")


def test_phase_totals_show_closed_windows_while_running() -> None:
    run = wattprint.Tracker(sensors=[gpu(100.0), FakeSensor(20.0, name="cpu", domain="cpu")],
                            rate_hz=100)
    assert run.phase_totals() == {}  # not started
    with run:
        train = run.phase("train").start()
        time.sleep(0.05)
        run.count(samples=8, steps=1)
        assert run.phase_totals() == {}  # open windows are not in it yet
        with run.phase("eval"):
            time.sleep(0.03)
            run.count(samples=4)
        live = run.phase_totals()
        assert list(live) == ["train/eval"]  # the closed inner window; train still open
        ev = live["train/eval"]
        assert isinstance(ev, PhaseEnergy) and ev.entries == 1
        assert ev.counters == {"samples": 4} and ev.energy_j > 0
        assert ev.by_domain.keys() == {"gpu", "cpu"}
        assert ev.energy_j == pytest.approx(sum(ev.by_domain.values()))
        assert ev.duration_s >= 0.03
        train.stop()
        first = run.phase_totals()["train"]
        assert first.entries == 1 and first.counters == {"samples": 12, "steps": 1}
        assert first.energy_j > ev.energy_j
        with run.phase("train"):
            time.sleep(0.02)
            run.count(steps=1)
            assert run.phase_totals()["train"] == first  # the new window is not closed yet
        live = run.phase_totals()
        assert list(live) == ["train", "train/eval"]  # first-entry order, as in the result
        assert live["train"].entries == 2 and live["train"].counters["steps"] == 2
        assert live["train"].energy_j > first.energy_j
        live["train"].counters["steps"] = 99  # a copy: the tracker's totals are untouched
        assert run.phase_totals()["train"].counters["steps"] == 2
    final = run.phase_totals()
    assert final == {p.name: p for p in run.result.phases}


def test_phase_totals_from_another_thread_while_phases_switch() -> None:
    seen: list[dict[str, PhaseEnergy]] = []
    errors: list[BaseException] = []
    with wattprint.track(sensors=[gpu()], rate_hz=200) as run:
        done = threading.Event()

        def reader() -> None:
            try:
                while not done.is_set():
                    seen.append(run.phase_totals())
            except BaseException as err:  # noqa: BLE001
                errors.append(err)

        thread = threading.Thread(target=reader)
        thread.start()
        for _ in range(50):
            with run.phase("a"):
                run.count(steps=1)
            with run.phase("b"):
                pass
        done.set()
        thread.join()
    assert not errors and seen
    entries = [s["a"].entries for s in seen if "a" in s]
    assert entries == sorted(entries)  # totals only grow
    assert run.phase_totals()["a"].entries == 50 and run.phase_totals()["b"].entries == 50


def test_accept_stop_ends_the_run_as_stopped_without_raising(tmp_path) -> None:
    with wattprint.track(sensors=[gpu()]) as plain:
        assert plain.accept_stop() is None  # no budget: nothing to take over
    assert plain.result.status == "finished"

    db = tmp_path / "l.db"
    with wattprint.track("loop", sensors=[FakeSensor(1e6)], budget_kwh=1e-6,
                         ledger=db) as run:
        assert run.accept_stop() is None  # nothing pending yet: changes nothing
        deadline = time.monotonic() + 60  # the budget thread checks once a second
        while not run.stop_requested and time.monotonic() < deadline:
            time.sleep(0.02)
        assert run.stop_requested
        event = run.accept_stop()
        assert event is not None and event.budget == "energy_kwh"
        run.count(steps=1)  # no BudgetExceeded: the loop ends on its own
        with run.phase("cleanup"):
            pass
        assert run.accept_stop() is event  # idempotent
    r = run.result
    assert r.status == "stopped" and r.end_reason == event.message
    assert "energy budget exceeded" in r.end_reason
    with Ledger(db) as ledger:
        rec = ledger.get(run.run_id)
    assert rec.status == "stopped" and rec.end_reason == event.message
