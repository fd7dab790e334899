"""Claim check: is a stated energy or carbon figure for a training run — or for one
request to a served model ("3 Wh per ChatGPT query") — plausible?

The claim is set against the estimator's range for the run — a run from the published set
named by the user ("GPT-3"), or the run's own parameters — and, when it is off by a power
of ten or by a unit step (kWh/MWh/GWh/TWh are 10^3 apart), the check says so:

    from wattprint.estimate import check_claim
    check_claim("1.28TWh", run="GPT-3").message
    # 'off by ≈1,000× — looks like GWh written as TWh (a unit slip of 10^3): ...'
    check_claim("3 Wh per query", params="175B", accelerator="H100").verdict

A claim per query / request / prompt / response (or per token) is checked against the
inference estimator (:func:`estimate_inference`), never the training one; so is an
energy below :data:`PER_REQUEST_BELOW_WH` given without any training time (a training
run's total is not a few watt-hours) — the result says it read it so.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from .. import inputs as checks
from ..errors import UsageError
from .._format import format_number
from ..units import J_PER_KWH, format_energy, format_mass, parse_energy, parse_mass_co2e
from ._published import find_run, num
from ._result import PROVENANCE, Assumption, Range
from .inference import InferenceEstimate, estimate_inference
from .training import TrainingEstimate, estimate_training

__all__ = ["ClaimCheck", "check_claim", "run_inputs"]

_ENERGY_LADDER = ("Wh", "kWh", "MWh", "GWh", "TWh", "PWh")
_MASS_LADDER = ("g", "kg", "t", "kt", "Mt", "Gt")
#: A claim this close (×) to the range's ends still counts as near it, for slip detection.
SLIP_TOLERANCE = 1.5
#: A claim this close (×) to an end of the range counts as inside it (rounded figures).
ROUNDING_TOLERANCE = 1.01
#: An energy claim below this, with no training time given, is read as per request.
PER_REQUEST_BELOW_WH = 100.0
#: What a claim can be per: a whole training run, one request, one output token.
SCOPES = ("run", "request", "token")
_PER = re.compile(r"\s*(?:/|\bper\b|\ba\b|\beach\b)\s*(?:chatgpt\s+|llm\s+|ai\s+|output\s+)?"
                  r"(query|queries|request|prompt|response|answer|message|generation|token)s?"
                  r"\b.*$", re.IGNORECASE)
#: Inputs that only describe a request (not a training run).
_REQUEST_ONLY = ("output_tokens", "input_tokens", "batch_size", "workload", "precision",
                 "engine")
#: Inputs that describe a training run's time (their presence means a training claim).
_TRAINING_TIME = ("duration", "accelerator_hours", "days")
#: estimate_training inputs that also apply to a request (the rest are training-only).
_SHARED = ("accelerator", "n_accelerators", "params", "active_params", "pue", "zone",
           "year", "intensity_g_per_kwh", "tdp_w")


@dataclass
class ClaimCheck:
    claim: str
    kind: str  # "energy" | "co2e"
    claimed: float  # kWh or kg
    unit: str  # "kWh" | "kg"
    estimate: Range  # same unit as claimed
    boundary: str
    ratio: float  # claimed / estimate central
    verdict: str  # plausible | outside-range | unit-slip | power-of-ten | implausible
    message: str
    slip_factor: float | None = None
    published: float | None = None  # the published figure for a named run, same unit
    published_source: str | None = None
    run: str | None = None
    training: TrainingEstimate | None = None
    scope: str = "run"  # run | request | token
    inference: InferenceEstimate | None = None
    assumptions: list[Assumption] = field(default_factory=list)
    provenance: str = PROVENANCE

    @property
    def plausible(self) -> bool:
        return self.verdict == "plausible"

    def to_dict(self) -> dict[str, Any]:
        return {"kind": "claim-check", "claim": self.claim, "quantity": self.kind,
                "claimed": self.claimed, "unit": self.unit, "estimate": self.estimate.to_dict(),
                "boundary": self.boundary, "ratio": self.ratio, "verdict": self.verdict,
                "plausible": self.plausible, "slip_factor": self.slip_factor,
                "message": self.message, "published": self.published,
                "published_source": self.published_source, "run": self.run,
                "provenance": self.provenance, "scope": self.scope,
                "assumptions": [a.to_dict() for a in self.assumptions],
                "training_estimate": self.training.to_dict() if self.training else None,
                "inference_estimate": self.inference.to_dict() if self.inference else None}

    def summary(self) -> str:
        what = {"request": " (per request: checked against an inference estimate)",
                "token": " (per output token: checked against an inference estimate)"}
        lines = [f"claim: {self.claim}" + (f" for {self.run}" if self.run else "")
                 + what.get(self.scope, ""),
                 f"  verdict          {self.verdict.upper()}: {self.message}",
                 f"  estimate         {self._fmt(self.estimate.central)} "
                 f"({self._fmt(self.estimate.low)} – {self._fmt(self.estimate.high)}), "
                 f"{self.boundary} (ESTIMATED)"]
        if self.published is not None:
            lines.append(f"  published        {self._fmt(self.published)} "
                         f"({self.published_source})")
        lines.append("  assumptions:")
        lines += [f"    - {a.name}: {a.value} [{a.source}]" for a in self.assumptions]
        return "\n".join(lines)

    def _fmt(self, value: float) -> str:
        return (format_energy(value * J_PER_KWH, digits=3) if self.kind == "energy"
                else format_mass(value * 1000))


def _split_per(claim: str) -> tuple[str, str | None]:
    """(the quantity, "request" | "token" | None) of "3 Wh per query", "0.4 J/token"."""
    text = " ".join(str(claim).split())
    m = _PER.search(text)
    if not m or not re.search(r"\d", text[:m.start()]):
        return text, None
    return text[:m.start()].strip(), "token" if m.group(1).lower() == "token" else "request"


def _parse_claim(claim: str) -> tuple[str, float, str]:
    """("energy", kWh, text) or ("co2e", kg, text)."""
    text = " ".join(str(claim).split())
    if re.search(r"wh\b|\bj\b|joule", text, flags=re.I) or re.search(r"\d\s*[kMGTP]?J\b",
                                                                      text):
        return "energy", parse_energy(text) / J_PER_KWH, text
    try:
        return "co2e", parse_mass_co2e(text) / 1000, text
    except UsageError:
        raise UsageError(f"cannot read the claim {claim!r}: give an energy ('1.28 TWh', "
                         "'1287 MWh') or a mass of CO2e ('552 tCO2e', '626,155 lbs')") from None


def run_inputs(row: dict[str, str]) -> dict[str, Any]:
    """estimate_training() inputs for a published row, without its published power: the
    hardware, count and accelerator-hours (or parameters and tokens), PUE and grid
    intensity where the source states them. A power cap the source states for the
    hardware ("power cap 350 W") is the accelerators' limit, ``tdp_w``, as a user with
    capped GPUs gives ``--tdp``: the draw is a fraction of the limit they run at."""
    from ._published import parse_active, parse_hardware, parse_year

    name, count, cap = parse_hardware(row["hardware"])
    n = int(num(row["n_accelerators"]) or count or 0) or None
    kw: dict[str, Any] = {"accelerator": name, "tdp_w": cap, "n_accelerators": n}
    tdp = num(row["tdp_W"])
    if tdp:
        kw["tdp_hint"] = tdp
    hours = num(row["accelerator_hours"])
    days = num(row["train_days"])
    if hours:
        kw["accelerator_hours"] = hours
    elif days and n:
        kw["accelerator_hours"] = n * days * 24
    params = num(row["params_B"])
    tokens = num(row["training_tokens_B"])
    if params:  # the model's size sets the draw prior even without tokens
        kw["params"] = params * 1e9
        active = parse_active(row["active_params_B"], params)
        if active:
            kw["active_params"] = active * 1e9
    if params and tokens:
        kw["tokens"] = tokens * 1e9
    if num(row["pue"]):
        kw["pue"] = num(row["pue"])
    ci = num(row["grid_ci_kgCO2e_per_kWh"])
    if ci:
        kw["intensity_g_per_kwh"] = ci * 1000
    kw["year"] = parse_year(row["year"])
    return kw


def published_boundary(row: dict[str, str]) -> tuple[str, float, str]:
    """The boundary a published row's energy was counted at: (the estimate's boundary, a
    multiplier the source applied to it — a PUE on accelerator energy — and a description).
    ``wattprint validate`` and ``check --run`` compare at it."""
    power = row["power_basis"].lower()
    energy = row["energy_basis"].lower()
    pue = num(row["pue"])
    if power.startswith("gpu power measured"):  # the OLMo reports: GPU energy, no PUE
        return "accelerators", 1.0, "accelerators only (GPU power measured)"
    if power.startswith("measured") or "system power" in power:
        return "facility", 1.0, f"facility (IT × PUE {pue:g} as published)"
    if "total average draw" in power:  # Strubell: GPU+CPU+DRAM × PUE
        return "facility", 1.0, f"IT × PUE {pue:g} (Strubell et al. eq. 1)"
    if "pue" in energy and pue and "no pue" not in energy:
        return "accelerators", pue, f"accelerators × PUE {pue:g} (GPU-hours × power × PUE)"
    return "accelerators", 1.0, "accelerators only (GPU-hours × stated power)"


def published_basis(row: dict[str, str]) -> str:
    """What a published training figure is: ``"measured"`` (a measured power or energy:
    Patterson et al.'s system power, Strubell et al.'s draw, the OLMo reports' GPU power) or
    ``"stated power"`` (hours × a TDP, or a power the source states or assumes: Meta's
    model cards, planning estimates — a method, not a measurement); ``"not stated"`` where
    the row does not say."""
    power = row["power_basis"].lower()
    energy = row["energy_basis"].lower()
    if power.startswith(("measured", "gpu power measured", "avg. system power")) or (
            "total average draw" in power):
        return "measured"
    if power or re.search(r"\d\s*w\b|estimate", energy):
        return "stated power"
    return "not stated"


def _estimate_for_row(row: dict[str, str]) -> TrainingEstimate:
    from .catalogue import find_accelerator

    kw = run_inputs(row)
    hint = kw.pop("tdp_hint", None)
    kw["accelerator"] = find_accelerator(kw["accelerator"], tdp_w=hint)
    if "accelerator_hours" in kw:  # the hours path: no need for the compute path too
        kw.pop("tokens", None)  # the size stays: it sets the draw prior
    return estimate_training(**kw)


def _co2e_at(est: TrainingEstimate, boundary: str) -> Range:
    """CO2e (kg) of the energy at ``boundary``: location-based, its low end stretched down
    to the market-based figure where that is lower. A claim made at the accelerators'
    boundary (Meta's model cards: GPU-hours × TDP × grid intensity) is judged against the
    CO2e of the accelerators' energy, not the facility's."""
    if boundary == "facility":
        loc, mkt = est.co2e_location_kg, est.co2e_market_kg
    else:
        energy = est.energy_kwh(boundary)
        loc = energy.scale(est.intensity_location_g_per_kwh / 1000, "kg")
        mkt = energy.scale(est.intensity_market_g_per_kwh / 1000, "kg")
    if mkt.central < loc.central:
        return Range(loc.central, mkt.low, loc.high, "kg")
    return loc


def _ladder_name(factor_exp: int, claimed: float, kind: str) -> tuple[str, str] | None:
    """(unit written, unit meant) for a 10^(3k) slip of the claimed value."""
    ladder, base = ((_ENERGY_LADDER, claimed * 1000) if kind == "energy"
                    else (_MASS_LADDER, claimed * 1000))  # Wh / g
    if base <= 0:
        return None
    written = int(math.floor(math.log10(base) / 3 + 1e-9))
    meant = written - factor_exp
    if 0 <= written < len(ladder) and 0 <= meant < len(ladder):
        return ladder[written], ladder[meant]
    return None


def check_claim(claim: str, *, run: str | None = None, boundary: str | None = None,
                per: str | None = None, **inputs: Any) -> ClaimCheck:
    """Judge ``claim`` ("1.28TWh", "552 tCO2e") for a named published ``run`` ("GPT-3") or
    for a run described by ``inputs`` (as for :func:`estimate_training`). The estimate is
    made from hardware and time (or parameters and tokens) only — never from the claimed
    or published energy. ``boundary`` (accelerators / it / facility) is the one the claim
    counts; by default a named run's own (Meta's cards: GPU-hours × TDP, accelerators only;
    Patterson et al.: facility), else the facility.

    A claim per request ("3 Wh per query", ``per="request"``) or per output token
    (``per="token"``) is judged against :func:`estimate_inference` of the served model
    (``params`` and optionally ``accelerator``, ``n_accelerators``, ``active_params``,
    ``output_tokens``, ``input_tokens``, ``batch_size``, ``workload``, ``precision``)."""
    quantity, scope = _split_per(claim)
    kind, claimed, text = _parse_claim(quantity)
    checks.check("claim", "claim", claimed, shown_as=text)
    if per is not None and per not in SCOPES:
        raise UsageError(f"--per {per!r}: a claim is per one of {', '.join(SCOPES)}; e.g. "
                         "--per request for '3 Wh per query'")
    scope = per or scope
    read_as = None
    if (scope is None and run is None and kind == "energy"
            and claimed * 1000 < PER_REQUEST_BELOW_WH
            and not any(inputs.get(k) for k in _TRAINING_TIME)):
        scope = "request"
        read_as = (f"{text} with no training time given reads as the energy of one request "
                   f"(a training run is not {PER_REQUEST_BELOW_WH:g} Wh); pass --per run "
                   "(per='run') to check it as a training run's total")
    if scope in ("request", "token"):
        if run is not None:
            raise UsageError("--run names a published training run; a per-request claim "
                             "needs the served model instead (--params, --hardware)")
        return _check_inference(" ".join(str(claim).split()), kind, claimed, text, scope,
                                boundary or "facility", read_as, inputs)
    published = published_src = None
    if run is not None:
        row = find_run(run)
        if row is None:
            raise UsageError(f"no published run matches {run!r}; describe the run instead "
                             "(--hardware, --count, --days or --params/--tokens)")
        est = _estimate_for_row(row)
        run_name = f"{row['model']} ({row['year']})".replace(" ()", "")
        if kind == "energy" and row["energy_MWh"]:
            published = float(row["energy_MWh"]) * 1000
        elif kind == "co2e" and row["emissions_tCO2e"]:
            published = float(row["emissions_tCO2e"]) * 1000
        published_src = f"{row['source']}, {row['source_locator'].split(';')[0]}"
        if boundary is None:  # compare like with like: the boundary the source counted
            boundary, mult, shown = published_boundary(row)
        else:
            mult, shown = 1.0, boundary
    else:
        boundary = boundary or "facility"
        mult, shown = 1.0, boundary
        if not inputs:
            raise UsageError("name the run (--run GPT-3) or describe it (hardware, count and "
                             "time, or parameters and tokens)")
        request_only = [k for k in _REQUEST_ONLY if inputs.get(k) is not None]
        if request_only:
            raise UsageError(f"{', '.join(request_only)} describe a request, but {text!r} "
                             "is checked as a training run's total; write the claim per "
                             "request ('3 Wh per query') or pass --per request")
        est = estimate_training(**{k: v for k, v in inputs.items()
                                   if k not in _REQUEST_ONLY})
        run_name = None
    if kind == "energy":
        rng, unit = est.energy_kwh(boundary).scale(mult, "kWh"), "kWh"
    else:
        rng, unit = _co2e_at(est, boundary).scale(mult, "kg"), "kg"
    verdict, message, slip, ratio = _verdict(kind, claimed, text, rng)

    def fmt(v: float) -> str:
        return (format_energy(v * J_PER_KWH, digits=3) if kind == "energy"
                else format_mass(v * 1000))

    if published is not None:
        p_ratio = claimed / published
        if abs(math.log10(p_ratio)) > 0.05:
            times = _times(p_ratio) if p_ratio >= 100 else f"{format_number(p_ratio)}×"
            message += (f"; the published figure is {fmt(published)} (the claim is "
                        f"{times} that)")
        else:
            message += f"; it matches the published {fmt(published)}"
    return ClaimCheck(claim=text, kind=kind, claimed=claimed, unit=unit, estimate=rng,
                      boundary=(shown if kind == "energy"
                                else f"CO2e (market–location) of the {shown} energy"),
                      ratio=ratio, verdict=verdict, message=message, slip_factor=slip,
                      published=published, published_source=published_src, run=run_name,
                      training=est, assumptions=list(est.assumptions))


def _times(factor: float) -> str:
    if factor >= 1:
        return f"{factor:,.0f}×"
    return f"1/{1 / factor:,.0f}×"


def _verdict(kind: str, claimed: float, text: str, rng: Range, *,
             power_of_ten: bool = True) -> tuple[str, str, float | None, float]:
    """(verdict, message, slip factor, claimed ÷ central) of a claim against a range.
    power_of_ten=False: only unit slips (10^3) are named — per-request energies span
    orders of magnitude with model size and batch, so a 10× gap is not evidence of a slip."""
    ratio = claimed / rng.central if rng.central else math.inf

    def fmt(v: float) -> str:
        return (format_energy(v * J_PER_KWH, digits=3) if kind == "energy"
                else format_mass(v * 1000))

    est_text = f"{fmt(rng.central)} ({fmt(rng.low)} – {fmt(rng.high)})"
    near = rng.low / SLIP_TOLERANCE <= claimed <= rng.high * SLIP_TOLERANCE
    slip = None
    # published figures are rounded (Meta: "1,900 t"): within 1 % of an end is inside
    if rng.low / ROUNDING_TOLERANCE <= claimed <= rng.high * ROUNDING_TOLERANCE:
        verdict = "plausible"
        message = f"{text} is within the estimated range {est_text}"
    elif near:
        verdict = "outside-range"
        message = (f"{text} is {format_number(ratio, digits=2)}× the central estimate, just "
                   "outside the range "
                   f"{est_text}: possible, but check the boundary (accelerators only, IT, "
                   "facility) and the PUE")
    else:
        verdict, message = "implausible", ""
        k3 = round(math.log10(ratio) / 3)
        k1 = round(math.log10(ratio))
        if k3 != 0:
            fixed = claimed / 1000 ** k3
            if rng.low / SLIP_TOLERANCE <= fixed <= rng.high * SLIP_TOLERANCE:
                verdict, slip = "unit-slip", 1000.0 ** k3
                units = _ladder_name(k3, claimed, kind)
                how = (f"looks like {units[1]} written as {units[0]} (a unit slip of "
                       f"10^{3 * k3:d})" if units else
                       f"looks like a unit slip of 10^{3 * k3:d}")
                message = (f"off by ≈{_times(slip)} — {how}: "
                           f"{fmt(fixed)} would fit the estimate {est_text}")
        if verdict == "implausible" and k1 != 0 and power_of_ten:
            fixed = claimed / 10.0 ** k1
            if rng.low / SLIP_TOLERANCE <= fixed <= rng.high * SLIP_TOLERANCE:
                verdict, slip = "power-of-ten", 10.0 ** k1
                message = (f"off by ≈{_times(slip)} — looks like a power-of-ten slip "
                           f"(10^{k1:d}): {fmt(fixed)} would fit the estimate {est_text}")
        if verdict == "implausible":
            message = (f"{text} is {format_number(ratio, digits=2)}× the central estimate "
                       f"{est_text}; no unit "
                       + ("or power-of-ten slip " if power_of_ten else "slip ")
                       + "explains it")
    return verdict, message, slip, ratio


def _check_inference(claim: str, kind: str, claimed: float, text: str, scope: str,
                     boundary: str, read_as: str | None,
                     inputs: dict[str, Any]) -> ClaimCheck:
    """A per-request (or per-token) claim against the inference estimate of the served
    model. Training-only inputs (training tokens) are set aside, and the result says so."""
    kw = {k: v for k, v in inputs.items() if k in _SHARED and v is not None}
    for k in ("output_tokens", "input_tokens", "batch_size", "workload", "precision",
              "engine", "provider"):
        if inputs.get(k) is not None:
            kw[k] = inputs[k]
    if not kw.get("params"):
        raise UsageError(f"{claim!r} is a claim per {scope}: give the served model's size "
                         "(--params 70B; --active-params for a mixture of experts) and, if "
                         "known, --hardware, --count and --output-tokens")
    kw.setdefault("accelerator", "H100")
    notes = [read_as] if read_as else []
    unused = [k for k, v in inputs.items() if v is not None and k not in kw
              and k not in ("accelerator",)]
    if unused:
        notes.append("not used for a per-" + scope + " claim (training inputs): "
                     + ", ".join(sorted(unused)))
    est = estimate_inference(**kw)
    if kind == "energy":
        rng = est.energy_request_wh(boundary).scale(1 / 1000, "kWh")
        unit = "kWh"
    else:
        energy = est.energy_request_wh(boundary)
        facility = est.energy_request_facility_wh.central
        per_wh = est.co2e_request_location_g.central / facility if facility else 0.0
        per_wh_mkt = est.co2e_request_market_g.central / facility if facility else 0.0
        loc = energy.scale(per_wh / 1000, "kg")
        mkt = energy.scale(per_wh_mkt / 1000, "kg")
        rng = Range(loc.central, min(loc.low, mkt.low), loc.high, "kg")
        unit = "kg"
    if scope == "token":
        rng = rng.scale(1 / est.output_tokens, rng.unit)
    verdict, message, slip, ratio = _verdict(kind, claimed, text, rng, power_of_ten=False)
    if notes:
        message += "; " + "; ".join(notes)
    what = "per output token" if scope == "token" else "per request"
    return ClaimCheck(claim=claim, kind=kind, claimed=claimed, unit=unit, estimate=rng,
                      boundary=(f"{boundary}, {what}" if kind == "energy"
                                else f"CO2e (market–location) of the {boundary} energy, "
                                     f"{what}"),
                      ratio=ratio, verdict=verdict, message=message, slip_factor=slip,
                      scope=scope, inference=est, assumptions=list(est.assumptions))
