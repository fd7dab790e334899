"""The exported metrics: names, types, help texts and labels, and :class:`Series`, one
value of one metric. Pure data: no prometheus_client, no OpenTelemetry, so the node
exporter, the in-process bridges and the tests share one definition of every name.

Names follow Prometheus conventions (units in the name, ``_total`` on counters); the
OpenTelemetry bridge uses the same quantities under dotted names with a ``unit``
(:data:`OTEL_NAMES`), which an OTel-to-Prometheus exporter turns back into these names.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["Metric", "METRICS", "SERIES_LABELS", "RUN_INFO_LABELS", "DEVICE_INFO_LABELS",
           "Series", "OTEL_NAMES", "metric"]

#: Labels of every per-device series. Whole-device (node) series leave run, job_id,
#: project and rank empty (Prometheus drops empty labels); per-run series carry them.
#: The distributed job is ``job_id``, not ``job``: Prometheus sets ``job`` (the scrape job)
#: on every series it scrapes and would rename ours to ``exported_job``.
SERIES_LABELS = ("host", "device", "domain", "basis", "run", "job_id", "project", "rank")
RUN_INFO_LABELS = ("host", "run", "job_id", "project", "rank", "name", "status", "zone")
DEVICE_INFO_LABELS = ("host", "device", "domain", "basis", "sensor", "model")


@dataclass(frozen=True)
class Metric:
    name: str  # the full Prometheus name, unit and _total included
    kind: str  # "counter" or "gauge" (info metrics are gauges of 1)
    help: str
    labels: tuple[str, ...]

    @property
    def family(self) -> str:
        """The name prometheus_client's metric families take (without ``_total``)."""
        return self.name[:-len("_total")] if self.kind == "counter" else self.name


METRICS: dict[str, Metric] = {m.name: m for m in (
    Metric("wattprint_energy_joules_total", "counter",
           "IT energy in joules: the whole device (no run label) or a run's attributed "
           "share of it (run label); basis says measured or modelled", SERIES_LABELS),
    Metric("wattprint_power_watts", "gauge",
           "Power over the last sampling interval in watts (whole device, or a run's share)",
           SERIES_LABELS),
    Metric("wattprint_co2e_grams_total", "counter",
           "Location-based CO2e in grams of the facility energy (IT energy x PUE), from "
           "wattprint.accounting; zone names the grid", SERIES_LABELS + ("zone",)),
    Metric("wattprint_cost_total", "counter",
           "Electricity cost of the facility energy in the currency label's unit, when a "
           "price per kWh is configured", SERIES_LABELS + ("currency",)),
    Metric("wattprint_energy_bridged_joules_total", "counter",
           "Part of wattprint_energy_joules_total interpolated across sensor failures",
           SERIES_LABELS),
    Metric("wattprint_sensor_read_errors_total", "counter",
           "Failed sensor reads (the energy across them is bridged and flagged)",
           ("host", "device", "domain", "basis")),
    Metric("wattprint_sensor_last_read_timestamp_seconds", "gauge",
           "Unix time of the sensor's last successful read (stale: the sensor is failing)",
           ("host", "device", "domain", "basis")),
    Metric("wattprint_run_info", "gauge",
           "A run on this host (1), with its identity; finished runs stay for a grace period",
           RUN_INFO_LABELS),
    Metric("wattprint_device_info", "gauge",
           "A device measured on this host (1): its sensor and model", DEVICE_INFO_LABELS),
)}

#: Prometheus name -> (OpenTelemetry instrument name, unit) for the OTel bridge.
OTEL_NAMES = {
    "wattprint_energy_joules_total": ("wattprint.energy", "J"),
    "wattprint_power_watts": ("wattprint.power", "W"),
    "wattprint_co2e_grams_total": ("wattprint.co2e", "g"),
    "wattprint_cost_total": ("wattprint.cost", "1"),
}


class Series(NamedTuple):
    """One value of one metric: ``labels`` in the order of the metric's label names;
    ``created`` (Unix seconds) is when a counter started from zero."""

    name: str
    labels: tuple[str, ...]
    value: float
    created: float | None = None


def metric(name: str) -> Metric:
    return METRICS[name]
