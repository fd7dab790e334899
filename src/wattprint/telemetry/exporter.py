"""``wattprint exporter``: the node daemon. It measures every device of this host (whole
devices, one sampler thread, :mod:`._node`), reads the runs in progress on this host from
the local ledger (:mod:`._runs`), and serves both at ``/metrics`` in the Prometheus text
format (extra ``[prometheus]``).

    from wattprint.telemetry.exporter import Exporter, ExporterOptions
    exporter = Exporter(ExporterOptions(port=9464, ledger="ledger.db"))
    exporter.start()            # sampling + HTTP server
    print(exporter.exposition().decode())
    exporter.stop()

``sensors=`` or ``detect_options=`` (e.g. ``{"nvml": FakeNVML(...)}``) replace detection,
as for :class:`wattprint.Tracker`; tests and the benchmark run it with fake GPUs.
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
        account = dict(zone=opts.zone, pue=opts.pue, price_per_kwh=opts.price_per_kwh,
                       currency=opts.currency)
        self.node = NodeDevices(sensors, host=self.hostname, rate_hz=opts.rate_hz,
                                state=CounterState(state_path), clock=clock, **account)
        self.runs = (LedgerRuns(opts.ledger, host=self.hostname, grace_s=opts.grace_s,
                                **account) if opts.ledger else None)
        self._registry: Any = None
        self._server: Any = None

    def series(self) -> list[Series]:
        """Every series now: the node's devices, then the runs."""
        out = self.node.series()
        if self.runs is not None:
            out.extend(self.runs.series())
        return out

    @property
    def registry(self) -> Any:
        if self._registry is None:
            from ._prometheus import registry_for

            sources = [self.node.series] + ([self.runs.series] if self.runs else [])
            self._registry = registry_for(*sources)
        return self._registry

    def exposition(self) -> bytes:
        """The text a scrape of ``/metrics`` returns now."""
        from prometheus_client import generate_latest

        return generate_latest(self.registry)

    def start(self, *, serve: bool = True, background: bool = True) -> "Exporter":
        """Start sampling and (``serve``) the HTTP server."""
        registry = self.registry  # a missing prometheus_client fails here, first
        self.node.start(background=background)
        if serve:
            from ._prometheus import serve as serve_http

            try:
                self._server = serve_http(registry, self.options.host, self.options.port)
            except OSError as err:
                self.node.stop()
                raise UsageError(f"--port {self.options.port}: cannot listen on "
                                 f"{self.options.host}:{self.options.port} ({err.strerror or err}); "
                                 "choose another port (e.g. --port 9465)") from None
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
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
