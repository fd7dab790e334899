"""Text reports from :class:`ReportData`: the compute-and-emissions statement for a paper
(Markdown, LaTeX), the Hugging Face ``co2_eq_emissions`` model-card block, and the
energy-disclosure section for EU AI Act technical documentation of a general-purpose
model (Annex XI, Section 1, points 2(d) and 2(e)).

Several runs (the experiments, restarts and final run that together trained a model)
can be summed into one model card or disclosure: :func:`aggregate`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from ..result import basis_of
from ._card import MODEL_CARD_KEYS
from ._data import ReportData
from ._fmt import fmt_hours, fmt_kwh, fmt_mass, fmt_num, md_cell

__all__ = ["statement_md", "statement_latex", "model_card", "eu_ai_act", "Totals",
           "aggregate", "fmt_kwh", "fmt_mass", "fmt_hours", "MODEL_CARD_KEYS"]


def _hardware_text(hardware: Sequence[dict[str, Any]]) -> str:
    parts = []
    for g in hardware:
        how = "measured" if g["kind"] == "measured" else "modelled"
        name = md_cell(g["device"])
        label = g["domain"].upper() if how in name else f"{g['domain'].upper()}, {how}"
        parts.append(f"{g['count']} × {name} ({label})")
    return "; ".join(parts) or "no device recorded"


def _energy_basis_text(d: ReportData) -> str:
    if d.basis == "measured":
        return "measured with hardware energy counters"
    if d.basis == "mixed":
        return (f"{d.energy['measured_fraction']:.0%} measured with hardware counters, the "
                "rest modelled from utilisation")
    return "modelled from utilisation and reference data (no power sensor available)"


def _range_text(d: ReportData) -> str:
    u = d.uncertainty
    if not u:
        return ""
    return f" (range {fmt_kwh(u['energy_low_j'])} to {fmt_kwh(u['energy_high_j'])})"


def _market_note(d: ReportData) -> str:
    notes = " ".join(" ".join(p["notes"]) for p in d.provenance
                     if p["figure"] == "grid intensity, market-based")
    return "no contractual instruments given, so it equals location-based" \
        if "equals location-based" in notes else "from the contractual instruments given"


def _pue_text(d: ReportData) -> str:
    row = next(p for p in d.provenance if p["figure"] == "PUE")
    return f"PUE of {d.energy['pue']:.3g} ({row['source']})"


def _paragraph(d: ReportData, code: Any = str) -> str:
    """The statement's sentences; ``code`` marks up the run's name and id."""
    c, e, run = d.carbon, d.energy, d.run
    name = f" {code(md_cell(run['name']))}" if run["name"] else ""
    return (f"The run{name} (wattprint run {code(run['id'])}) used "
            f"{_hardware_text(d.hardware)} for {fmt_hours(run['duration_s'])} "
            f"({run['started_at'][:10]}). It consumed {fmt_kwh(e['energy_j'])} of IT "
            f"energy{_range_text(d)}, {_energy_basis_text(d)}; with a {_pue_text(d)}, "
            f"{fmt_kwh(e['facility_energy_j'])} at the facility. At a location-based grid "
            f"intensity of {c['intensity_location_g_per_kwh']:,.0f} gCO2e/kWh for "
            f"{c['zone_label']} ({c['source']}), this corresponds to "
            f"{fmt_mass(c['co2e_location_g'])} (location-based); market-based: "
            f"{fmt_mass(c['co2e_market_g'])} ({_market_note(d)}). Measured with "
            f"{d.generator}.")


def statement_md(d: ReportData) -> str:
    """A compute-and-emissions paragraph and table for a paper, in Markdown."""
    c, e = d.carbon, d.energy
    run = d.run
    lines = [
        "### Compute and emissions",
        "",
        _paragraph(d, code=lambda x: f"`{x}`"),
        "",
        "| | |",
        "|---|---|",
        f"| hardware | {_hardware_text(d.hardware)} |",
        f"| wall-clock time | {fmt_hours(run['duration_s'])} |",
    ]
    if e["device_hours"]:
        lines.append(f"| GPU-hours | {fmt_num(e['device_hours'], 3)} |")
    lines += [
        f"| IT energy | {fmt_kwh(e['energy_j'])}{_range_text(d)} [{d.basis}] |",
        f"| PUE | {e['pue']:.3g} |",
        f"| facility energy | {fmt_kwh(e['facility_energy_j'])} |",
        f"| grid zone, intensity | {c['zone_label']}: {c['intensity_location_g_per_kwh']:,.0f} "
        f"gCO2e/kWh, {c['intensity_resolution']} ({c['source']}) |",
        f"| CO2e, location-based | {fmt_mass(c['co2e_location_g'])} |",
        f"| CO2e, market-based | {fmt_mass(c['co2e_market_g'])} |",
    ]
    for row in d.sci:
        lines.append(f"| SCI per {row['functional_unit']} | "
                     f"{fmt_mass(row['sci_g_per_unit'])} ({fmt_kwh(row['energy_j_per_unit'])}) |")
    if d.uncertainty:
        lines += ["", f"> {d.uncertainty['statement']}"]
    return "\n".join(lines) + "\n"


_LATEX_SPECIAL = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#",
                  "_": r"\_", "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}",
                  "^": r"\textasciicircum{}", "×": r"$\times$", "–": "--", "—": "---",
                  "±": r"$\pm$", "→": r"$\rightarrow$", "≈": r"$\approx$", "µ": r"$\mu$"}


def latex_escape(text: str) -> str:
    return "".join(_LATEX_SPECIAL.get(ch, ch) for ch in text)


def _co2(text: str) -> str:
    """CO2e / gCO2e in LaTeX with a subscript 2."""
    return text.replace("CO2e", r"CO\textsubscript{2}e")


def statement_latex(d: ReportData) -> str:
    """The same statement as LaTeX: a paragraph and a tabular (no extra packages)."""
    c, e, run = d.carbon, d.energy, d.run
    para = _paragraph(d)
    rows = [("Hardware", _hardware_text(d.hardware)),
            ("Wall-clock time", fmt_hours(run["duration_s"]))]
    if e["device_hours"]:
        rows.append(("GPU-hours", fmt_num(e['device_hours'], 3)))
    rows += [("IT energy", f"{fmt_kwh(e['energy_j'])}{_range_text(d)} ({d.basis})"),
             ("PUE", f"{e['pue']:.3g}"),
             ("Facility energy", fmt_kwh(e["facility_energy_j"])),
             ("Grid zone and intensity", f"{c['zone_label']}, "
              f"{c['intensity_location_g_per_kwh']:,.0f} gCO2e/kWh "
              f"({c['intensity_resolution']})"),
             ("CO2e, location-based", fmt_mass(c["co2e_location_g"])),
             ("CO2e, market-based", fmt_mass(c["co2e_market_g"]))]
    body = " \\\\\n".join(f"{_co2(latex_escape(a))} & {_co2(latex_escape(b))}"
                          for a, b in rows)
    return ("% Compute and emissions statement generated by " + latex_escape(d.generator)
            + "\n\\paragraph{Compute and emissions.}\n" + _co2(latex_escape(para)) + "\n\n"
            "\\begin{table}[h]\n\\centering\n\\begin{tabular}{ll}\n\\hline\n" + body
            + " \\\\\n\\hline\n\\end{tabular}\n\\caption{Compute and emissions of "
            + latex_escape(md_cell(run["name"] or run["id"])) + ".}\n\\end{table}\n")


# -- several runs as one training ------------------------------------------------------------
@dataclass
class Totals:
    """Several runs summed (e.g. every run that trained one model)."""

    runs: list[ReportData]

    @property
    def energy_j(self) -> float:
        return sum(r.energy["energy_j"] for r in self.runs)

    @property
    def facility_energy_j(self) -> float:
        return sum(r.energy["facility_energy_j"] for r in self.runs)

    @property
    def co2e_location_g(self) -> float:
        return sum(r.carbon["co2e_location_g"] for r in self.runs)

    @property
    def co2e_market_g(self) -> float:
        return sum(r.carbon["co2e_market_g"] for r in self.runs)

    @property
    def duration_s(self) -> float:
        return sum(r.run["duration_s"] or 0.0 for r in self.runs)

    @property
    def low_j(self) -> float:
        return sum(r.energy["low_j"] for r in self.runs)

    @property
    def high_j(self) -> float:
        return sum(r.energy["high_j"] for r in self.runs)

    @property
    def basis(self) -> str:
        return basis_of(r.basis for r in self.runs)

    @property
    def measured_fraction(self) -> float:
        e = self.energy_j
        return sum(r.energy["energy_j"] * r.energy["measured_fraction"]
                   for r in self.runs) / e if e else 0.0

    @property
    def hardware(self) -> list[dict[str, Any]]:
        """The largest count of each device seen in any one run."""
        out: dict[tuple[str, str, str], dict[str, Any]] = {}
        for r in self.runs:
            for g in r.hardware:
                key = (g["domain"], g["device"], g["kind"])
                if key not in out or g["count"] > out[key]["count"]:
                    out[key] = dict(g)
        return list(out.values())

    @property
    def zones(self) -> list[str]:
        return sorted({r.carbon["zone_label"] for r in self.runs})


def aggregate(runs: Sequence[ReportData]) -> Totals:
    return Totals(list(runs))


def model_card(runs: Sequence[ReportData], *, training_type: str | None = None) -> str:
    """A loadable Hugging Face model card (``---`` front matter, then a short section)
    whose metadata is the ``co2_eq_emissions`` block of ``runs`` (summed): built by
    :mod:`wattprint.report._card`, the same code as the training callbacks' card."""
    from ._card import card_run_from_report, card_text, co2_eq_emissions

    block = co2_eq_emissions([card_run_from_report(r) for r in runs],
                             training_type=training_type)
    notes = ["emissions in grams CO2e, location-based (wattprint)"]
    if "training_type" not in block:
        notes.append("training_type omitted: pass --training-type pre-training|fine-tuning")
    if "geographical_location" not in block:
        notes.append("geographical_location omitted: no grid zone was set (world average "
                     "used); pass --zone")
    return card_text(block, comments=notes)


def eu_ai_act(runs: Sequence[ReportData], *, model: str | None = None) -> str:
    """Energy disclosure for the technical documentation of a general-purpose AI model
    (Regulation (EU) 2024/1689, Annex XI, Section 1: 2(d) computational resources and
    training time, 2(e) known or estimated energy consumption), in Markdown."""
    t = aggregate(runs)
    measured = t.basis == "measured"
    if measured:
        known = "Known (measured)"
        method = ("Measured: energy read from hardware energy counters during training "
                  "(cumulative counters differenced, or polled power integrated) by "
                  f"{runs[0].generator}.")
    elif t.basis == "mixed":
        known = f"Partly measured ({t.measured_fraction:.0%} of the energy), partly estimated"
        method = ("Measured where hardware counters were readable; the rest estimated from "
                  "device utilisation with published per-device power coefficients "
                  "(sensorless models), with the uncertainty range below.")
    else:
        known = "Estimated (no power sensor was readable)"
        method = ("Estimated: modelled from device utilisation (CPU time, memory in use) "
                  "with published per-device power coefficients; no hardware energy counter "
                  "was available. Range given below.")
    lines = [
        "## Energy consumption of training",
        "",
        "*For the technical documentation of a general-purpose AI model under Regulation "
        "(EU) 2024/1689 (AI Act), Annex XI, Section 1, points 2(d) (computational "
        "resources, training time) and 2(e) (known or estimated energy consumption).*",
        "",
        "| item | value |",
        "|---|---|",
    ]
    if model:
        lines.append(f"| model | {model} |")
    lines += [
        f"| runs covered | {len(runs)}: {', '.join(r.run['id'] for r in runs)} |",
        f"| training period | {min(r.run['started_at'] for r in runs)[:19]}Z to "
        f"{max((r.run['ended_at'] or r.run['started_at']) for r in runs)[:19]}Z |",
        f"| training time (wall clock, summed over runs) | {fmt_hours(t.duration_s)} |",
        f"| computational resources | {_hardware_text(t.hardware)} |",
    ]
    gpu_hours = sum(r.energy["device_hours"] for r in runs)
    if gpu_hours:
        lines.append(f"| accelerator-hours | {fmt_num(gpu_hours)} |")
    rng = f" (range {fmt_kwh(t.low_j)} to {fmt_kwh(t.high_j)})" if not measured else ""
    pues = ", ".join(sorted({format(r.energy["pue"], ".3g") for r in runs}))
    lines += [
        f"| energy used for training (IT equipment) | {fmt_kwh(t.energy_j)}{rng} |",
        f"| energy including data-centre overhead (PUE) | {fmt_kwh(t.facility_energy_j)} "
        f"(PUE {pues}) |",
        f"| known or estimated | {known} |",
        f"| measurement method | {method} |",
        f"| location (grid zone) | {', '.join(t.zones)} |",
        f"| emissions (location-based, informative) | {fmt_mass(t.co2e_location_g)} |",
    ]
    lines += [
        "",
        "**Scope.** Included: the energy of the devices listed above, attributed to the "
        "training process tree (or whole devices in machine mode), over the runs listed. "
        "Not included unless listed: networking, storage, other nodes not recorded in these "
        "runs, and runs not listed (experiments, failed or restarted runs) — add their run "
        "ids to cover them. Data-centre overhead enters only through the PUE shown.",
    ]
    for r in runs:
        if r.uncertainty:
            lines += ["", f"Run {r.run['id']}: {r.uncertainty['statement']}"]
        for dev in r.devices:
            if dev["counted"]:
                lines.append(f"- run {r.run['id']}, {dev['name']} ({dev['domain']}, "
                             f"{dev['kind']}): {fmt_kwh(dev['energy_j'])} — "
                             f"{md_cell(dev['source'])}")
    return "\n".join(lines) + "\n"
