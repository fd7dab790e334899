"""The Hugging Face model card's ``co2_eq_emissions`` block: the one implementation behind
``wattprint report --format model-card`` and the training callbacks' model card
(:func:`wattprint.integrations.write_model_card`).

A run enters as a :class:`CardRun` (from a ledger report, :func:`card_run_from_report`,
or from a finished run and its accounting, :func:`card_run_from_result`), so both give
the same block for the same run. The block holds the keys the Hub documents
(https://huggingface.co/docs/hub/model-cards-co2): ``emissions`` in grams of CO2e
(location-based, facility energy), ``source``, ``training_type`` (when known),
``geographical_location`` (the grid zone's place; absent when no zone was set and the
world average was used, which ``source`` then says) and ``hardware_used``.

Cards are written and merged with ``huggingface_hub``'s card API (:class:`ModelCard`)
when it is installed, and with a small front-matter merger otherwise; both leave every
other key and the Markdown body as they were.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, Sequence

from ..result import basis_of

__all__ = ["CardRun", "card_run_from_report", "card_run_from_result", "co2_eq_emissions",
           "block_yaml", "card_text", "merge_card", "read_block", "MODEL_CARD_KEYS",
           "TRAINING_TYPES", "KEY", "DEFAULT_BODY"]

KEY = "co2_eq_emissions"
#: Keys of the block that Hugging Face documents, in its order.
MODEL_CARD_KEYS = ("emissions", "source", "training_type", "geographical_location",
                   "hardware_used")
#: Values the Hub documents for ``training_type``.
TRAINING_TYPES = ("pre-training", "fine-tuning")
DEFAULT_BODY = ("## Environmental impact\n\nThe energy and carbon in this card's metadata "
                "(`co2_eq_emissions`) were measured with wattprint (`pip install wattprint`) "
                "during training; `source` says whether the energy was measured or modelled "
                "and where the grid intensity comes from.\n")


@dataclass(frozen=True)
class CardRun:
    """What the block needs from one run."""

    run_id: str | None
    co2e_location_g: float
    energy_j: float
    measured_fraction: float
    basis: str  # measured | modelled | mixed
    intensity_source: str
    zone: dict[str, Any]  # accounting.zones.Zone.to_dict()
    hardware: list[dict[str, Any]] = field(default_factory=list)  # hardware_groups rows
    training_type: str | None = None
    generator: str = ""


def card_run_from_report(d: Any) -> CardRun:
    """From a :class:`wattprint.report.ReportData` (a ledger run)."""
    return CardRun(run_id=d.run["id"], co2e_location_g=d.carbon["co2e_location_g"],
                   energy_j=d.energy["energy_j"],
                   measured_fraction=d.energy["measured_fraction"], basis=d.basis,
                   intensity_source=d.carbon["source"], zone=d.carbon["zone"],
                   hardware=list(d.hardware), training_type=d.training_type,
                   generator=d.generator)


def card_run_from_result(result: Any, accounting: Any,
                         training_type: str | None = None) -> CardRun:
    """From a finished :class:`wattprint.RunResult` and its accounting
    (:func:`wattprint.accounting.account` of its energy)."""
    from .. import __version__
    from ._data import hardware_groups

    return CardRun(run_id=result.run_id, co2e_location_g=accounting.co2e_location_g.value,
                   energy_j=result.energy_j, measured_fraction=result.measured_fraction,
                   basis=result.basis,
                   intensity_source=accounting.intensity_location.provenance.describe(),
                   zone=accounting.zone.to_dict(), hardware=hardware_groups(result.devices),
                   training_type=training_type, generator=f"wattprint {__version__}")


def _check_training_type(training_type: str | None) -> None:
    if training_type is not None and training_type not in TRAINING_TYPES:
        from ..errors import UsageError

        raise UsageError(f"training_type={training_type!r}: the Hub documents "
                         f"{' or '.join(TRAINING_TYPES)}; pass one of them")


def _basis_text(runs: Sequence[CardRun]) -> str:
    basis = basis_of(r.basis for r in runs)
    if basis == "measured":
        return "measured energy"
    if basis == "modelled":
        return "modelled energy (no power sensor)"
    total = sum(r.energy_j for r in runs)
    measured = sum(r.energy_j * r.measured_fraction for r in runs) / total if total else 0.0
    return f"energy {measured:.0%} measured, rest modelled"


def _location(runs: Sequence[CardRun]) -> str | None:
    """The places of the runs' grid zones; None when any run had no zone (world average):
    the key is then left out rather than naming a place nobody trained in."""
    names: list[str] = []
    for r in runs:
        z = r.zone
        if z.get("source") == "default" or z.get("key") == "WORLD":
            return None
        text = z.get("name") or z["key"]
        if z.get("cloud_region"):
            text = f"{z['cloud_region']} ({text})"
        if text not in names:
            names.append(text)
    return "; ".join(names) or None


def _hardware(runs: Sequence[CardRun]) -> str:
    """``2 x NVIDIA A100 (measured); 1 x AMD EPYC 9654 (modelled)``: the largest count of
    each device in any one run; the kind said once, even when the name carries it."""
    best: dict[tuple[str, str, str], int] = {}
    for r in runs:
        for g in r.hardware:
            if g["domain"] not in ("gpu", "cpu", "accelerator"):
                continue
            key = (g["domain"], g["device"], g["kind"])
            best[key] = max(best.get(key, 0), int(g["count"]))
    order = {"gpu": 0, "accelerator": 1, "cpu": 2}
    parts = []
    for (domain, device, kind), n in sorted(best.items(),
                                            key=lambda kv: (order[kv[0][0]], kv[0][1])):
        label = "measured" if kind == "measured" else "modelled"
        shown = device if label in device else f"{device} ({label})"
        parts.append(f"{n} x {shown}")
    return "; ".join(parts) or "unknown (no sensor or model was usable)"


def _round(value: float) -> float:
    from ..units import round_sig

    return float(round_sig(float(value), 6))


def co2_eq_emissions(runs: Sequence[CardRun], *,
                     training_type: str | None = None) -> dict[str, Any]:
    """The block of one or several runs (the runs that together trained one model:
    emissions summed). ``training_type`` wins over the runs' own."""
    if not runs:
        from ..errors import UsageError

        raise UsageError("a model card needs at least one run")
    _check_training_type(training_type)
    training_type = training_type or next((r.training_type for r in runs
                                           if r.training_type), None)
    _check_training_type(training_type)
    intensity = "; ".join(sorted({r.intensity_source for r in runs}))
    ids = ", ".join(r.run_id for r in runs if r.run_id)
    source = (f"{runs[0].generator or 'wattprint'}: {_basis_text(runs)} x PUE x "
              f"location-based grid intensity ({intensity})")
    if any(r.zone.get("source") == "default" for r in runs):
        source += "; no grid zone was set, so the world average was used"
    if ids:
        source += f"; {'run' if len(runs) == 1 else 'runs'} {ids}"
    block: dict[str, Any] = {"emissions": _round(sum(r.co2e_location_g for r in runs)),
                             "source": source}
    if training_type:
        block["training_type"] = training_type
    location = _location(runs)
    if location:
        block["geographical_location"] = location
    block["hardware_used"] = _hardware(runs)
    return block


# -- text ---------------------------------------------------------------------------------
def _yaml_number(value: float) -> str:
    """A plain decimal (never exponent notation, which YAML 1.1 may read as a string)."""
    text = format(Decimal(repr(float(value))), "f")
    return text if "." in text else text + ".0"


def block_yaml(block: dict[str, Any], comments: Sequence[str] = ()) -> str:
    """``co2_eq_emissions:`` and its keys as YAML (strings JSON-quoted, which YAML reads
    as is), after ``comments`` as ``# …`` lines."""
    lines = [f"# {c}" for c in comments] + [f"{KEY}:"]
    for key, value in block.items():
        text = json.dumps(value) if isinstance(value, str) else _yaml_number(value)
        lines.append(f"  {key}: {text}")
    return "\n".join(lines) + "\n"


def card_text(block: dict[str, Any], body: str = DEFAULT_BODY,
              comments: Sequence[str] = ()) -> str:
    """A new model card: the block in ``---`` front matter, then ``body``
    (``ModelCard.load`` reads it)."""
    return f"---\n{block_yaml(block, comments)}---\n\n{body}"


_FRONT = re.compile(r"\A---[ \t]*\r?\n(.*?)^---[ \t]*\r?$\n?", re.S | re.M)


def _hub_card() -> Any:
    try:
        from huggingface_hub import ModelCard
    except ImportError:
        return None
    return ModelCard


def merge_card(text: str, block: dict[str, Any]) -> str:
    """``text`` (an existing README.md) with ``block`` as its ``co2_eq_emissions``; every
    other metadata key and the body kept."""
    if not text.strip():
        return card_text(block)
    model_card = _hub_card()
    if model_card is not None:
        card = model_card(text, ignore_metadata_errors=True)
        card.data.co2_eq_emissions = dict(block)
        return str(card)
    return _merge_front_matter(text, block_yaml(block))


def read_block(text: str) -> dict[str, Any] | None:
    """The ``co2_eq_emissions`` of a README's front matter, or None."""
    model_card = _hub_card()
    if model_card is not None:
        if not _FRONT.match(text):
            return None
        value = model_card(text, ignore_metadata_errors=True).data.to_dict().get(KEY)
        return dict(value) if isinstance(value, dict) else None
    return _read_front_block(text)


# -- the stdlib fallback -----------------------------------------------------------------
def _merge_front_matter(text: str, yaml_text: str) -> str:
    m = _FRONT.match(text)
    if m is None:
        return f"---\n{yaml_text}---\n" + ("\n" + text if text else "")
    kept: list[str] = []
    skipping = False
    for line in m.group(1).splitlines():
        if line.startswith(f"{KEY}:"):
            skipping = True
            continue
        if skipping and (line[:1] in (" ", "\t") or not line.strip()):
            continue
        skipping = False
        kept.append(line)
    while kept and not kept[-1].strip():
        kept.pop()
    front = "\n".join(kept) + ("\n" if kept else "")
    return f"---\n{front}{yaml_text}---\n{text[m.end():]}"


def _read_front_block(text: str) -> dict[str, Any] | None:
    """Reads back what :func:`block_yaml` writes (one level, JSON strings, numbers)."""
    m = _FRONT.match(text)
    if m is None:
        return None
    out: dict[str, Any] | None = None
    for line in m.group(1).splitlines():
        if line.startswith(f"{KEY}:"):
            out = {}
            continue
        if out is None:
            continue
        if not line[:1] in (" ", "\t"):
            break
        key, _, value = line.strip().partition(":")
        value = value.strip()
        try:
            out[key] = json.loads(value)
        except ValueError:
            out[key] = value.strip("'")
    return out
