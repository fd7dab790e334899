"""Reports people use: a self-contained HTML page with charts, the compute-and-emissions
statement for a paper (Markdown, LaTeX), the Hugging Face ``co2_eq_emissions`` block, an
energy disclosure for EU AI Act technical documentation, JSON with a schema version, and
comparisons of two or more runs.

    from wattprint.ledger import Ledger
    from wattprint.report import build_report, render
    with Ledger() as ledger:
        data = build_report(ledger, "last", zone="FR")
    open("run.html", "w").write(render([data], "html"))

One :class:`ReportData` is built per run (:func:`build_report`); every format renders
from it. Formats and the JSON schema: docs/reports.md. ``wattprint report`` is the CLI.
"""

from __future__ import annotations

import json
from typing import Any, Sequence

from ..errors import UsageError
from ._compare import Comparison, compare_reports, comparison_md
from ._data import SCHEMA_VERSION, ReportData, build_report
from ._html import CSP, render_comparison_html, render_html
from ._text import MODEL_CARD_KEYS, eu_ai_act, model_card, statement_latex, statement_md

__all__ = ["build_report", "render", "ReportData", "Comparison", "compare_reports",
           "FORMATS", "SCHEMA_VERSION", "MODEL_CARD_KEYS", "CSP"]

#: Output formats: what each gives for one run, and for several.
FORMATS = {
    "html": "one self-contained page with charts; several runs: a comparison page",
    "md": "compute-and-emissions statement for a paper; several runs: a comparison table",
    "latex": "the statement as LaTeX (one run; several: one statement each)",
    "model-card": "Hugging Face model card with the co2_eq_emissions metadata (several runs: "
                  "summed; -o README.md merges into an existing card)",
    "eu-ai-act": "energy disclosure for AI Act technical documentation (several runs: summed)",
    "json": "everything, machine-readable, with schema_version (several runs: comparison)",
}


def render(reports: Sequence[ReportData], fmt: str, *, training_type: str | None = None,
           model: str | None = None) -> str:
    """Render one or more runs' :class:`ReportData` in format ``fmt`` (see FORMATS)."""
    if fmt not in FORMATS:
        raise UsageError(f"unknown report format {fmt!r}; use one of {', '.join(FORMATS)}")
    runs = list(reports)
    if not runs:
        raise UsageError("a report needs at least one run")
    if fmt == "model-card":
        return model_card(runs, training_type=training_type)
    if fmt == "eu-ai-act":
        return eu_ai_act(runs, model=model)
    if fmt == "latex":
        return "\n".join(statement_latex(r) for r in runs)
    if len(runs) == 1:
        data = runs[0]
        if fmt == "html":
            return render_html(data)
        if fmt == "md":
            return statement_md(data)
        return _json({"kind": "run", **data.to_dict()})
    comparison = compare_reports(runs)
    if fmt == "html":
        return render_comparison_html(comparison)
    if fmt == "md":
        return comparison_md(comparison)
    return _json(comparison.to_dict())


def _json(data: Any) -> str:
    return json.dumps(data, indent=1, default=str, allow_nan=False) + "\n"
