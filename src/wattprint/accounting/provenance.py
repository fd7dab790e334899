"""Where a number came from: :class:`Provenance` and a value that carries it, :class:`Figure`.

Every accounted figure says its dataset, licence, zone, year and time resolution, and a
note when something was assumed (nearest year, a fallback zone, a default PUE...).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from typing import Any

from ._tables import dataset as _dataset

__all__ = ["Provenance", "Figure", "from_dataset", "user_given"]

#: Time resolutions a figure can rest on.
RESOLUTIONS = ("hourly", "annual", "live", "constant", "user", "derived", "none")


@dataclass(frozen=True)
class Provenance:
    dataset: str  # key of wattprint.accounting._tables.DATASETS, "user" or "derived"
    title: str
    licence: str
    zone: str | None = None
    year: int | None = None
    resolution: str = "constant"
    scope: str = ""  # e.g. "life-cycle", "direct CO2e (generation)"
    confidence: str = ""  # e.g. "low" for unverified figures
    notes: tuple[str, ...] = ()  # assumptions and fallbacks, for the user to read
    source: str = ""  # the primary publication behind the figure, where the row names one

    def with_note(self, *notes: str) -> "Provenance":
        return replace(self, notes=self.notes + tuple(n for n in notes if n))

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["notes"] = list(self.notes)
        return data

    def describe(self) -> str:
        """``"Electricity Maps yearly zone averages, DE 2023, annual (ODbL-1.0 (...))"``."""
        where = " ".join(str(x) for x in (self.zone, self.year) if x is not None)
        return (f"{self.title}{', ' + where if where else ''}, {self.resolution}"
                f" ({self.licence})")


def from_dataset(key: str, *, zone: str | None = None, year: int | None = None,
                 resolution: str = "constant", confidence: str = "",
                 notes: tuple[str, ...] = (), scope: str | None = None,
                 source: str = "") -> Provenance:
    info = _dataset(key)
    return Provenance(key, info.title, info.licence, zone, year, resolution,
                      info.scope if scope is None else scope, confidence, notes, source)


def user_given(what: str, *, zone: str | None = None) -> Provenance:
    return Provenance("user", f"{what} given by the user", "n/a", zone, None, "user")


@dataclass(frozen=True)
class Figure:
    """A number, its unit and its provenance. ``value`` is None when it cannot be known
    from what was given (the provenance notes say what to pass)."""

    value: float | None
    unit: str
    provenance: Provenance
    low: float | None = None
    high: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "unit": self.unit}
        if self.low is not None or self.high is not None:
            out.update(low=self.low, high=self.high)
        out.update(self.extra)
        out["provenance"] = self.provenance.to_dict()
        return out
