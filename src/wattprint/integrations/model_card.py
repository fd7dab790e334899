"""The Hugging Face model card block for a training run's carbon: ``co2_eq_emissions`` in
the README.md front matter next to the saved model.

    from wattprint.integrations import write_model_card
    write_model_card("out/my-model", run.result, training_type="fine-tuning", zone="FR")

The block follows the Hub's model card metadata (emissions in grams of CO2e, source,
training_type, geographical_location, hardware_used). Emissions are location-based: the
run's facility energy × the grid intensity of its zone (:mod:`wattprint.accounting`, zone
from the argument, the configuration or ``WATTPRINT_ZONE``; with none, the world average,
which the block's comment and source say). An existing README.md keeps everything else:
only its ``co2_eq_emissions`` key is replaced. No YAML library is needed.
"""

from __future__ import annotations

import json
import os
import re
from typing import Any

from .._format import format_duration, format_energy
from ..result import RunResult

__all__ = ["co2_eq_emissions", "render_block", "merge_front_matter", "write_model_card",
           "TRAINING_TYPES"]

#: Values the Hub documents for ``training_type``.
TRAINING_TYPES = ("pre-training", "fine-tuning")
KEY = "co2_eq_emissions"
_COMMENT = "# wattprint:"


def _hardware(result: RunResult) -> str:
    groups: dict[tuple[str, str, str], int] = {}
    for d in result.devices:
        if not d.counted or d.domain not in ("gpu", "cpu", "accelerator"):
            continue
        key = (d.domain, d.device or d.name, d.kind)
        groups[key] = groups.get(key, 0) + 1
    parts = []
    for (domain, device, kind), n in sorted(groups.items()):
        prefix = f"{n} x " if domain != "cpu" or n > 1 else ""
        parts.append(f"{prefix}{device} ({kind})")
    return "; ".join(parts) or "unknown (no sensor or model was usable)"


def co2_eq_emissions(result: RunResult, accounting: Any, *,
                     training_type: str = "fine-tuning") -> dict[str, Any]:
    """The ``co2_eq_emissions`` mapping of a finished run and its accounting
    (:func:`wattprint.accounting.account` of the run's energy)."""
    from .. import __version__

    if training_type not in TRAINING_TYPES:
        from ..errors import UsageError

        raise UsageError(f"training_type={training_type!r}; the Hub documents "
                         f"{' or '.join(TRAINING_TYPES)}")
    intensity = accounting.intensity_location
    energy = ("measured" if result.basis == "measured" else
              "modelled from utilisation (no power sensors)" if result.basis == "modelled"
              else "partly measured, partly modelled")
    source = (f"wattprint {__version__}: energy {energy}, "
              f"{format_energy(accounting.facility_energy_kwh.value * 3.6e6, digits=4)} incl. PUE "
              f"{accounting.pue.value:g}; grid intensity {intensity.value:.0f} g/kWh from "
              f"{intensity.provenance.describe()}")
    zone = accounting.zone
    location = zone.label if zone.source != "default" else f"{zone.label} - no zone was set"
    return {"emissions": float(f"{accounting.co2e_location_g.value:.6g}"),
            "source": source, "training_type": training_type,
            "geographical_location": location, "hardware_used": _hardware(result)}


def render_block(block: dict[str, Any], result: RunResult | None = None) -> str:
    """YAML text of ``co2_eq_emissions`` (strings JSON-quoted, which YAML reads as is)."""
    lines = []
    if result is not None:
        ident = f" run {result.run_id}," if result.run_id else ""
        lines.append(f"{_COMMENT}{ident} {format_energy(result.energy_j, digits=4)} over "
                     f"{format_duration(result.duration_s)} [{result.basis}]")
    lines.append(f"{KEY}:")
    for key, value in block.items():
        text = json.dumps(value) if isinstance(value, str) else _yaml_number(value)
        lines.append(f"  {key}: {text}")
    return "\n".join(lines) + "\n"


def _yaml_number(value: float) -> str:
    """A float YAML 1.1 readers (PyYAML) also read as a number: ``5e-06`` is a string
    there, ``5.0e-06`` a float."""
    text = repr(float(value))
    mantissa, sep, exponent = text.partition("e")
    if sep and "." not in mantissa:
        text = f"{mantissa}.0e{exponent}"
    return text


_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?$\n?", re.S | re.M)


def merge_front_matter(text: str, block_yaml: str) -> str:
    """``text`` (a README.md) with ``block_yaml`` as its ``co2_eq_emissions``: an existing
    key (and wattprint's comment line above it) is replaced, the rest kept verbatim."""
    m = _FRONT.match(text)
    if m is None:
        return f"---\n{block_yaml}---\n" + ("\n" + text if text else "")
    body_lines = m.group(1).splitlines()
    kept: list[str] = []
    skipping = False
    for line in body_lines:
        if line.startswith(f"{KEY}:"):
            skipping = True
            if kept and kept[-1].startswith(_COMMENT):
                kept.pop()
            continue
        if skipping and (line[:1] in (" ", "\t") or not line.strip()):
            continue
        skipping = False
        kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    front = "\n".join(kept) + ("\n" if kept else "")
    return f"---\n{front}{block_yaml}---\n{text[m.end():]}"


def write_model_card(directory: str | os.PathLike[str], result: RunResult, *,
                     training_type: str = "fine-tuning", accounting: Any = None,
                     zone: str | None = None, pue: float | None = None,
                     filename: str = "README.md") -> str:
    """Write (or merge) the block into ``directory/README.md``; return the file's path.

    ``accounting`` defaults to accounting the run with ``zone``/``pue`` (else the
    configuration's)."""
    if accounting is None:
        from ._carbon import account_run

        accounting = account_run(result, zone=zone, pue=pue)
    block = render_block(co2_eq_emissions(result, accounting, training_type=training_type),
                         result)
    directory = os.fspath(directory)
    os.makedirs(directory, exist_ok=True)
    path = os.path.join(directory, filename)
    existing = ""
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            existing = f.read()
    else:
        existing = ("## Environmental impact\n\nThe energy and carbon above were measured "
                    "with [wattprint](https://pypi.org/project/wattprint/) during training; "
                    "`source` says whether the energy was measured or modelled and where "
                    "the grid intensity comes from.\n")
    with open(path, "w", encoding="utf-8") as f:
        f.write(merge_front_matter(existing, block))
    return path
