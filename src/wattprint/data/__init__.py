"""Package reference data (CSV tables built by ``tools/build_data.py``), loaded lazily.

Nothing is read at import time: :func:`open_text` and :func:`read_csv` read a shipped file
through :mod:`importlib.resources` on first use and cache the result. Sources, years and
licences of every file are in ``NOTICE.md`` next to the data (:func:`notice`).
"""

from __future__ import annotations

import csv
import functools
import io
from importlib import resources

__all__ = ["open_text", "read_csv", "notice"]


@functools.lru_cache(maxsize=None)
def open_text(name: str) -> str:
    """The text of the shipped data file ``name`` (e.g. ``"cpu_tdp.csv"``), cached."""
    if "/" in name or "\\" in name or name.startswith("."):
        raise ValueError(f"data file name must be a bare file name, got {name!r}")
    try:
        return resources.files(__name__).joinpath(name).read_text(encoding="utf-8")
    except FileNotFoundError as err:
        raise FileNotFoundError(f"wattprint ships no data file {name!r}; run "
                                "tools/build_data.py to rebuild the package data") from err


@functools.lru_cache(maxsize=None)
def read_csv(name: str) -> tuple[dict[str, str], ...]:
    """The rows of the shipped CSV file ``name`` as dicts of strings, cached (read-only)."""
    return tuple(csv.DictReader(io.StringIO(open_text(name))))


def notice() -> str:
    """The attribution notice (source, year, licence) of every shipped data file."""
    return open_text("NOTICE.md")
