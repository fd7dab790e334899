"""Choosing a power limit from a profile: pure functions, no NVML.

A profile is one :class:`LimitProfile` per limit tried: seconds per step and joules per
step (all the GPUs together), measured over the same number of steps. Two rules:

- **energy-time cost** (as Zeus, You et al., NSDI 2023): ``eta · E + (1 − eta) ·
  P_max · T`` per step, with ``P_max`` the highest limit (W, all GPUs) so both terms are
  joules; ``eta = 1`` minimises energy alone, ``eta = 0`` time alone;
- **maximum slowdown**: the least energy among the limits whose step time is at most
  ``(1 + max_slowdown)`` × the step time at the highest limit tried.

Ties go to the higher limit (the faster one).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Sequence

from ..errors import UsageError

__all__ = ["LimitProfile", "cost", "choose", "check_knobs"]


@dataclass(frozen=True)
class LimitProfile:
    """``limit_w`` per GPU; ``step_s`` and ``energy_j`` per step (measured, all GPUs)."""

    limit_w: float
    step_s: float
    energy_j: float
    steps: int

    @property
    def power_w(self) -> float:
        return self.energy_j / self.step_s if self.step_s > 0 else 0.0

    def to_dict(self) -> dict:
        return {**asdict(self), "power_w": self.power_w, "basis": "measured"}


def check_knobs(eta: float | None, max_slowdown: float | None) -> None:
    if eta is not None and not 0.0 <= eta <= 1.0:
        raise UsageError(f"eta={eta!r}: the energy-time knob is between 0 (time only) and 1 "
                         "(energy only); e.g. eta=0.5")
    if max_slowdown is not None and not 0.0 <= max_slowdown <= 10.0:
        raise UsageError(f"max_slowdown={max_slowdown!r}: a fraction of the step time, "
                         "from 0 to 10; e.g. max_slowdown=0.05 for 5 %")


def cost(p: LimitProfile, eta: float, max_power_w: float) -> float:
    return eta * p.energy_j + (1.0 - eta) * max_power_w * p.step_s


def choose(profiles: Sequence[LimitProfile], *, eta: float = 0.5,
           max_slowdown: float | None = None, gpus: int = 1) -> LimitProfile:
    """The limit to apply (see the module docstring). ``gpus``: how many GPUs the limit
    applies to (``P_max`` is the highest limit times that)."""
    if not profiles:
        raise ValueError("no profiled limit to choose from")
    check_knobs(eta, max_slowdown)
    ref = max(profiles, key=lambda p: p.limit_w)
    if max_slowdown is not None:
        ok = [p for p in profiles if p.step_s <= ref.step_s * (1.0 + max_slowdown) + 1e-12]
        return min(ok, key=lambda p: (p.energy_j, -p.limit_w))
    p_max = ref.limit_w * gpus
    return min(profiles, key=lambda p: (cost(p, eta, p_max), -p.limit_w))
