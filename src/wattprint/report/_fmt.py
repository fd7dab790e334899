"""Numbers as reports print them: the shared formatters of :mod:`wattprint._format`
(energy, CO2e mass, duration) under the names the report modules use, and Markdown cells."""

from __future__ import annotations

from .._format import energy_scale, format_duration, format_energy, format_mass, format_number

__all__ = ["fmt_kwh", "fmt_mass", "fmt_hours", "fmt_num", "md_cell", "energy_scale"]


def fmt_kwh(energy_j: float | None) -> str:
    """``"1.29 MWh"``: energy in the unit that reads best (``"unknown"`` when missing)."""
    return format_energy(energy_j)


def fmt_mass(grams: float | None) -> str:
    """``"552 t CO2e"``."""
    return format_mass(grams, co2e=True)


def fmt_hours(seconds: float | None) -> str:
    """``"1.5 h"``, ``"12 min"``, ``"14.8 days"``."""
    return format_duration(seconds)


def fmt_num(value: float | None, digits: int = 4) -> str:
    """A plain figure (per-unit energy, GPU-hours, a ratio): ``"1,234"``, ``"0.0123"``."""
    return format_number(value, digits=digits)


def md_cell(text: object) -> str:
    """A value safe inside a Markdown table cell or a one-line sentence."""
    return " ".join(str(text).split()).replace("|", "\\|")
