"""prometheus_client glue (extra ``[prometheus]``): a collector that turns
:class:`~._metrics.Series` into metric families (to register wattprint's series in a
registry of your own), and the Pushgateway push. Also :func:`parse_listen` (no
prometheus_client needed). /metrics itself is served by :mod:`._exposition`."""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable, Sequence

from ..integrations._require import require
from ._metrics import METRICS, Series

__all__ = ["SeriesCollector", "registry_for", "push", "parse_listen"]

log = logging.getLogger("wattprint")


def _client() -> Any:
    return require("prometheus_client", "prometheus", feature="Prometheus metrics")


class SeriesCollector:
    """A prometheus_client collector over ``source()``, a function returning the series
    now. A source that fails yields what the other sources give (never a failed scrape)."""

    def __init__(self, *sources: Callable[[], Sequence[Series]]) -> None:
        self._sources = sources

    def collect(self) -> Iterable[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        families: dict[str, Any] = {}
        for name, m in METRICS.items():
            if m.kind == "counter":
                families[name] = CounterMetricFamily(m.family, m.help, labels=m.labels)
            else:
                families[name] = GaugeMetricFamily(m.family, m.help, labels=m.labels)
        for source in self._sources:
            try:
                series = source()
            except Exception as err:  # noqa: BLE001 - a scrape must not fail
                log.warning("wattprint: exporter: a metric source failed: %r", err)
                continue
            for s in series:
                fam = families[s.name]
                if METRICS[s.name].kind == "counter":
                    fam.add_metric(s.labels, s.value, created=s.created)
                else:
                    fam.add_metric(s.labels, s.value)
        return [f for f in families.values() if f.samples]

    def describe(self) -> Iterable[Any]:
        return []


def registry_for(*sources: Callable[[], Sequence[Series]]) -> Any:
    """A fresh CollectorRegistry holding only wattprint's series (no process or
    platform collectors: the exporter's own cost is not the host's energy)."""
    client = _client()
    registry = client.CollectorRegistry(auto_describe=False)
    registry.register(SeriesCollector(*sources))
    return registry


def parse_listen(value: Any, name: str = "prometheus_port") -> tuple[str, int]:
    """``9464`` or ``"HOST:PORT"`` → ``(host, port)`` (host 127.0.0.1 by default)."""
    from .. import inputs
    from ..errors import UsageError

    host = "127.0.0.1"
    port: Any = value
    if isinstance(value, str):
        host_part, sep, port_part = value.rpartition(":")
        if not sep or not port_part.isdigit():
            raise UsageError(f"{inputs.describe(name, value)}: give a port (e.g. "
                             f"{name}=9464) or 'HOST:PORT' (e.g. {name}='0.0.0.0:9464')")
        host, port = host_part.strip("[]") or host, int(port_part)
    port = int(inputs.check("port", name, port))
    return host, port


def push(url: str, registry: Any, grouping_key: dict[str, str]) -> bool:
    """Push ``registry`` to the Pushgateway at ``url`` (job ``wattprint``). Never raises:
    a gateway that is down is logged; returns whether the push worked."""
    client = _client()
    try:
        client.push_to_gateway(url, job="wattprint", registry=registry,
                               grouping_key=grouping_key, timeout=10)
    except Exception as err:  # noqa: BLE001 - a batch job must not fail on its metrics
        log.error("wattprint: pushing the run's metrics to %s failed: %s", url, err)
        return False
    return True
