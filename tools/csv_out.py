"""Writing the shipped CSV files the same way in every build script (stable float format,
LF line ends), so rebuilds are byte-for-byte reproducible."""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Iterable, Sequence


def fmt(x: float) -> str:
    return f"{x:.6f}".rstrip("0").rstrip(".")


def write_csv(path: Path, header: Sequence[str], rows: Iterable[Sequence[object]]) -> Path:
    with open(path, "w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(header)
        for row in rows:
            w.writerow(["" if v is None else fmt(v) if isinstance(v, float) else v
                        for v in row])
    return path
