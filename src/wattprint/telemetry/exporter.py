"""``wattprint exporter``: the node daemon. It measures every device of this host (whole
devices, one sampler thread, :mod:`._node`), reads the runs in progress on this host from
the local ledger (:mod:`._runs`), and serves both at ``/metrics`` in the Prometheus text
format (:mod:`._exposition`; standard library only: the extra ``[prometheus]`` is for
:attr:`Exporter.registry` and the Pushgateway).

    from wattprint.telemetry.exporter import Exporter, ExporterOptions
    exporter = Exporter(ExporterOptions(port=9464, ledger="ledger.db"))
    exporter.start()            # sampling + HTTP server
    print(exporter.exposition().decode())
    exporter.stop()

``sensors=`` or ``detect_options=`` (e.g. ``{"nvml": FakeNVML(...)}``) replace detection,
as for :class:`wattprint.Tracker`; tests and the benchmark run it with fake GPUs.
``clock`` (``time.monotonic``) is the sensors' time base and the clock of the ledger
refresh and the grace period.
"""

from __future__ import annotations

import logging
import os
import signal
import socket
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping, Sequence

from .. import inputs
from ..errors import UsageError
from ..sensors.base import Sensor
from ._metrics import Series
from ._node import NodeDevices
from ._runs import LedgerRuns
from ._state import CounterState

__all__ = ["Exporter", "ExporterOptions", "default_state_path", "run"]

log = logging.getLogger("wattprint")


def default_state_path(port: int, env: Mapping[str, str] | None = None) -> str:
    """``$XDG_STATE_HOME/wattprint/exporter-<port>.json`` (``~/.local/state/…``)."""
    env = os.environ if env is None else env
    base = env.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                         "state")
    return os.path.join(base, "wattprint", f"exporter-{port}.json")


@dataclass
class ExporterOptions:
    """What ``wattprint exporter`` takes (the flags of the same names)."""

    port: int = 9464
    host: str = "127.0.0.1"
    rate_hz: float = 1.0
    ledger: str | None = None  # None: no runs, devices only
    grace_s: float = 300.0
    zone: str | None = None
    pue: float | None = None
    price_per_kwh: float | None = None
    currency: str | None = None
    state_path: str | None = None  # None: default_state_path(port); "" : not persisted
    gpus: bool = True
    #: run accounting (``account()``) in short-lived children, keeping its reference
    #: tables out of the daemon's memory (see :mod:`._factors`); False: in process
    isolated_accounting: bool = True

    def checked(self) -> "ExporterOptions":
        """The options with every value checked by :mod:`wattprint.inputs` (UsageError)."""
        inputs.check("port", "--port", self.port)
        inputs.check("rate_hz", "--rate-hz", self.rate_hz)
        inputs.check("grace_s", "--grace-s", self.grace_s)
        inputs.zone("--zone", self.zone)
        inputs.pue("--pue", self.pue)
        if self.price_per_kwh is not None:
            inputs.price_per_kwh("--price-per-kwh", self.price_per_kwh, self.currency or "EUR")
        if not isinstance(self.host, str) or not self.host.strip():
            raise UsageError(f"--host {self.host!r}: give an address to listen on "
                             "(e.g. --host 127.0.0.1, or --host 0.0.0.0 for every interface)")
        return self


class Exporter:
    """Node devices and ledger runs, served to Prometheus (see the module doc)."""

    def __init__(self, options: ExporterOptions | None = None, *,
                 sensors: Sequence[Sensor] | None = None,
                 detect_options: Mapping[str, Any] | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.options = opts = (options or ExporterOptions()).checked()
        self.hostname = socket.gethostname() or "localhost"
        if sensors is None:
            from ..sensors import detect

            detection = detect(mode="machine", gpus=opts.gpus, **dict(detect_options or {}))
            sensors = detection.sensors
            for u in detection.unavailable:
                log.info("wattprint: exporter: %s not used: %s", u.source, u.message)
        state_path = (default_state_path(opts.port) if opts.state_path is None
                      else (opts.state_path or None))
        account: dict[str, Any] = dict(zone=opts.zone, pue=opts.pue,
                                       price_per_kwh=opts.price_per_kwh, currency=opts.currency)
        from ._factors import IsolatedFactors, factors

        self.factors = IsolatedFactors() if opts.isolated_accounting else factors
        account["factors"] = self.factors
        self.node = NodeDevices(sensors, host=self.hostname, rate_hz=opts.rate_hz,
                                state=CounterState(state_path), clock=clock, **account)
        self.runs = (LedgerRuns(opts.ledger, host=self.hostname, grace_s=opts.grace_s,
                                clock=clock, **account) if opts.ledger else None)
        self._registry: Any = None
        self._server: Any = None
        from ._exposition import Renderer

        self._renderer = Renderer()

    def series(self) -> list[Series]:
        """Every series now: the node's devices, then the runs. A source that fails is
        logged and left out: a scrape never fails."""
        out = self.node.series()
        if self.runs is not None:
            try:
                out.extend(self.runs.series())
            except Exception as err:  # noqa: BLE001
                log.error("wattprint: exporter: the runs' series failed: %r", err)
        return out

    @property
    def registry(self) -> Any:
        """A prometheus_client CollectorRegistry over the same series (extra
        ``[prometheus]``), to register in a program of your own; the daemon itself serves
        with the built-in renderer (:mod:`._exposition`)."""
        if self._registry is None:
            from ._prometheus import registry_for

            self._registry = registry_for(self.series)
        return self._registry

    def exposition(self) -> bytes:
        """The text a scrape of ``/metrics`` returns now."""
        return self._renderer.render(self.series())

    def start(self, *, serve: bool = True, background: bool = True) -> "Exporter":
        """Start sampling and (``serve``) the HTTP server."""
        self.node.start(background=background)
        if serve:
            from ._exposition import MetricsServer

            try:
                self._server = MetricsServer(self.options.host, self.options.port,
                                             self.series).start()
            except OSError as err:
                self.node.stop()
                raise UsageError(f"--port {self.options.port}: cannot listen on "
                                 f"{self.options.host}:{self.options.port} "
                                 f"({err.strerror or err}); choose another port "
                                 "(e.g. --port 9465)") from None
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None
        self.node.stop()
        if self.runs is not None:
            self.runs.close()


def run(options: ExporterOptions, *, sensors: Sequence[Sensor] | None = None,
        detect_options: Mapping[str, Any] | None = None,
        ready: Any = print) -> int:
    """Run the exporter until SIGTERM or SIGINT; the counters' state is saved at the end."""
    exporter = Exporter(options, sensors=sensors, detect_options=detect_options)
    done = threading.Event()

    def _stop(signum: int, _frame: Any) -> None:
        done.set()

    previous = {sig: signal.signal(sig, _stop) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        exporter.start()
        if ready is not None:
            ready(f"wattprint exporter: serving http://{options.host}:{options.port}/metrics "
                  f"({len(exporter.node.sampler.sensors)} device(s), runs from "
                  f"{options.ledger or 'no ledger'})", flush=True)
        while not done.wait(3600):
            pass
    finally:
        exporter.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
