"""Builders for the estimator's package data (registered in ``tools/build_data.py``).

- ``accelerators``: ``accelerators.csv`` — the Epoch AI ML hardware database trimmed to what
  the estimator uses (peak FLOP/s by precision, memory, bandwidth, TDP, release date), with
  the hand-transcribed UNVERIFIED gap-fill values merged into empty fields only and every
  such field named in the ``unverified`` column.
- ``published``: ``published/training_dev.csv`` and ``published/inference_dev.csv`` —
  unmodified copies of the published energy figures the estimator is validated against.

Deterministic: rows sorted by name, fixed number formatting, ``\\n`` line ends.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

#: Epoch column → (shipped column, scale from the source unit to the shipped unit).
EPOCH_COLUMNS = {
    "Tensor-FP16/BF16 performance (FLOP/s)": ("peak_tflops_bf16", 1e-12),
    "FP16 (half precision) performance (FLOP/s)": ("peak_tflops_fp16", 1e-12),
    "FP8 performance (FLOP/s)": ("peak_tflops_fp8", 1e-12),
    "FP4 performance (FLOP/s)": ("peak_tflops_fp4", 1e-12),
    "TF32 (TensorFloat-32) performance (FLOP/s)": ("peak_tflops_tf32", 1e-12),
    "FP32 (single precision) performance (FLOP/s)": ("peak_tflops_fp32", 1e-12),
    "INT8 performance (OP/s)": ("peak_tops_int8", 1e-12),
    "Memory (bytes)": ("memory_gb", 1e-9),
    "Memory bandwidth (byte/s)": ("memory_bandwidth_tb_s", 1e-12),
    "TDP (W)": ("tdp_w", 1.0),
    "Process size (nm)": ("process_nm", 1.0),
}
#: Gap-fill "field" → shipped column (values in the gap-fill file's units: FLOP/s, bytes, W).
GAP_FIELDS = {
    "FP8 dense": "peak_tflops_fp8", "BF16 dense": "peak_tflops_bf16",
    "FP16 tensor dense": "peak_tflops_fp16", "Memory": "memory_gb", "TDP": "tdp_w",
}
COLUMNS = ("name", "manufacturer", "kind", "release_date", "tdp_w", "memory_gb",
           "memory_bandwidth_tb_s", "peak_tflops_bf16", "peak_tflops_fp16", "peak_tflops_fp8",
           "peak_tflops_fp4", "peak_tflops_tf32", "peak_tflops_fp32", "peak_tops_int8",
           "process_nm", "unverified", "source")


def _num(text: str, scale: float) -> str:
    try:
        value = float(text) * scale
    except (TypeError, ValueError):
        return ""
    return f"{value:.6g}"


def _kind(name: str, type_: str) -> str:
    if "TPU" in name:
        return "tpu"
    return "gpu" if type_.strip().upper() in ("GPU", "GPGPU") else "other"


#: Release dates before which a vendor's accelerators have no bf16 arithmetic: NVIDIA's
#: first bf16 part is the A100 (Ampere; dated 2020-03-01 in Epoch; Volta/Turing tensor cores do
#: fp16 only — the V100's 125 TFLOP/s is fp16), AMD's the Instinct MI100 (2020-11-16).
NO_BF16_BEFORE = {"NVIDIA": "2020-03-01", "AMD": "2020-11-16"}


def _no_bf16(row: dict[str, str]) -> bool:
    before = NO_BF16_BEFORE.get(row["manufacturer"])
    return bool(before and row["release_date"] and row["release_date"] < before
                and row["peak_tflops_bf16"] and row["kind"] == "gpu")


def build_accelerators(source: Path, out: Path) -> list[Path]:
    hardware = source / "hardware"
    rows: dict[str, dict[str, str]] = {}
    with open(hardware / "epoch_ml_hardware.csv", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            name = " ".join(r["Hardware name"].split())
            row = {c: "" for c in COLUMNS}
            row.update(name=name, manufacturer=r["Manufacturer"].strip(),
                       kind=_kind(name, r["Type"]), release_date=r["Release date"].strip(),
                       source="epoch")
            for col, (shipped, scale) in EPOCH_COLUMNS.items():
                row[shipped] = _num(r[col], scale)
            if _no_bf16(row):  # Epoch's "Tensor-FP16/BF16" is tensor FP16 on these parts
                row["peak_tflops_fp16"], row["peak_tflops_bf16"] = row["peak_tflops_bf16"], ""
            rows[name] = row
    with open(hardware / "UNVERIFIED_accelerator_gap_fill.csv", encoding="utf-8") as f:
        for r in csv.DictReader(f):
            name, column = r["hardware_name"].strip(), GAP_FIELDS.get(r["field"].strip())
            if column is None or not r["value"].strip():
                continue
            row = rows.get(name)
            if row is None:  # not in Epoch at all (L40S): a row of unverified values
                row = {c: "" for c in COLUMNS}
                row.update(name=name, manufacturer=name.split()[0], kind="gpu",
                           source="gap-fill (UNVERIFIED)")
                rows[name] = row
            if row[column]:
                continue  # Epoch has it: Epoch wins
            scale = 1.0 if column == "tdp_w" else 1e-9 if column == "memory_gb" else 1e-12
            row[column] = _num(r["value"], scale)
            row["unverified"] = ";".join(filter(None, (row["unverified"], column)))
    path = out / "accelerators.csv"
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.DictWriter(f, fieldnames=COLUMNS, lineterminator="\n")
        w.writeheader()
        for name in sorted(rows, key=str.lower):
            w.writerow(rows[name])
    return [path]


def build_published(source: Path, out: Path) -> list[Path]:
    (out / "published").mkdir(parents=True, exist_ok=True)
    written = []
    for name in ("training_dev.csv", "inference_dev.csv"):
        target = out / "published" / name
        shutil.copyfile(source / "published" / name, target)
        written.append(target)
    return written
