"""Training estimate: energy, time, CO2e, water and cost of a training run before (or
without) measuring it.

Two ways in: (a) accelerator type, count and duration (or accelerator-hours); (b) model
parameters (active ones for mixture-of-experts) and training tokens — compute ≈ 6·N·D FLOPs,
accelerator-hours = compute ÷ (peak FLOP/s × model FLOPs utilisation). Power is a modelled
average draw (a fraction of TDP, plus the host's share per accelerator), never TDP itself.
Energy comes at three boundaries: accelerators only, IT equipment (with host CPU, memory,
network, fans) and facility (× PUE). Every input can be overridden.

    from wattprint.estimate import estimate_training
    est = estimate_training(accelerator="V100", n_accelerators=10_000, duration="14.8d",
                            pue=1.1, zone="US")
    est.energy_facility_kwh.central, est.summary()
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from .. import inputs
from ..errors import UsageError
from .._format import format_flop, format_money, format_number, format_power
from ..units import format_count, format_duration, parse_duration
from ._power import host_draw_w, is_cap, require_tdp, tdp_text, training_draw_w
from ._priors import (LAB_UTILISATION, MFU_EARLY, MFU_MODERN, MODERN_FROM_YEAR,
                      RECENT_FROM_YEAR, Prior, cap_clock, mfu_recent)
from ._result import (PROVENANCE, Assumption, Range, footprint, fmt_range, fmt_range_energy,
                      fmt_range_mass, fmt_range_water, ranges_dict, spread)
from .catalogue import Accelerator, resolve_accelerator

__all__ = ["TrainingEstimate", "estimate_training", "mfu_prior"]

SECONDS_PER_HOUR = 3600.0


@dataclass
class TrainingEstimate:
    """An estimated training run. Every quantity is a :class:`Range` with its unit in its
    name; ``assumptions`` lists (name, value, source) of everything the figures rest on."""

    method: str  # "accelerator-hours" | "compute"
    accelerator: str
    n_accelerators: int | None
    accelerator_hours: Range
    duration_days: Range | None
    compute_flop: float | None
    power_accelerator_w: Range  # per accelerator, accelerator only
    power_it_w: Range  # per accelerator, with its share of the host
    energy_accelerators_kwh: Range
    energy_it_kwh: Range
    energy_facility_kwh: Range
    pue: Range
    co2e_location_kg: Range
    co2e_market_kg: Range
    water_l: Range | None
    cost: Range | None
    currency: str | None
    zone: str
    intensity_location_g_per_kwh: float
    intensity_market_g_per_kwh: float
    implied_mfu: float | None = None
    assumptions: list[Assumption] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    provenance: str = PROVENANCE

    RANGES = ("accelerator_hours", "duration_days", "power_accelerator_w", "power_it_w",
              "energy_accelerators_kwh", "energy_it_kwh", "energy_facility_kwh", "pue",
              "co2e_location_kg", "co2e_market_kg", "water_l", "cost")

    def energy_kwh(self, boundary: str) -> Range:
        """The energy at ``boundary``: "accelerators", "it" or "facility"."""
        try:
            return {"accelerators": self.energy_accelerators_kwh, "it": self.energy_it_kwh,
                    "facility": self.energy_facility_kwh}[boundary]
        except KeyError:
            raise UsageError(f"unknown boundary {boundary!r}; use accelerators, it or "
                             "facility") from None

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": "training", "provenance": self.provenance, "method": self.method,
               "accelerator": self.accelerator, "n_accelerators": self.n_accelerators,
               "compute_flop": self.compute_flop, "implied_mfu": self.implied_mfu,
               "zone": self.zone, "currency": self.currency,
               "intensity_location_g_per_kwh": self.intensity_location_g_per_kwh,
               "intensity_market_g_per_kwh": self.intensity_market_g_per_kwh}
        out.update(ranges_dict(self, self.RANGES))
        out["assumptions"] = [a.to_dict() for a in self.assumptions]
        out["notes"] = list(self.notes)
        return out

    def summary(self) -> str:
        n = f"{self.n_accelerators:,} × " if self.n_accelerators else ""
        how = ("from accelerator-hours" if self.method == "accelerator-hours"
               else "from compute (6·N·D)")
        ah = self.accelerator_hours
        lines = [f"ESTIMATED training energy ({how}) — a model, not a measurement",
                 f"  hardware         {n}{self.accelerator}",
                 f"  accelerator-h    {fmt_range(ah)}"]
        if self.compute_flop:
            lines.append(f"  compute          {format_flop(self.compute_flop)}")
        if self.duration_days:
            d = self.duration_days
            lines.append(f"  time             {format_duration(d.central * 86400)} "
                         f"({format_duration(d.low * 86400)} – "
                         f"{format_duration(d.high * 86400)})")
        pa, pi = self.power_accelerator_w, self.power_it_w
        lines += [
            f"  power / accel.   {format_power(pa.central)} accelerator, "
            f"{fmt_range(pi, format_power)} with host",
            f"  energy           accelerators {fmt_range_energy(self.energy_accelerators_kwh)}",
            f"                   IT equipment {fmt_range_energy(self.energy_it_kwh)}",
            f"                   facility     {fmt_range_energy(self.energy_facility_kwh)}  "
            f"(PUE {format_number(self.pue.central)})",
            f"  CO2e location    {fmt_range_mass(self.co2e_location_kg)} at "
            f"{self.intensity_location_g_per_kwh:.0f} g/kWh ({self.zone})",
            f"  CO2e market      {fmt_range_mass(self.co2e_market_kg)}"]
        if self.water_l:
            w = self.water_l
            lines.append(f"  water            {fmt_range_water(w)}")
        if self.cost:
            c = self.cost
            lines.append("  cost             "
                         f"{fmt_range(c, lambda v: format_money(v, self.currency))}")
        if self.implied_mfu is not None:
            lines.append(f"  implied MFU      {self.implied_mfu:.1%} (compute ÷ peak × "
                         "accelerator-hours)")
        lines.append("  assumptions:")
        lines += [f"    - {a.name}: {a.value} [{a.source}]" for a in self.assumptions]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)


def mfu_prior(acc: Accelerator, params: float | None = None) -> Prior:
    """Utilisation prior by the accelerator's generation (release year; unknown → 2020+):
    pre-2020 and 2020–2021 parts a per-step MFU; 2022+ parts (H100 and later) the
    effective utilisation of a whole run, by the model's (active) size."""
    year = acc.year
    if year is not None and year < MODERN_FROM_YEAR:
        return MFU_EARLY
    if year is not None and year >= RECENT_FROM_YEAR:
        return mfu_recent(params)
    return MFU_MODERN


def _seconds(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value  # seconds; checked by the caller
    return parse_duration(value)


def estimate_training(*, accelerator: "str | Accelerator", n_accelerators: int | None = None,
                      duration: "str | float | None" = None,
                      accelerator_hours: "str | float | None" = None,
                      params: "str | float | None" = None,
                      active_params: "str | float | None" = None,
                      tokens: "str | float | None" = None,
                      compute_flop: float | None = None, precision: str = "bf16",
                      mfu: float | None = None, tdp_w: float | None = None,
                      peak_tflops: float | None = None,
                      accelerator_power_w: float | None = None,
                      host_power_w: float | None = None, it_power_w: float | None = None,
                      pue: float | None = None, provider: str | None = "datacenter",
                      zone: str | None = None, year: int | None = None,
                      intensity_g_per_kwh: float | None = None,
                      renewable_share: float | None = None,
                      market_factor_g_per_kwh: float | None = None,
                      price_per_kwh: float | None = None, currency: str = "EUR",
                      wue_l_per_kwh: float | None = None,
                      water_l_per_kwh: float | None = None) -> TrainingEstimate:
    """Estimate a training run. Give either ``duration`` (wall clock, with
    ``n_accelerators``) or ``accelerator_hours``; or ``params`` (+ ``active_params`` for
    MoE) and ``tokens`` (or ``compute_flop``). Human units are accepted: ``params="175B"``,
    ``tokens="300B"``, ``duration="14.8d"``.

    Overrides: ``mfu``, ``tdp_w``, ``peak_tflops``, ``accelerator_power_w`` (measured
    average accelerator draw), ``host_power_w`` (host share per accelerator),
    ``it_power_w`` (measured per-accelerator power with host, e.g. Patterson et al.'s),
    ``pue``, ``intensity_g_per_kwh``; accounting inputs as in
    :func:`wattprint.accounting.account` (``zone``, ``provider`` — default an unknown data
    centre —, ``renewable_share``, ``price_per_kwh``...).
    """
    tdp_w = inputs.check("tdp_w", "tdp_w", tdp_w)
    peak_tflops = inputs.check("peak_tflops", "peak_tflops", peak_tflops)
    mfu = inputs.check("mfu", "mfu", mfu)
    accelerator_power_w = inputs.check("power_w", "accelerator_power_w", accelerator_power_w)
    it_power_w = inputs.check("power_w", "it_power_w", it_power_w)
    host_power_w = inputs.check("host_power_w", "host_power_w", host_power_w)
    compute_flop = inputs.check("compute_flop", "compute_flop", compute_flop)
    acc = resolve_accelerator(accelerator, tdp_w=tdp_w, peak_tflops=peak_tflops)
    assumptions: list[Assumption] = []
    notes: list[str] = []
    src = "Epoch AI ML hardware database (CC-BY-4.0)"
    if acc.unverified:
        src += f"; UNVERIFIED gap-fill for {', '.join(acc.unverified)}"
    assumptions.append(Assumption("accelerator", f"{acc.name} ({tdp_text(acc, tdp_w)}, "
                                  f"released {acc.release_date or '?'})", src))
    n = inputs.check("n_accelerators", "n_accelerators", n_accelerators)
    seconds = inputs.check("run_duration_s", "duration", _seconds(duration), shown_as=duration)
    ah_given = inputs.count("accelerator_hours", accelerator_hours, "accelerator_hours")
    n_params = inputs.params("params", params)
    n_active = inputs.params("active_params", active_params)
    n_tokens = inputs.tokens("tokens", tokens)
    if seconds is not None:
        if n is None:
            raise UsageError("a duration needs the number of accelerators (n_accelerators=, "
                             "--count); or give accelerator-hours")
        ah_from_time = n * seconds / SECONDS_PER_HOUR
        if ah_given is not None and abs(ah_given - ah_from_time) > 0.02 * ah_given:
            notes.append(f"accelerator-hours given ({ah_given:,.0f}) differ from count × "
                         f"duration ({ah_from_time:,.0f}); the given hours are used")
        else:
            ah_given = ah_from_time
    flop = compute_flop
    if flop is None and n_params is not None and n_tokens is not None:
        n_eff = n_active if n_active is not None else n_params
        flop = 6.0 * n_eff * n_tokens
        assumptions.append(Assumption(
            "training compute", f"6 × {format_count(n_eff, 3)} {'active ' if n_active else ''}parameters "
            f"× {format_count(n_tokens, 3)} tokens = {format_flop(flop)}",
            "Kaplan et al. 2020; Hoffmann et al. 2022 (C ≈ 6·N·D; MoE: active parameters)"))
    if ah_given is None and flop is None:
        raise UsageError("give the run's size: --hours/--days with --count, "
                         "--accelerator-hours, or --params with --tokens")

    # Time from compute (path b), or the implied MFU when both are known.
    peak = None
    if flop is not None:
        if peak_tflops is not None:
            peak, used = peak_tflops * 1e12, precision
            assumptions.append(Assumption("peak FLOP/s", f"{format_number(peak_tflops)} TFLOP/s",
                                          "given"))
        else:
            peak, used = acc.peak_flops(precision)
            assumptions.append(Assumption("peak FLOP/s", f"{format_number(peak / 1e12)} "
                                          f"TFLOP/s ({used}, dense)", src))
            if used != precision.lower():
                notes.append(f"{acc.name} has no {precision} peak in the catalogue; the "
                             f"{used} peak is used")
    priors: dict[str, Prior] = {}
    if ah_given is not None:
        method = "accelerator-hours"
        mfu_prior_used = Prior("accelerator-hours", 1, 1, 1, "", "given")
        if flop is not None and peak:
            implied = flop / (peak * ah_given * SECONDS_PER_HOUR)
        else:
            implied = None
        assumptions.append(Assumption("accelerator-hours", format_number(ah_given),
                                      "given" if seconds is None else
                                      f"{n:,} accelerators × {format_duration(seconds)}"))
    else:
        method = "compute"
        implied = None
        if mfu is not None:
            mfu_prior_used = Prior("MFU", mfu, mfu, mfu, "× peak", "given")
            assumptions.append(Assumption("model FLOPs utilisation", f"{mfu:.1%}", "given"))
        else:
            mfu_prior_used = mfu_prior(acc, n_active or n_params)
            assumptions.append(Assumption(mfu_prior_used.name, mfu_prior_used.text(percent=True)
                                          .replace("× peak", ""), mfu_prior_used.source))
            if acc.year is not None and acc.year >= RECENT_FROM_YEAR:
                priors["lab"] = LAB_UTILISATION
                assumptions.append(Assumption(LAB_UTILISATION.name, LAB_UTILISATION.text(),
                                              LAB_UTILISATION.source))
        priors["mfu"] = mfu_prior_used

    # A power cap below what the part would draw uncapped (``tdp_w`` lower than the
    # catalogue's TDP) slows the clock: time from compute is longer. Given hours already
    # include it.
    if method == "compute" and is_cap(acc, tdp_w) and peak_tflops is None:
        require_tdp(acc, tdp_w)  # refuses a "cap" no part accepts, before it sets a speed
        uncapped = training_draw_w(acc, None, n_active or n_params).central
        priors["clock"] = cap_clock(tdp_w, uncapped)
        assumptions.append(Assumption(priors["clock"].name, priors["clock"].text(),
                                      priors["clock"].source))

    def hours(p: Mapping[str, float]) -> float:
        if ah_given is not None:
            return ah_given
        speed = p["mfu"] * p.get("lab", 1.0) * p.get("clock", 1.0)
        return flop / (peak * speed) / SECONDS_PER_HOUR  # type: ignore[operator]

    # Power per accelerator.
    if it_power_w is not None:
        draw = training_draw_w(acc, tdp_w, n_active or n_params) if (tdp_w or acc.tdp_w) else None
        rating, util = host_draw_w(acc, tdp_w) if draw else (None, None)
        if draw and rating and util:
            share = draw.central / (draw.central + rating.central * util.central)
        else:
            share = 1.0
        priors["acc"] = Prior("accelerator draw", it_power_w * share, it_power_w * share,
                              it_power_w * share, "W", "given (IT power) × modelled share")
        priors["host_w"] = Prior("host share", it_power_w * (1 - share),
                                 it_power_w * (1 - share), it_power_w * (1 - share), "W",
                                 "given (IT power) × modelled share")
        priors["util"] = Prior("host draw", 1, 1, 1, "", "given")
        assumptions.append(Assumption("power per accelerator (with host)",
                                      format_power(it_power_w), "given (measured)"))
        if draw:
            notes.append("accelerator-only energy splits the given "
                         f"{format_power(it_power_w)} by the "
                         f"modelled share ({share:.0%} accelerator)")
    else:
        if accelerator_power_w is not None:
            priors["acc"] = Prior("accelerator draw", accelerator_power_w,
                                  accelerator_power_w, accelerator_power_w, "W", "given")
            assumptions.append(Assumption("accelerator draw", format_power(accelerator_power_w),
                                          "given (measured)"))
        else:
            draw = training_draw_w(acc, tdp_w, n_active or n_params)
            priors["acc"] = draw
            assumptions.append(Assumption(draw.name, draw.text(), draw.source))
        if host_power_w is not None:
            priors["host_w"] = Prior("host share", host_power_w, host_power_w, host_power_w,
                                     "W", "given")
            priors["util"] = Prior("host draw", 1, 1, 1, "", "given")
            assumptions.append(Assumption("host share per accelerator", format_power(host_power_w),
                                          "given"))
        else:
            rating, util = host_draw_w(acc, tdp_w)
            priors["host_w"], priors["util"] = rating, util
            if acc.kind == "tpu":
                assumptions.append(Assumption(rating.name, rating.text(), rating.source))
            else:
                assumptions.append(Assumption("host share per accelerator",
                                              f"{format_number(util.central)} × "
                                              f"{format_power(rating.central)} = "
                                              f"{format_power(util.central * rating.central)}"
                                              f" (draw {format_number(util.low)}–"
                                              f"{format_number(util.high)} of the rating)",
                                              f"{rating.source}; {util.source}"))

    def e_acc(p: Mapping[str, float]) -> float:
        return hours(p) * p["acc"] / 1000.0

    def e_it(p: Mapping[str, float]) -> float:
        return hours(p) * (p["acc"] + p["host_w"] * p["util"]) / 1000.0

    def p_it(p: Mapping[str, float]) -> float:
        return p["acc"] + p["host_w"] * p["util"]

    time_keys = ("mfu", "lab", "clock")  # the priors that set the time from compute
    acc_priors = {k: v for k, v in priors.items() if k == "acc" or k in time_keys}
    energy_acc = Range(*spread(e_acc, acc_priors), "kWh")
    energy_it = Range(*spread(e_it, priors), "kWh")
    power_acc = Range(*spread(lambda p: p["acc"], {"acc": priors["acc"]}), "W")
    power_it = Range(*spread(p_it, {k: v for k, v in priors.items() if k not in time_keys}),
                     "W")
    ah = Range(*spread(hours, {k: v for k, v in priors.items() if k in time_keys}),
               "accelerator-hours")
    days = ah.scale(1 / (n * 24), "days") if n else None
    if n is None and method == "compute":
        notes.append("time needs the number of accelerators (--count); energy does not")

    fp = footprint(energy_it, zone=zone, year=year, pue=pue, provider=provider,
                   intensity_g_per_kwh=intensity_g_per_kwh, renewable_share=renewable_share,
                   market_factor_g_per_kwh=market_factor_g_per_kwh,
                   price_per_kwh=price_per_kwh, currency=currency,
                   wue_l_per_kwh=wue_l_per_kwh, water_l_per_kwh=water_l_per_kwh)
    return TrainingEstimate(
        method=method, accelerator=acc.name, n_accelerators=n, accelerator_hours=ah,
        duration_days=days, compute_flop=flop, power_accelerator_w=power_acc,
        power_it_w=power_it, energy_accelerators_kwh=energy_acc, energy_it_kwh=energy_it,
        energy_facility_kwh=fp.energy_facility_kwh, pue=fp.pue,
        co2e_location_kg=fp.co2e_location_kg, co2e_market_kg=fp.co2e_market_kg,
        water_l=fp.water_l, cost=fp.cost, currency=fp.currency, zone=fp.zone,
        intensity_location_g_per_kwh=fp.intensity_location_g_per_kwh,
        intensity_market_g_per_kwh=fp.intensity_market_g_per_kwh, implied_mfu=implied,
        assumptions=assumptions + fp.assumptions, notes=notes + fp.notes)
