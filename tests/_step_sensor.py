"""A fake energy counter that moves with the work a test does, not with the clock: the
figures of a budget or forecast test stay the same on a machine that runs ten times
slower (a constant-power FakeSensor charges every stalled millisecond)."""

from __future__ import annotations

import time

from wattprint.sensors.base import Reading, new_reading
from wattprint.testing import FakeSensor


class StepEnergySensor(FakeSensor):
    """A GPU counter at ``j_per_step`` joules per :meth:`step` the test takes."""

    def __init__(self, j_per_step: float, **kw) -> None:
        super().__init__(0.0, domain="gpu", **kw)
        self.j_per_step, self.steps = j_per_step, 0

    def step(self, n: int = 1) -> None:
        self.steps += n

    @property
    def spent_j(self) -> float:
        return self.steps * self.j_per_step

    def read(self) -> Reading:
        self.reads += 1
        return new_reading((time.monotonic(), self.spent_j, None, None))
