"""The accelerator catalogue: peak FLOP/s by precision, memory, bandwidth, TDP and release
date of 170 accelerators (Epoch AI's ML hardware database, CC-BY-4.0), found by the names
people type — "H100", "H100 SXM", "NVIDIA H100 80GB HBM3", "A100-40GB", "TPU v4", "V100".

    from wattprint.estimate import find_accelerator
    acc = find_accelerator("A100-40GB")
    acc.name, acc.tdp_w, acc.peak_flops("bf16")

An unknown name raises :class:`UnknownAccelerator` with close matches. Values the Epoch
snapshot lacks were filled from vendor datasheets by hand and are flagged ``unverified``.
"""

from __future__ import annotations

import difflib
import functools
import re
from dataclasses import dataclass, field
from typing import Any

from ..errors import UsageError

__all__ = ["Accelerator", "UnknownAccelerator", "find_accelerator", "accelerators",
           "search_accelerators", "resolve_accelerator", "PRECISIONS"]

#: Precisions a caller may ask for, and the catalogue column each reads first.
PRECISIONS = ("fp32", "tf32", "fp16", "bf16", "fp8", "int8", "fp4", "int4", "mxfp4")


class UnknownAccelerator(UsageError):
    """No catalogue entry matches ``query``; ``suggestions`` lists close names."""

    def __init__(self, query: str, suggestions: tuple[str, ...] = ()) -> None:
        hint = (f"; did you mean {', '.join(repr(s) for s in suggestions)}?" if suggestions
                else "; see `wattprint estimate hardware` for the list")
        super().__init__(f"unknown accelerator {query!r}{hint} (or pass its figures: "
                         "--tdp and --peak-tflops)")
        self.query = query
        self.suggestions = suggestions


@dataclass(frozen=True)
class Accelerator:
    name: str
    manufacturer: str
    kind: str  # "gpu" (GPU-class, incl. non-TPU ASICs) | "tpu" | "other"
    release_date: str | None
    tdp_w: float | None
    memory_gb: float | None
    memory_bandwidth_tb_s: float | None
    tflops: dict[str, float] = field(default_factory=dict)  # precision → dense TFLOP/s
    process_nm: float | None = None
    unverified: tuple[str, ...] = ()
    source: str = "epoch"

    @property
    def year(self) -> int | None:
        return int(self.release_date[:4]) if self.release_date else None

    @property
    def memory_bandwidth_bps(self) -> float | None:
        return self.memory_bandwidth_tb_s * 1e12 if self.memory_bandwidth_tb_s else None

    def peak_flops(self, precision: str = "bf16") -> tuple[float, str]:
        """(dense peak FLOP/s, the precision actually used) for ``precision``.

        Half precision is the tensor-core figure (FP16 or BF16) where the catalogue has one,
        else plain FP16; FP8/FP4/INT8 fall back to half precision on parts without them
        (weight-only quantisation still computes in 16 bits); TF32 falls back to FP32.
        """
        p = precision.lower()
        if p not in PRECISIONS:
            raise UsageError(f"unknown precision {precision!r}; use one of "
                             f"{', '.join(PRECISIONS)}")
        order = {"fp32": ("fp32",), "tf32": ("tf32", "fp32"),
                 "fp16": ("bf16", "fp16"), "bf16": ("bf16", "fp16"),
                 "fp8": ("fp8", "bf16", "fp16"), "int8": ("int8", "fp8", "bf16", "fp16"),
                 "fp4": ("fp4", "fp8", "bf16", "fp16"), "int4": ("fp8", "bf16", "fp16"),
                 "mxfp4": ("fp4", "fp8", "bf16", "fp16")}[p]
        for key in order:
            value = self.tflops.get(key)
            if value:
                return value * 1e12, key
        raise UsageError(f"the catalogue has no peak FLOP/s for {self.name} at {precision} "
                         "or a fallback precision; pass peak_tflops=")

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "manufacturer": self.manufacturer, "kind": self.kind,
                "release_date": self.release_date, "tdp_w": self.tdp_w,
                "memory_gb": self.memory_gb,
                "memory_bandwidth_tb_s": self.memory_bandwidth_tb_s,
                "peak_tflops": dict(self.tflops), "process_nm": self.process_nm,
                "unverified": list(self.unverified), "source": self.source}


def _f(text: str) -> float | None:
    try:
        return float(text) if text else None
    except ValueError:
        return None


@functools.lru_cache(maxsize=1)
def accelerators() -> tuple[Accelerator, ...]:
    """Every catalogue entry (read on first use from ``accelerators.csv``)."""
    from .. import data

    out = []
    for r in data.read_csv("accelerators.csv"):
        tflops = {}
        for key in ("bf16", "fp16", "fp8", "fp4", "tf32", "fp32"):
            v = _f(r[f"peak_tflops_{key}"])
            if v:
                tflops[key] = v
        if _f(r["peak_tops_int8"]):
            tflops["int8"] = float(r["peak_tops_int8"])
        out.append(Accelerator(
            name=r["name"], manufacturer=r["manufacturer"], kind=r["kind"],
            release_date=r["release_date"] or None, tdp_w=_f(r["tdp_w"]),
            memory_gb=_f(r["memory_gb"]),
            memory_bandwidth_tb_s=_f(r["memory_bandwidth_tb_s"]), tflops=tflops,
            process_nm=_f(r["process_nm"]),
            unverified=tuple(x for x in r["unverified"].split(";") if x),
            source=r["source"]))
    return tuple(out)


#: Short names people type → the catalogue entry meant. Plain family names go to Epoch's
#: own generic entry where it has one ("V100", "A100", "P100"), else to the SXM part.
ALIASES = {
    "h100": "NVIDIA H100 SXM5 80GB", "h100 sxm": "NVIDIA H100 SXM5 80GB",
    "h100 sxm5": "NVIDIA H100 SXM5 80GB", "h100 80gb": "NVIDIA H100 SXM5 80GB",
    "h100 80gb hbm3": "NVIDIA H100 SXM5 80GB", "h100 hbm3": "NVIDIA H100 SXM5 80GB",
    "h100 pcie": "NVIDIA H100 PCIe", "h100 nvl": "NVIDIA H100 NVL",
    "h200": "NVIDIA H200 SXM", "h800": "NVIDIA H800 SXM5", "h20": "NVIDIA HGX H20",
    "gh200": "NVIDIA GH200", "b200": "NVIDIA B200", "b100": "NVIDIA B100",
    "gb200": "NVIDIA GB200", "b300": "NVIDIA B300 (Blackwell Ultra)",
    "gb300": "NVIDIA GB300 (Blackwell Ultra)",
    "a100": "NVIDIA A100", "a100 sxm": "NVIDIA A100 SXM4 80 GB",
    "a100 40gb": "NVIDIA A100 SXM4 40 GB", "a100 sxm 40gb": "NVIDIA A100 SXM4 40 GB",
    "a100 80gb": "NVIDIA A100 SXM4 80 GB", "a100 sxm 80gb": "NVIDIA A100 SXM4 80 GB",
    "a100 sxm4 80gb": "NVIDIA A100 SXM4 80 GB", "a100 sxm4 40gb": "NVIDIA A100 SXM4 40 GB",
    "a100 pcie": "NVIDIA A100 PCIe", "a800": "NVIDIA A800 SXM",
    "v100": "NVIDIA V100", "v100 sxm2": "NVIDIA Tesla V100 SXM2",
    "v100 32gb": "NVIDIA Tesla V100 SXM2 32 GB", "v100 16gb": "NVIDIA Tesla V100 SXM2 16 GB",
    "v100 pcie": "NVIDIA Tesla V100 PCIe 32 GB", "v100s": "NVIDIA Tesla V100S PCIe 32 GB",
    "p100": "NVIDIA P100", "p100 sxm2": "NVIDIA Tesla P100 SXM2",
    "p100 pcie": "NVIDIA P100 PCIe 16GB", "t4": "NVIDIA Tesla T4", "l4": "NVIDIA L4",
    "l40": "NVIDIA L40", "l40s": "NVIDIA L40S", "a10": "NVIDIA A10 PCIe",
    "a10g": "NVIDIA A10G", "a40": "NVIDIA A40 PCIe", "k80": "NVIDIA Tesla K80",
    "rtx 4090": "NVIDIA GeForce RTX 4090", "4090": "NVIDIA GeForce RTX 4090",
    "rtx 3090": "NVIDIA GeForce RTX 3090", "titan x": "NVIDIA GeForce GTX TITAN X",
    "tpu v1": "Google TPU v1", "tpu v2": "Google TPU v2", "tpu v3": "Google TPU v3",
    "tpu v4": "Google TPU v4", "tpu v4i": "Google TPU v4i", "tpu v5e": "Google TPU v5e",
    "tpu v5p": "Google TPU v5p", "tpu v6e": "Google TPU v6e Trillium",
    "trillium": "Google TPU v6e Trillium", "tpu v6": "Google TPU v6e Trillium",
    "tpu v7": "Google TPU v7 Ironwood", "ironwood": "Google TPU v7 Ironwood",
    "mi300x": "AMD Instinct MI300X", "mi300a": "AMD Instinct MI300A",
    "mi250x": "AMD Radeon Instinct MI250X", "mi325x": "AMD Instinct MI325X",
    "mi355x": "AMD Instinct MI355X", "mi350x": "AMD Instinct MI350X",
    "gaudi2": "Intel Habana Gaudi2", "gaudi 2": "Intel Habana Gaudi2",
    "gaudi3": "Intel Habana Gaudi3", "gaudi 3": "Intel Habana Gaudi3",
    "trainium": "Amazon Trainium1", "trainium1": "Amazon Trainium1",
    "trainium2": "Amazon Trainium2", "trn1": "Amazon Trainium1", "trn2": "Amazon Trainium2",
    "inferentia2": "AWS Inferentia2", "ascend 910b": "Huawei Ascend 910B",
    "ascend 910": "Huawei Ascend 910",
}
_FILLER = {"nvidia", "google", "amd", "tesla", "instinct", "radeon", "intel", "habana",
           "geforce", "cloud", "gpu", "tensor", "core", "amazon", "aws", "huawei", "hbm3",
           "hbm2", "hbm2e", "hbm3e"}


def _norm(text: str) -> str:
    t = text.lower().replace("_", " ").replace("-", " ").replace("/", " ")
    t = re.sub(r"(\d+)\s*gb\b", r"\1gb", t)  # "80 GB" → "80gb"
    t = re.sub(r"\btpu\s*(v\d\w*)", r"tpu \1", t)  # "TPUv4" → "tpu v4"
    t = re.sub(r"\b(v\d\w*)\s*tpu\b", r"tpu \1", t)  # "v4 TPU" → "tpu v4"
    t = re.sub(r"\bsxm\d?\b", "sxm", t) if "a100 sxm4" not in t else t
    t = re.sub(r"[^a-z0-9. ]+", " ", t)
    return " ".join(w for w in t.split() if w not in _FILLER)


@functools.lru_cache(maxsize=1)
def _index() -> dict[str, Accelerator]:
    out: dict[str, Accelerator] = {}
    for a in accelerators():
        out.setdefault(_norm(a.name), a)
        out.setdefault(a.name.lower(), a)
    by_name = {a.name: a for a in accelerators()}
    for alias, name in ALIASES.items():
        if name in by_name:
            out.setdefault(_norm(alias), by_name[name])
    return out


def search_accelerators(query: str = "", *, limit: int | None = None) -> list[Accelerator]:
    """Entries whose name contains every word of ``query`` (case-insensitive)."""
    words = _norm(query).split()
    hits = [a for a in accelerators()
            if all(w in _norm(a.name).split() or w in _norm(a.name) for w in words)]
    return hits[:limit] if limit else hits


def find_accelerator(query: "str | Accelerator", *, tdp_w: float | None = None
                     ) -> Accelerator:
    """The catalogue entry ``query`` names. ``tdp_w`` picks the variant of a family with
    that TDP ("P100" with 300 W is the SXM2 part). Raises :class:`UnknownAccelerator`."""
    if isinstance(query, Accelerator):
        return query
    text = re.sub(r"\([^)]*\)", " ", str(query)).strip()  # "A100 (Jean Zay)" → "A100"
    if not text:
        raise UsageError("no accelerator named; write e.g. 'H100', 'A100-40GB' or 'TPU v4'")
    index = _index()
    key = _norm(text)
    hit = index.get(text.lower()) or index.get(key)
    family = [a for a in search_accelerators(text)]
    if tdp_w is not None:
        same = [a for a in ([hit] if hit else []) + family
                if a.tdp_w is not None and abs(a.tdp_w - tdp_w) < 1]
        if same:
            # The alias's own entry if it has that TDP, else an SXM part, else the first.
            same.sort(key=lambda a: (a is not hit, "SXM" not in a.name))
            return same[0]
    if hit:
        return hit
    if len(family) == 1:
        return family[0]
    if family:
        # Several share the words ("H100" → PCIe, NVL, SXM5): the alias table decides; if
        # it does not, refuse rather than guess.
        raise UnknownAccelerator(text, tuple(a.name for a in family[:6]))
    names = list(index)
    close = difflib.get_close_matches(key, names, n=8, cutoff=0.5)
    seen: list[str] = []
    for c in close:
        if index[c].name not in seen:
            seen.append(index[c].name)
    raise UnknownAccelerator(text, tuple(seen[:5]))


def resolve_accelerator(query: "str | Accelerator", *, tdp_w: float | None = None,
                        peak_tflops: float | None = None,
                        memory_bandwidth_tb_s: float | None = None) -> Accelerator:
    """:func:`find_accelerator`, or — for a name the catalogue lacks — an ad-hoc entry from
    the figures given (``tdp_w`` and ``peak_tflops`` at least)."""
    try:
        return find_accelerator(query, tdp_w=tdp_w)
    except UnknownAccelerator:
        if tdp_w is None or peak_tflops is None:
            raise
    return Accelerator(name=str(query).strip(), manufacturer="", kind="gpu",
                       release_date=None, tdp_w=float(tdp_w), memory_gb=None,
                       memory_bandwidth_tb_s=memory_bandwidth_tb_s,
                       tflops={"bf16": float(peak_tflops)}, source="given")
