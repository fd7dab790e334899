"""Star rating of a benchmark's energy, following the AI Energy Score method.

AI Energy Score (Hugging Face, Salesforce, Cohere and Carnegie Mellon University;
leaderboard first published February 2025; method: https://huggingface.github.io/AIEnergyScore/)
rates a model for one task by its GPU energy per 1,000 queries of that task's dataset,
measured on an NVIDIA H100 at batch size 1: the range between the lowest and the highest
GPU energy among the models evaluated for the task (text generation: within a size class,
A ≤ 20 B parameters, B ≤ 66 B, C above) is cut into five equal sections; a model in the
lowest section gets 5 stars, in the highest 1 star.

wattprint ships the February 2025 leaderboard (``aienergyscore_2025-02.csv``: 166 models,
10 tasks, with the leaderboard's own stars, which :func:`stars_for` reproduces) and rates
against it by default; ``--reference FILE`` rates against another distribution. A file says
where its figures come from in ``#`` comment lines (``# source: …``, ``# year: …``,
``# hardware: …``, ``# dataset: …``, ``# batch: …``) and holds ``task,model,
gpu_energy_wh_per_1k`` rows (optionally ``class``). A rating is comparable with the
leaderboard only when measured on the reference hardware, at the reference batch size and
precision, with the task's reference dataset and GPU energy alone; otherwise it is
labelled indicative and the differences are listed.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError

__all__ = ["Reference", "Rating", "load_reference", "shipped_reference", "size_class",
           "stars_for", "rate", "SHIPPED_REFERENCE"]

STARS = 5
SHIPPED_REFERENCE = "aienergyscore_2025-02.csv"
# AI Energy Score, "Text Generation Model Classes" (Table 2): the largest model of each class
# in parameters (FP16 weights plus 20 % overhead fit one 24 GB consumer GPU, one 80 GB H100).
CLASS_MAX_PARAMS = (("A", 20e9), ("B", 66e9))
# AI Energy Score, "Precision": FP16 for text generation, FP32 (Transformers' default) else.
REFERENCE_PRECISION = {"text-generation": "fp16"}


@dataclass(frozen=True)
class Reference:
    """Published GPU energies per 1,000 queries of one or more tasks, with their source."""

    path: str
    energies_wh: dict[str, dict[str, list[float]]]  # task -> size class ("" none) -> Wh
    meta: dict[str, str]
    # (task, class, model, Wh per 1,000 queries, stars) of rows that give the stars published
    published: tuple[tuple[str, str, str, float, int], ...] = ()

    def classes(self, task: str) -> list[str]:
        """The size classes the reference has for ``task`` (``[""]`` when unclassed)."""
        return sorted(self.energies_wh.get(task, {}))

    @property
    def shipped(self) -> bool:
        """The AI Energy Score leaderboard shipped with wattprint (its precisions known)."""
        return self.path == SHIPPED_REFERENCE

    @property
    def batch_size(self) -> int | None:
        value = self.meta.get("batch", "").strip()
        return int(value) if value.isdigit() else None

    @property
    def source(self) -> str:
        return self.meta.get("source", "unknown source")

    @property
    def hardware(self) -> str:
        return self.meta.get("hardware", "NVIDIA H100")


@dataclass(frozen=True)
class Rating:
    """A star rating (1..5) and everything needed to check it by hand."""

    task: str
    stars: int
    energy_wh_per_1k: float
    low_wh: float
    high_wh: float
    band_wh: float
    models: int
    source: str
    comparable: bool
    caveats: list[str] = field(default_factory=list)
    size_class: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "size_class": self.size_class, "stars": self.stars,
                "energy_wh_per_1k": self.energy_wh_per_1k, "reference_low_wh": self.low_wh,
                "reference_high_wh": self.high_wh, "band_wh": self.band_wh,
                "reference_models": self.models, "source": self.source,
                "comparable": self.comparable, "caveats": list(self.caveats),
                "method": "AI Energy Score: five equal sections of the reference range"}

    def label(self) -> str:
        stars = "★" * self.stars + "☆" * (STARS - self.stars)
        tag = "comparable" if self.comparable else "indicative only"
        cls = f", class {self.size_class}" if self.size_class else ""
        return f"{stars} ({self.stars}/5{cls}, {tag}; reference: {self.source})"


def load_reference(path: str | os.PathLike[str]) -> Reference:
    """Read a reference distribution file (see the module docstring)."""
    path = os.fspath(path)
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            text = fh.read()
    except OSError as err:
        raise UsageError(f"--reference {path}: {err.strerror or err}") from err
    return _parse_reference(text, path)


def shipped_reference() -> Reference:
    """The AI Energy Score leaderboard of February 2025, shipped with wattprint."""
    from .. import data

    return _parse_reference(data.open_text(SHIPPED_REFERENCE), SHIPPED_REFERENCE)


def _parse_reference(text: str, path: str) -> Reference:
    meta: dict[str, str] = {}
    lines = []
    for line in text.splitlines(keepends=True):
        if line.startswith("#"):
            key, _, value = line[1:].partition(":")
            if value:
                meta[key.strip().lower()] = value.strip()
        elif line.strip():
            lines.append(line)
    rows = csv.DictReader(lines)
    need = {"task", "gpu_energy_wh_per_1k"}
    if not need <= set(rows.fieldnames or ()):
        raise UsageError(f"--reference {path}: needs the columns task,model,"
                         "gpu_energy_wh_per_1k (see docs/bench.md)")
    energies: dict[str, dict[str, list[float]]] = {}
    published: list[tuple[str, str, str, float, int]] = []
    for n, row in enumerate(rows, start=2):
        try:
            value = float(row["gpu_energy_wh_per_1k"])
        except (TypeError, ValueError):
            value = math.nan
        if not (math.isfinite(value) and value >= 0):
            raise UsageError(f"--reference {path} row {n}: gpu_energy_wh_per_1k "
                             f"{row['gpu_energy_wh_per_1k']!r} must be a number of at least 0")
        task, cls = row["task"].strip(), (row.get("class") or "").strip().upper()
        energies.setdefault(task, {}).setdefault(cls, []).append(value)
        if (row.get("published_stars") or "").strip().isdigit():
            published.append((task, cls, (row.get("model") or "").strip(), value,
                              int(row["published_stars"])))
    if not energies:
        raise UsageError(f"--reference {path}: no rows")
    return Reference(path, energies, meta, tuple(published))


def size_class(params: float) -> str:
    """The AI Energy Score text-generation class of a model of ``params`` parameters."""
    for name, most in CLASS_MAX_PARAMS:
        if params <= most:
            return name
    return "C"


def stars_for(energy: float, low: float, high: float) -> int:
    """Stars of ``energy`` in the range [low, high] cut into five equal sections: 5 in the
    lowest section, 1 in the highest; below the range 5, above it 1. A section's upper
    edge belongs to the next section (fewer stars)."""
    if high <= low:
        return STARS if energy <= low else 1
    band = (high - low) / STARS
    section = math.floor((energy - low) / band)
    return max(1, min(STARS, STARS - section))


def rate(energy_wh_per_1k: float, task: str, reference: Reference, *,
         hardware: str, gpu_energy: bool, reference_data: bool,
         params: float | None = None, batch_size: int | None = None,
         precision: str | None = None) -> Rating:
    """Rate ``energy_wh_per_1k`` (energy per 1,000 requests, Wh) against the reference
    figures of ``task``. ``hardware``: what it ran on; ``gpu_energy``: the figure is GPU
    energy alone; ``reference_data``: run on the task's reference dataset; ``params``: the
    model's parameter count (picks the size class where the reference has classes);
    ``batch_size``, ``precision``: as benchmarked (compared with the reference's)."""
    by_class = reference.energies_wh.get(task)
    if not by_class:
        raise UsageError(f"--reference {reference.path} has no figures for task {task!r} "
                         f"(it has: {', '.join(sorted(reference.energies_wh))})")
    cls = ""
    if set(by_class) != {""}:
        if params is None:
            raise UsageError(f"the reference rates {task} within size classes "
                             f"({', '.join(sorted(by_class))}) and the model's parameter "
                             "count is unknown")
        cls = size_class(params)
        if cls not in by_class:
            raise UsageError(f"--reference {reference.path} has no {task} models of class "
                             f"{cls} (it has: {', '.join(sorted(by_class))})")
    values = by_class[cls]
    low, high = min(values), max(values)
    caveats = []
    ref_hw = reference.hardware
    if ref_hw.lower().split()[-1] not in hardware.lower():
        caveats.append(f"measured on {hardware}, not the reference {ref_hw}")
    if not gpu_energy:
        caveats.append("no GPU energy measured: rated on the energy measured here (CPU/RAM), "
                       "not GPU energy")
    if not reference_data:
        caveats.append("not the task's reference dataset (prompts and output lengths differ)")
    ref_batch = reference.batch_size
    if batch_size is not None and ref_batch is not None and batch_size != ref_batch:
        caveats.append(f"batch size {batch_size}, the reference's is {ref_batch} "
                       "(larger batches use less energy per query)")
    ref_precision = REFERENCE_PRECISION.get(task, "fp32")
    if precision is not None and precision != ref_precision and reference.shipped:
        caveats.append(f"precision {precision}, the reference's is {ref_precision}")
    outside = energy_wh_per_1k < low or energy_wh_per_1k > high
    if outside:
        caveats.append("outside the reference range")
    return Rating(task=task, stars=stars_for(energy_wh_per_1k, low, high),
                  energy_wh_per_1k=energy_wh_per_1k, low_wh=low, high_wh=high,
                  band_wh=(high - low) / STARS, models=len(values), source=reference.source,
                  comparable=len(caveats) == int(outside), caveats=caveats, size_class=cls)
