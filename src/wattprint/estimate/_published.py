"""The published energy figures shipped as package data (``data/published/*.csv``, copies
of the reference development set) and the parsing of their free-text fields: hardware
("P100x8", "A100-80GB (TDP 350-400 W)"), counts ("up to 4096"), years ("Dec 2018"),
active parameters ("base model 2.3B", "0.25% of params activated per token")."""

from __future__ import annotations

import csv
import functools
import io
import re
from importlib import resources

__all__ = ["training_rows", "inference_rows", "find_run", "num", "parse_hardware",
           "parse_year", "parse_active", "model_size_from_name", "split_of", "SPLITS"]

#: The two splits of the published rows (``data/published/split.csv``): "dev" rows may
#: inform the priors; "held-out" rows never do — they only report.
SPLITS = ("dev", "held-out")


@functools.lru_cache(maxsize=None)
def _read(name: str) -> tuple[dict[str, str], ...]:
    text = (resources.files("wattprint.data").joinpath("published", name)
            .read_text(encoding="utf-8"))
    return tuple(csv.DictReader(io.StringIO(text)))


def training_rows() -> tuple[dict[str, str], ...]:
    """The development-set rows, then the rows compiled for issue 14
    (``training_external.csv``), each in the split its id's hash gives; with the
    corrections of ``training_corrections.csv`` applied (a field the source states that the
    copied set left out — a power cap —, each with its source; the copy stays as built)."""
    rows = tuple(dict(r) for r in _read("training_dev.csv") + _read("training_external.csv"))
    by_id = {r["id"]: r for r in rows}
    for fix in _read("training_corrections.csv"):
        row = by_id[fix["id"]]
        if row[fix["field"]] != fix["was"]:
            raise ValueError(f"training_corrections.csv: {fix['id']}.{fix['field']} is "
                             f"{row[fix['field']]!r}, not {fix['was']!r}: check the correction")
        row[fix["field"]] = fix["value"]
    return rows


def inference_rows() -> tuple[dict[str, str], ...]:
    """The development-set rows, then the rows compiled for issue 14 from the ML.ENERGY
    leaderboard's data (``inference_external.csv``: more batch sizes on H100, and B200),
    each in the split its id's hash gives."""
    return _read("inference_dev.csv") + _read("inference_external.csv")


@functools.lru_cache(maxsize=None)
def _splits() -> dict[str, str]:
    return {r["id"]: r["split"] for r in _read("split.csv")}


def split_of(row_id: str) -> str:
    """"dev" or "held-out" for a published row id. The split was fixed before any prior was
    tuned: a row is held out when the SHA-256 of its id is divisible by 3 (about a third,
    chosen by a rule that cannot look at the rows' errors); rows not listed are held out."""
    return _splits().get(row_id, "held-out")


def num(text: str | None) -> float | None:
    """The first number in ``text`` ("up to 4096" → 4096, "~150 (…)" → 150), else None."""
    if not text:
        return None
    m = re.search(r"[-+]?\d[\d,]*\.?\d*(?:[eE][-+]?\d+)?", text)
    return float(m.group(0).replace(",", "")) if m else None


def parse_hardware(text: str) -> tuple[str, int | None, float | None]:
    """(accelerator name, count from an "x8" suffix, power cap W) of a hardware field."""
    cap = None
    m = re.search(r"(?:power\s*)?cap\s*(\d+)\s*W", text, flags=re.I)
    if m:
        cap = float(m.group(1))
    name = re.sub(r"\([^)]*\)", " ", text)
    name = name.split(";")[0]
    count = None
    m = re.match(r"^\s*(.*?)\s*x\s*(\d+)\s*$", name)
    if m:
        name, count = m.group(1), int(m.group(2))
    name = re.sub(r"\b(\d+)\s*GB\b", r"\1GB", name).strip()
    return name, count, cap


def parse_year(text: str | None) -> int | None:
    m = re.search(r"(19|20)\d\d", text or "")
    return int(m.group(0)) if m else None


def parse_active(text: str | None, total_b: float | None) -> float | None:
    """Active parameters in billions from "2.3" / "base model 2.3B" / "0.25% of params"."""
    if not text:
        return None
    if "%" in text and total_b:
        pct = num(text)
        return total_b * pct / 100 if pct is not None else None
    return num(text)


def model_size_from_name(name: str) -> tuple[float | None, float | None]:
    """(total, active) parameters in billions from a model name: "Llama 3.1 70B" → (70,
    None); "Qwen 3 235B-A22B" → (235, 22); "BLOOMz-560M" → (0.56, None)."""
    active = None
    m = re.search(r"\bA(\d+(?:\.\d+)?)B\b", name)
    if m:
        active = float(m.group(1))
    found = re.findall(r"(?<![A-Za-z\d.])(\d+(?:\.\d+)?)\s*([BM])\b", name)
    sizes = [float(v) / 1000 if u.upper() == "M" else float(v) for v, u in found]
    if active is not None and active in sizes and len(sizes) > 1:
        sizes.remove(active)
    return (max(sizes) if sizes else None), active


def find_run(query: str) -> dict[str, str] | None:
    """The published training row a user names ("GPT-3", "T5", "LLaMA-65B", or a row id):
    rows with measured power first, then the others, each in file order."""
    q = re.sub(r"[\s_-]+", "", query.lower())
    rows = training_rows()
    for row in rows:
        if row["id"].lower() == query.lower():
            return row
    hits = [r for r in rows if q and q in re.sub(r"[\s_-]+", "", r["model"].lower())
            and r["energy_MWh"]]
    if not hits:
        return None
    hits.sort(key=lambda r: (not r["power_basis"].lower().startswith("measured"),
                             r["id"].startswith("llmcarbon")))
    return hits[0]
