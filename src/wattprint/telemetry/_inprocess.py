"""A tracked run's own series, from inside its process: served at a port while it runs
(``track(..., prometheus_port=P)``), pushed to a Pushgateway when it stops
(``prometheus_pushgateway=URL``), and reported through OpenTelemetry's global
MeterProvider (``otel=True``) as observable counters and gauges.

While running, the figures are the sampler's live totals (attributed energy of each
counted device, as :attr:`wattprint.Tracker.energy_j` sums them); after stop, the
result's devices — the figures the ledger records for the run. Labels and carbon/cost
factors are the node exporter's (:mod:`._metrics`, :mod:`._factors`).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from datetime import datetime, timezone
from typing import Any, Callable, Iterable

from ._factors import factors
from ._metrics import METRICS, OTEL_NAMES, Series
from ._node import device_id

__all__ = ["RunTelemetry", "check_options"]

log = logging.getLogger("wattprint")


def check_options(prometheus_port: Any, prometheus_pushgateway: Any, otel: Any) -> None:
    """Validate the tracker's telemetry options (UsageError naming the value and the fix);
    a missing extra raises :class:`~wattprint.integrations._require.MissingExtraError`."""
    from ..errors import UsageError
    from ..integrations._require import require
    from .. import inputs

    if prometheus_port is not None:
        from ._prometheus import parse_listen

        parse_listen(prometheus_port)
    if prometheus_pushgateway is not None:
        url = prometheus_pushgateway
        if not isinstance(url, str) or not url.startswith(("http://", "https://")) or \
                len(url) < 10:
            raise UsageError(f"{inputs.describe('prometheus_pushgateway', url)}: give the "
                             "Pushgateway's URL (e.g. "
                             "prometheus_pushgateway='http://pushgateway:9091')")
    if prometheus_pushgateway is not None:
        require("prometheus_client", "prometheus", feature="the Pushgateway push")
    if not (otel is True or otel is False or otel is None or hasattr(otel, "get_meter")):
        raise UsageError(f"otel={otel!r} must be True (OpenTelemetry's global "
                         "MeterProvider), False, or a MeterProvider")
    if otel not in (None, False):
        require("opentelemetry.metrics", "otel", feature="OpenTelemetry metrics")


class RunTelemetry:
    """The telemetry of one tracker (made by :class:`wattprint.Tracker` at start)."""

    def __init__(self, tracker: Any, *, port: Any = None, pushgateway: str | None = None,
                 otel: Any = False, zone: str | None = None, pue: float | None = None,
                 price_per_kwh: float | None = None, currency: str | None = None,
                 threads: Any = None,
                 now: Callable[[], datetime] = lambda: datetime.now(timezone.utc)) -> None:
        self._tracker = tracker
        self._threads = threads  # the run's ThreadCPU: the server's CPU is the run's overhead
        self._now = now  # the wall clock whose hour prices what is seen (tests set it)
        self._pushgateway = pushgateway
        self._result: Any = None
        self._server: Any = None
        self._port = port
        self._otel = otel
        self._account = dict(zone=zone, pue=pue, price_per_kwh=price_per_kwh,
                             currency=currency)
        self.host = socket.gethostname() or "localhost"
        self._created = time.time()
        self._ids: list[str] = []
        # device -> [energy priced so far, grams CO2e, cost]: each increment of energy at
        # the factors of the hour it was seen in (hourly zones and prices)
        self._priced: dict[str, list[float]] = {}
        self._lock = threading.Lock()  # scrapes, the OTel reader and the push at stop

    # -- labels and values -----------------------------------------------------------------
    def _identity(self) -> tuple[str, str, str, str]:
        t = self._tracker
        run = t.run_id or t.name or f"pid-{os.getpid()}"
        job = getattr(t.job, "job_id", "") if t.job is not None else ""
        rank = str(getattr(t.job, "rank", "")) if t.job is not None else ""
        return str(run), str(job or ""), str(t.project or ""), rank

    def _devices(self) -> list[tuple[str, str, str, float, float]]:
        """(device, domain, basis, energy_j, power_w) of every counted device."""
        if self._result is not None:
            return [(device_id(d.name, d.provenance), d.domain, d.kind, d.energy_j, 0.0)
                    for d in self._result.devices if d.counted]
        sampler = getattr(self._tracker, "_sampler", None)
        if sampler is None:
            return []
        out = []
        sensors, totals = sampler.sensors, sampler.totals
        if len(self._ids) != len(sensors):
            self._ids = [device_id(s) for s in sensors]
        for key, s, t in zip(self._ids, sensors, totals):
            if s.nested_in is not None:
                continue
            out.append((key, str(s.domain), str(s.kind),
                        t.attributed_j + t.pending_j * t.provisional_share, t.power_w))
        return out

    def series(self) -> list[Series]:
        """The run's series now (final figures after stop). CO2e and cost: each increment
        of a device's energy at the factors of the clock hour it was seen in (a zone with
        hourly intensities or a time-of-use price weights the run's hours by their energy;
        energy first seen at the push after stop counts in that hour)."""
        run, job, project, rank = self._identity()
        opts = dict(pue=self._account["pue"], price_per_kwh=self._account["price_per_kwh"],
                    currency=self._account["currency"])
        f = factors(self._account["zone"], when=self._now(), **opts)
        status = self._result.status if self._result is not None else "running"
        out = [Series("wattprint_run_info", (self.host, run, job, project, rank,
                                             str(self._tracker.name or ""), status, f.zone),
                      1.0)]
        with self._lock:
            for device, domain, basis, energy_j, power_w in self._devices():
                labels = (self.host, device, domain, basis, run, job, project, rank)
                priced = self._priced.setdefault(device, [0.0, 0.0, 0.0])
                if self._result is not None and 0 < energy_j < priced[0]:
                    # the final figure settled below a live one (provisional shares): the
                    # final counters are the final energy's, hour by hour as seen
                    for i in (1, 2):
                        priced[i] *= energy_j / priced[0]
                    priced[0] = energy_j
                if energy_j > priced[0]:
                    priced[1] += (energy_j - priced[0]) * f.co2e_g_per_j
                    priced[2] += (energy_j - priced[0]) * (f.cost_per_j or 0.0)
                    priced[0] = energy_j
                out.append(Series("wattprint_energy_joules_total", labels, energy_j,
                                  self._created))
                out.append(Series("wattprint_power_watts", labels, power_w))
                out.append(Series("wattprint_co2e_grams_total", labels + (f.zone,),
                                  priced[1], self._created))
                if f.cost_per_j is not None:
                    out.append(Series("wattprint_cost_total", labels + (f.currency,),
                                      priced[2], self._created))
        return out

    # -- lifecycle -------------------------------------------------------------------------
    def start(self) -> None:
        """Serve and register; failures are logged, never raised into the program."""
        if self._port is not None:
            from ._exposition import MetricsServer
            from ._prometheus import parse_listen

            host, port = parse_listen(self._port)
            try:
                self._server = MetricsServer(host, port, self.series,
                                             threads=self._threads).start()
            except OSError as err:
                log.error("wattprint: cannot serve this run's metrics on %s:%s (%s); "
                          "choose another prometheus_port", host, port, err)
        if self._otel not in (None, False):
            try:
                self._register_otel()
            except Exception as err:  # noqa: BLE001
                log.error("wattprint: registering the OpenTelemetry instruments failed: %r",
                          err)

    def finish(self, result: Any) -> None:
        """The run stopped: freeze the final figures, push them, stop serving."""
        self._result = result
        if self._pushgateway:
            from ._prometheus import push, registry_for

            run, job, project, rank = self._identity()
            push(self._pushgateway, registry_for(self.series),
                 {"instance": self.host, "run": run})
        if self._server is not None:
            self._server.stop()
            self._server = None

    def _register_otel(self) -> None:
        from opentelemetry import metrics
        from opentelemetry.metrics import Observation

        provider = metrics.get_meter_provider() if self._otel is True else self._otel
        from .. import __version__

        meter = provider.get_meter("wattprint", __version__)

        def callback(name: str) -> Callable[[Any], Iterable[Any]]:
            labels = METRICS[name].labels

            def observe(_options: Any) -> Iterable[Any]:
                try:
                    series = self.series()
                except Exception as err:  # noqa: BLE001 - never break the collector
                    log.warning("wattprint: OpenTelemetry callback failed: %r", err)
                    return []
                return [Observation(s.value, {k: v for k, v in zip(labels, s.labels) if v})
                        for s in series if s.name == name]
            return observe

        for name, (otel_name, unit) in OTEL_NAMES.items():
            m = METRICS[name]
            make: Any = (meter.create_observable_counter if m.kind == "counter"
                         else meter.create_observable_gauge)
            make(otel_name, callbacks=[callback(name)], unit=unit, description=m.help)
