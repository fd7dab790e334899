"""Units for humans: parse ``"1287MWh"`` / ``"1.28 TWh"`` / ``"5e9 J"``, format joules back
(the formatters live in :mod:`wattprint._format`, one per quantity, and are re-exported here);
also counts (``"175B"`` parameters, ``"300B tokens"``), durations (``"14.8d"``), powers
(``"400W"``) and masses of CO2e (``"552 tCO2e"``) as the estimator's inputs are written.

Joules are the package's internal unit (``energy_j``); kilowatt-hours the unit of every
grid, price and water factor (``*_per_kwh``). The constants here are exact by definition
(1 Wh = 3,600 J; 1 lb = 0.45359237 kg, international avoirdupois pound; 1 mile = 1.609344 km).
"""

from __future__ import annotations

import math
import re

from ._format import (format_duration, format_energy, format_flop, format_mass, format_money,
                      format_number, format_power, format_water)
from .errors import UsageError

__all__ = [
    "J_PER_WH", "J_PER_KWH", "G_PER_LB", "KM_PER_MILE", "ENERGY_UNITS",
    "parse_energy", "format_energy", "j_to_kwh", "kwh_to_j",
    "lb_per_mwh_to_g_per_kwh", "round_sig", "format_count",
    "parse_count", "count_suffix", "parse_duration", "parse_power", "parse_mass_co2e",
    "format_duration", "format_mass", "format_power", "format_water", "format_money",
    "format_number", "format_flop",
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


def _q(text: object) -> str:
    from .inputs import echo  # a 400-digit number is not echoed in full

    return echo(text)


def parse_energy(text: str | float | int, *, default_unit: str | None = None) -> float:
    """Joules in ``text``: ``"1287MWh"``, ``"1,287 MWh"``, ``"1.28 TWh"``, ``"5e9 J"``.

    A bare number is refused (its unit would be a guess) unless ``default_unit`` names one.
    Raises :class:`~wattprint.errors.UsageError` naming the accepted units.
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if default_unit is None:
            raise UsageError(f"energy {_q(text)} has no unit; write e.g. '{text} kWh'")
        text = f"{text}{default_unit}"
    match = _NUMBER.match(str(text))
    if not match:
        raise UsageError(f"cannot read {_q(text)} as an energy; write a number and a unit, "
                         f"e.g. '1287 MWh', '1.28 TWh', '350 kWh' or '5e9 J'")
    number, unit = match.group(1).replace(",", "").replace("_", ""), match.group(2)
    unit = unit.replace("·", "")
    if not unit:
        if default_unit is None:
            raise UsageError(f"energy {_q(text)} has no unit; write e.g. '{number} kWh' "
                             f"(units: {', '.join(ENERGY_UNITS)})")
        unit = default_unit
    factor = ENERGY_UNITS.get(unit, _LOWER.get(unit.lower()))
    if factor is None:
        raise UsageError(f"unknown energy unit {unit!r} in {_q(text)}; "
                         f"use one of {', '.join(ENERGY_UNITS)}")
    value = float(number) * factor
    if not math.isfinite(value) or value < 0:
        raise UsageError(f"energy must be a finite, non-negative amount, got {_q(text)}")
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


def round_sig(value: float, sig: int = 2) -> float:
    """``value`` rounded to ``sig`` significant figures (6,435 → 6,400)."""
    if value == 0 or not math.isfinite(value):
        return value
    return round(value, sig - 1 - int(math.floor(math.log10(abs(value)))))


def format_count(value: float, sig: int = 2) -> str:
    """A count as a journalist quotes it: 6,435 → ``"6,400"``; 58,500,000 → ``"58 million"``."""
    return format_number(value, digits=sig)


# --- counts, durations, powers, masses (the estimator's inputs) -------------------------------

#: count suffix → multiplier. Upper-case B (billion) and T (trillion) as model cards write
#: them; "bn" and the words too. Lower-case "m" is million here (no one writes milli-params).
_COUNT_SUFFIX = {
    "": 1.0, "k": 1e3, "K": 1e3, "thousand": 1e3,
    "M": 1e6, "m": 1e6, "mn": 1e6, "million": 1e6,
    "B": 1e9, "b": 1e9, "bn": 1e9, "G": 1e9, "billion": 1e9,
    "T": 1e12, "t": 1e12, "tn": 1e12, "trillion": 1e12,
    "P": 1e15, "quadrillion": 1e15,
}
#: Words that may follow a count and say what is counted; ignored.
_COUNT_NOUNS = ("parameters", "parameter", "params", "param", "tokens", "token", "tok",
                "requests", "request", "req", "queries", "query", "flops", "flop")
_COUNT = re.compile(r"^\s*([-+]?(?:\d[\d,_]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*([A-Za-z]*)\s*$")


def _split_count(text: object) -> tuple[str, str] | None:
    """(number, multiplier suffix) of a written count, the trailing noun dropped; None when
    it is not a count."""
    t = str(text).strip()
    for noun in _COUNT_NOUNS:
        if t.lower().endswith(noun) and not t[:-len(noun)].rstrip().endswith(("e", "E")):
            t = t[: -len(noun)].rstrip()
            break
    m = _COUNT.match(t)
    if not m or m.group(2) not in _COUNT_SUFFIX:
        return None
    return m.group(1).replace(",", "").replace("_", ""), m.group(2)


def count_suffix(text: str | float | int) -> str:
    """The multiplier a count was written with: ``"B"`` for ``"70B"``, ``"billion"`` for
    ``"70 billion params"``, ``""`` for ``"70"``, ``"7e9"`` or a number."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return ""
    split = _split_count(text)
    return split[1] if split else ""


def parse_count(text: str | float | int, *, what: str = "count") -> float:
    """A count as people write it: ``"175B"``, ``"1.8T"``, ``"7e9"``, ``"560M"``,
    ``"300B tokens"``, ``"175 billion"``, ``"1,000"``. ``what`` names it in errors."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        try:
            value = float(text)
        except OverflowError:  # an int too large for a float
            value = math.inf
    else:
        split = _split_count(text)
        if split is None:
            raise UsageError(f"cannot read {_q(text)} as a {what}; write e.g. '175B', '7e9', "
                             "'1.8T', '560M' or '300B tokens'")
        value = float(split[0]) * _COUNT_SUFFIX[split[1]]
    if not math.isfinite(value) or value < 0:
        raise UsageError(f"{what} must be a finite, non-negative number, got {_q(text)}")
    return value


#: duration unit → seconds. "m" is minutes (as in ``wattprint runs --since 30m``); months
#: are "mo" (30.44 days, a twelfth of a Julian year); years are Julian years.
_DURATION_UNITS = {
    "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
    "m": 60.0, "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0,
    "d": 86400.0, "day": 86400.0, "days": 86400.0,
    "w": 604800.0, "wk": 604800.0, "week": 604800.0, "weeks": 604800.0,
    "mo": 2629800.0, "month": 2629800.0, "months": 2629800.0,
    "y": 31557600.0, "yr": 31557600.0, "year": 31557600.0, "years": 31557600.0,
}


def parse_duration(text: str | float | int, *, default_unit: str | None = None) -> float:
    """Seconds in ``"14.8d"``, ``"36h"``, ``"3w"``, ``"90 days"``, ``"5mo"``, ``"45min"``.

    A bare number is refused unless ``default_unit`` names a unit (``"h"``, ``"d"``...).
    """
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if default_unit is None:
            raise UsageError(f"duration {_q(text)} has no unit; write e.g. '{text}d' or "
                             f"'{text}h'")
        text = f"{text}{default_unit}"
    m = _NUMBER.match(str(text).replace("~", ""))
    unit = (m.group(2) if m else "") or (default_unit or "")
    if not m or unit.lower() not in _DURATION_UNITS:
        raise UsageError(f"cannot read {_q(text)} as a duration; write e.g. '14.8d', '36h', "
                         "'3w', '90 days' or '45min'")
    value = float(m.group(1).replace(",", "").replace("_", "")) * _DURATION_UNITS[unit.lower()]
    if not math.isfinite(value) or value < 0:
        raise UsageError(f"duration must be finite and non-negative, got {_q(text)}")
    return value


_POWER_UNITS = {"W": 1.0, "kW": 1e3, "MW": 1e6, "GW": 1e9, "mW": 1e-3}


def parse_power(text: str | float | int, *, default_unit: str | None = None) -> float:
    """Watts in ``"400W"``, ``"0.4 kW"``, ``"10.2kW"``, ``"1.5 MW"``."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if default_unit is None:
            raise UsageError(f"power {_q(text)} has no unit; write e.g. '{text} W'")
        text = f"{text}{default_unit}"
    m = _NUMBER.match(str(text))
    unit = (m.group(2) if m else "") or (default_unit or "")
    factor = _POWER_UNITS.get(unit, {k.lower(): v for k, v in _POWER_UNITS.items()
                                     if k != "mW"}.get(unit.lower()))
    if not m or factor is None:
        raise UsageError(f"cannot read {_q(text)} as a power; write e.g. '400W', '0.4kW' or "
                         "'1.5MW'")
    value = float(m.group(1).replace(",", "").replace("_", "")) * factor
    if not math.isfinite(value) or value < 0:
        raise UsageError(f"power must be finite and non-negative, got {_q(text)}")
    return value


#: mass unit → grams (CO2e). "t" is the metric tonne; lb is the international pound.
_MASS_UNITS = {"g": 1.0, "kg": 1e3, "t": 1e6, "tonne": 1e6, "tonnes": 1e6, "ton": 1e6,
               "tons": 1e6, "kt": 1e9, "mt": 1e12, "gt": 1e15, "lb": G_PER_LB,
               "lbs": G_PER_LB}
_MASS = re.compile(r"^\s*([-+]?(?:\d[\d,_]*\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*"
                   r"([A-Za-z]*)\s*(?:co2\s*e?q?|co2e|co₂e?)?\s*$", re.I)


def parse_mass_co2e(text: str | float | int, *, default_unit: str | None = None) -> float:
    """Grams of CO2e in ``"552 tCO2e"``, ``"552 t"``, ``"284,000 kg CO2e"``,
    ``"626,155 lbs"``. "t"/"tonne" are metric tonnes; "Mt" is megatonnes."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        if default_unit is None:
            raise UsageError(f"mass {_q(text)} has no unit; write e.g. '{text} tCO2e'")
        text = f"{text}{default_unit}"
    m = _MASS.match(str(text))
    unit = (m.group(2) if m else "") or (default_unit or "")
    if not m or unit.lower() not in _MASS_UNITS:
        raise UsageError(f"cannot read {_q(text)} as a mass of CO2e; write e.g. '552 tCO2e', "
                         "'284 kg' or '626,155 lbs'")
    value = float(m.group(1).replace(",", "").replace("_", "")) * _MASS_UNITS[unit.lower()]
    if not math.isfinite(value) or value < 0:
        raise UsageError(f"a mass of CO2e must be finite and non-negative, got {_q(text)}")
    return value
