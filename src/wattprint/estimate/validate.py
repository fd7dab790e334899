"""Validation: reproduce the published training and inference figures shipped in
``data/published/`` with the estimator, from the inputs a reader of each source has —
never the published energy or power themselves.

    from wattprint.estimate import run_validation
    report = run_validation()
    print(report.text())

Training rows are compared at the boundary the source used (facility × its PUE,
accelerators × PUE for GPU-hours × TDP figures, …). The rows with *measured* power
(Patterson et al. 2021, Tables 1 and 4) are reported apart: the rows computed as
GPU-hours × TDP test nothing but the TDP.

Every row belongs to the development or the held-out split (``data/published/split.csv``,
fixed by a hash of the row id before any tuning). The priors marked *fitted* in
``_priors.py`` were fitted on development rows only (``tools/calibrate.py``); held-out
rows never informed them. The report gives, per mode and split, the median |error|, the
median |log2 ratio|, the share within 2× and the range coverage, and evaluates the targets
of issue 14 on both splits (and those of issue 5 over all rows).
"""

from __future__ import annotations

import math
import re
import statistics
from dataclasses import dataclass
from typing import Any

from .._format import format_energy, format_number
from ..errors import WattprintError
from ._published import (SPLITS, inference_rows, model_size_from_name, num, parse_hardware,
                         split_of, training_rows)
from ._result import Range
from .catalogue import find_accelerator
from .claims import published_basis, published_boundary, run_inputs
from .inference import estimate_inference
from .training import estimate_training

__all__ = ["ValidationRow", "GroupSummary", "Target", "ValidationReport", "run_validation",
           "GROUPS", "MODES"]

#: group key → title.
GROUPS = {
    "train-measured": "Training, measured power (Patterson et al. 2021, Tables 1 and 4) — "
                      "from hardware and accelerator-hours only",
    "train-hours": "Training, other published figures — from hardware and accelerator-hours",
    "train-compute": "Training — from parameters, tokens and hardware (6·N·D, MFU prior)",
    "train-compute-measured": "  of which runs with measured power (LLMCarbon's validation set, "
                              "i.e. Patterson et al.'s runs and XLM)",
    "train-time": "Training accelerator-hours — from parameters, tokens and hardware",
    "infer": "Inference — energy per request (or per output token), request shape known "
             "(output length and batch in the row; for Power Hungry Processing and Words to "
             "Watts the study set-up given in the row notes)",
    "infer-defaults": "Inference — rows that do not publish the output length or batch size "
                      "(cited defaults stand in: a reasoning request's output length; a full "
                      "server's batch from its KV-cache capacity — a test of those defaults as "
                      "much as of the model)",
}


#: How a row's published figure was obtained, as the row lines say it.
_BASIS_TEXT = {"measured": "measured", "stated power": "hours × a stated power"}

#: Estimation modes (issue 14) → (title, the groups they pool).
MODES = {
    "train-hours": ("training energy from hardware and accelerator-hours",
                    ("train-measured", "train-hours")),
    "train-compute": ("training energy from parameters × tokens", ("train-compute",)),
    "train-time": ("training accelerator-hours from parameters × tokens", ("train-time",)),
    "infer": ("inference energy per request / per output token", ("infer", "infer-defaults")),
}


@dataclass
class ValidationRow:
    id: str
    group: str
    model: str
    inputs: str
    boundary: str
    estimate: Range
    published: float
    unit: str
    note: str = ""
    split: str = "dev"
    basis: str = ""  # training: what the published figure is (claims.published_basis)

    @property
    def log2_ratio(self) -> float:
        return abs(math.log2(self.ratio)) if self.ratio > 0 else math.inf

    @property
    def error(self) -> float:
        """Signed relative error of the central estimate: (estimate − published)/published."""
        return self.estimate.central / self.published - 1

    @property
    def ratio(self) -> float:
        return self.estimate.central / self.published

    @property
    def in_range(self) -> bool:
        return self.estimate.low <= self.published <= self.estimate.high

    @property
    def within_2x(self) -> bool:
        return 0.5 <= self.ratio <= 2.0

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "group": self.group, "model": self.model, "inputs": self.inputs,
                "boundary": self.boundary, "estimate": self.estimate.to_dict(),
                "published": self.published, "unit": self.unit, "error": self.error,
                "ratio": self.ratio, "in_range": self.in_range, "within_2x": self.within_2x,
                "note": self.note, "split": self.split, "basis": self.basis}


@dataclass
class GroupSummary:
    group: str
    n: int
    median_ape: float | None
    mean_ape: float | None
    coverage: float | None  # share of published values inside the estimate's range
    within_2x: float | None
    median_log2: float | None = None  # median |log2(estimate / published)|
    median_signed: float | None = None  # median (estimate − published) / published
    split: str = "all"

    def to_dict(self) -> dict[str, Any]:
        title = GROUPS.get(self.group) or MODES[self.group][0]
        return {"group": self.group, "title": title, "split": self.split, "n": self.n,
                "median_abs_pct_error": self.median_ape, "mean_abs_pct_error": self.mean_ape,
                "median_abs_log2_ratio": self.median_log2,
                "median_signed_error": self.median_signed,
                "range_coverage": self.coverage, "within_factor_2": self.within_2x}


@dataclass
class Target:
    name: str
    description: str
    threshold: str
    achieved: float | None
    met: bool

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "description": self.description,
                "threshold": self.threshold, "achieved": self.achieved, "met": self.met}


@dataclass
class ValidationReport:
    rows: list[ValidationRow]
    skipped: list[tuple[str, str, str]]  # (group, id, reason)
    summaries: dict[str, GroupSummary]
    targets: list[Target]
    provenance: str = "estimated vs published"
    modes: dict[tuple[str, str], GroupSummary] | None = None
    #: training modes × what the published figure is, dev and held-out together
    by_basis: dict[tuple[str, str], GroupSummary] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"rows": [r.to_dict() for r in self.rows],
                "skipped": [{"group": g, "id": i, "reason": r} for g, i, r in self.skipped],
                "summaries": {k: v.to_dict() for k, v in self.summaries.items()},
                "modes": [v.to_dict() for v in (self.modes or {}).values()],
                "by_basis": [{**v.to_dict(), "basis": basis}
                             for (_, basis), v in (self.by_basis or {}).items()],
                "targets": [t.to_dict() for t in self.targets]}

    def mode_table(self) -> str:
        """Per mode and split: rows, median |error|, median |log2 ratio|, within 2×, range
        coverage — the table docs/estimate.md quotes."""
        head = (f"{'mode':<14} {'split':<9} {'n':>3}  {'median |err|':>12}  "
                f"{'med |log2|':>10}  {'signed':>7}  {'within 2x':>9}  {'coverage':>8}")
        lines = [head, "-" * len(head)]
        for (mode, split), s in (self.modes or {}).items():
            lines.append(f"{mode:<14} {split:<9} {s.n:>3}  {_pct(s.median_ape):>12}  "
                         f"{_num(s.median_log2):>10}  {_pct(s.median_signed):>7}  "
                         f"{_pct(s.within_2x):>9}  {_pct(s.coverage):>8}")
        return "\n".join(lines)

    def basis_table(self) -> str:
        """Training modes by what the published figure is — a measurement, or hours × a
        stated power (a TDP disclosure, a planning estimate) — both splits together."""
        head = (f"{'mode':<14} {'published':<13} {'n':>3}  {'median |err|':>12}  "
                f"{'signed':>7}  {'coverage':>8}")
        lines = [head, "-" * len(head)]
        for (mode, basis), s in (self.by_basis or {}).items():
            lines.append(f"{mode:<14} {basis:<13} {s.n:>3}  {_pct(s.median_ape):>12}  "
                         f"{_pct(s.median_signed):>7}  {_pct(s.coverage):>8}")
        return "\n".join(lines)

    def text(self, *, rows: bool = True) -> str:
        lines = ["wattprint validate — ESTIMATES against published figures "
                 "(data/published/*_dev.csv and *_external.csv; split in "
                 "data/published/split.csv)", ""]
        for group, title in GROUPS.items():
            if group == "train-compute-measured":
                s = self.summaries[group]
                lines.insert(-1, f"  → {title.strip()}: {s.n} rows, median |error| "
                             f"{_pct(s.median_ape)}, mean {_pct(s.mean_ape)}, inside the range "
                             f"{_pct(s.coverage)}")
                continue
            members = [r for r in self.rows if r.group == group]
            if not members:
                continue
            lines.append(title)
            if rows:
                for r in members:
                    flag = "in range" if r.in_range else "OUT of range"
                    lines.append(f"  {r.id}" + ("   [held out]" if r.split != "dev"
                                                            else ""))
                    lines.append(f"      inputs:    {r.inputs}")
                    lines.append(f"      estimate:  {_fmt(r.estimate.central, r.unit)} "
                                 f"({_fmt(r.estimate.low, r.unit)} – "
                                 f"{_fmt(r.estimate.high, r.unit)}) at {r.boundary}")
                    kind = f" ({_BASIS_TEXT[r.basis]})" if r.basis in _BASIS_TEXT else ""
                    lines.append(f"      published: {_fmt(r.published, r.unit)}{kind}   error "
                                 f"{r.error:+.1%} ({r.ratio:.2f}×), {flag}"
                                 + (f"   [{r.note}]" if r.note else ""))
            s = self.summaries[group]
            lines.append(f"  → {s.n} rows: median |error| {_pct(s.median_ape)}, mean |error| "
                         f"{_pct(s.mean_ape)}, published value inside the range for "
                         f"{_pct(s.coverage)}, within a factor of 2 for {_pct(s.within_2x)}")
            skipped = [(i, why) for g, i, why in self.skipped if g == group]
            if skipped:
                lines.append(f"  skipped {len(skipped)}: " + "; ".join(
                    f"{i} ({why})" for i, why in skipped))
            lines.append("")
        lines.append("Per mode: dev rows may inform the priors, held-out rows never do.")
        lines.append(self.mode_table())
        lines.append("")
        lines.append("Training by what the published figure is (dev and held-out together): "
                     "measured power or energy, or hours × a stated power (a TDP disclosure "
                     "or a planning estimate: a method, not a measurement):")
        lines.append(self.basis_table())
        lines.append("")
        lines += self._targets_text()
        return "\n".join(lines)

    def _targets_text(self) -> list[str]:
        lines = []
        for title, issue14 in (("Targets (issue 14), on each split:", True),
                               ("Targets (issue 5), all rows:", False)):
            lines.append(title)
            for t in self.targets:
                if t.name.endswith(("-dev", "-held-out")) == issue14:
                    lines.append(f"  [{'MET ' if t.met else 'MISS'}] {t.description}: "
                                 f"{t.threshold}; achieved {_fmt_target(t)}")
        return lines


def _num(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.2f}"


def _fmt_target(t: "Target") -> str:
    return _num(t.achieved) if "log2" in t.name else _pct(t.achieved)


def _pct(x: float | None) -> str:
    return "n/a" if x is None else f"{x:.1%}"


def _fmt(value: float, unit: str) -> str:
    if unit == "MWh":
        return format_energy(value * 3.6e9, digits=4)
    return f"{format_number(value, digits=4)} {unit}"


# --- training ----------------------------------------------------------------------------------

def _describe(kw: dict[str, Any], acc_name: str) -> str:
    parts = [acc_name + (f" (power cap {kw['tdp_w']:g} W)" if kw.get("tdp_w") else "")]
    if kw.get("n_accelerators"):
        parts.append(f"{kw['n_accelerators']:,} accelerators")
    if kw.get("accelerator_hours"):
        parts.append(f"{kw['accelerator_hours']:,.0f} accelerator-h")
    if kw.get("params"):
        act = (f" ({kw['active_params'] / 1e9:.3g}B active)" if kw.get("active_params")
               else "")
        parts.append(f"{kw['params'] / 1e9:.4g}B params{act}"
                     + (f", {kw['tokens'] / 1e9:,.0f}B tokens" if kw.get("tokens") else ""))
    if kw.get("pue"):
        parts.append(f"PUE {kw['pue']:g}")
    return ", ".join(parts)


def _training(rows_out: list[ValidationRow], skipped: list[tuple[str, str, str]]) -> None:
    for row in training_rows():
        rid = row["id"]
        kw = run_inputs(row)
        hint = kw.pop("tdp_hint", None)
        kw.pop("intensity_g_per_kwh", None)  # energy only
        energy = num(row["energy_MWh"])
        try:
            acc = find_accelerator(kw["accelerator"], tdp_w=hint) if kw["accelerator"] else None
        except WattprintError as err:
            acc = None
            why = str(err).split(";")[0]
        else:
            why = "no hardware given"
        measured = rid.startswith("patterson21")
        hours_group = "train-measured" if measured else "train-hours"
        if acc is None:
            skipped.append((hours_group if energy else "train-time", rid, why))
            continue
        kw["accelerator"] = acc
        boundary, mult, bdesc = published_boundary(row)
        basis = published_basis(row)
        if boundary == "facility" and "pue" not in kw:
            kw["pue"] = 1.0
        # (a) accelerator-hours path
        if energy and kw.get("accelerator_hours") and not rid.startswith(
                ("llmcarbon-t5", "llmcarbon-gpt3", "llmcarbon-gshard", "llmcarbon-switch")):
            # the model's size stays (it sets the draw prior); without tokens it adds no
            # compute path
            hk = {k: v for k, v in kw.items() if k != "tokens"}
            est = estimate_training(**hk)
            rng = est.energy_kwh(boundary).scale(mult / 1000, "MWh")
            note = "approximate duration (~150 days)" if "~" in row["train_days"] else ""
            rows_out.append(ValidationRow(rid, hours_group, row["model"],
                                          _describe(hk, acc.name), bdesc, rng, energy, "MWh",
                                          note, split_of(rid), basis))
        elif energy and not kw.get("accelerator_hours"):
            skipped.append((hours_group, rid, "no accelerator-hours or count × days"))
        elif rid.startswith("llmcarbon-") and not rid.endswith("xlm"):
            pass  # same run as a Patterson row, which the hours path already covers
        # (b) compute path
        if kw.get("params") and kw.get("tokens"):
            ck = {k: v for k, v in kw.items() if k != "accelerator_hours"}
            est = estimate_training(**ck)
            if energy:
                rng = est.energy_kwh(boundary).scale(mult / 1000, "MWh")
                rows_out.append(ValidationRow(rid, "train-compute", row["model"],
                                              _describe(ck, acc.name), bdesc, rng, energy,
                                              "MWh", split=split_of(rid), basis=basis))
            hours = kw.get("accelerator_hours")
            if hours:
                rows_out.append(ValidationRow(rid, "train-time", row["model"],
                                              _describe(ck, acc.name), "accelerator-hours",
                                              est.accelerator_hours, hours,
                                              "accelerator-h", split=split_of(rid)))
        elif energy and kw.get("accelerator_hours"):
            skipped.append(("train-compute", rid, "no parameters/tokens"))


# --- inference ---------------------------------------------------------------------------------

#: Documented set-ups of studies whose rows do not repeat them (applied to all their rows).
STUDY_SETUPS: dict[str, dict[str, Any]] = {
    "Power Hungry Processing": dict(
        engine="eager", batch_size=1, output_tokens=10,
        note="Luccioni et al. 2024: Hugging Face pipelines, one query at a time, 10 new "
             "tokens (assumed for every row of the study)"),
    "Words to Watts": dict(engine="eager", note="Samsi et al. 2023: FairScale sharding"),
    # A throughput benchmark: a full vLLM server measured at steady state. Where a row gives
    # no batch, the batch is what the KV cache holds, up to vLLM's default cap.
    "ML.ENERGY": dict(saturated=True,
                      full_note="Chung et al. 2025: the ML.ENERGY benchmark measures a full "
                                "vLLM server at steady state"),
}
#: Rows about a reasoning ("thinking") model or task: the output length, when the row does
#: not give it, is the reasoning default (docs/estimate.md), not a chat reply's.
_REASONING = re.compile(r"reasoning|thinking|\bR1\b", re.IGNORECASE)
#: Architecture facts of model families, from their papers: encoder-decoders (T5: Raffel et
#: al. 2020; BART: Lewis et al. 2020; Pegasus: Zhang et al. 2020), and families with full
#: multi-head attention, whose KV cache is d_model wide (LLaMA-1: Touvron et al. 2023a;
#: Llama 2 7B/13B: Touvron et al. 2023b, grouped-query only at 34B/70B; OPT: Zhang et al.
#: 2022; BLOOM: BigScience 2022; GPT-2/GPT-3: Radford et al. 2019, Brown et al. 2020; T5).
_ENCODER_DECODER = re.compile(r"\b(?:m|by)?t5\b|\bbart\b|\bpegasus\b", re.IGNORECASE)
_FULL_MHA = re.compile(r"\bllama[\s-]*(?:7|13|33|65)\s*b\b|\bllama[\s-]*2[\s-]+(?:7|13)\s*b\b"
                       r"|\bopt[\s-]+\d|\bbloom|\bgpt-?[23]\b|\b(?:m|by)?t5\b",
                       re.IGNORECASE)
#: Names that mark a mixture-of-experts ("128E", "8x7B", "MoE").
_MOE_NAME = re.compile(r"\b\d+E\b|\b\d+x\d+(?:\.\d+)?B\b|\bMoE\b", re.IGNORECASE)
_NON_TEXT = re.compile(r"image|object detection|diffusion|\bsd\b|tiny-sd|captioning", re.I)


def _inference_case(row: dict[str, str]) -> tuple[dict[str, Any], float, str, str, str] | str:
    """(estimator kwargs, published value, unit, boundary, note) or a skip reason."""
    text = " ".join(row[k] for k in ("model", "task_or_workload", "metric"))
    per_query = num(row["energy_Wh_per_query"])
    per_token = "output token" in row["unit"].lower() and num(row["value"])
    if not per_query and not per_token:
        return f"not an energy per query (metric: {row['metric'] or row['unit']})"
    if _NON_TEXT.search(text):
        return "not a language-model token workload"
    total, active = model_size_from_name(row["model"])
    params_b = num(row["params_B"]) or total
    if not params_b:
        return "no model size (a mean over many models)"
    if (active is None and total and params_b and total < 0.8 * params_b
            and _MOE_NAME.search(row["model"])):
        active = total  # "Maverick 17B 128E" of 400B: the name gives the active size
    m = re.search(r"active params ([\d.]+)\s*B", row["source_locator"] + " " + row["notes"])
    if active is None and m and params_b and float(m.group(1)) < 0.8 * params_b:
        active = float(m.group(1))  # the row's source states the active parameters
    name, count, cap = parse_hardware(row["hardware"])
    setup = row["setup"]
    study: dict[str, Any] = next((v for k, v in STUDY_SETUPS.items() if k in row["group"]),
                                 {})
    kw: dict[str, Any] = {"params": params_b * 1e9, "accelerator": name}
    if active:
        kw["active_params"] = active * 1e9
    n = num(row["n_accelerators"]) or count
    m = re.search(r"\bTP=(\d+)", setup)
    if not n and m:
        n = int(m.group(1))  # one tensor-parallel instance of the stated degree
    if n:
        kw["n_accelerators"] = int(n)
    if cap:
        kw["tdp_w"] = cap
    kw["engine"] = study.get("engine", "server")
    ran = (re.search(r"avg batch ([\d.]+)", setup)
           or re.search(r"\bbatch (?:size )?(\d+)", setup))
    seqs = (re.search(r"max batch size (\d+)", setup)
            or re.search(r"max_num_seqs=(\d+)", setup))
    if ran and ("avg batch" in setup or not seqs):
        kw["batch_size"] = max(1, round(float(ran.group(1))))  # the batch that ran
    elif seqs:
        kw["max_batch_size"] = int(seqs.group(1))  # the server's cap; a full server
    elif "batch_size" in study:
        kw["batch_size"] = study["batch_size"]
    elif study.get("saturated"):
        kw["saturated"] = True
    m = (re.search(r"avg output (\d+)", setup) or re.search(r"out (\d+)", row["task_or_workload"])
         or re.search(r"max gen length (\d+)", row["task_or_workload"]))
    if m:
        kw["output_tokens"] = int(m.group(1))
    elif "output_tokens" in study:
        kw["output_tokens"] = study["output_tokens"]
    if _REASONING.search(" ".join(row[k] for k in ("group", "model", "task_or_workload"))):
        kw["workload"] = "reasoning"
    if _ENCODER_DECODER.search(row["model"]):
        kw["architecture"] = "encoder-decoder"
    if _FULL_MHA.search(row["model"]):
        kw["attention"] = "mha"
    m = re.search(r"\bin (\d+)", row["task_or_workload"])
    if m:
        kw["input_tokens"] = int(m.group(1))
    low = (setup + " " + row["model"]).lower()
    kw["precision"] = ("fp8" if "fp8" in low else "mxfp4" if "mxfp4" in low else "bf16")
    boundary_text = row["boundary"].lower()
    m = re.search(r"1 of (\d+)", boundary_text)
    if m and "idle" in boundary_text:
        kw["idle_accelerators"] = int(m.group(1)) - 1
    boundary = "accelerators" if boundary_text.startswith("gpu energy") else "it"
    note = study.get("note", "")
    if "max_batch_size" in kw or kw.get("saturated"):
        note = study.get("full_note", note)
    if per_token and not per_query:
        lo_hi = [float(x) for x in re.findall(r"[\d.]+", row["value"])]
        return kw, sum(lo_hi) / len(lo_hi), "J/token", boundary, (
            note + "; published range " + row["value"] + " J/token, midpoint used").strip("; ")
    return kw, float(per_query or 0.0), "Wh", boundary, note


def _inference(rows_out: list[ValidationRow], skipped: list[tuple[str, str, str]]) -> None:
    for row in inference_rows():
        case = _inference_case(row)
        if isinstance(case, str):
            skipped.append(("infer", row["id"], case))
            continue
        kw, published, unit, boundary, note = case
        try:
            est = estimate_inference(**kw)
        except WattprintError as err:
            skipped.append(("infer", row["id"], str(err).split(";")[0]))
            continue
        rng = est.energy_request_wh(boundary)
        if unit == "J/token":
            rng = rng.scale(3600 / est.output_tokens, "J/token")
        batch_known = "batch_size" in kw or "max_batch_size" in kw
        defaults = [k for k in ("input_tokens", "output_tokens") if k not in kw]
        if not batch_known:
            defaults.append("batch_size")
        if "output_tokens" not in kw and kw.get("workload") == "reasoning":
            defaults[defaults.index("output_tokens")] = "output_tokens (reasoning default)"
        if kw.get("saturated") and not batch_known:
            defaults[defaults.index("batch_size")] = "batch_size (a full server: KV capacity)"
        group = ("infer" if "output_tokens" in kw and batch_known else "infer-defaults")
        inputs = (f"{kw['params'] / 1e9:.4g}B" + (f" ({kw['active_params'] / 1e9:.3g}B active)"
                                                   if kw.get("active_params") else "")
                  + f" {est.precision} on {est.n_accelerators} × {est.accelerator}"
                  + (f" (cap {kw['tdp_w']:g} W)" if kw.get("tdp_w") else "")
                  + f", batch {est.batch_size}"
                  + (f" (cap {kw['max_batch_size']})" if kw.get("max_batch_size") else "")
                  + f", {est.input_tokens} in / {est.output_tokens} out, {est.engine}"
                  + (f", {est.workload}" if est.workload != "chat" else "")
                  + (f", {kw['architecture']}" if kw.get("architecture") else "")
                  + (", full multi-head attention" if kw.get("attention") == "mha" else "")
                  + (f", +{est.idle_accelerators} idle" if est.idle_accelerators else "")
                  + (f"; defaults for {', '.join(defaults)}" if defaults else ""))
        rows_out.append(ValidationRow(row["id"], group, row["model"][:60], inputs,
                                      "accelerators" if boundary == "accelerators"
                                      else "IT (accelerators + host + idle)", rng, published,
                                      unit, note, split_of(row["id"])))


#: Compute-path rows whose published energy rests on measured power (LLMCarbon's inputs).
_MEASURED_COMPUTE = re.compile(r"^llmcarbon-")


# --- report ------------------------------------------------------------------------------------

def _summary(group: str, rows: list[ValidationRow], split: str = "all") -> GroupSummary:
    if not rows:
        return GroupSummary(group, 0, None, None, None, None, split=split)
    apes = [abs(r.error) for r in rows]
    return GroupSummary(group, len(rows), statistics.median(apes), statistics.fmean(apes),
                        sum(r.in_range for r in rows) / len(rows),
                        sum(r.within_2x for r in rows) / len(rows),
                        statistics.median(r.log2_ratio for r in rows),
                        statistics.median(r.error for r in rows), split)


#: Issue 14's targets: (name, mode, metric, threshold, "≤" or "≥", description).
TARGETS = (
    ("hours-median", "train-hours", "median_ape", 0.10, "≤",
     "training from accelerator-hours: median |error|"),
    ("compute-median", "train-compute", "median_ape", 0.20, "≤",
     "training from parameters × tokens: median |error|"),
    ("infer-log2", "infer", "median_log2", 0.35, "≤",
     "inference: median |log2(estimate / published)|"),
    ("infer-2x", "infer", "within_2x", 0.90, "≥", "inference: share within a factor of 2"),
    ("hours-coverage", "train-hours", "coverage", 0.80, "≥",
     "training from accelerator-hours: range coverage"),
    ("compute-coverage", "train-compute", "coverage", 0.80, "≥",
     "training from parameters × tokens: range coverage"),
    ("time-coverage", "train-time", "coverage", 0.80, "≥",
     "accelerator-hours from parameters × tokens: range coverage"),
    ("infer-coverage", "infer", "coverage", 0.80, "≥", "inference: range coverage"),
)


def run_validation() -> ValidationReport:
    """Estimate every usable published row; summarise per group, and per mode and split;
    evaluate issue 14's targets on the development and the held-out split."""
    rows: list[ValidationRow] = []
    skipped: list[tuple[str, str, str]] = []
    _training(rows, skipped)
    _inference(rows, skipped)
    summaries = {g: _summary(g, [r for r in rows if r.group == g]) for g in GROUPS}
    summaries["train-compute-measured"] = _summary(
        "train-compute-measured", [r for r in rows if r.group == "train-compute"
                                   and _MEASURED_COMPUTE.match(r.id)])
    modes: dict[tuple[str, str], GroupSummary] = {}
    for mode, (_title, groups) in MODES.items():
        for split in SPLITS:
            modes[(mode, split)] = _summary(mode, [r for r in rows if r.group in groups
                                                   and r.split == split], split)
    m, c, i = summaries["train-measured"], summaries["train-compute"], summaries["infer"]
    every = _summary("infer", [r for r in rows if r.group.startswith("infer")])
    targets = [  # issue 5's, over all rows
        Target("measured-median", "training, measured-power rows, hardware + "
               "accelerator-hours only: median absolute error", "≤ 15 %", m.median_ape,
               m.median_ape is not None and m.median_ape <= 0.15),
        Target("measured-coverage", "training, measured-power rows: share whose published "
               "value falls inside the estimated range", "≥ 80 %", m.coverage,
               m.coverage is not None and m.coverage >= 0.80),
        Target("compute-median", "training from parameters, tokens and hardware: median "
               "absolute error", "≤ 35 %", c.median_ape,
               c.median_ape is not None and c.median_ape <= 0.35),
        Target("inference-2x", "inference per-query energy within a factor of 2 of the "
               f"published value, rows with a published request shape ({i.n})",
               "≥ 80 % of rows", i.within_2x, i.within_2x is not None and i.within_2x >= 0.80),
        Target("inference-2x-all", "the same over every inference row evaluated, including "
               f"those whose output length or batch is not published ({every.n})",
               "≥ 80 % of rows", every.within_2x,
               every.within_2x is not None and every.within_2x >= 0.80),
    ]
    for name, mode, metric, threshold, sense, description in TARGETS:
        for split in SPLITS:
            value = getattr(modes[(mode, split)], metric)
            met = value is not None and (value <= threshold if sense == "≤"
                                         else value >= threshold)
            shown = f"{threshold:.0%}" if metric != "median_log2" else f"{threshold:g}"
            targets.append(Target(f"{name}-{split}", f"{description} ({split})",
                                  f"{sense} {shown}", value, met))
    by_basis = {}
    for mode in ("train-hours", "train-compute"):
        for basis in ("measured", "stated power"):
            members = [r for r in rows if r.group in MODES[mode][1] and r.basis == basis]
            if members:
                by_basis[(mode, basis)] = _summary(mode, members)
    return ValidationReport(rows, skipped, summaries, targets, modes=modes, by_basis=by_basis)
