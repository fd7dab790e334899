"""Energy units for humans: parse ``"1287MWh"`` / ``"1.28 TWh"`` / ``"5e9 J"``, format joules back.

Joules are the package's internal unit (``energy_j``); kilowatt-hours the unit of every
grid, price and water factor (``*_per_kwh``). The constants here are exact by definition
(1 Wh = 3,600 J; 1 lb = 0.45359237 kg, international avoirdupois pound; 1 mile = 1.609344 km).
"""

from __future__ import annotations

import math
import re

from .errors import UsageError

__all__ = [
    "J_PER_WH", "J_PER_KWH", "G_PER_LB", "KM_PER_MILE", "ENERGY_UNITS",
    "parse_energy", "format_energy", "j_to_kwh", "kwh_to_j",
    "lb_per_mwh_to_g_per_kwh", "round_sig", "format_count",
]

J_PER_WH = 3_600.0
J_PER_KWH = 3_600_000.0
G_PER_LB = 453.59237
KM_PER_MILE = 1.609344

#: unit symbol → joules per unit. Case matters first ("mWh" is not "MWh"); see parse_energy.
ENERGY_UNITS: dict[str, float] = {
    "J": 1.0, "kJ": 1e3, "MJ": 1e6, "GJ": 1e9, "TJ": 1e12, "PJ": 1e15,
    "Wh": J_PER_WH, "kWh": 1e3 * J_PER_WH, "MWh": 1e6 * J_PER_WH, "GWh": 1e9 * J_PER_WH,
    "TWh": 1e12 * J_PER_WH, "PWh": 1e15 * J_PER_WH,
}
#: Lower-case spellings people type. "mwh" and "mj" mean mega here: milli-watt-hours are not
#: a unit anyone accounts AI energy in, and the exact-case table is tried first.
_LOWER = {k.lower(): v for k, v in ENERGY_UNITS.items()}
_NUMBER = re.compile(r"^\s*([-+]?(?:\d[\d,_]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z·]*)\s*$")
_LADDER = ("Wh", "kWh", "MWh", "GWh", "TWh", "PWh")


def parse_energy(text: str | float | int, *, default_unit: str | None = None) -> float:
    """Joules in ``text``: ``"1287MWh"``, ``"1,287 MWh"``, ``"1.28 TWh"``, ``"5e9 J"``.

    A bare number is refused (its unit would be a guess) unless ``default_unit`` names one.
    Raises :class:`~wattprint.errors.UsageError` naming the accepted units.
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if default_unit is None:
            raise UsageError(f"energy {text!r} has no unit; write e.g. '{text} kWh'")
        text = f"{text}{default_unit}"
    match = _NUMBER.match(str(text))
    if not match:
        raise UsageError(f"cannot read {text!r} as an energy; write a number and a unit, "
                         f"e.g. '1287 MWh', '1.28 TWh', '350 kWh' or '5e9 J'")
    number, unit = match.group(1).replace(",", "").replace("_", ""), match.group(2)
    unit = unit.replace("·", "")
    if not unit:
        if default_unit is None:
            raise UsageError(f"energy {text!r} has no unit; write e.g. '{number} kWh' "
                             f"(units: {', '.join(ENERGY_UNITS)})")
        unit = default_unit
    factor = ENERGY_UNITS.get(unit, _LOWER.get(unit.lower()))
    if factor is None:
        raise UsageError(f"unknown energy unit {unit!r} in {text!r}; "
                         f"use one of {', '.join(ENERGY_UNITS)}")
    value = float(number) * factor
    if not math.isfinite(value) or value < 0:
        raise UsageError(f"energy must be a finite, non-negative amount, got {text!r}")
    return value


def j_to_kwh(energy_j: float) -> float:
    return energy_j / J_PER_KWH


def kwh_to_j(energy_kwh: float) -> float:
    return energy_kwh * J_PER_KWH


def lb_per_mwh_to_g_per_kwh(value_lb_per_mwh: float) -> float:
    """Emission rates as eGRID and WattTime publish them (lb/MWh) in g/kWh (× 0.45359237)."""
    return value_lb_per_mwh * G_PER_LB / 1000.0


def energy_ladder(energy_j: float) -> tuple[float, str]:
    """(value, unit) with the Wh-family unit that puts the value in [1, 1000) where possible."""
    wh = energy_j / J_PER_WH
    unit_index = 0
    while unit_index < len(_LADDER) - 1 and abs(wh) >= 1000:
        wh /= 1000
        unit_index += 1
    return wh, _LADDER[unit_index]


def format_energy(energy_j: float, *, digits: int = 4) -> str:
    """``"1.287 GWh"``: the Wh-family unit that reads best, ``digits`` significant figures."""
    if energy_j and abs(energy_j) < J_PER_WH:
        return f"{energy_j:.{digits}g} J"
    value, unit = energy_ladder(energy_j)
    return f"{value:.{digits}g} {unit}"


def round_sig(value: float, sig: int = 2) -> float:
    """``value`` rounded to ``sig`` significant figures (6,435 → 6,400)."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, sig - 1 - int(math.floor(math.log10(abs(value)))))


def format_count(value: float, sig: int = 2) -> str:
    """A count as a journalist quotes it: 6,435 → ``"6,400"``; 58,500,000 → ``"58 million"``."""
    rounded = round_sig(value, sig)
    for size, word in ((1e12, "trillion"), (1e9, "billion"), (1e6, "million")):
        if abs(rounded) >= size:
            scaled = rounded / size
            decimals = max(0, sig - 1 - int(math.log10(abs(scaled))))
            return f"{scaled:,.{decimals}f} {word}"
    if abs(rounded) >= 1:
        decimals = max(0, sig - 1 - int(math.floor(math.log10(abs(rounded)))))
        return f"{rounded:,.{decimals}f}"
    return f"{rounded:.{sig}g}"
