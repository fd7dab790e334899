"""Use less: the levers that cut a run's energy and carbon, each a pure function of the
estimator, the accounting and the ledger, plus at most one actuator.

- :mod:`.when` — the cleanest start for a job of known length (a live forecast or the
  shipped typical week, :mod:`._outlook`); :mod:`._wait` waits for it
  (``wattprint run --start-within``);
- :mod:`.where` — cloud regions / zones ranked by a job's expected CO2e, cost and water;
- :mod:`.advise` — every lever for a run or a plan with its saving as a sourced range;
  the published figures it rests on are in :mod:`.evidence`;
- the power lever's actuator lives in :mod:`wattprint.optimize` (NVML power limits).
"""

from __future__ import annotations

__all__: list[str] = []
