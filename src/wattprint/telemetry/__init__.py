"""Fleet telemetry: wattprint's per-device and per-run figures as metrics.

- ``wattprint exporter`` (:mod:`.exporter`, extra ``[prometheus]``): a node daemon serving
  every device of the host and the runs in progress there at ``/metrics``.
- In process: ``track(..., prometheus_port=9464)`` serves the run's own series,
  ``track(..., prometheus_pushgateway=URL)`` pushes them when the run stops, and
  ``track(..., otel=True)`` reports them through OpenTelemetry's global MeterProvider
  (extra ``[otel]``) (:mod:`._inprocess`).
- A Grafana dashboard ships in the package: :func:`grafana_dashboard_path`.

Metric names and labels are defined once in :mod:`._metrics` (:data:`METRICS`). Nothing
here imports prometheus_client or OpenTelemetry until it is asked for.
"""

from __future__ import annotations

import os

from ._metrics import METRICS, OTEL_NAMES, Series

__all__ = ["METRICS", "OTEL_NAMES", "Series", "grafana_dashboard_path"]


def grafana_dashboard_path() -> str:
    """The path of the shipped Grafana dashboard (JSON, import it in Grafana)."""
    return os.path.join(os.path.dirname(os.path.abspath(__file__)), "grafana",
                        "wattprint.json")
