"""Energy, CO2e and cost budgets of a run, and what to do when one is exceeded.

    with wattprint.track("finetune", total_work={"steps": 10_000}, budget_kwh=50,
                         on_budget="stop") as run:
        for step in range(10_000):
            train_step()
            run.count(steps=1)        # raises BudgetExceeded once the budget is gone

A budget is exceeded when the **actual** figure passes it, or when the **forecast** at
completion does (central forecast, after ``min_progress`` of the work, default 10 %;
needs the total work: ``total_work=`` or ``run.progress(..., total=)``). Energy budgets
compare IT energy (what the sensors measure); CO2e and cost apply the PUE, the zone's
intensity and the price, as :func:`wattprint.accounting.account` does.

Actions (``on_budget``): ``"warn"`` logs a warning and adds it to the run's warnings;
``"stop"`` (default) does that and raises :class:`~wattprint.errors.BudgetExceeded` in the
tracked program's thread at its next ``count()``, ``progress()`` or phase boundary — the
run ends with status ``stopped`` and the reason in the ledger; a callable receives each
:class:`BudgetEvent` (from wattprint's budget thread or the thread calling ``count()``;
keep it quick; what it raises is logged, never propagated). ``run.stop_requested`` lets
a loop check for a stop without counting, and ``run.accept_stop()`` lets it end the work
itself: nothing is raised then, and the run still ends ``stopped`` with the reason (the
Lightning and Transformers callbacks do this to end training cleanly). Checks never
raise into the program from wattprint's threads. ``wattprint run --budget-kwh`` stops a
command with SIGTERM, then SIGKILL after a grace period.

:class:`LiveOutlook` is the tracker's part of all this: it records progress
observations, forecasts on demand (:mod:`wattprint.forecast`) and runs the guard.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from typing import Any, Callable

from . import inputs
from ._format import format_energy, format_mass, format_money
from .errors import BudgetExceeded, UsageError
from .forecast import Forecast

__all__ = ["Budget", "BudgetEvent", "BudgetGuard", "LiveOutlook", "check_budget", "ACTIONS"]

log = logging.getLogger("wattprint")

ACTIONS = ("warn", "stop")
@dataclass(frozen=True)
class Budget:
    """Limits of one run (None: no limit) and the action when one is exceeded."""

    energy_kwh: float | None = None
    co2e_kg: float | None = None
    cost: float | None = None
    action: "str | Callable[[BudgetEvent], Any]" = "stop"
    forecast: bool = True  # also act on the forecast at completion
    min_progress: float = 0.10  # the forecast counts from this share of the work on

    def __post_init__(self) -> None:
        for name, rule in (("energy_kwh", "budget_kwh"), ("co2e_kg", "budget_co2e_kg"),
                           ("cost", "budget_cost")):
            inputs.check(rule, rule, getattr(self, name))
        if not callable(self.action) and self.action not in ACTIONS:
            raise UsageError(f"on_budget={self.action!r}: use 'warn', 'stop' or a function "
                             "that receives a BudgetEvent")
        if not 0.0 <= self.min_progress <= 1.0:
            raise UsageError(f"min_progress={self.min_progress!r} must be between 0 and 1")

    @property
    def active(self) -> bool:
        return any(v is not None for v in (self.energy_kwh, self.co2e_kg, self.cost))

    def to_dict(self) -> dict[str, Any]:
        action = self.action if isinstance(self.action, str) else \
            getattr(self.action, "label", "callback")
        return {k: v for k, v in (("energy_kwh", self.energy_kwh), ("co2e_kg", self.co2e_kg),
                                  ("cost", self.cost), ("action", action)) if v is not None}


@dataclass(frozen=True)
class BudgetEvent:
    """One budget exceeded: ``budget`` (energy_kwh | co2e_kg | cost), ``limit`` and
    ``value`` in its unit, ``basis`` (actual | forecast), and a sentence."""

    budget: str
    limit: float
    value: float
    basis: str
    message: str
    progress: float | None = None

    def error(self, run_id: str | None = None) -> BudgetExceeded:
        return BudgetExceeded(self.message, budget=self.budget, limit=self.limit,
                              value=self.value, basis=self.basis, run_id=run_id)


def _fmt(budget: str, value: float, currency: str | None) -> str:
    if budget == "energy_kwh":
        return format_energy(value * 3.6e6, digits=4)
    if budget == "co2e_kg":
        return format_mass(value * 1000, digits=4, co2e=True)
    return format_money(value, currency)


def check_budget(budget: Budget, *, energy_j: float, forecast: Forecast | None = None,
                 pue: float = 1.0, co2e_g_per_kwh: float | None = None,
                 price_per_kwh: float | None = None, currency: str | None = None
                 ) -> list[BudgetEvent]:
    """Every limit of ``budget`` that the actual figures (``energy_j`` of IT energy so
    far) or the central forecast exceed. Pure; the caller decides what to do."""
    events: list[BudgetEvent] = []
    kwh = energy_j / 3.6e6
    actual = {"energy_kwh": kwh,
              "co2e_kg": kwh * pue * co2e_g_per_kwh / 1000 if co2e_g_per_kwh is not None
              else None,
              "cost": kwh * pue * price_per_kwh if price_per_kwh is not None else None}
    predicted: dict[str, float | None] = {}
    use_forecast = (budget.forecast and forecast is not None and forecast.phase != "done"
                    and forecast.progress >= budget.min_progress)
    if use_forecast:
        assert forecast is not None
        f_kwh = forecast.energy_j.central / 3.6e6
        predicted = {"energy_kwh": f_kwh,
                     "co2e_kg": forecast.co2e_g.central / 1000 if forecast.co2e_g else None,
                     "cost": forecast.cost.central if forecast.cost else None}
    for name in ("energy_kwh", "co2e_kg", "cost"):
        limit = getattr(budget, name)
        if limit is None:
            continue
        value = actual[name]
        label = {"energy_kwh": "energy", "co2e_kg": "CO2e", "cost": "cost"}[name]
        if value is not None and value > limit:
            events.append(BudgetEvent(
                name, limit, value, "actual",
                f"{label} budget exceeded: {_fmt(name, value, currency)} used, budget "
                f"{_fmt(name, limit, currency)}"))
            continue
        f_value = predicted.get(name)
        if f_value is not None and f_value > limit:
            assert forecast is not None
            events.append(BudgetEvent(
                name, limit, f_value, "forecast",
                f"{label} budget will be exceeded: forecast {_fmt(name, f_value, currency)} "
                f"at completion (at {forecast.progress:.0%} of the work), budget "
                f"{_fmt(name, limit, currency)}", progress=forecast.progress))
    return events


class BudgetGuard:
    """Applies a :class:`Budget` to a running run: checks, acts once per limit and basis,
    and keeps the stop that the program's thread must raise.

    ``figures()`` returns the keyword arguments of :func:`check_budget` (energy and
    forecast now). :meth:`check` never raises; :meth:`raise_if_stopped` raises
    :class:`BudgetExceeded` once, in the caller's thread.
    """

    def __init__(self, budget: Budget, figures: Callable[[], dict[str, Any]], *,
                 warnings: list[str] | None = None) -> None:
        self.budget = budget
        self._figures = figures
        self._warnings = warnings if warnings is not None else []
        self._fired: set[tuple[str, str]] = set()
        self._lock = threading.Lock()
        self.events: list[BudgetEvent] = []
        self.stop_event: BudgetEvent | None = None
        self._raised = False
        self._thread: threading.Thread | None = None
        self._halt = threading.Event()
        self.run_id: str | None = None

    @property
    def stop_requested(self) -> bool:
        return self.stop_event is not None

    def check(self) -> list[BudgetEvent]:
        """Check now and act on new events; returns them. Never raises."""
        try:
            events = check_budget(self.budget, **self._figures())
        except Exception as err:  # noqa: BLE001 - a budget check must not hurt the run
            log.warning("wattprint: budget check failed: %r", err)
            return []
        new = []
        with self._lock:
            for ev in events:
                key = (ev.budget, ev.basis)
                if key in self._fired:
                    continue
                self._fired.add(key)
                self.events.append(ev)
                new.append(ev)
        for ev in new:
            self._act(ev)
        return new

    def _act(self, ev: BudgetEvent) -> None:
        action = self.budget.action
        if callable(action):
            try:
                action(ev)
            except Exception as err:  # noqa: BLE001
                log.error("wattprint: the on_budget callback raised %r; ignored", err)
            return
        log.warning("wattprint: %s", ev.message)
        self._warnings.append(ev.message)
        if action == "stop" and self.stop_event is None:
            self.stop_event = ev

    def raise_if_stopped(self) -> None:
        """Raise :class:`BudgetExceeded` (once) when a stop is pending."""
        ev = self.stop_event
        if ev is not None and not self._raised:
            self._raised = True
            raise ev.error(self.run_id)

    def accept(self) -> BudgetEvent | None:
        """The pending stop, taken over by the program (which ends the work itself):
        :meth:`raise_if_stopped` will not raise for it. None when no stop is pending."""
        ev = self.stop_event
        if ev is not None:
            self._raised = True  # handled: raised or accepted, the run ends "stopped"
        return ev

    # -- a background check for runs that rarely call count() ------------------------------
    def start(self, interval_s: float = 1.0, threads: Any = None) -> None:
        """Check every ``interval_s`` on a thread (its CPU counted in ``threads``, a
        :class:`wattprint._threadcpu.ThreadCPU`; one of its own when not given)."""
        from ._threadcpu import ThreadCPU

        if self._thread is None:
            threads = threads if threads is not None else ThreadCPU()
            self._thread = threads.start(self._loop, "wattprint-budget", interval_s)

    def _loop(self, interval_s: float) -> None:
        while not self._halt.wait(interval_s):
            self.check()

    def stop(self) -> None:
        self._halt.set()
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout=5.0)


class LiveOutlook:
    """Forecast and budgets of one live run: the part of a :class:`~wattprint.Tracker`
    that records progress observations, forecasts on demand and guards the budget.

    ``state()`` returns ``(seconds since start, energy_j so far, counters, phase path)``;
    it is called from the program's thread and from the budget thread, and must be cheap.
    """

    def __init__(self, *, total_work: "dict[str, float] | None" = None,
                 budget: Budget | None = None, price_per_kwh: float | None = None,
                 currency: str | None = None, zone: str | None = None,
                 pue: float | None = None) -> None:
        from .forecast import ProgressLog

        self.unit: str | None = None
        self.total: float | None = None
        if total_work:
            if not isinstance(total_work, dict) or len(total_work) != 1:
                raise UsageError(f"total_work={total_work!r}: give one unit and its total, "
                                 "e.g. total_work={'steps': 10_000}")
            (unit, total), = total_work.items()
            self._set_total(unit, total)
        inputs.price_per_kwh("price_per_kwh", price_per_kwh, currency)
        self.budget = budget if budget is not None and budget.active else None
        if self.budget is not None:
            inputs.budget_price("budget_cost", self.budget.cost, "price_per_kwh",
                                price_per_kwh)
        self.price_per_kwh = price_per_kwh
        self.currency = currency
        self.zone = zone
        self.pue = pue
        self.log = ProgressLog()
        self.guard: BudgetGuard | None = None
        self._positions: dict[str, float] = {}
        self._counted: set[str] = set()
        self._state: Callable[[], tuple[float, float, dict[str, float], str | None]] | None = None
        self._elapsed: Callable[[], float] | None = None
        self._carbon: tuple[float | None, float] | None = None
        self._cache: tuple[float, Any] = (-1.0, None)
        self._lock = threading.Lock()

    def _set_total(self, unit: str, total: Any) -> None:
        from .result import COUNTER_UNITS

        if unit not in COUNTER_UNITS:
            raise UsageError(f"unknown unit of work {unit!r}; use one of "
                             f"{', '.join(COUNTER_UNITS)}")
        inputs.check("total_work", "total", total)
        if self.unit is not None and unit != self.unit:
            raise UsageError(f"the run's work is counted in {self.unit}; progress in "
                             f"{unit} cannot be mixed with it")
        self.unit, self.total = unit, float(total)

    def settings(self) -> dict[str, Any]:
        """What to record with the run (ledger settings)."""
        out: dict[str, Any] = {}
        if self.unit is not None:
            out["total_work"] = {self.unit: self.total}
        if self.budget is not None:
            out["budget"] = self.budget.to_dict()
        if self.price_per_kwh is not None:
            out["price_per_kwh"] = self.price_per_kwh
            out["currency"] = self.currency or "EUR"
        return out

    # -- lifecycle ------------------------------------------------------------------------
    def begin(self, state: Callable[[], tuple[float, float, dict[str, float], str | None]],
              warnings: list[str], run_id: str | None,
              elapsed: Callable[[], float] | None = None, *, threads: Any = None) -> None:
        self._state = state
        self._elapsed = elapsed
        if self.unit is not None:
            self.log.add(0.0, 0.0, 0.0, force=True)
        if self.budget is not None:
            self.guard = BudgetGuard(self.budget, self._figures, warnings=warnings)
            self.guard.run_id = run_id
            self.guard.start(threads=threads)

    def end(self) -> None:
        if self.guard is not None:
            self.guard.stop()

    # -- progress -------------------------------------------------------------------------
    def counted(self, units: dict[str, float]) -> None:
        """After ``count()``: record an observation when the work unit moved."""
        self._counted.update(units)
        if self.unit in units:
            self.observe()

    def progress(self, unit: str, done: float, total: float | None,
                 counters: dict[str, float]) -> None:
        """``progress(unit=done, total=...)``: ``done`` is absolute. A unit never passed
        to ``count()`` follows it in ``counters`` (for J/unit)."""
        if total is not None:
            self._set_total(unit, total)
        elif self.unit is None:
            raise UsageError(f"progress({unit}={done!r}) without a total: pass total= once "
                             f"(here or as Tracker(total_work={{'{unit}': N}}))")
        elif unit != self.unit:
            raise UsageError(f"the run's work is counted in {self.unit}, not {unit}")
        if not len(self.log):
            self.log.add(0.0, 0.0, 0.0, force=True)
        self._positions[unit] = float(done)
        if unit not in self._counted:
            counters[unit] = float(done)
        self.observe()

    def work_done(self, counters: dict[str, float]) -> float:
        assert self.unit is not None
        if self.unit in self._positions:
            return self._positions[self.unit]
        return counters.get(self.unit, 0.0)

    def observe(self, *, force: bool = False) -> None:
        if self._state is None or self.unit is None:
            return
        last = self.log.last
        if not force and last is not None and self._elapsed is not None \
                and self._elapsed() - last.t_s < self.log.min_interval_s:
            return  # the common case at count(): nothing to record yet
        from .forecast import phase_kind

        t_s, energy_j, counters, phase = self._state()
        self.log.add(t_s, energy_j, self.work_done(counters), phase_kind(phase), force=force)

    def boundary(self) -> None:
        """At count()/progress()/phase boundaries: raise a pending budget stop."""
        if self.guard is not None:
            self.guard.raise_if_stopped()

    # -- forecast -------------------------------------------------------------------------
    def carbon(self) -> tuple[float | None, float]:
        """(g CO2e per facility kWh, PUE) for the run's zone; intensity None when unknown."""
        if self._carbon is None:
            try:
                from .accounting import account

                acc = account(3.6e6, zone=self.zone, pue=self.pue)
                self._carbon = (acc.intensity_location.value, acc.pue.value)
                if acc.zone.source == "default":
                    log.warning("wattprint: %s", acc.zone.note)
            except Exception as err:  # noqa: BLE001 - a forecast goes without carbon
                log.warning("wattprint: no carbon intensity for the forecast: %s", err)
                self._carbon = (None, self.pue or 1.0)
        return self._carbon

    def _wants_carbon(self) -> bool:
        """CO2e is forecast when the zone is known (argument or WATTPRINT_ZONE) or a CO2e
        budget needs it (then, without a zone, at the world average, with a warning)."""
        import os

        return (self.zone is not None or bool(os.environ.get("WATTPRINT_ZONE"))
                or (self.budget is not None and self.budget.co2e_kg is not None))

    def forecast(self, *, max_age_s: float = 0.0) -> Any:
        """The :class:`~wattprint.forecast.Forecast` now (None without a total or any
        progress). ``max_age_s`` reuses a forecast computed that recently."""
        from .forecast import Observation, forecast

        if self._state is None or self.unit is None or self.total is None:
            return None
        t_s, energy_j, counters, phase = self._state()
        cached_t, cached = self._cache
        if cached is not None and 0 <= t_s - cached_t <= max_age_s:
            return cached
        g, pue = self.carbon() if self._wants_carbon() else (None, self.pue or 1.0)
        from .forecast import phase_kind

        now = Observation(t_s, energy_j, self.work_done(counters), phase_kind(phase))
        result = forecast(self.log.observations, self.total, unit=self.unit, now=now,
                          co2e_g_per_kwh=g, pue=pue, price_per_kwh=self.price_per_kwh,
                          currency=(self.currency or "EUR") if self.price_per_kwh is not None
                          else None)
        self._cache = (t_s, result)
        return result

    def _figures(self) -> dict[str, Any]:
        assert self._state is not None
        _t, energy_j, _c, _p = self._state()
        g, pue = self.carbon() if self._wants_carbon() else (None, self.pue or 1.0)
        return dict(energy_j=energy_j, forecast=self.forecast(max_age_s=0.5), pue=pue,
                    co2e_g_per_kwh=g, price_per_kwh=self.price_per_kwh,
                    currency=self.currency or "EUR")
