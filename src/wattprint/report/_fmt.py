"""Numbers as reports print them: energy in the Wh family, CO2e masses, durations."""

from __future__ import annotations

__all__ = ["fmt_kwh", "fmt_mass", "fmt_hours", "md_cell", "energy_scale"]


def energy_scale(max_j: float) -> tuple[float, str]:
    """(joules per unit, unit) for an axis whose largest value is ``max_j`` joules."""
    for size, unit in ((3.6e9, "MWh"), (3.6e6, "kWh"), (3600.0, "Wh")):
        if max_j >= size:
            return size, unit
    return 1.0, "J"


def fmt_kwh(energy_j: float | None) -> str:
    if energy_j is None:
        return "unknown"
    kwh = energy_j / 3.6e6
    if abs(kwh) >= 1000:
        return f"{kwh / 1000:,.3g} MWh"
    if abs(kwh) >= 1:
        return f"{kwh:,.3g} kWh"
    if abs(kwh) >= 1e-3:
        return f"{kwh * 1000:,.3g} Wh"
    return f"{energy_j:,.4g} J"


def fmt_mass(grams: float | None) -> str:
    if grams is None:
        return "unknown"
    if grams >= 1e6:
        return f"{grams / 1e6:,.3g} t CO2e"
    if grams >= 1e3:
        return f"{grams / 1e3:,.3g} kg CO2e"
    if grams >= 1:
        return f"{grams:,.3g} g CO2e"
    return f"{grams * 1000:,.3g} mg CO2e"


def fmt_hours(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    if seconds >= 3600:
        return f"{seconds / 3600:,.3g} h"
    if seconds >= 60:
        return f"{seconds / 60:,.3g} min"
    return f"{seconds:,.3g} s"


def md_cell(text: object) -> str:
    """A value safe inside a Markdown table cell or a one-line sentence."""
    return " ".join(str(text).split()).replace("|", "\\|")
