"""Energy, CO2e and cost budgets: the pure check, the actions (warn, callback, stop), a
Python run stopped cleanly with the reason in the ledger, a forecast that trips a budget
early, and a real ``wattprint run --budget-kwh`` subprocess stopped with SIGTERM."""

from __future__ import annotations

import sqlite3
import sys
import time

import pytest

from _cli import assert_clean_error, wp
from _step_sensor import StepEnergySensor
from wattprint import Tracker, UsageError
from wattprint.budget import Budget, BudgetGuard, check_budget
from wattprint.errors import BudgetExceeded, WattprintError
from wattprint.forecast import Forecast, Range
from wattprint.ledger import Ledger
from wattprint.testing import FakeSensor

PY = sys.executable


def _forecast(central_j: float, progress: float = 0.5) -> Forecast:
    r = Range(central_j * 0.9, central_j, central_j * 1.1)
    return Forecast(unit="steps", done=progress * 100, total=100, progress=progress,
                    elapsed_s=10, energy_so_far_j=central_j * progress, energy_j=r,
                    duration_s=Range(19, 20, 21), remaining_s=Range(9, 10, 11),
                    co2e_g=r.scaled(400 / 3.6e6), cost=r.scaled(0.5 / 3.6e6),
                    currency="EUR")


def test_check_budget_actual_and_forecast() -> None:
    b = Budget(energy_kwh=1.0, co2e_kg=0.5, cost=0.4, action="warn")
    assert check_budget(b, energy_j=0.5 * 3.6e6) == []
    (ev,) = check_budget(b, energy_j=1.5 * 3.6e6)
    assert (ev.budget, ev.basis, ev.limit) == ("energy_kwh", "actual", 1.0)
    assert ev.value == pytest.approx(1.5) and "energy budget exceeded" in ev.message
    events = check_budget(b, energy_j=0.5 * 3.6e6, forecast=_forecast(2 * 3.6e6),
                          pue=1.0, co2e_g_per_kwh=400, price_per_kwh=0.5)
    assert {(e.budget, e.basis) for e in events} == {("energy_kwh", "forecast"),
                                                     ("co2e_kg", "forecast"),
                                                     ("cost", "forecast")}
    assert "at 50% of the work" in events[0].message
    # a forecast made too early does not count
    early = check_budget(b, energy_j=0.0, forecast=_forecast(2 * 3.6e6, progress=0.05))
    assert early == []
    # CO2e and cost use the PUE
    (co2,) = check_budget(Budget(co2e_kg=1.0), energy_j=3.6e6, pue=2.0, co2e_g_per_kwh=600)
    assert co2.value == pytest.approx(1.2)


def test_budget_validation() -> None:
    with pytest.raises(UsageError, match="positive"):
        Budget(energy_kwh=-1)
    with pytest.raises(UsageError, match="on_budget"):
        Budget(energy_kwh=1, action="explode")
    with pytest.raises(UsageError, match="price_per_kwh"):
        Tracker(budget_cost=10)
    assert issubclass(BudgetExceeded, WattprintError)
    import wattprint.errors

    assert "BudgetExceeded" in wattprint.errors.__doc__


def test_guard_acts_once_per_budget_and_never_raises_from_checks() -> None:
    seen = []
    state = {"j": 0.0}
    guard = BudgetGuard(Budget(energy_kwh=1.0, action=seen.append),
                        lambda: {"energy_j": state["j"]})
    assert guard.check() == []
    state["j"] = 2 * 3.6e6
    assert len(guard.check()) == 1 and len(guard.check()) == 0
    assert len(seen) == 1 and seen[0].basis == "actual"

    def bad(_event: object) -> None:
        raise RuntimeError("user bug")

    guard = BudgetGuard(Budget(energy_kwh=1.0, action=bad), lambda: {"energy_j": 9e9})
    assert len(guard.check()) == 1  # logged, not raised
    broken = BudgetGuard(Budget(energy_kwh=1.0), lambda: 1 / 0)  # type: ignore[arg-type]
    assert broken.check() == []


def test_warn_keeps_running_and_lists_the_warning() -> None:
    with Tracker(sensors=[FakeSensor(1e6)], budget_kwh=1e-4, on_budget="warn") as run:
        deadline = time.monotonic() + 60  # the budget thread checks once a second
        while not run.budget_events and time.monotonic() < deadline:
            run.count(steps=1)
            time.sleep(0.02)
        run.count(steps=1)  # no exception
    assert run.result.status == "finished"
    assert any("energy budget exceeded" in w for w in run.result.warnings)


def test_stop_raises_at_the_next_count_and_the_ledger_says_why(tmp_path) -> None:
    path = str(tmp_path / "ledger.db")
    with pytest.raises(BudgetExceeded) as err:
        with Tracker("over", sensors=[FakeSensor(1e6)], budget_kwh=1e-4, ledger=path) as run:
            deadline = time.monotonic() + 60  # the budget thread checks once a second
            while time.monotonic() < deadline:
                time.sleep(0.02)
                run.count(steps=1)
    assert err.value.budget == "energy_kwh" and err.value.basis == "actual"
    assert err.value.run_id == run.run_id
    assert run.stop_requested
    assert run.result.status == "stopped" and "energy budget" in run.result.end_reason
    with Ledger(path) as ledger:
        record = ledger.get(run.run_id)
        assert record.status == "stopped" and "energy budget exceeded" in record.end_reason
        assert record.settings["budget"] == {"energy_kwh": 1e-4, "action": "stop"}
        assert [r.id for r in ledger.runs(status="stopped")] == [run.run_id]


def test_stop_on_forecast_before_the_budget_is_spent() -> None:
    """8 J for each of 500 steps of >= 20 ms: 4 kJ at the end; the budget is 2.5 kJ. The
    forecast trips it once 10 % of the work is done, at the budget thread's next check
    (once a second), long before the energy is used. The energy follows the steps, not
    the clock: a loaded machine that stalls the loop or the check moves no figure."""
    sensor = StepEnergySensor(8.0)
    with pytest.raises(BudgetExceeded) as err:
        with Tracker(sensors=[sensor], rate_hz=100, total_work={"steps": 500},
                     budget_kwh=2500 / 3.6e6) as run:
            for _ in range(500):
                time.sleep(0.02)
                sensor.step()
                run.count(steps=1)
    assert err.value.basis == "forecast" and err.value.value * 3.6e6 > 2500
    assert run.result.energy_j == pytest.approx(sensor.spent_j)
    assert sensor.steps >= 50 and run.result.energy_j < 2500 * 0.8
    assert run.result.status == "stopped"


def test_a_pending_stop_surfaces_at_a_phase_boundary_not_over_another_error() -> None:
    with pytest.raises(BudgetExceeded):
        with Tracker(sensors=[FakeSensor(1e6)], budget_kwh=1e-5) as run:
            _wait_for_the_budget_thread(run)
            with run.phase("train"):
                pass
    with pytest.raises(KeyError):
        with Tracker(sensors=[FakeSensor(1e6)], budget_kwh=1e-5) as run2:
            _wait_for_the_budget_thread(run2)
            raise KeyError("the user's own error wins")
    assert run2.stop_requested


def _wait_for_the_budget_thread(run: Tracker) -> None:
    """Until the budget thread (a check once a second) has asked for the stop."""
    deadline = time.monotonic() + 60
    while not run.stop_requested and time.monotonic() < deadline:
        time.sleep(0.05)
    assert run.stop_requested


def test_migration_from_v2_keeps_runs_and_allows_stopped(tmp_path) -> None:
    path = str(tmp_path / "v2.db")
    from wattprint.ledger._migrations import MIGRATIONS, SCHEMA_VERSION

    conn = sqlite3.connect(path, isolation_level=None)
    for version, _, apply in MIGRATIONS[:2]:
        apply(conn)
        conn.execute(f"PRAGMA user_version = {version}")
    conn.execute("INSERT INTO runs (id, host, status, started_at, energy_j) VALUES "
                 "('01j0000000aa', 'h', 'finished', '2024-01-01T00:00:00+00:00', 5.0)")
    try:
        conn.execute("INSERT INTO runs (id, host, status, started_at) VALUES "
                     "('01j0000000bb', 'h', 'stopped', '2024-01-01T00:00:00+00:00')")
        raise AssertionError("v2 must refuse the stopped status")
    except sqlite3.IntegrityError:
        pass
    conn.close()
    with Ledger(path) as ledger:
        assert ledger.schema_version == SCHEMA_VERSION >= 3
        assert ledger.get("01j0000000aa").energy_j == 5.0
        assert ledger.get("01j0000000aa").end_reason is None
        assert ledger.get("01j0000000aa").overhead_cpu_s is None  # unknown for old runs


def test_wattprint_run_budget_stops_a_cpu_burner(tmp_path) -> None:
    """A real subprocess that burns CPU forever is stopped with SIGTERM; wattprint exits
    with 3, the ledger records 'stopped' and the budget that stopped it."""
    burner = "import signal, sys\nwhile True:\n    pass\n"
    started = time.monotonic()
    proc = wp(tmp_path, "run", "--budget-kwh", "1e-7", "--grace-s", "5", "--", PY, "-c",
              burner, timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert time.monotonic() - started < 30
    assert "energy budget exceeded" in proc.stderr and "SIGTERM" in proc.stderr
    with Ledger(str(tmp_path / "ledger.db")) as ledger:
        (record,) = ledger.runs()
        full = ledger.get(record.id)
    assert full.status == "stopped" and full.exit_code == -15
    assert "energy budget exceeded" in full.end_reason and "SIGTERM" in full.end_reason
    assert full.settings["budget"] == {"energy_kwh": 1e-7, "action": "stop"}


def test_wattprint_run_kills_a_command_that_ignores_sigterm(tmp_path) -> None:
    stubborn = ("import signal\nsignal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
                "while True:\n    pass\n")
    proc = wp(tmp_path, "run", "--budget-kwh", "1e-7", "--grace-s", "0.5", "--", PY, "-c",
              stubborn, timeout=60)
    assert proc.returncode == 3, proc.stderr
    with Ledger(str(tmp_path / "ledger.db")) as ledger:
        full = ledger.get("last")
    assert full.status == "stopped" and full.exit_code == -9
    assert "SIGKILL" in full.end_reason


def test_wattprint_run_warn_lets_the_command_finish(tmp_path) -> None:
    proc = wp(tmp_path, "run", "--budget-kwh", "1e-7", "--on-budget", "warn", "--", PY,
              "-c", "import time\nt = time.time()\nwhile time.time() - t < 2.5: pass",
              timeout=60)
    assert proc.returncode == 0, proc.stderr
    assert "warning: energy budget exceeded" in proc.stderr
    with Ledger(str(tmp_path / "ledger.db")) as ledger:
        assert ledger.get("last").status == "finished"


def test_wattprint_run_budget_needs_a_price_for_cost(tmp_path) -> None:
    proc = wp(tmp_path, "run", "--budget-cost", "1", "--", PY, "-c", "pass")
    assert_clean_error(proc, "--budget-cost 1 needs a price: pass --price-per-kwh")


def test_progress_file_feeds_the_forecast_of_wattprint_run(tmp_path, monkeypatch) -> None:
    """The protocol behind the live line: the command writes its progress with
    report_progress(); wattprint run reads it into its tracker and forecasts."""
    from wattprint.cli._run import _forecast_text, _read_progress
    from wattprint.forecast import report_progress

    path = tmp_path / "progress.txt"
    monkeypatch.setenv("WATTPRINT_PROGRESS_FILE", str(path))
    with Tracker(sensors=[FakeSensor(300.0)]) as run:
        assert _forecast_text(run) == ""
        for step in (10, 20, 30):
            time.sleep(0.1)
            assert report_progress(step, 300, "steps", min_interval_s=0)
            _read_progress(run, str(path))
        path.write_text("garbage")
        _read_progress(run, str(path))  # skipped, not raised
        text = _forecast_text(run)
    assert "→" in text and "left" in text
    assert run.result.counters["steps"] == 30
