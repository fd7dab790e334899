"""Numbers for people: one formatter per quantity, used by every human-facing text
(CLI tables, live line, reports, statements, model-card comments, summaries).

Each formatter picks the unit that reads best from one ladder, rounds to ``digits``
significant figures (3 by default) and writes the number in plain decimal notation with
thousands separators, trailing zeros dropped::

    format_energy(4.6e9)        -> "1.28 MWh"
    format_power(312.46)        -> "312 W"
    format_duration(5400)       -> "1.5 h"
    format_mass(1200)           -> "1.2 kg"        (grams in; ``co2e=True`` adds " CO2e")
    format_water(2500)          -> "2.5 m³"        (litres in)
    format_money(1234.5, "EUR") -> "1,234.50 EUR"
    format_limit(1e16)          -> "10¹⁶"          (a limit: every digit, powers of ten)

Rules every formatter keeps (tested with hypothesis in ``tests/test_format.py``):

* never scientific notation, never more than about 20 characters;
* below a millionth of the smallest unit: ``"< 0.000001 J"``;
* from a million of the largest unit: words, ``"3.6 million TWh"``, ``"1.2 billion m³"``;
  from 10^15 of it: ``"> 1,000 trillion TWh"`` (a bound, never a 300-digit number);
* ``None`` or a non-finite value (NaN, ±inf) is written ``missing`` (``"unknown"`` unless
  the caller asks for ``"-"``); a non-finite value is also logged, since it is a bug
  upstream: no figure may carry it.

Machine-readable outputs (JSON, CSV, metric values) never go through these: they keep raw
numbers in base units (``energy_j``, ``duration_s`` ...).
"""

from __future__ import annotations

import logging
import math
from typing import NamedTuple, Sequence

__all__ = ["format_energy", "format_power", "format_duration", "format_mass",
           "format_water", "format_money", "format_number", "format_limit", "format_flop",
           "energy_scale",
           "Step",
           "ENERGY_STEPS", "POWER_STEPS", "DURATION_STEPS", "MASS_STEPS", "WATER_STEPS",
           "SMALLEST", "WORDS", "CAP"]

log = logging.getLogger("wattprint")


class Step(NamedTuple):
    """One rung of a unit ladder: ``size`` base units per ``unit``, used from ``start``
    base units on (``start`` defaults to ``size``; years start at two years)."""

    size: float
    unit: str
    start: float = 0.0
    singular: str = ""

    @property
    def threshold(self) -> float:
        return self.start or self.size


#: Joules. The Wh family above one watt-hour (grid, price and water factors are per kWh).
ENERGY_STEPS: Sequence[Step] = (
    Step(1.0, "J"), Step(3.6e3, "Wh"), Step(3.6e6, "kWh"), Step(3.6e9, "MWh"),
    Step(3.6e12, "GWh"), Step(3.6e15, "TWh"))
#: Watts.
POWER_STEPS: Sequence[Step] = (Step(1.0, "W"), Step(1e3, "kW"), Step(1e6, "MW"),
                               Step(1e9, "GW"))
#: Seconds. Years (Julian, 365.25 days) only from two years on: "400 days" reads better.
DURATION_STEPS: Sequence[Step] = (
    Step(1.0, "s"), Step(60.0, "min"), Step(3600.0, "h"),
    Step(86400.0, "days", singular="day"),
    Step(31557600.0, "years", start=2 * 31557600.0, singular="year"))
#: Grams (of CO2e). "t" is the metric tonne.
MASS_STEPS: Sequence[Step] = (Step(1e-3, "mg"), Step(1.0, "g"), Step(1e3, "kg"),
                              Step(1e6, "t"), Step(1e9, "kt"), Step(1e12, "Mt"))
#: Litres.
WATER_STEPS: Sequence[Step] = (Step(1e-3, "mL"), Step(1.0, "L"), Step(1e3, "m³"))

#: Values under this many of the smallest unit are written as a bound: "< 0.000001 J".
SMALLEST = 1e-6
#: Words for large multiples of the largest unit.
WORDS = ((1e6, "million"), (1e9, "billion"), (1e12, "trillion"))
#: From this many of the largest unit on, a bound: "> 1,000 trillion TWh".
CAP = 1e15


def _round_sig(value: float, digits: int) -> float:
    """``value`` (> 0, finite) rounded to ``digits`` significant figures."""
    return round(value, digits - 1 - math.floor(math.log10(value)))


def _plain(value: float, digits: int, *, min_decimals: int = 0) -> str:
    """``value`` (>= 0, already rounded) in fixed-point notation with thousands separators
    and no trailing zeros beyond ``min_decimals``."""
    if value == 0:
        return "0" if not min_decimals else f"{0:.{min_decimals}f}"
    decimals = max(min_decimals, digits - 1 - math.floor(math.log10(value)))
    text = f"{value:,.{decimals}f}"
    if "." in text and decimals > min_decimals:
        whole, frac = text.split(".")
        frac = frac.rstrip("0")
        if len(frac) < min_decimals:
            frac = frac.ljust(min_decimals, "0")
        text = f"{whole}.{frac}" if frac else whole
    return text


def _unknown(value: float | None, what: str, missing: str) -> str:
    if value is not None:
        log.warning("a non-finite %s (%r) reached a formatter; shown as %r",
                    what, value, missing)
    return missing


def _words(value: float, unit: str, digits: int) -> str:
    """``value`` (in the largest unit; a million or just under, which rounds to it) as
    "3.6 million TWh", or the cap."""
    index = max((i for i, (size, _) in enumerate(WORDS) if value >= size), default=0)
    while value < CAP:
        size, word = WORDS[index]
        scaled = _round_sig(value / size, digits)
        if scaled < 1000 or index + 1 == len(WORDS):  # just under the cap: "1,000 trillion"
            return f"{_plain(scaled, digits)} {word} {unit}"
        index += 1
    return f"> {_plain(CAP / WORDS[-1][0], digits)} {WORDS[-1][1]} {unit}"


def format_scaled(value: float | None, steps: Sequence[Step], *, digits: int = 3,
                  missing: str = "unknown", what: str = "value") -> str:
    """``value`` (in the ladder's base unit) in the unit of ``steps`` that reads best.
    The shared rule behind every ``format_*`` here; see the module docstring."""
    if value is None or not math.isfinite(value):
        return _unknown(value, what, missing)
    if value < 0:
        text = format_scaled(-value, steps, digits=digits, missing=missing, what=what)
        return ("> -" + text[2:] if text.startswith("< ") else
                "< -" + text[2:] if text.startswith("> ") else "-" + text)
    if value == 0:
        base = next((s for s in steps if s.size == 1.0), steps[0])
        return f"0 {base.unit}"
    index = 0
    for i, step in enumerate(steps):
        if value >= step.threshold:
            index = i
    if index == len(steps) - 1 and value / steps[index].size >= WORDS[0][0]:
        return _words(value / steps[index].size, steps[index].unit, digits)
    while True:
        step = steps[index]
        scaled = _round_sig(value / step.size, digits)
        if index + 1 < len(steps) and scaled * step.size >= steps[index + 1].threshold:
            index += 1  # rounding reached the next unit: 999.7 Wh is "1 kWh"
            continue
        break
    if index == 0 and scaled < SMALLEST:
        return f"< {_plain(SMALLEST, 1)} {step.unit}"
    if index == len(steps) - 1 and scaled >= WORDS[0][0]:
        return _words(value / step.size, step.unit, digits)
    text = _plain(scaled, digits)
    unit = step.singular if step.singular and text == "1" else step.unit
    return f"{text} {unit}"


def format_energy(energy_j: float | None, *, digits: int = 3,
                  missing: str = "unknown") -> str:
    """``"1.29 GWh"``, ``"350 kWh"``, ``"12.5 Wh"``, ``"100 J"``: joules in the unit of
    J, Wh, kWh, MWh, GWh, TWh that reads best (J below one watt-hour)."""
    return format_scaled(energy_j, ENERGY_STEPS, digits=digits, missing=missing,
                         what="energy")


def format_power(power_w: float | None, *, digits: int = 3,
                 missing: str = "unknown") -> str:
    """``"312 W"``, ``"10.2 kW"``, ``"1.5 MW"``."""
    return format_scaled(power_w, POWER_STEPS, digits=digits, missing=missing, what="power")


def format_duration(duration_s: float | None, *, digits: int = 3,
                    missing: str = "unknown") -> str:
    """``"42.5 s"``, ``"12 min"``, ``"1.5 h"``, ``"14.8 days"``, ``"3.2 years"``."""
    return format_scaled(duration_s, DURATION_STEPS, digits=digits, missing=missing,
                         what="duration")


def format_mass(mass_g: float | None, *, digits: int = 3, co2e: bool = False,
                missing: str = "unknown") -> str:
    """``"552 t"``, ``"1.2 kg"``, ``"350 mg"`` (grams in; metric tonnes); ``co2e=True``
    appends ``" CO2e"`` to a figure."""
    text = format_scaled(mass_g, MASS_STEPS, digits=digits, missing=missing, what="mass")
    return text + " CO2e" if co2e and text != missing else text


def format_water(volume_l: float | None, *, digits: int = 3,
                 missing: str = "unknown") -> str:
    """``"250 mL"``, ``"3.4 L"``, ``"2.5 m³"``, ``"1.2 billion m³"`` (litres in)."""
    return format_scaled(volume_l, WATER_STEPS, digits=digits, missing=missing, what="water")


def format_money(amount: float | None, currency: str | None = None, *, digits: int = 3,
                 missing: str = "unknown") -> str:
    """``"1,234.50 EUR"``, ``"0.0423 USD"``, ``"3.1 million USD"``: cents from one unit up
    to ten thousand, whole units above, ``digits`` significant figures below one unit."""
    if amount is None or not math.isfinite(amount):
        return _unknown(amount, "amount of money", missing)
    suffix = f" {currency}" if currency else ""
    if amount < 0:
        text = format_money(-amount, currency, digits=digits, missing=missing)
        return ("> -" + text[2:] if text.startswith("< ") else
                "< -" + text[2:] if text.startswith("> ") else "-" + text)
    if amount == 0:
        return f"0{suffix}"
    if amount >= WORDS[0][0] - 0.5:  # whole units from 10,000 on: 999,999.5 is a million
        return _words(amount, currency or "", digits).rstrip()
    if amount >= 1:
        cents = round(amount, 2)
        if cents >= 10_000:
            return f"{round(amount):,}{suffix}"
        return f"{cents:,.2f}{suffix}"
    scaled = _round_sig(amount, digits)
    if scaled < SMALLEST:
        return f"< {_plain(SMALLEST, 1)}{suffix}"
    return f"{_plain(scaled, digits)}{suffix}"


def format_number(value: float | None, *, digits: int = 3, missing: str = "unknown") -> str:
    """A plain figure (a ratio, a count per unit): ``"1,234"``, ``"0.0123"``,
    ``"3.6 million"``, never scientific notation."""
    text = format_scaled(value, (Step(1.0, ""),), digits=digits, missing=missing,
                         what="number")
    return text.rstrip() if text != missing else text


_SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _times_ten(value: float, digits: int, *, bare_one: bool = False) -> str:
    """``value`` (> 0, finite, down to 5e-324) as ``"3.14 × 10²³"`` to ``digits``
    significant figures; ``bare_one``: a mantissa of 1 is left out (``"10¹⁶"``)."""
    mantissa, exponent = f"{value:.{digits - 1}e}".split("e")
    if "." in mantissa:
        mantissa = mantissa.rstrip("0").rstrip(".")
    power = "10" + str(int(exponent)).translate(_SUPERSCRIPT)
    return power if bare_one and mantissa == "1" else f"{mantissa} × {power}"


def format_flop(flop: float | None, *, digits: int = 3, missing: str = "unknown") -> str:
    """Training compute as the literature writes it: ``"3.14 × 10²³ FLOP"`` from 10^15 on
    (a power of ten is the unit people compare compute in), ``"1.2 trillion FLOP"`` below."""
    if flop is None or not math.isfinite(flop):
        return _unknown(flop, "compute", missing)
    if abs(flop) < 1e15:
        return f"{format_number(flop, digits=digits)} FLOP"
    sign = "-" if flop < 0 else ""
    return f"{sign}{_times_ten(abs(flop), digits)} FLOP"


def format_limit(value: float | None, *, digits: int = 6, missing: str = "unknown") -> str:
    """A limit or a threshold, which people compare their own value with, so written in
    full: up to ``digits`` significant figures, trailing zeros dropped (``"36,525"``,
    ``"0.0001"``), words from a million (``"10 billion"``, ``"3.15576 billion"``), and a
    power of ten where plain digits stop being readable, below a millionth and from 10^15
    on (``"10⁻⁹"``, ``"10¹⁶"``, ``"1.8 × 10³⁰⁸"``). Never a bound such as ``"> 1,000
    trillion"``: that is for figures, not for limits."""
    if value is None or not math.isfinite(value):
        return _unknown(value, "limit", missing)
    if value < 0:
        return "-" + format_limit(-value, digits=digits, missing=missing)
    if value == 0:
        return "0"
    if SMALLEST <= value < CAP:
        return format_number(value, digits=digits)
    return _times_ten(value, digits, bare_one=True)


def energy_scale(max_j: float) -> tuple[float, str]:
    """(joules per unit, unit) for an axis or a column whose largest value is ``max_j``:
    the unit :func:`format_energy` would write ``max_j`` in."""
    chosen = ENERGY_STEPS[0]
    if max_j is not None and math.isfinite(max_j):
        for step in ENERGY_STEPS:
            if max_j >= step.threshold:
                chosen = step
    return chosen.size, chosen.unit
