"""The report files the experiment-tracker sinks attach to a run: the full result as JSON
(devices, phases, provenance, accounting) and the plain-text summary."""

from __future__ import annotations

import json
import os
from typing import Any, Mapping

from ..result import RunResult

__all__ = ["report_dict", "write_report"]

REPORT_JSON = "wattprint_report.json"
SUMMARY_TXT = "wattprint_summary.txt"


def report_dict(result: RunResult, metrics: Mapping[str, float],
                accounting: Any = None) -> dict[str, Any]:
    from .. import __version__

    return {"wattprint_version": __version__, "run": result.to_dict(),
            "metrics": dict(metrics),
            "accounting": accounting.to_dict() if accounting is not None else None}


def write_report(directory: str, result: RunResult, metrics: Mapping[str, float],
                 accounting: Any = None) -> list[str]:
    """Write both files into ``directory``; return their paths."""
    json_path = os.path.join(directory, REPORT_JSON)
    with open(json_path, "w", encoding="utf-8") as f:
        json.dump(report_dict(result, metrics, accounting), f, indent=2, default=str)
    text = result.summary()
    if accounting is not None:
        text += "\n" + accounting.summary()
    txt_path = os.path.join(directory, SUMMARY_TXT)
    with open(txt_path, "w", encoding="utf-8") as f:
        f.write(text + "\n")
    return [json_path, txt_path]
