"""Use less: the levers that cut a run's energy and carbon, each a pure function of the
estimator, the accounting and the ledger, plus at most one actuator.

- :mod:`.when` — the cleanest start for a job of known length (live forecast or the
  shipped typical week, :mod:`._outlook`);
"""

from __future__ import annotations

__all__: list[str] = []
