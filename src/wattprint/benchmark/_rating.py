"""Star rating of a benchmark's energy, following the AI Energy Score method.

AI Energy Score (Hugging Face and Salesforce, leaderboard first published February 2025;
method: https://huggingface.github.io/AIEnergyScore/#faq) rates a model for one task by
its GPU energy per 1,000 queries of that task's dataset, measured on an NVIDIA H100: the
range between the lowest and the highest GPU energy among the models evaluated for the
task (for text generation: within a size class) is cut into five equal sections; a model
in the lowest section gets 5 stars, in the highest 1 star.

wattprint ships the method, **not** a reference distribution: you pass the published
figures for your task as a CSV file (``--reference FILE``). The file says where its
figures come from in ``#`` comment lines (``# source: …``, ``# year: …``, ``# hardware:
…``, ``# dataset: …``) and holds ``task,model,gpu_energy_wh_per_1k`` rows. A rating is
comparable with the leaderboard only when measured on the reference hardware, with the
task's reference dataset and GPU energy alone; otherwise it is labelled indicative and
the differences are listed.
"""

from __future__ import annotations

import csv
import math
import os
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError

__all__ = ["Reference", "Rating", "load_reference", "stars_for", "rate"]

STARS = 5
NO_REFERENCE = ("no rating: wattprint ships no reference distribution; pass --reference "
                "FILE with the published AI Energy Score figures for your task (see "
                "docs/bench.md)")


@dataclass(frozen=True)
class Reference:
    """Published GPU energies per 1,000 queries of one or more tasks, with their source."""

    path: str
    energies_wh: dict[str, list[float]]
    meta: dict[str, str]

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

    def to_dict(self) -> dict[str, Any]:
        return {"task": self.task, "stars": self.stars,
                "energy_wh_per_1k": self.energy_wh_per_1k, "reference_low_wh": self.low_wh,
                "reference_high_wh": self.high_wh, "band_wh": self.band_wh,
                "reference_models": self.models, "source": self.source,
                "comparable": self.comparable, "caveats": list(self.caveats),
                "method": "AI Energy Score: five equal sections of the reference range"}

    def label(self) -> str:
        stars = "★" * self.stars + "☆" * (STARS - self.stars)
        tag = "comparable" if self.comparable else "indicative only"
        return f"{stars} ({self.stars}/5, {tag}; reference: {self.source})"


def load_reference(path: str | os.PathLike[str]) -> Reference:
    """Read a reference distribution file (see the module docstring)."""
    path = os.fspath(path)
    meta: dict[str, str] = {}
    energies: dict[str, list[float]] = {}
    try:
        with open(path, newline="", encoding="utf-8") as fh:
            lines = []
            for line in fh:
                if line.startswith("#"):
                    key, _, value = line[1:].partition(":")
                    if value:
                        meta[key.strip().lower()] = value.strip()
                elif line.strip():
                    lines.append(line)
    except OSError as err:
        raise UsageError(f"--reference {path}: {err.strerror or err}") from err
    rows = csv.DictReader(lines)
    need = {"task", "gpu_energy_wh_per_1k"}
    if not need <= set(rows.fieldnames or ()):
        raise UsageError(f"--reference {path}: needs the columns task,model,"
                         "gpu_energy_wh_per_1k (see docs/bench.md)")
    for n, row in enumerate(rows, start=2):
        try:
            value = float(row["gpu_energy_wh_per_1k"])
        except (TypeError, ValueError):
            value = math.nan
        if not (math.isfinite(value) and value >= 0):
            raise UsageError(f"--reference {path} row {n}: gpu_energy_wh_per_1k "
                             f"{row['gpu_energy_wh_per_1k']!r} must be a number of at least 0")
        energies.setdefault(row["task"].strip(), []).append(value)
    if not energies:
        raise UsageError(f"--reference {path}: no rows")
    return Reference(path, energies, meta)


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
         hardware: str, gpu_energy: bool, reference_data: bool) -> Rating:
    """Rate ``energy_wh_per_1k`` (energy per 1,000 requests, Wh) against the reference
    figures of ``task``. ``hardware``: what it ran on; ``gpu_energy``: the figure is GPU
    energy alone; ``reference_data``: run on the task's reference dataset."""
    values = reference.energies_wh.get(task)
    if not values:
        raise UsageError(f"--reference {reference.path} has no figures for task {task!r} "
                         f"(it has: {', '.join(sorted(reference.energies_wh))})")
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
    if energy_wh_per_1k < low or energy_wh_per_1k > high:
        caveats.append("outside the reference range")
    return Rating(task=task, stars=stars_for(energy_wh_per_1k, low, high),
                  energy_wh_per_1k=energy_wh_per_1k, low_wh=low, high_wh=high,
                  band_wh=(high - low) / STARS, models=len(values), source=reference.source,
                  comparable=not caveats or caveats == ["outside the reference range"],
                  caveats=caveats)
