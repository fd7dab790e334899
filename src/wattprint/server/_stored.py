"""Stored runs read back: as the API's JSON rows, as a :class:`~wattprint.ledger.
RunRecord` with its power series (so the existing report code renders a pushed run as
it renders a local one), and the accounting of a run at ingest.

The accounting is :func:`wattprint.accounting.account` called as
:func:`wattprint.report.build_report` calls it — the run's zone, start, duration, PUE
and price from its settings, and the power trace of its counted devices — so the
figures the API lists and sums are those of the run's HTML report.
"""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any, Iterable, Sequence

from ..ledger._records import RunRecord
from ..result import DeviceEnergy, PhaseEnergy, aggregate

__all__ = ["run_row", "run_record", "series_of", "StoredLedger", "accounted",
           "iso", "accelerator_of", "CHART_POINTS"]

#: Chart points per device, as the local report uses.
CHART_POINTS = 2000


def iso(dt: datetime | None) -> str | None:
    """A stored (naive UTC) time as ISO 8601 with its offset."""
    if dt is None:
        return None
    return dt.replace(tzinfo=timezone.utc).isoformat(timespec="milliseconds")


def _finite_or_none(x: Any) -> float | None:
    return float(x) if isinstance(x, (int, float)) and math.isfinite(x) else None


def run_row(run: Any, project: str, tags: Sequence[str]) -> dict[str, Any]:
    """A run as the API lists it."""
    return dict(
        id=run.run_id, name=run.name, project=project, local_project=run.local_project,
        user=run.user, host=run.host, status=run.status, started_at=iso(run.started_at),
        ended_at=iso(run.ended_at), duration_s=run.duration_s, energy_j=run.energy_j,
        energy_low_j=run.energy_low_j, energy_high_j=run.energy_high_j, basis=run.basis,
        measured_energy_j=run.measured_energy_j, facility_energy_j=run.facility_energy_j,
        co2e_g=run.co2e_g, co2e_market_g=run.co2e_market_g, cost=_finite_or_none(run.cost),
        currency=run.currency, water_l=_finite_or_none(run.water_l),
        accelerator=run.accelerator, zone=run.zone, tags=sorted(tags), job=run.job_id,
        complete=bool(run.complete))


def accelerator_of(devices: Iterable[dict[str, Any]]) -> str:
    """What a run ran on, for grouping: its counted GPUs' names (``"none"`` without)."""
    names = sorted({d.get("device") or d["name"] for d in devices
                    if d["domain"] == "gpu" and d.get("counted", True)})
    return " + ".join(names)[:512] if names else "none"


def _devices(rows: Iterable[dict[str, Any]]) -> list[DeviceEnergy]:
    return [DeviceEnergy(
        name=d["name"], domain=d["domain"], kind=d["kind"], device=d.get("device") or "",
        energy_j=d.get("energy_j") or 0.0, device_energy_j=d.get("device_energy_j"),
        mean_power_w=d.get("mean_power_w") or 0.0, peak_power_w=d.get("peak_power_w") or 0.0,
        samples=d.get("samples") or 0, counted=bool(d.get("counted", True)),
        bridged_j=d.get("bridged_j") or 0.0, gaps=list(d.get("gaps") or []),
        errors=d.get("errors") or 0, last_error=d.get("last_error"),
        replaced_by=d.get("replaced_by"), provenance=dict(d.get("provenance") or {}))
        for d in rows]


def run_record(run: Any, project: str, tags: Sequence[str]) -> RunRecord:
    """The stored run as a ledger record (devices in their pushed order)."""
    detail = run.detail or {}
    pushed = detail.get("run", {})
    devices = sorted(detail.get("devices", []), key=lambda d: d.get("index", 0))
    return RunRecord(
        id=run.run_id, name=run.name, project=project, tags=sorted(tags),
        command=pushed.get("command"), host=run.host, pid=None, mode=run.mode,
        status=run.status, started_at=iso(run.started_at) or "", ended_at=iso(run.ended_at),
        duration_s=run.duration_s, exit_code=run.exit_code, zone=run.zone,
        settings=dict(pushed.get("settings") or {}), energy_j=run.energy_j,
        energy_low_j=run.energy_low_j, energy_high_j=run.energy_high_j,
        peak_power_w=pushed.get("peak_power_w"), basis=run.basis,
        by_domain=dict(pushed.get("by_domain") or {}),
        warnings=list(pushed.get("warnings") or []), cpu_s=pushed.get("cpu_s"),
        samples=pushed.get("samples") or 0, end_reason=pushed.get("end_reason"),
        overhead_cpu_s=pushed.get("overhead_cpu_s"), job_info=pushed.get("job"),
        counters=dict(detail.get("counters") or {}), devices=_devices(devices),
        phases=[PhaseEnergy(name=p["name"], energy_j=p["energy_j"],
                            duration_s=p["duration_s"], entries=p.get("entries", 1),
                            by_domain=dict(p.get("by_domain") or {}),
                            counters=dict(p.get("counters") or {}))
                for p in detail.get("phases", [])])


def series_of(chunks: Iterable[Sequence[dict[str, Any]]], devices: Sequence[dict[str, Any]]
              ) -> dict[int, list[tuple[float, float, float]]]:
    """Device position → ``(t_s, power_w, energy_j)`` in time order, merged from the
    chunks' power lists. A point list without cumulative energy is integrated (trapezoid).
    Keys are positions in ``devices`` (pushed indexes mapped), as the report expects."""
    position = {d.get("index", i): i for i, d in enumerate(
        sorted(devices, key=lambda d: d.get("index", 0)))}
    merged: dict[int, list[tuple[float, float, float | None]]] = {}
    for power in chunks:
        for s in power:
            pos = position.get(s["device"])
            if pos is None:
                continue
            energy = s.get("energy_j") or [None] * len(s["t"])
            merged.setdefault(pos, []).extend(zip(s["t"], s["power_w"], energy))
    out: dict[int, list[tuple[float, float, float]]] = {}
    for pos, points in merged.items():
        points.sort(key=lambda p: p[0])
        rows: list[tuple[float, float, float]] = []
        total = 0.0
        for k, (t, p, e) in enumerate(points):
            if k and t <= rows[-1][0]:
                continue
            if e is None:
                if rows:
                    total += (p + rows[-1][1]) / 2 * (t - rows[-1][0])
                e = total
            else:
                total = e
            rows.append((t, p, e))
        out[pos] = rows
    return out


class StoredLedger:
    """What :func:`wattprint.report.build_report` reads from a ledger (``get`` and
    ``series``), served from one stored run."""

    def __init__(self, record: RunRecord, series: dict[int, list[tuple[float, float, float]]]):
        self.record = record
        self._series = series

    def get(self, run: str) -> RunRecord:
        return self.record

    def series(self, run: str, *, points: int = CHART_POINTS
               ) -> dict[int, list[tuple[float, float, float]]]:
        return {i: _thin(s, points) for i, s in self._series.items()}


def _thin(points: list[tuple[float, float, float]], n: int) -> list[tuple[float, float, float]]:
    if len(points) <= n + 1:
        return points
    step = (len(points) - 1) / n
    return [points[round(k * step)] for k in range(n + 1)]


def accounted(run: dict[str, Any], devices: Sequence[dict[str, Any]],
              series: dict[int, list[tuple[float, float, float]]] | None = None
              ) -> dict[str, Any]:
    """The energy, its range and basis, and the accounted columns of a pushed run
    (``series``: its power trace, when every chunk is in)."""
    from ..accounting import account
    from ..ledger._records import parse_time
    from ..report._data import power_trace_of, total_trace

    totals = aggregate(_devices(devices))
    energy_j = run.get("energy_j")
    if energy_j is None:
        energy_j = totals.energy_j
    low = run.get("energy_low_j")
    high = run.get("energy_high_j")
    low = totals.energy_low_j if low is None else low
    high = totals.energy_high_j if high is None else high
    duration = run.get("duration_s") or 0.0
    settings = run.get("settings") or {}
    counted = {i for i, d in enumerate(sorted(devices, key=lambda d: d.get("index", 0)))
               if d.get("counted", True)}
    trace = total_trace(series, counted, duration, CHART_POINTS) if series else []
    kwargs: dict[str, Any] = dict(
        zone=run.get("zone"), pue=_setting(settings, "pue"),
        price_per_kwh=_setting(settings, "price_per_kwh"),
        currency=settings["currency"] if isinstance(settings.get("currency"), str)
        and 0 < len(settings["currency"]) <= 8 else "EUR")
    when = parse_time(run["started_at"])
    notes: list[str] = []
    try:
        acc = account(energy_j, when=when, duration_s=duration or None,
                      power_trace=power_trace_of(trace) or None, **kwargs)
    except ValueError as err:  # a zone, PUE or price this server cannot use
        notes.append(f"the run's own accounting settings were refused ({err}); "
                     "accounted with the defaults")
        acc = account(energy_j, when=when, duration_s=duration or None)
    facility_j = energy_j * acc.pue.value
    water = acc.water_l if acc.water_l is not None else acc.water_offsite_l.value
    measured_j = min(totals.measured_j, energy_j) if energy_j else 0.0
    return dict(
        energy_j=energy_j, energy_low_j=min(low, energy_j), energy_high_j=max(high, energy_j),
        measured_energy_j=measured_j, basis=run.get("basis") or totals.basis,
        facility_energy_j=facility_j, co2e_g=acc.co2e_location_g.value,
        co2e_market_g=acc.co2e_market_g.value, cost=acc.cost.value,
        currency=acc.cost.unit if acc.cost.value is not None else None, water_l=water,
        accounting=dict(zone=acc.zone.to_dict(), pue=acc.pue.value,
                        intensity_location_g_per_kwh=acc.intensity_location.value,
                        intensity_market_g_per_kwh=acc.intensity_market.value,
                        intensity_resolution=acc.intensity_location.provenance.resolution,
                        source=acc.intensity_location.provenance.describe(),
                        notes=notes + list(acc.notes)))


def _setting(settings: dict[str, Any], key: str) -> float | None:
    value = settings.get(key)
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value) else None
