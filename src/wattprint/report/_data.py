"""One report's data, built once from a ledger run and its accounting; every format
(HTML, Markdown, LaTeX, model card, EU AI Act section, JSON) renders from it.

Every figure says what it rests on (``basis``): ``measured`` (hardware counters),
``modelled`` (sensorless models), ``estimated`` (derived from factors, or from modelled
energy), ``reference`` (a published factor) or ``user`` (given by the user), with its
source. Series for charts are downsampled in the ledger (index seeks, at most
``points`` per device), so a run with millions of samples reports as fast as a short one.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Sequence

from .. import __version__
from ..errors import UsageError
from ..ledger._records import RunRecord, parse_time
from ..result import _unit_label, aggregate, uncertainty_of
from ._fmt import fmt_kwh

__all__ = ["ReportData", "build_report", "SCHEMA_VERSION", "hardware_groups",
           "power_trace_of", "total_trace"]

#: Version of the JSON schema (docs/reports.md). Bump on any incompatible change.
SCHEMA_VERSION = 1

#: Functional units for SCI, from the run's counters.
_SCI_UNITS = {"tokens": "token", "samples": "sample", "requests": "request", "steps": "step"}


@dataclass
class ReportData:
    """Everything a report shows, JSON-ready (see docs/reports.md for the schema)."""

    schema_version: int
    generated_at: str
    generator: str
    run: dict[str, Any]
    energy: dict[str, Any]
    hardware: list[dict[str, Any]]
    devices: list[dict[str, Any]]
    phases: list[dict[str, Any]]
    work: dict[str, Any]
    accounting: dict[str, Any]
    carbon: dict[str, Any]
    provenance: list[dict[str, Any]]
    equivalents: list[dict[str, Any]]
    sci: list[dict[str, Any]]
    uncertainty: dict[str, Any] | None
    series: dict[str, Any]
    budget: dict[str, Any] | None = None
    training_type: str | None = None
    warnings: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: "Ways to use less" (wattprint.reduce.advise), or None for a run without energy
    advice: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    # -- conveniences for the renderers ---------------------------------------------------
    @property
    def basis(self) -> str:
        return self.energy["basis"]

    @property
    def sensorless(self) -> bool:
        """True when no part of the energy was measured by a hardware sensor."""
        return self.energy["basis"] in ("modelled", "none")


def _describe_source(prov: dict[str, Any], kind: str) -> str:
    """What a device's figure rests on, in a few words."""
    if kind == "measured":
        method = prov.get("method") or prov.get("source") or prov.get("counter") or "sensor"
        return str(method)
    parts = [str(prov.get("model") or "model")]
    if prov.get("matched_name"):
        parts.append(f"matched {prov['matched_name']}")
    coeffs = prov.get("coefficients")
    if isinstance(coeffs, dict):
        for c in coeffs.values():
            if isinstance(c, dict) and c.get("source"):
                parts.append(str(c["source"]).split(" (")[0].split(",")[0])
                break
    return "; ".join(parts)


def hardware_groups(devices: Sequence[Any]) -> list[dict[str, Any]]:
    """Counted devices grouped by (domain, device name, kind): ``count × device``. In a
    distributed job the ranks on one machine each count a share of its CPU and memory:
    those are one device per machine (``provenance["job_part"]`` names the machine and
    the part's own sensor), whereas every GPU entry is a GPU of its own."""
    groups: dict[tuple[str, str, str], dict[str, Any]] = {}
    for d in devices:
        if not d.counted:
            continue
        key = (d.domain, d.device or d.name, d.kind)
        g = groups.setdefault(key, {"domain": d.domain, "device": d.device or d.name,
                                    "kind": d.kind, "count": 0, "energy_j": 0.0,
                                    "sensors": [], "method": _describe_source(
                                        d.provenance, d.kind), "_seen": set()})
        part = d.provenance.get("job_part") if isinstance(d.provenance, dict) else None
        if isinstance(part, dict) and d.domain != "gpu":
            ident: Any = (part.get("host_id"), part.get("sensor"))
        else:
            ident = len(g["_seen"])  # each entry a device of its own
        if ident not in g["_seen"]:
            g["_seen"].add(ident)
            g["count"] += 1
        g["energy_j"] += d.energy_j or 0.0
        g["sensors"].append(d.name)
    order = {"gpu": 0, "cpu": 1, "dram": 2, "ram": 3, "system": 4}
    for g in groups.values():
        del g["_seen"]
    return sorted(groups.values(), key=lambda g: (order.get(g["domain"], 9), g["device"]))


def _interp(points: Sequence[tuple[float, float, float]], t: float) -> float:
    """Cumulative energy of a device series at ``t`` (linear between points)."""
    if not points:
        return 0.0
    if t <= points[0][0]:  # before the first sample: linear from (0, 0)
        t0, e0 = points[0][0], points[0][2]
        return e0 * max(t, 0.0) / t0 if t0 > 0 else e0
    if t >= points[-1][0]:
        return points[-1][2]
    lo, hi = 0, len(points) - 1
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if points[mid][0] <= t:
            lo = mid
        else:
            hi = mid
    (ta, _, ea), (tb, _, eb) = points[lo], points[hi]
    return ea + (eb - ea) * (t - ta) / (tb - ta) if tb > ta else eb


def _total_trace(raw: dict[int, list[tuple[float, float, float]]], counted: set[int],
                 duration_s: float, points: int) -> list[tuple[float, float]]:
    """(t, cumulative energy J) of the counted devices on a common grid."""
    if not raw or duration_s <= 0:
        return []
    end = max([duration_s] + [s[-1][0] for i, s in raw.items() if s and i in counted])
    longest = max((len(s) for i, s in raw.items() if i in counted), default=2)
    n = max(2, min(points, 2000, 2 * longest))
    grid = [end * k / n for k in range(n + 1)]
    per_device = [_interp_grid(raw[i], grid) for i in raw if i in counted]
    return [(t, sum(vals[k] for vals in per_device)) for k, t in enumerate(grid)]


def _interp_grid(points: Sequence[tuple[float, float, float]], grid: list[float]
                 ) -> list[float]:
    """:func:`_interp` at every time of an increasing ``grid``, walking the series once
    (the same figures as one binary search per grid time)."""
    if not points:
        return [0.0] * len(grid)
    out = []
    first, last = points[0][0], points[-1][0]
    j = 0
    for t in grid:
        if t <= first or t >= last:
            out.append(_interp(points, t))
            continue
        while points[j + 1][0] <= t:  # the last sample at or before t
            j += 1
        (ta, _, ea), (tb, _, eb) = points[j], points[j + 1]
        out.append(ea + (eb - ea) * (t - ta) / (tb - ta) if tb > ta else eb)
    return out


def power_trace_of(trace: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    """``[(t, mean W since the previous point)]`` of a cumulative ``(t, J)`` trace: the
    ``power_trace`` that weights hourly intensity in ``account()`` (the report and the
    team server's stored figures both use it)."""
    return [(b[0], (b[1] - a[1]) / (b[0] - a[0])) for a, b in zip(trace, trace[1:])
            if b[0] > a[0]]


#: The counted devices' cumulative energy on one time grid (public name for the server).
total_trace = _total_trace


def _fig(figure: Any) -> dict[str, Any] | None:
    return figure.to_dict() if figure is not None else None


def build_report(ledger: Any, run: str, *, zone: str | None = None, pue: float | None = None,
                 provider: str | None = None, price_per_kwh: float | None = None,
                 currency: str | None = None, renewable_share: float | None = None,
                 market_factor_g_per_kwh: float | None = None,
                 training_type: str | None = None, points: int = 2000,
                 country: str | None = None) -> ReportData:
    """The report of one ledger run. ``zone`` / ``pue`` / ``price_per_kwh`` override what
    the run recorded; without a zone the run's, then ``WATTPRINT_ZONE``, then the world
    average (with a loud note) is used. ``training_type``: ``pre-training`` or
    ``fine-tuning`` (model card). ``points``: at most this many chart points per device."""
    from ..accounting import account
    from ..accounting.equivalents import equivalents

    if training_type is not None and training_type not in ("pre-training", "fine-tuning"):
        raise UsageError(f"training type {training_type!r}: use 'pre-training' or "
                         "'fine-tuning' (the values Hugging Face model cards document)")
    record: RunRecord = ledger.get(run)
    settings = record.settings or {}
    zone = zone or record.zone
    if pue is None and isinstance(settings.get("pue"), (int, float)):
        pue = float(settings["pue"])
    if price_per_kwh is None and isinstance(settings.get("price_per_kwh"), (int, float)):
        price_per_kwh = float(settings["price_per_kwh"])
        currency = currency or settings.get("currency")
    training_type = training_type or _training_type_of(record)
    raw = ledger.series(record.id, points=points) if points else {}
    counted = {i for i, d in enumerate(record.devices) if d.counted}
    duration = record.duration_s
    if duration is None:  # still running: up to the last flushed sample
        duration = max((s[-1][0] for s in raw.values() if s), default=0.0)
    trace = _total_trace(raw, counted, duration, points or 2)
    energy_j = record.energy_j
    notes: list[str] = []
    if energy_j is None:
        energy_j = trace[-1][1] if trace else 0.0
        notes.append("the run has no recorded total (still running, or recovered): the "
                     "energy is that of the samples flushed so far")
    when = parse_time(record.started_at)
    power_trace = power_trace_of(trace)
    acc = account(energy_j, zone=zone, when=when, duration_s=duration or None, pue=pue,
                  provider=provider, price_per_kwh=price_per_kwh, currency=currency or "EUR",
                  power_trace=power_trace or None, renewable_share=renewable_share,
                  market_factor_g_per_kwh=market_factor_g_per_kwh)
    pue_value = acc.pue.value
    facility_j = energy_j * pue_value
    basis = record.basis or aggregate(record.devices).basis
    low, high = record.energy_low_j, record.energy_high_j
    if low is None or high is None:  # not finished: from the devices' flushed samples
        last = {i: raw[i][-1][2] for i in counted if raw.get(i)}
        flushed = aggregate(replace(record.devices[i], energy_j=e) for i, e in last.items())
        low, high = ((flushed.energy_low_j, flushed.energy_high_j) if last
                     else (energy_j, energy_j))
    measured_j = aggregate(record.devices).measured_j
    devices = [dict(index=i, name=d.name, domain=d.domain, kind=d.kind, device=d.device,
                    counted=d.counted, energy_j=d.energy_j, mean_power_w=d.mean_power_w,
                    peak_power_w=d.peak_power_w, samples=d.samples, bridged_j=d.bridged_j,
                    errors=d.errors, uncertainty=uncertainty_of(d.provenance),
                    source=_describe_source(d.provenance, d.kind), provenance=d.provenance)
               for i, d in enumerate(record.devices)]
    hardware = hardware_groups(record.devices)
    phases = [dict(name=p.name, energy_j=p.energy_j, duration_s=p.duration_s,
                   entries=p.entries, by_domain=dict(p.by_domain), counters=dict(p.counters),
                   per_unit={_unit_label(k): v for k, v in p.per_unit.items()})
              for p in record.phases]
    energy = dict(energy_j=energy_j, energy_kwh=energy_j / 3.6e6, low_j=low, high_j=high,
                  basis=basis, measured_fraction=measured_j / energy_j if energy_j else 0.0,
                  facility_energy_j=facility_j, facility_energy_kwh=facility_j / 3.6e6,
                  pue=pue_value, by_domain=dict(record.by_domain),
                  mean_power_w=energy_j / duration if duration else None,
                  peak_power_w=record.peak_power_w, duration_s=duration,
                  device_hours=sum(g["count"] for g in hardware if g["domain"] == "gpu")
                  * (duration or 0) / 3600)
    carbon = _carbon(acc, trace, when, duration or 0.0)
    uncertainty = None
    if basis in ("modelled", "mixed") and energy_j > 0:
        rel_low, rel_high = 1 - low / energy_j, high / energy_j - 1
        uncertainty = dict(
            basis=basis, energy_low_j=low, energy_high_j=high,
            relative_low=rel_low, relative_high=rel_high,
            co2e_location_low_g=acc.co2e_location_g.value * low / energy_j,
            co2e_location_high_g=acc.co2e_location_g.value * high / energy_j,
            statement=(f"No power sensor measured {'any' if basis == 'modelled' else 'all'} "
                       f"of this run: {'all' if basis == 'modelled' else 'part'} of the energy "
                       f"is modelled from utilisation and reference data; the energy lies "
                       f"between {fmt_kwh(low)} and {fmt_kwh(high)} "
                       f"(-{rel_low:.0%} / +{rel_high:.0%})."))
    co2e_g = acc.co2e_location_g.value
    try:
        eq = equivalents(facility_j, country=country or acc.zone.country or None,
                         co2e_g=co2e_g)
    except ValueError:
        eq = equivalents(facility_j, co2e_g=co2e_g)
    sci = _sci(record.counters, acc, facility_j)
    series = _series(raw, record, trace, uncertainty is not None)
    run_info = dict(id=record.id, name=record.name, project=record.project,
                    tags=list(record.tags), status=record.status,
                    end_reason=record.end_reason, exit_code=record.exit_code,
                    started_at=record.started_at, ended_at=record.ended_at,
                    duration_s=duration, host=record.host, command=record.command,
                    mode=record.mode, samples=record.samples, cpu_s=record.cpu_s,
                    overhead_cpu_s=record.overhead_cpu_s, settings=settings)
    work = dict(counters=dict(record.counters),
                per_unit={_unit_label(k): v for k, v in record.per_unit.items()})
    accounting = acc.to_dict()
    warnings = list(record.warnings)
    notes += [n for n in acc.notes if n not in notes]
    budget = settings.get("budget") if isinstance(settings.get("budget"), dict) else None
    return ReportData(
        schema_version=SCHEMA_VERSION,
        generated_at=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        generator=f"wattprint {__version__}", run=run_info, energy=energy,
        hardware=hardware, devices=devices, phases=phases, work=work, accounting=accounting,
        carbon=carbon, provenance=_provenance(record, acc, basis),
        equivalents=[e.to_dict() for e in eq], sci=sci, uncertainty=uncertainty,
        series=series, budget=budget, training_type=training_type, warnings=warnings,
        notes=notes, advice=_advice(record, zone, pue, price_per_kwh, currency))


def _advice(record: RunRecord, zone: str | None, pue: float | None,
            price_per_kwh: float | None, currency: str | None) -> dict[str, Any] | None:
    """The advisor's levers for the run (its ``error`` when it could not run)."""
    if record.energy_j is None:
        return None
    from ..reduce.advise import advise, situation_from_run

    try:
        situation = situation_from_run(record, zone=zone, pue=pue,
                                       price_per_kwh=price_per_kwh,
                                       currency=currency or "EUR")
        return advise(situation).to_dict()
    except Exception as err:  # noqa: BLE001 - the report stands without its advice
        return {"error": f"{type(err).__name__}: {err}", "levers": []}


def _training_type_of(record: RunRecord) -> str | None:
    for value in [record.settings.get("training_type"), *record.tags]:
        if value in ("pre-training", "fine-tuning"):
            return value
    return None


def _carbon(acc: Any, trace: list[tuple[float, float]], when: datetime,
            duration_s: float) -> dict[str, Any]:
    """Headline CO2e figures plus the cumulative CO2e series and the intensity behind it
    (hourly where the shipped data covers the run, else the annual figure)."""
    from ..accounting import hourly_intensity

    loc = acc.intensity_location
    resolution = loc.provenance.resolution
    hourly: dict[int, float] = {}
    start = when.astimezone(timezone.utc)

    def intensity_at(t: float) -> float:
        if resolution != "hourly":
            return loc.value
        moment = start + timedelta(seconds=t)
        hour = moment.replace(minute=0, second=0, microsecond=0)
        key = int(hour.timestamp())
        if key not in hourly:
            fig = hourly_intensity(acc.zone, hour, 3600)
            hourly[key] = fig.value if fig is not None else loc.value
        return hourly[key]

    pue = acc.pue.value
    cumulative: list[tuple[float, float]] = []
    if trace:
        total = 0.0
        cumulative.append((trace[0][0], 0.0))
        for (ta, ea), (tb, eb) in zip(trace, trace[1:]):
            total += max(eb - ea, 0.0) * pue / 3.6e6 * intensity_at((ta + tb) / 2)
            cumulative.append((tb, total))
        target = acc.co2e_location_g.value
        if total > 0 and target:
            cumulative = [(t, g * target / total) for t, g in cumulative]
    if resolution == "hourly" and duration_s > 0:
        intensity = []
        first = start.replace(minute=0, second=0, microsecond=0)
        hours = int(math.ceil((duration_s + (start - first).total_seconds()) / 3600))
        for h in range(max(hours, 1)):
            t = max((first + timedelta(hours=h) - start).total_seconds(), 0.0)
            intensity.append((t, intensity_at(t)))
        intensity.append((duration_s, intensity[-1][1]))
    else:
        intensity = [(0.0, loc.value), (duration_s, loc.value)]
    return dict(co2e_location_g=acc.co2e_location_g.value,
                co2e_market_g=acc.co2e_market_g.value,
                intensity_location_g_per_kwh=loc.value,
                intensity_market_g_per_kwh=acc.intensity_market.value,
                intensity_resolution=resolution, zone=acc.zone.to_dict(),
                zone_label=acc.zone.label, source=loc.provenance.describe(),
                cumulative_g=[[round(t, 3), g] for t, g in cumulative],
                intensity_g_per_kwh=[[round(t, 3), v] for t, v in intensity])


def _sci(counters: dict[str, float], acc: Any, facility_j: float) -> list[dict[str, Any]]:
    """SCI = (E × I + M) per functional unit; M (embodied) only when known."""
    out = []
    embodied = acc.embodied_co2e_g.value if acc.embodied_co2e_g is not None else None
    operational = acc.co2e_location_g.value
    for unit, n in counters.items():
        if unit not in _SCI_UNITS or not n or n <= 0:
            continue
        total = operational + (embodied or 0.0)
        if not math.isfinite(max(total, facility_j) / n):
            continue  # a count so small the quotient overflows: no figure, not infinity
        out.append(dict(
            functional_unit=_SCI_UNITS[unit], count=n, sci_g_per_unit=total / n,
            operational_g_per_unit=operational / n,
            embodied_g_per_unit=embodied / n if embodied is not None else None,
            energy_j_per_unit=facility_j / n, basis="estimated",
            formula="SCI = (E x I + M) / R: facility energy x location-based intensity "
                    "(+ embodied) per unit",
            note=None if embodied is not None else
            "M (embodied emissions) not included: the hardware's footprint was not given"))
    return out


def _provenance(record: RunRecord, acc: Any, basis: str) -> list[dict[str, Any]]:
    """One row per figure a report shows: what it rests on and where it comes from."""
    rows: list[dict[str, Any]] = []
    for d in record.devices:
        if not d.counted:
            continue
        unc = uncertainty_of(d.provenance)
        rows.append(dict(figure=f"energy, {d.name} ({d.domain})", value=d.energy_j,
                         unit="J", basis=d.kind, source=_describe_source(d.provenance, d.kind),
                         device=d.device, uncertainty=unc or None, zone=None, dataset=None,
                         year=None, licence=None, resolution=None, notes=[]))
    energy_note = {"modelled": "from modelled energy", "mixed": "from partly modelled energy"
                   }.get(basis, "from measured energy")

    def row(name: str, figure: Any, fig_basis: str, note: str = "") -> None:
        p = figure.provenance
        fb = "user" if p.dataset == "user" else fig_basis
        rows.append(dict(figure=name, value=figure.value, unit=figure.unit, basis=fb,
                         source=p.title, device=None, uncertainty=None, zone=p.zone,
                         dataset=p.dataset, year=p.year, licence=p.licence,
                         resolution=p.resolution, notes=([note] if note else []) + list(p.notes)))

    row("PUE", acc.pue, "reference" if acc.pue.provenance.dataset != "derived" else "default")
    row("grid intensity, location-based", acc.intensity_location, "reference")
    row("grid intensity, market-based", acc.intensity_market, "reference")
    row("CO2e, location-based", acc.co2e_location_g, "estimated", energy_note)
    row("CO2e, market-based", acc.co2e_market_g, "estimated", energy_note)
    if acc.cost.value is not None:
        row("cost", acc.cost, "estimated", energy_note)
    row("water, off-site (generation)", acc.water_offsite_l, "estimated", energy_note)
    return rows


def _series(raw: dict[int, list[tuple[float, float, float]]], record: RunRecord,
            trace: list[tuple[float, float]], band: bool) -> dict[str, Any]:
    """Chart series: power per device, total power (with the model band), energy."""
    devices = []
    for i, d in enumerate(record.devices):
        pts = raw.get(i) or []
        if not pts:
            continue
        devices.append(dict(index=i, name=d.name, domain=d.domain, kind=d.kind,
                            counted=d.counted, uncertainty=uncertainty_of(d.provenance),
                            power_w=[[round(t, 3), round(p, 4)] for t, p, _ in pts]))
    total = [[round(b[0], 3), (b[1] - a[1]) / (b[0] - a[0])]
             for a, b in zip(trace, trace[1:]) if b[0] > a[0]]
    out: dict[str, Any] = dict(devices=devices, total_power_w=total,
                               cumulative_energy_j=[[round(t, 3), e] for t, e in trace])
    if band and record.devices and total:
        # the band of the total: each device's power scaled by its own uncertainty
        grid = [t for t, _ in total]
        lows, highs = [0.0] * len(grid), [0.0] * len(grid)
        for i, d in enumerate(record.devices):
            if not d.counted or i not in raw:
                continue
            u = uncertainty_of(d.provenance)
            prev_t, prev_e = 0.0, 0.0
            for k, t in enumerate(grid):
                e = _interp(raw[i], t)
                p = (e - prev_e) / (t - prev_t) if t > prev_t else 0.0
                lows[k] += p * (1 - u)
                highs[k] += p * (1 + u)
                prev_t, prev_e = t, e
        out["total_power_band_w"] = [[t, lo, hi] for t, lo, hi in zip(grid, lows, highs)]
    return out
