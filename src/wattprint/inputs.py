"""The one check of every number a person gives wattprint, made where it enters (command-line
flags, the Python API, configuration files and ``WATTPRINT_*`` variables), so that no NaN,
infinity, negative energy or absurd magnitude ever reaches a figure.

Each rule in :data:`RULES` says what a value is, its legal range (an error outside it) and
the range beyond which it is legal but unusual (a warning, logged once on the ``wattprint``
logger). :func:`check` applies a rule to a value as it was given: ``name`` is the flag
(``"--pue"``) or the keyword (``"pue"``), so the message reads as the user wrote it::

    --pue nan: PUE must be a finite number between 1.0 and 3.0 (e.g. --pue 1.2)

Counts whose unit is easy to forget (:func:`params`, :func:`tokens`) refuse a bare small
number (``--params 70``) and name the suffix that was probably meant (``70B``).
docs/inputs.md lists every rule; a test keeps that page in step with :data:`RULES`.
"""

from __future__ import annotations

import logging
import math
import numbers
import re
from dataclasses import dataclass
from typing import Any

from ._format import format_limit
from .errors import UsageError

__all__ = ["Bounds", "RULES", "check", "finite", "pue", "intensity_g_per_kwh",
           "wue_l_per_kwh", "price_per_kwh", "budget_price", "params",
           "tokens", "count", "zone", "describe", "echo"]

log = logging.getLogger("wattprint")

_YEAR_S = 365.25 * 86400.0


@dataclass(frozen=True)
class Bounds:
    """A rule: ``what`` a value is, its legal range and an ``example`` of a good one.

    ``low_open``: the low end itself is refused (a duration of 0). ``integer``: whole
    numbers only. ``warn_above`` / ``warn_below``: legal but unusual past these, with
    ``usual`` saying what is usual (the warning's reason)."""

    what: str
    low: float
    high: float
    example: str
    unit: str = ""
    low_open: bool = False
    integer: bool = False
    warn_above: float | None = None
    warn_below: float | None = None
    usual: str = ""

    def _plain(self, x: float) -> str:
        """A bound without the rule's unit; seconds carry their own (``"100 years"``)."""
        return _seconds(x) if self.unit == "s" else _n(x, self.integer)

    def bound(self, x: float) -> str:
        """One bound with its unit: ``"3.0"``, ``"36,525 days"``; seconds in the largest
        unit that writes them whole (``"100 years"``, ``"1 hour"``, ``"0.001 s"``)."""
        return self._plain(x) + (f" {self.unit}" if self.unit and self.unit != "s" else "")

    def legal(self) -> str:
        """``"between 1.0 and 3.0"``, ``"above 0 and at most 36,525 days"``,
        ``"between 1 s and 100 years"``."""
        unit = f" {self.unit}" if self.unit and self.unit != "s" else ""
        kind = ("time" if self.unit == "s" else
                "whole number" if self.integer else "finite number")
        low = "" if math.isinf(self.low) else self._plain(self.low)
        if math.isinf(self.high):  # finite() without a maximum
            if self.low == 0:
                return f"a {'positive' if self.low_open else 'non-negative'} {kind}{unit}"
            if not low:
                return f"a {kind}{unit}"
            return f"a {kind} {'above' if self.low_open else 'from'} {low}{unit}"
        high = self._plain(self.high)
        if not low:
            return f"a {kind} up to {high}{unit}"
        if self.integer and self.low == 1:
            return f"a positive whole number up to {high}{unit}"
        if self.low == 0:
            sign = "positive" if self.low_open else "non-negative"
            return f"a {sign} {kind} up to {high}{unit}"
        if self.low_open:
            return f"a {kind} above {low} and at most {high}{unit}"
        return f"a {kind} between {low} and {high}{unit}"


#: Every rule by key. Sources for the usual ranges: PUE — Uptime Institute surveys (industry
#: average 1.56, hyperscale 1.1); intensity — Ember / Electricity Maps annual figures (coal
#: grids ≈ 1,000 g/kWh); WUE — provider reports (0–2 L/kWh); accelerators, models and runs —
#: the largest published ones (Epoch AI).
RULES: dict[str, Bounds] = {
    # -- accounting ---------------------------------------------------------------------------
    "pue": Bounds("PUE", 1.0, 3.0, "1.2", warn_above=2.5,
                  usual="data centres report 1.1–1.6; the industry average is 1.56"),
    "intensity_g_per_kwh": Bounds("a grid carbon intensity", 0.0, 2000.0, "400", "gCO2e/kWh",
                                  warn_above=1200.0,
                                  usual="coal-fired grids are near 1,000 g/kWh"),
    "renewable_share": Bounds("a renewable share", 0.0, 1.0, "0.5"),
    "wue_l_per_kwh": Bounds("an on-site WUE", 0.0, 20.0, "0.5", "L/kWh", warn_above=5.0,
                            usual="data centres report 0–2 L/kWh"),
    "water_l_per_kwh": Bounds("a water intensity of generation", 0.0, 100.0, "2", "L/kWh",
                              warn_above=20.0, usual="grids average 1–5 L/kWh"),
    "price_per_kwh": Bounds("a price per kWh", 0.0, 10_000.0, "0.15"),
    "energy_j": Bounds("an energy", 0.0, 1e22, "3.6e6", "J",
                       usual="a century of the world's electricity"),
    "duration_s": Bounds("a duration", 0.0, 100 * _YEAR_S, "3600", "s"),
    "lifetime_years": Bounds("a hardware lifetime", 0.5, 100.0, "5", "years",
                             warn_above=15.0, warn_below=2.0,
                             usual="servers are kept 3–8 years"),
    "embodied_kgco2e": Bounds("an embodied footprint", 0.0, 1e9, "150", "kgCO2e"),
    "devices": Bounds("a number of devices", 0.0, 1e7, "8"),
    # -- estimates ----------------------------------------------------------------------------
    "days": Bounds("a duration", 0.0001, 36_525.0, "30", "days",
                   warn_above=366.0, usual="the longest published training runs took months"),
    "hours": Bounds("a duration", 0.001, 876_600.0, "72", "hours",
                    warn_above=8784.0, usual="the longest published training runs took months"),
    "run_duration_s": Bounds("a duration", 1.0, 100 * _YEAR_S, "14.8d", "s",
                             warn_above=_YEAR_S,
                             usual="the longest published training runs took months"),
    "n_accelerators": Bounds("a number of accelerators", 1, 10_000_000, "1024", integer=True,
                             warn_above=1_000_000,
                             usual="the largest clusters have a few hundred thousand"),
    "accelerator_hours": Bounds("accelerator-hours", 0.0, 1e10, "3.55M", low_open=True,
                                warn_above=1e9,
                                usual="the largest published runs used ~100 million hours"),
    "compute_flop": Bounds("a training compute", 0.0, 1e32, "3.14e23", "FLOP", low_open=True,
                           warn_above=1e28, usual="the largest published runs used ~5 × 10²⁵"),
    "mfu": Bounds("MFU (model FLOPs utilisation)", 0.0, 1.0, "0.4", low_open=True,
                  warn_above=0.75, usual="published training runs reach 0.2–0.6"),
    "tdp_w": Bounds("a TDP", 0.0, 10_000.0, "700", "W", low_open=True, warn_above=3000.0,
                    usual="accelerators are rated 75–2,700 W"),
    "power_w": Bounds("a power", 0.0, 10_000.0, "400", "W", low_open=True, warn_above=3000.0,
                      usual="one accelerator draws 50–2,700 W"),
    "host_power_w": Bounds("a host share", 0.0, 10_000.0, "150", "W", warn_above=3000.0,
                           usual="a host adds 50–400 W per accelerator"),
    "peak_tflops": Bounds("a peak", 0.0, 100_000.0, "989", "TFLOP/s", low_open=True,
                          warn_above=20_000.0, usual="accelerators peak below 20,000 TFLOP/s"),
    "bandwidth_tb_s": Bounds("a memory bandwidth", 0.0, 100.0, "3.35", "TB/s", low_open=True,
                             warn_above=20.0, usual="accelerators have 0.3–8 TB/s"),
    "batch": Bounds("a batch size", 1, 1_000_000, "64", integer=True, warn_above=4096,
                    usual="servers batch 1–1,024 sequences"),
    "max_batch": Bounds("a max batch size", 1, 1_000_000, "256", integer=True),
    "idle": Bounds("a number of idle accelerators", 0, 10_000, "0", integer=True),
    "input_tokens": Bounds("a number of input tokens", 0.0, 1e8, "512", integer=True,
                           warn_above=2e6, usual="context windows hold up to ~1 million"),
    "output_tokens": Bounds("a number of output tokens", 1.0, 1e7, "256", integer=True,
                            warn_above=1e5, usual="answers run to a few thousand tokens"),
    "kv_bytes_per_token": Bounds("a KV-cache size", 0.0, 1e9, "131072", "bytes per token",
                                 low_open=True),
    "n_layers": Bounds("a number of layers", 1, 100_000, "80", integer=True),
    "requests_per_day": Bounds("a volume", 1.0, 1e12, "1B", "requests per day",
                               warn_above=1e10,
                               usual="the busiest services answer a few billion a day"),
    "energy_per_request_wh": Bounds("an energy per request", 1e-6, 1000.0, "0.3", "Wh",
                                    warn_above=100.0,
                                    usual="a request takes 0.01–40 Wh"),
    "years": Bounds("a number of years", 1, 30, "5", integer=True, warn_above=10,
                    usual="projections past 10 years are guesses"),
    "growth": Bounds("a growth per year", -1.0, 2.0, "0.3", low_open=True, warn_above=0.5,
                     usual="the IEA's fastest pace is ~30 %/yr"),
    "year": Bounds("a year", 1990, 2100, "2024", integer=True),
    "claim": Bounds("a claimed figure", 1e-9, 1e16, "1287 MWh", "kWh or kg CO2e"),
    # -- measuring ----------------------------------------------------------------------------
    "rate_hz": Bounds("a sampling rate", 0.0, 1000.0, "10", "samples per second",
                      low_open=True),
    "port": Bounds("a TCP port", 1, 65535, "9464", integer=True),
    "grace_s": Bounds("a grace period", 0.0, 3600.0, "10", "s", warn_above=600.0,
                      usual="a command gets seconds to a minute to save its state"),
    "limit": Bounds("a number of rows", 0, 1_000_000_000, "50", integer=True),
    # from a millisecond: the sampler reads at most 1000 times a second, and a finer
    # interval would only overflow the time buckets (`--every 5e-324`)
    "sample_interval_s": Bounds("a sampling interval", 0.001, _YEAR_S, "60", "s"),
    "points": Bounds("a number of chart points", 2, 1_000_000, "2000", integer=True),
    "work_count": Bounds("a count of work", 0.0, 1e15, "512"),
    "total_work": Bounds("a total of work", 0.0, 1e15, "10000", low_open=True),
    "budget_kwh": Bounds("an energy budget", 0.0, 1e12, "50", "kWh", low_open=True),
    "budget_co2e_kg": Bounds("a CO2e budget", 0.0, 1e12, "20", "kg", low_open=True),
    "budget_cost": Bounds("a cost budget", 0.0, 1e12, "100", low_open=True),
}

#: Currencies whose electricity prices are a few tenths of a unit per kWh.
_MAJOR_CURRENCIES = {"EUR", "USD", "GBP", "CHF", "CAD", "AUD", "NZD", "SGD"}
_warned: set[Any] = set()


# -- how values and bounds are written back to the user ---------------------------------------
def _n(x: float, integer: bool = False) -> str:
    """A bound as people read it: ``1.0`` (a fraction is fine), ``2000``, ``36,525``,
    ``10 million``, ``10¹⁶``, ``10⁻⁹`` (:func:`~wattprint._format.format_limit`; whole
    numbers below 10,000 without a separator, as years are written)."""
    if float(x).is_integer() and abs(x) < 10_000:
        return f"{x:.1f}" if abs(x) < 10 and x and not integer else f"{int(x)}"
    return format_limit(x)


#: Units a limit in seconds is written in, largest first (a year of 365.25 days).
_SECOND_UNITS = ((_YEAR_S, "year"), (86400.0, "day"), (3600.0, "hour"), (60.0, "minute"))


def _seconds(x: float) -> str:
    """A limit in seconds in the largest unit that writes it whole: ``"100 years"``,
    ``"1 hour"``, ``"10 minutes"``, else seconds: ``"1 s"``, ``"0.001 s"``."""
    for size, unit in _SECOND_UNITS:
        n = x / size
        if n >= 1 and abs(n - round(n)) < 1e-9 * n:
            n = round(n)
            return f"{_n(n, True)} {unit}{'' if n == 1 else 's'}"
    return f"{_n(x, True) if float(x).is_integer() else _n(x)} s"


def _show(value: Any) -> str:
    """The value as given, short: ``nan``, ``-30``, ``<a 401-digit number>``."""
    if isinstance(value, bool):
        return repr(value)
    if isinstance(value, numbers.Integral):
        digits = len(str(abs(int(value))))
        return f"<a {digits}-digit number>" if digits > 18 else str(int(value))
    if isinstance(value, numbers.Real):  # as typed where Python writes it so: 0.5, nan, -30
        x = float(value)
        text = f"{x:g}"
        return format_limit(x) if "e" in text and math.isfinite(x) else text  # 10⁻⁹, not 1e-09
    text = _collapse(str(value) if isinstance(value, str) else repr(value))
    return text if len(text) <= 40 else text[:37] + "..."


def _collapse(text: str) -> str:
    """A run of more than 18 digits as ``<401 digits>``."""
    return re.sub(r"\d{19,}", lambda m: f"<{len(m.group())} digits>", text)


def echo(text: Any) -> str:
    """``text`` quoted for an error message and cut short: a run of more than 18 digits
    becomes ``<401 digits>``, and the whole stays under ~40 characters."""
    shown = repr(_collapse(text)) if isinstance(text, str) else _collapse(repr(text))
    if len(shown) <= 40:
        return shown
    return shown[:36] + ("...'" if isinstance(text, str) else "...")


def _is_flag(name: str) -> bool:
    return name.startswith("-") or name.isupper()


def describe(name: str, value: Any) -> str:
    """``--pue nan`` for a flag (or a metavar such as ``ENERGY``), ``pue=nan`` for a keyword."""
    if _is_flag(name):
        return f"{name} {_show(value)}"
    return f"{name}={_show(value) if not isinstance(value, str) else repr(_show(value))}"


def _example(name: str, example: str) -> str:
    """``--pue 1.2`` for a flag; ``pue=1.2`` or ``params='70B'`` for a keyword."""
    if _is_flag(name):
        return f"{name} {example}"
    try:
        float(example)
    except ValueError:
        return f"{name}={example!r}"
    return f"{name}={example}"


def _warn_once(key: Any, message: str) -> None:
    """Log ``message`` the first time ``key`` (the rule and the value) is seen: a value
    checked at the command line and again by the API it is passed to warns once."""
    if key not in _warned:
        _warned.add(key)
        log.warning("wattprint: %s", message)


# -- the rules ----------------------------------------------------------------------------------
def _bounded(name: str, value: Any, b: Bounds, shown_as: Any = None) -> float:
    shown = describe(name, value if shown_as is None else shown_as)
    wrong = f"{shown}: {b.what} must be {b.legal()} (e.g. {_example(name, b.example)})"
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise UsageError(wrong)
    try:
        x = float(value)
    except (OverflowError, ValueError):  # 10**400: too large for a float
        raise UsageError(wrong) from None
    if not math.isfinite(x) or x < b.low or x > b.high or (b.low_open and x == b.low):
        raise UsageError(wrong)
    if b.integer and not x.is_integer():
        raise UsageError(wrong)
    if b.warn_above is not None and x > b.warn_above:
        _warn_once((b, x), f"{shown} is unusual: {b.what} above {b.bound(b.warn_above)} "
                           f"({b.usual}); check the value")
    elif b.warn_below is not None and x < b.warn_below:
        _warn_once((b, x), f"{shown} is unusual: {b.what} below {b.bound(b.warn_below)} "
                           f"({b.usual}); check the value")
    return x


def check(rule: str, name: str, value: Any, *, shown_as: Any = None) -> Any:
    """``value`` checked against :data:`RULES` ``[rule]``; None passes through. Returns a
    float (an int for whole-number rules). Raises :class:`UsageError` naming ``name``, the
    value (``shown_as``, when the user wrote it otherwise: ``"500%"``), the legal range and
    an example; logs a warning once when it is unusual."""
    if value is None:
        return None
    b = RULES[rule]
    x = _bounded(name, value, b, shown_as)
    return int(x) if b.integer else x


def finite(name: str, value: Any, *, min: float = -math.inf, max: float = math.inf,
           min_open: bool = False, what: str = "the value", example: str = "1") -> Any:
    """A finite number in [``min``, ``max``] (``min`` excluded with ``min_open``)."""
    if value is None:
        return None
    return _bounded(name, value, Bounds(what, min, max, example, low_open=min_open))


def pue(name: str, value: Any) -> float | None:
    return check("pue", name, value)


def intensity_g_per_kwh(name: str, value: Any) -> float | None:
    return check("intensity_g_per_kwh", name, value)


def wue_l_per_kwh(name: str, value: Any) -> float | None:
    return check("wue_l_per_kwh", name, value)


def price_per_kwh(name: str, value: Any, currency: str | None = None) -> float | None:
    """A price per kWh; in a major currency, one above 2 per kWh is probably per MWh."""
    x = check("price_per_kwh", name, value)
    cur = (currency or "EUR").strip().upper()
    if x is not None and x > 2.0 and cur in _MAJOR_CURRENCIES:
        _warn_once(("price", x),
                   f"{describe(name, value)} is unusual: {x:g} {cur} per kWh is far above "
                   f"any electricity tariff (0.05–0.60 {cur}/kWh); if it is a price per MWh, "
                   f"write {_example(name, f'{x / 1000:g}')}")
    return x


def budget_price(budget_name: str, budget: Any, price_name: str, price: Any) -> None:
    """A cost budget needs a price per kWh: refused without one, in the caller's spelling
    (``--budget-cost 100 ... pass --price-per-kwh``, ``budget_cost=100 ... price_per_kwh=``)."""
    if budget is None or price is not None:
        return
    flag = _is_flag(price_name)
    raise UsageError(f"{describe(budget_name, budget)} needs a price: pass "
                     f"{price_name if flag else price_name + '='} (and "
                     f"{'--currency' if flag else 'currency='}), e.g. "
                     f"{_example(price_name, '0.15')}")


def count(name: str, value: Any, rule: str) -> float | None:
    """A count as people write it (``"3.55M"``, ``"1B"``, ``5e7``) checked against ``rule``."""
    if value is None:
        return None
    from .units import parse_count

    b = RULES[rule]
    if not isinstance(value, str):
        return check(rule, name, value)
    try:
        number = parse_count(value, what=b.what)
    except UsageError:
        raise UsageError(f"{describe(name, value)}: {b.what} must be {b.legal()} (e.g. "
                         f"{_example(name, b.example)})") from None
    return check(rule, name, number, shown_as=value)


#: (smallest bare number, largest legal, warn above, usual, the suffixes probably meant)
_SIZES = {
    "parameters": (1e6, 1e15, 2e13, "the largest published models have ~2 trillion",
                   (("B", "billion"), ("M", "million"))),
    "tokens": (1e6, 1e17, 2e14, "the largest published runs used ~40 trillion",
               (("T", "trillion"), ("B", "billion"))),
}


def _size(name: str, value: Any, noun: str) -> float | None:
    if value is None:
        return None
    from .units import count_suffix, parse_count

    bare, high, warn, usual, meant = _SIZES[noun]
    suffix = meant[0][0]
    shown = describe(name, value)
    if isinstance(value, bool):
        raise UsageError(f"{shown}: write a number of {noun}, e.g. "
                         f"{_example(name, '70' + suffix)}")
    wrong = (f"{shown}: the number of {noun} must be a finite number above 0 and at most "
             f"{_n(high)} (e.g. {_example(name, '70' + suffix)})")
    try:
        x = float(value) if isinstance(value, numbers.Real) else parse_count(value)
    except (OverflowError, UsageError):
        raise UsageError(wrong) from None
    if not math.isfinite(x) or x <= 0 or x > high:
        raise UsageError(wrong)
    if x < bare:
        if not count_suffix(value):
            n = _show(value)
            (s1, w1), (s2, w2) = meant
            raise UsageError(f"{shown}: a bare {n} means {n} {noun}; write the unit suffix, "
                             f"e.g. {_example(name, n + s1)} ({n} {w1}) or "
                             f"{_example(name, n + s2)} ({n} {w2})")
        _warn_once((noun, x), f"{shown} is unusual: fewer than {_n(bare)} {noun}; check "
                              "the suffix")
    elif x > warn:
        _warn_once((noun, x), f"{shown} is unusual: more than {_n(warn)} {noun} "
                              f"({usual}); check the value")
    return x


def params(name: str, value: Any) -> float | None:
    """A model size: ``"70B"``, ``7e9``. A bare number below a million is refused."""
    return _size(name, value, "parameters")


def tokens(name: str, value: Any) -> float | None:
    """Training tokens: ``"2T"``, ``"300B"``. A bare number below a million is refused."""
    return _size(name, value, "tokens")


def zone(name: str, value: Any) -> Any:
    """A grid zone or cloud region that exists (``"FR"``, ``"aws:us-east-1"``); raises
    :class:`~wattprint.accounting.UnknownZoneError` with close matches otherwise. Returns
    the value as given."""
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise UsageError(f"{describe(name, value)}: a zone is a grid zone code or cloud "
                         f"region (e.g. {_example(name, 'FR')} or "
                         f"{_example(name, 'aws:us-east-1')})")
    from .accounting.zones import resolve_zone

    resolve_zone(value)
    return value
