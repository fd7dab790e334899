"""Carbon and cost per joule for the exported counters, from :func:`wattprint.accounting.account`
(the one rule for CO2e and cost), cached per zone, PUE, price and hour.

The node exporter asks :class:`IsolatedFactors` instead: ``account()`` runs in a short-lived
``python -m wattprint.telemetry._factors`` child on a background thread, because the
reference tables it loads (~8 MiB of Python objects) would otherwise stay in the daemon's
memory for its whole life; a child costs ~0.2 s of CPU once per zone, hour and price, and
until its answer arrives the CO2e and cost series of that run are simply not exposed yet.

The exported CO2e and cost counters are sums of energy times these factors, each clock
hour's energy at that hour's factors: a counter never goes down, and a run's figures equal
what ``account()`` gives for the run's recorded energy, hour by hour where the zone has
hourly data (telemetry._runs keeps a run's energy by hour from its samples).
"""

from __future__ import annotations

import logging
from datetime import datetime, timezone
from typing import Any, NamedTuple

__all__ = ["Factors", "factors", "IsolatedFactors"]

log = logging.getLogger("wattprint")

J_PER_KWH = 3.6e6
_CACHE: dict[tuple, "Factors"] = {}
_WARNED: set[str] = set()


class Factors(NamedTuple):
    """Grams of CO2e and cost per joule of IT energy, the zone they are for, and the
    currency (``cost_per_j`` is None without a price)."""

    co2e_g_per_j: float
    cost_per_j: float | None
    currency: str
    zone: str


def factors(zone: str | None, *, when: datetime | None = None, pue: float | None = None,
            price_per_kwh: float | None = None, currency: str | None = None) -> Factors | None:
    """The factors for IT energy spent in ``zone`` at ``when`` (default: now). An unknown
    zone (a run recorded with one this version does not know) falls back to the default
    zone, logged once."""
    from ..accounting import account

    when = when or datetime.now(timezone.utc)
    hour = when.replace(minute=0, second=0, microsecond=0)
    key = (zone, hour, pue, price_per_kwh, currency)
    found = _CACHE.get(key)
    if found is not None:
        return found
    try:
        acc = account(J_PER_KWH, zone=zone, when=hour, pue=pue, price_per_kwh=price_per_kwh,
                      currency=currency or "EUR")
    except ValueError as err:
        if str(zone) not in _WARNED:
            _WARNED.add(str(zone))
            log.warning("wattprint: exporter: zone %r cannot be accounted (%s); using the "
                        "default zone", zone, err)
        acc = account(J_PER_KWH, when=hour, pue=pue, price_per_kwh=price_per_kwh,
                      currency=currency or "EUR")
    cost = acc.cost.value
    found = Factors(acc.co2e_location_g.value / J_PER_KWH,
                    cost / J_PER_KWH if cost is not None else None,
                    acc.cost.unit or (currency or "EUR"), acc.zone.key)
    if len(_CACHE) > 4096:
        _CACHE.clear()
    _CACHE[key] = found
    return found


def _key(zone: str | None, when: datetime | None, pue: float | None,
         price_per_kwh: float | None, currency: str | None) -> tuple:
    when = when or datetime.now(timezone.utc)
    return (zone, when.replace(minute=0, second=0, microsecond=0).isoformat(), pue,
            price_per_kwh, currency)


class IsolatedFactors:
    """:func:`factors` computed in a child process, asynchronously (see the module doc).
    Call it like :func:`factors`; it returns None while the answer is pending. Its
    thread is started through ``threads`` (a :class:`wattprint._threadcpu.ThreadCPU`,
    one of its own by default), which sums its CPU."""

    def __init__(self, threads: Any = None) -> None:
        import threading

        from .._threadcpu import ThreadCPU

        self.threads = threads if threads is not None else ThreadCPU()
        self._done: dict[tuple, Factors] = {}
        self._pending: list[tuple] = []
        self._queued: set[tuple] = set()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._thread: Any = None

    def __call__(self, zone: str | None, *, when: datetime | None = None,
                 pue: float | None = None, price_per_kwh: float | None = None,
                 currency: str | None = None) -> Factors | None:
        key = _key(zone, when, pue, price_per_kwh, currency)
        found = self._done.get(key)
        if found is not None:
            return found
        with self._lock:
            if key not in self._queued:
                self._queued.add(key)
                self._pending.append(key)
                self._wake.set()
                if self._thread is None:
                    self._thread = self.threads.start(self._loop, "wattprint-factors")
        return None

    def wait(self, timeout_s: float = 30.0) -> None:
        """Block until every pending answer is in (tests, start-up)."""
        import time

        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            with self._lock:
                if not self._pending and all(k in self._done for k in self._queued):
                    return
            time.sleep(0.02)

    def _loop(self) -> None:
        while True:
            self._wake.wait()
            with self._lock:
                if not self._pending:
                    self._wake.clear()
                    continue
                key = self._pending.pop(0)
            self._done[key] = _in_child(key)


def _in_child(key: tuple) -> Factors:
    """Run :func:`factors` for ``key`` in a child; inline when the child fails."""
    import json
    import os
    import subprocess
    import sys

    import wattprint

    src = os.path.dirname(os.path.dirname(os.path.abspath(wattprint.__file__)))
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (src, env.get("PYTHONPATH")) if p)
    try:
        proc = subprocess.run([sys.executable, "-m", "wattprint.telemetry._factors",
                               json.dumps(key)], capture_output=True, text=True, env=env,
                              timeout=60)
        if proc.returncode == 0:
            return Factors(*json.loads(proc.stdout))
        log.warning("wattprint: exporter: the accounting child failed (%s); accounting "
                    "in the exporter itself", proc.stderr.strip()[-300:])
    except (OSError, ValueError, subprocess.SubprocessError) as err:
        log.warning("wattprint: exporter: the accounting child failed (%r); accounting "
                    "in the exporter itself", err)
    zone, when, pue, price, currency = key
    return factors(zone, when=datetime.fromisoformat(when), pue=pue, price_per_kwh=price,
                   currency=currency)


if __name__ == "__main__":  # the child of IsolatedFactors: one key in, one answer out
    import json
    import sys

    zone, when, pue, price, currency = json.loads(sys.argv[1])
    print(json.dumps(list(factors(zone, when=datetime.fromisoformat(when), pue=pue,
                                  price_per_kwh=price, currency=currency))))
