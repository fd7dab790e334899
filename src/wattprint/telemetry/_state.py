"""Counters that never go down across exporter restarts: the last exposed value of every
node counter is written to a small state file *before* it is served, and a restarted
exporter continues from it. ``created`` (the counter's start, Unix seconds) travels with
it; when the file is lost the counters restart from zero with a new ``created`` — the
standard Prometheus reset semantics, which ``rate()`` and ``increase()`` handle.

:func:`advance` is the pure arithmetic (no I/O): property-tested in
tests/test_telemetry.py.
"""

from __future__ import annotations

import json
import logging
import os
from typing import Any

__all__ = ["advance", "CounterState"]

log = logging.getLogger("wattprint")


def advance(base: float, raw_start: float, raw_now: float) -> float:
    """The exposed value of a counter that was ``base`` when its raw source read
    ``raw_start`` and reads ``raw_now`` now. A raw source that went back (a sensor
    restarted, wrapped without correction) adds nothing: never below ``base``."""
    delta = raw_now - raw_start
    return base + delta if delta > 0.0 else base


class CounterState:
    """Persisted counters by key: ``{key: {"value": v, "created": t}}`` in ``path`` (or
    in memory only when ``path`` is None)."""

    def __init__(self, path: str | None) -> None:
        self.path = path
        self.values: dict[str, dict[str, float]] = {}
        if path is not None:
            self.values = self._load(path)

    @staticmethod
    def _load(path: str) -> dict[str, dict[str, float]]:
        try:
            with open(path, encoding="utf-8") as f:
                data: Any = json.load(f)
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as err:
            log.warning("wattprint: exporter state %s unreadable (%s); counters restart "
                        "from zero (new _created)", path, err)
            return {}
        out: dict[str, dict[str, float]] = {}
        if isinstance(data, dict):
            for key, item in data.get("counters", {}).items():
                try:
                    value, created = float(item["value"]), float(item["created"])
                except (KeyError, TypeError, ValueError):
                    continue
                if value >= 0.0 and value == value and value != float("inf"):
                    out[str(key)] = {"value": value, "created": created}
        return out

    def get(self, key: str, now_s: float) -> tuple[float, float]:
        """``(value, created)`` of ``key``: as persisted, or ``(0, now_s)`` for a new one."""
        item = self.values.get(key)
        if item is None:
            item = self.values[key] = {"value": 0.0, "created": now_s}
        return item["value"], item["created"]

    def set(self, key: str, value: float) -> None:
        item = self.values[key]
        if value > item["value"]:
            item["value"] = value

    def save(self) -> None:
        """Write the file atomically (a crash leaves the old or the new file). Failures are
        logged: counters then restart with a new ``_created`` after a restart."""
        if self.path is None:
            return
        tmp = f"{self.path}.{os.getpid()}.tmp"
        try:
            os.makedirs(os.path.dirname(self.path) or ".", exist_ok=True)
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump({"version": 1, "counters": self.values}, f, separators=(",", ":"))
            os.replace(tmp, self.path)
        except OSError as err:
            log.warning("wattprint: could not save the exporter state %s: %s", self.path, err)
