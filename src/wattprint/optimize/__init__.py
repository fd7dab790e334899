"""Use less power on the GPU: a power-limit optimiser that profiles limits during the
first steps of a job and keeps the best one (:class:`PowerLimitOptimizer`), the choice
rules (:func:`choose`), and :func:`step`, the one call a program makes per step when it
runs under ``wattprint tune-power``."""

from __future__ import annotations

from ._choose import LimitProfile, choose, cost
from ._power import NO_PERMISSION_FIX, PowerLimitOptimizer, PowerReport
from ._protocol import STEP_FD_ENV, step

__all__ = ["PowerLimitOptimizer", "PowerReport", "LimitProfile", "choose", "cost", "step",
           "STEP_FD_ENV", "NO_PERMISSION_FIX"]
