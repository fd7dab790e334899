"""The what-if advisor: for a measured run or a planned one, every lever with its saving
in facility kWh, kg CO2e, cost and time, as a ``low``–``high`` range with its source,
ranked by the CO2e it saves; a lever that does not apply says why.

Each lever is a function ``lever_*(situation) -> Lever`` of the :class:`Situation` (the
run's energy, time, zone, hardware and, for plans, the estimator inputs). Savings come
from the estimator (rerun with one input changed), the accounting tables (hour, region)
or the published evidence in :mod:`wattprint.reduce.evidence` — never from an unsourced
constant. Every figure is ``estimated``.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, Callable

from . import evidence
from ._wait import now as planning_now

__all__ = ["Situation", "Lever", "Advice", "advise", "situation_from_run",
           "situation_from_plan", "LEVERS"]


@dataclass(frozen=True)
class Situation:
    """What the advisor knows. ``energy_facility_kwh`` is (low, central, high);
    ``estimate``: the estimator's keyword arguments for a plan (None for a measured run);
    ``kind``: training / inference / measured."""

    kind: str
    energy_facility_kwh: tuple[float, float, float]
    pue: float
    intensity_g_per_kwh: float
    zone: str | None
    duration_s: float | None
    start: datetime | None = None
    accelerator: str | None = None
    accelerator_share: float | None = None  # of the facility energy drawn by accelerators
    price_per_kwh: float | None = None
    currency: str = "EUR"
    estimate: dict[str, Any] | None = None
    label: str = ""
    basis: str = "estimated"


@dataclass(frozen=True)
class Lever:
    key: str
    title: str
    applies: bool
    why: str
    source: str = ""
    strength: str = ""  # measured-study / model / estimator / data / weak / assumption
    kwh: tuple[float, float] | None = None  # facility energy saved (low, high)
    co2e_kg: tuple[float, float] | None = None
    cost: tuple[float, float] | None = None
    time_pct: tuple[float, float] | None = None  # + = the job takes longer
    currency: str | None = None

    @property
    def rank_key(self) -> tuple[float, float]:
        """Ranked by the CO2e it surely saves (the low end), then by the midpoint."""
        if not self.co2e_kg:
            return (-1.0, -1.0)
        return (self.co2e_kg[0], (self.co2e_kg[0] + self.co2e_kg[1]) / 2)

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, "title": self.title, "applies": self.applies,
                "why": self.why, "source": self.source, "strength": self.strength,
                "kwh": self.kwh, "co2e_kg": self.co2e_kg, "cost": self.cost,
                "currency": self.currency, "time_pct": self.time_pct, "basis": "estimated"}


@dataclass
class Advice:
    situation: Situation
    levers: list[Lever] = field(default_factory=list)

    @property
    def applicable(self) -> list[Lever]:
        return [lv for lv in self.levers if lv.applies]

    def to_dict(self) -> dict[str, Any]:
        s = self.situation
        return {"kind": s.kind, "label": s.label, "zone": s.zone,
                "energy_facility_kwh": list(s.energy_facility_kwh), "pue": s.pue,
                "intensity_g_per_kwh": s.intensity_g_per_kwh, "basis": s.basis,
                "levers": [lv.to_dict() for lv in self.levers]}


# -- helpers -------------------------------------------------------------------------------
def _pair(a: float, b: float) -> tuple[float, float]:
    lo, hi = sorted((a, b))
    return (lo, hi)


def _energy_lever(s: Situation, key: str, title: str, frac: tuple[float, float], *,
                  why: str, source: str, strength: str,
                  time_pct: tuple[float, float] | None = None,
                  share: float = 1.0) -> Lever:
    """A lever saving ``frac`` (low, high) of the energy ``share`` of the job."""
    e = s.energy_facility_kwh[1] * share
    kwh = _pair(e * frac[0], e * frac[1])
    return _priced(s, Lever(key, title, True, why, source, strength, kwh=kwh,
                            time_pct=time_pct))


def _priced(s: Situation, lever: Lever) -> Lever:
    kwh = lever.kwh or (0.0, 0.0)
    co2e = lever.co2e_kg or _pair(kwh[0] * s.intensity_g_per_kwh / 1000,
                                  kwh[1] * s.intensity_g_per_kwh / 1000)
    cost = None
    if s.price_per_kwh is not None and lever.kwh is not None:
        cost = _pair(kwh[0] * s.price_per_kwh, kwh[1] * s.price_per_kwh)
    return replace(lever, co2e_kg=co2e, cost=cost,
                   currency=s.currency if cost is not None else None)


def _no(key: str, title: str, why: str, source: str = "") -> Lever:
    return Lever(key, title, False, why, source)


def _training_energy(kwargs: dict[str, Any]) -> tuple[float, float, float]:
    from ..estimate import estimate_training

    r = estimate_training(**kwargs).energy_facility_kwh
    return (r.low, r.central, r.high)


def _inference_energy(kwargs: dict[str, Any]) -> tuple[float, float, float]:
    from ..estimate import estimate_inference

    r = estimate_inference(**kwargs).energy_request_facility_wh
    return (r.low, r.central, r.high)


def _estimator_ratio(s: Situation, change: dict[str, Any]) -> tuple[float, float, float]:
    """(low, central, high) of new ÷ old energy from the estimator with ``change``."""
    assert s.estimate is not None
    run = _inference_energy if s.kind == "inference" else _training_energy
    old, new = run(s.estimate), run({**s.estimate, **change})
    ratios = [n / o for n, o in zip(new, old) if o > 0]
    return (min(ratios), new[1] / old[1], max(ratios))


# -- the levers ----------------------------------------------------------------------------
def lever_hour(s: Situation) -> Lever:
    """Start at the cleanest hour within a day (the ``when`` rule); the range is the
    saving on each of the 2023 days of the same month and weekday (actual hours).

    Only a start that was cleaner on *every* one of those days is advised, so the range
    never goes below zero: when the typical week's cleanest start was dirtier on some of
    them, the whole-hour start within the day with the best worst day is advised instead
    (and said), and when no start was cleaner on all of them the lever does not apply."""
    title = "run at a cleaner hour"
    if not s.zone or not s.duration_s:
        return _no("hour", title, "needs the zone and the duration")
    from ..accounting import _tables
    from .when import day_savings, days_compared, plan_when, window_mean

    if _tables.hourly_zone(s.zone) is None:
        return _no("hour", title, f"no hourly data for {s.zone}: no hour is known to be "
                                  "cleaner (a live provider would tell)")
    start = s.start or planning_now()
    if s.duration_s > 7 * 86400:
        return _no("hour", title, "a job longer than a week spans every hour: moving its "
                                  "start changes little")
    plan = plan_when(s.zone, s.duration_s, now=start, within_s=86400.0)
    if plan.wait_s <= 0:
        return _no("hour", title, "it already starts at the cleanest hour of its day "
                                  "(typical week)")
    days = days_compared(start)
    shift = plan.best.start - start
    fractions = day_savings(s.zone, start, shift, s.duration_s)
    if not fractions:
        fractions = [plan.saving_pct / 100]
    note = ""
    if min(fractions) < -_SAVING_TIE:
        dirtier, n = sum(f < -_SAVING_TIE for f in fractions), len(fractions)
        shift, fractions = _robust_shift(s.zone, start, s.duration_s)
        typical = (f"the typical week's cleanest start ({plan.best.start:%H:%M} UTC) was "
                   f"dirtier on {dirtier} of the {n} {days}")
        if min(fractions) <= _SAVING_TIE:
            return _no("hour", title, f"no start within a day was cleaner on every one of "
                                      f"the {n} {days}: {typical}",
                       "Electricity Maps hourly 2023 (ODbL), wattprint when")
        note = f"; {typical}, this start was cleaner on all of them"
    low, high = max(0.0, min(fractions)), max(0.0, max(fractions))
    g_per_kwh = s.intensity_g_per_kwh
    e = s.energy_facility_kwh[1]
    co2e = _pair(e * g_per_kwh * low / 1000, e * g_per_kwh * high / 1000)
    best = start + shift
    typical_pct = plan.saving_pct
    if note:  # the start advised is not the typical week's best: its own typical saving
        now_mean = plan.now_window.mean_g_per_kwh
        typical_pct = (1 - window_mean(plan.outlook, best, s.duration_s) / now_mean) * 100
    return Lever("hour", title, True,
                 f"start {format_shift(shift)} later ({best:%H:%M} UTC; it ends "
                 "as much later): "
                 f"{typical_pct:.0f} % cleaner in the typical week; range over "
                 f"{len(fractions)} {days}{note}",
                 "Electricity Maps hourly 2023 (ODbL), wattprint when", "data",
                 kwh=(0.0, 0.0), co2e_kg=co2e, cost=None, time_pct=None)


#: Below this a day's saving fraction is float noise, not a dirtier or cleaner start.
_SAVING_TIE = 1e-9


def _robust_shift(zone: str, start: datetime,
                  duration_s: float) -> tuple[timedelta, list[float]]:
    """Of the whole-hour starts within a day after ``start``, the one whose worst day
    (:func:`wattprint.reduce.when.day_savings`) saved most (ties: the earlier start)."""
    from .when import day_savings

    first = start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    best: tuple[timedelta, list[float]] | None = None
    for h in range(24):
        shift = first + timedelta(hours=h) - start
        fractions = day_savings(zone, start, shift, duration_s)
        if fractions and (best is None or min(fractions) > min(best[1]) + _SAVING_TIE):
            best = (shift, fractions)
    return best if best is not None else (first - start, [0.0])


def format_shift(delta: timedelta) -> str:
    from .._format import format_duration

    return format_duration(delta.total_seconds())


def lever_region(s: Situation) -> Lever:
    """Run in a cleaner region: the cleanest five of the same cloud (or of every shipped
    cloud region for a job outside one), intensity × PUE."""
    title = "run in a cleaner region"
    if not s.zone:
        return _no("region", title, "needs the zone")
    from ..accounting import resolve_zone
    from .where import match_regions, plan_where

    zone = resolve_zone(s.zone)
    provider = (zone.cloud_region or "").split(":")[0]
    regions = match_regions(f"{provider}:*" if provider else "aws:*,gcp:*,azure:*")
    it_kwh = s.energy_facility_kwh[1] / s.pue
    plan = plan_where(regions, s.duration_s or 3600.0, it_kwh * 3.6e6,
                      now=s.start or planning_now())
    here_kg = s.energy_facility_kwh[1] * s.intensity_g_per_kwh / 1000
    top = plan.options[:5]
    savings = [(here_kg - o.co2e_g / 1000, o) for o in top]
    if not top or savings[0][0] <= 1e-9 * here_kg:
        return _no("region", title, f"{s.zone} is already among the cleanest "
                                    f"{'of ' + provider if provider else 'known'} regions")
    best_kg, best = savings[0]
    fifth_kg = max(0.0, savings[-1][0])
    diff_kwh = s.energy_facility_kwh[1] - best.facility_energy_kwh
    from .._format import format_energy, format_number

    more = "" if diff_kwh >= 0 else \
        f"; its PUE adds {format_energy(-diff_kwh * 3.6e6)}, counted in the CO2e, not saved"
    return Lever("region", title, True,
                 f"{best.region} ({best.zone}, {best.intensity_g_per_kwh:.0f} g/kWh, PUE "
                 f"{format_number(best.pue)}) vs {s.intensity_g_per_kwh:.0f} g/kWh here; "
                 "the range runs "
                 f"to the 5th cleanest ({top[-1].region})"
                 + ("" if provider else "; only if the job can move to a cloud") + more,
                 "shipped grid tables (Electricity Maps, OWID, eGRID), provider PUEs",
                 "data", kwh=(max(0.0, diff_kwh),) * 2, co2e_kg=_pair(fifth_kg, best_kg),
                 time_pct=None)


def lever_power_cap(s: Situation) -> Lever:
    title = "cap the GPU power"
    if not s.accelerator:
        return _no("power_cap", title, "no GPU in this job")
    ev = evidence.POWER_CAP
    share = s.accelerator_share if s.accelerator_share is not None else 1.0
    return _energy_lever(s, "power_cap", title, (ev.low, ev.high), share=share,
                         why=f"{ev.low:.0%}–{ev.high:.0%} of the GPUs' energy "
                             f"({share:.0%} of the job's) for ~{ev.time_pct:+.0f} % time; "
                             "profile your own: wattprint tune-power / "
                             "wattprint.optimize",
                         source=ev.source, strength=ev.strength,
                         time_pct=(0.0, ev.time_pct))


_LOWER = {"fp32": "bf16", "tf32": "bf16", "bf16": "fp8", "fp16": "fp8"}


def lever_precision(s: Situation) -> Lever:
    title = "train in lower precision"
    if s.kind != "training" or s.estimate is None:
        return _no("precision", title, "precision is not recorded for a measured run; "
                                       "describe it with --plan" if s.kind == "measured"
                   else "for training (inference: see quantisation)")
    from ..estimate.catalogue import resolve_accelerator

    now = str(s.estimate.get("precision", "bf16")).lower()
    lower = _LOWER.get(now)
    acc = resolve_accelerator(s.estimate["accelerator"])
    if lower is None or acc.peak_flops(lower)[1] != lower:
        return _no("precision", title, f"{acc.name} has no faster precision than {now} "
                                       "in the catalogue")
    lo, mid, hi = _estimator_ratio(s, {"precision": lower})
    saving = 1 - mid
    return _energy_lever(s, "precision", title, (0.0, saving),
                         why=f"{now} → {lower}: the estimator at the same utilisation saves "
                             f"{saving:.0%}; realised gains are smaller (kernel coverage, "
                             "numerics), so the range starts at 0",
                         source="wattprint estimator (peak FLOP/s by precision, Epoch AI "
                                "hardware data)", strength="weak",
                         time_pct=(-saving * 100, 0.0))


_NEWER = (("B200", 2024), ("H100 SXM5 80GB", 2022))


def lever_hardware(s: Situation) -> Lever:
    title = "use a newer accelerator"
    if not s.accelerator:
        return _no("hardware", title, "no accelerator named")
    from ..estimate import estimate_training
    from ..estimate.catalogue import resolve_accelerator

    try:
        acc = resolve_accelerator(s.accelerator)
    except Exception:  # noqa: BLE001 - a device name the catalogue does not know
        return _no("hardware", title, f"{s.accelerator} is not in the catalogue")
    target = next((name for name, year in _NEWER if (acc.year or 0) < year), None)
    if target is None:
        return _no("hardware", title, f"{acc.name} is among the newest in the catalogue")
    if s.kind == "inference" and s.estimate is not None:
        lo, mid, hi = _estimator_ratio(s, {"accelerator": target})
        if mid >= 1:
            return _no("hardware", title, f"the estimator finds no saving from {target}")
        return _energy_lever(s, "hardware", title, _pair(max(0.0, 1 - hi), 1 - lo),
                             why=f"{acc.name} → {target} serving the same requests "
                                 "(estimator); embodied carbon of new hardware not counted",
                             source="wattprint inference estimator (Epoch AI hardware "
                                    "data)", strength="estimator")
    base = dict(s.estimate or {}) if s.kind == "training" else {}
    base = {k: v for k, v in base.items() if k not in ("accelerator", "n_accelerators",
                                                        "duration", "accelerator_hours")}
    if "params" not in base and "compute_flop" not in base:
        base["compute_flop"] = 1e21  # any fixed compute: only the ratio is used
    old = estimate_training(accelerator=acc, **base).energy_facility_kwh
    new = estimate_training(accelerator=target, **base).energy_facility_kwh
    ratios = (new.low / old.low, new.central / old.central, new.high / old.high)
    frac = _pair(1 - max(ratios), 1 - min(ratios))
    if frac[1] <= 0:
        return _no("hardware", title, f"the estimator finds no saving from {target}")
    return _energy_lever(s, "hardware", title, (max(0.0, frac[0]), frac[1]),
                         why=f"{acc.name} → {target} for the same compute (estimator: "
                             "peak FLOP/s and power by accelerator; new hardware's embodied "
                             "carbon not counted)",
                         source="wattprint estimator (Epoch AI hardware data)",
                         strength="estimator")


def lever_batch(s: Situation) -> Lever:
    title = "use a larger batch"
    if s.kind == "inference" and s.estimate is not None:
        batch = s.estimate.get("batch_size")
        if batch is None or s.estimate.get("saturated"):
            return _no("batch", title, "the plan already batches as the server's default "
                                       "or fills the KV cache")
        lo, mid, hi = _estimator_ratio(s, {"batch_size": None, "saturated": True})
        if mid >= 1:
            return _no("batch", title, f"batch {batch} is already as large as memory allows")
        return _energy_lever(s, "batch", title, (1 - hi, 1 - lo) if hi < 1 else
                             (0.0, 1 - lo),
                             why=f"batch {batch} → as many sequences as the KV cache holds "
                                 "(estimator); longer queueing latency",
                             source="wattprint inference estimator (memory-bound decode)",
                             strength="estimator")
    return _no("batch", title, "for training the estimator does not model batch size; "
                               "energy-optimal batch sizes differ by model (Zeus, You et "
                               "al., NSDI 2023): evidence too weak to quantify")


def lever_smaller_model(s: Situation) -> Lever:
    """Compute-optimal size for the same loss (Chinchilla fits): params and tokens that
    reach the plan's loss with the least 6·N·D."""
    title = "train a smaller model on more data"
    est = s.estimate or {}
    if s.kind != "training" or not est.get("params") or not est.get("tokens"):
        return _no("smaller_model", title, "needs a training plan with --params and --tokens")
    from ..units import parse_count

    n, d = parse_count(est["params"]), parse_count(est["tokens"])
    fractions = [_compute_optimal_saving(n, d, fit) for fit in evidence.SCALING_FITS]
    if max(fractions) < 0.02:
        return _no("smaller_model", title, f"{d / n:.0f} tokens per parameter is already "
                                           "close to compute-optimal")
    return _energy_lever(s, "smaller_model", title, _pair(min(fractions), max(fractions)),
                         why=f"{d / n:.0f} tokens per parameter; the same loss with the "
                             "least compute (two published scaling-law fits)",
                         source="; ".join(f["source"] for f in evidence.SCALING_FITS),
                         strength="model")


def _compute_optimal_saving(n: float, d: float, fit: dict[str, Any]) -> float:
    """1 − C*/C: the least compute 6·N'·D' with L(N', D') = L(N, D), on a log grid."""
    e, a, b, al, be = fit["E"], fit["A"], fit["B"], fit["alpha"], fit["beta"]
    target = e + a / n ** al + b / d ** be
    best = n * d
    for i in range(-300, 301):
        n2 = n * 10 ** (i / 100)
        rest = target - e - a / n2 ** al
        if rest <= 0:
            continue
        d2 = (b / rest) ** (1 / be)
        best = min(best, n2 * d2)
    return max(0.0, 1 - best / (n * d))


def lever_distill(s: Situation) -> Lever:
    title = "serve a distilled model"
    if s.kind != "inference":
        return _no("distill", title, "for serving (a distilled model costs a training run "
                                     "of its own)")
    ev = evidence.DISTILLATION
    return _energy_lever(s, "distill", title, (ev.low, ev.high), why=ev.note,
                         source=ev.source, strength=ev.strength,
                         time_pct=(ev.time_pct, ev.time_pct))


def lever_quantise(s: Situation) -> Lever:
    title = "quantise for inference"
    if s.kind != "inference" or s.estimate is None:
        return _no("quantise", title, "for inference plans")
    now = str(s.estimate.get("precision", "bf16")).lower()
    if now in ("int8", "fp8", "int4", "fp4", "mxfp4"):
        return _no("quantise", title, f"already {now}")
    lo, mid, hi = _estimator_ratio(s, {"precision": "int8"})
    if mid >= 1:
        return _no("quantise", title, "the estimator finds no saving at int8 here")
    return _energy_lever(s, "quantise", title, (0.0, 1 - mid),
                         why=f"{now} → int8 weights halve the bytes read per token "
                             "(estimator); some int8 kernels run slower than 16-bit "
                             "(Dettmers et al., LLM.int8(), NeurIPS 2022), so the range "
                             "starts at 0", source="wattprint inference estimator",
                         strength="weak")


def lever_prune(s: Situation) -> Lever:
    """2:4 structured sparsity for serving: the cited throughput gain as energy at similar
    power, on GPUs whose tensor cores run 2:4 sparse products (NVIDIA Ampere, 2020, on)."""
    title = "prune to 2:4 sparsity for inference"
    if s.kind != "inference" or s.estimate is None:
        return _no("prune", title, "for inference plans: describe the model with --plan "
                                   "'infer …'" if s.kind == "measured" else
                   "for serving (pruning while training is not quantified)")
    if not s.accelerator:
        return _no("prune", title, "needs the accelerator the plan serves on")
    from ..estimate.catalogue import resolve_accelerator

    acc = resolve_accelerator(s.accelerator)
    ev = evidence.PRUNING_2_4
    if acc.manufacturer.lower() != "nvidia" or (acc.year or 0) < 2020:
        return _no("prune", title, f"{acc.name} is not an NVIDIA GPU of Ampere (2020) or "
                                   "newer, whose Sparse Tensor Cores run 2:4 sparse products "
                                   "faster: no sourced saving; unstructured sparsity rarely "
                                   "speeds up a GPU", ev.source)
    gain = evidence.SPARSE_2_4_THROUGHPUT
    return _energy_lever(s, "prune", title, (ev.low, ev.high),
                         why=f"{gain:.2f}× throughput measured on average (Sparse Llama 3.1 "
                             f"8B, vLLM, Hopper) → {ev.high:.0%} less energy per request at "
                             "similar power (derived; the "
                             f"hardware peak, {evidence.SPARSE_2_4_PEAK:.0f}×, is for matrix "
                             f"products only); the range starts at 0. {ev.note}",
                         source=ev.source, strength=ev.strength,
                         time_pct=(ev.time_pct, 0.0))


def lever_finetune(s: Situation) -> Lever:
    title = "fine-tune a pretrained model instead"
    est = s.estimate or {}
    if s.kind != "training" or not est.get("tokens"):
        return _no("finetune", title, "needs a training plan with --tokens")
    low, high = evidence.FINETUNE_TOKEN_SHARE
    return _energy_lever(s, "finetune", title, (1 - high, 1 - low),
                         why=f"a fine-tune on {low:.1%}–{high:.0%} of the tokens (an "
                             "assumption: give the real count) costs that share of the "
                             "compute (6·N·D); only if a suitable pretrained model exists",
                         source="wattprint estimator (6·N·D); token share assumed",
                         strength="assumption")


LEVERS: tuple[Callable[[Situation], Lever], ...] = (
    lever_hour, lever_region, lever_power_cap, lever_precision, lever_hardware,
    lever_batch, lever_smaller_model, lever_distill, lever_quantise, lever_prune,
    lever_finetune)


def advise(s: Situation) -> Advice:
    """Every lever for ``s``: those that apply ranked by CO2e saved, then the others."""
    levers = [lever(s) for lever in LEVERS]
    for lv in levers:
        for pair in (lv.kwh, lv.co2e_kg, lv.cost):
            if pair is not None and not all(math.isfinite(x) and x >= 0 for x in pair):
                raise AssertionError(f"lever {lv.key} gave {pair}")  # a bug, not input
    ranked = sorted((lv for lv in levers if lv.applies), key=lambda lv: lv.rank_key,
                    reverse=True)
    return Advice(s, ranked + [lv for lv in levers if not lv.applies])


# -- situations ----------------------------------------------------------------------------
def situation_from_run(record: Any, *, zone: str | None = None, pue: float | None = None,
                       price_per_kwh: float | None = None, currency: str = "EUR") -> Situation:
    """A measured run from the ledger (its energy, time, zone, GPUs)."""
    from ..accounting import account
    from ..errors import UsageError

    if record.energy_j is None:
        raise UsageError(f"run {record.id} has no energy recorded ({record.status}); pick a "
                         "finished run")
    zone = zone or record.zone
    pue = pue if pue is not None else record.settings.get("pue")
    start = datetime.fromisoformat(record.started_at) if record.started_at else None
    acc = account(record.energy_j, zone=zone, pue=pue, when=start,
                  duration_s=record.duration_s, price_per_kwh=price_per_kwh,
                  currency=currency)
    gpus = [d for d in record.devices if d.domain == "gpu" and d.counted]
    gpu_j = sum(d.energy_j for d in gpus)
    e = acc.facility_energy_kwh.value
    return Situation(
        "measured", (e, e, e), acc.pue.value,
        acc.co2e_location_g.value / e if e > 0 else acc.intensity_location.value,
        acc.zone.key if zone else None, record.duration_s, start,
        accelerator=gpus[0].device if gpus else None,
        accelerator_share=gpu_j / record.energy_j if gpus and record.energy_j else None,
        price_per_kwh=price_per_kwh, currency=currency, label=f"run {record.id}",
        basis=record.basis or "measured")


def situation_from_plan(kind: str, kwargs: dict[str, Any], *, label: str = "plan",
                        price_per_kwh: float | None = None, currency: str = "EUR",
                        start: datetime | None = None) -> Situation:
    """A planned training run (``estimate_training`` keywords) or inference workload
    (``estimate_inference`` keywords; energies per 1,000 requests)."""
    if kind == "training":
        from ..estimate import estimate_training

        est = estimate_training(**kwargs)
        e = est.energy_facility_kwh
        share = est.energy_accelerators_kwh.central * est.pue.central / e.central
        duration = est.duration_days.central * 86400 if est.duration_days else None
        return Situation("training", (e.low, e.central, e.high), est.pue.central,
                         est.intensity_location_g_per_kwh, _zone_key(kwargs), duration, start, est.accelerator, min(1.0, share),
                         price_per_kwh, currency, dict(kwargs), label)
    from ..estimate import estimate_inference

    est = estimate_inference(**kwargs)
    e = est.energy_1k_requests_facility_kwh
    inten = est.co2e_request_location_g.central / (est.energy_request_facility_wh.central
                                                   / 1000)
    return Situation("inference", (e.low, e.central, e.high), est.pue.central, inten,
                     _zone_key(kwargs), None, start,
                     est.accelerator, None, price_per_kwh, currency, dict(kwargs),
                     label + " (per 1,000 requests)")


def _zone_key(kwargs: dict[str, Any]) -> str | None:
    from ..accounting import resolve_zone

    return resolve_zone(kwargs["zone"]).key if kwargs.get("zone") else None
