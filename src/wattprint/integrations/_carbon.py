"""The one place integrations turn a run's energy into carbon: :func:`account_run`.

It calls :func:`wattprint.accounting.account` with the zone and PUE from the argument, the
run or the configuration (``zone``/``pue`` settings, ``WATTPRINT_ZONE``); with no zone
anywhere accounting uses the world average and says so loudly in its notes.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from ..result import RunResult

__all__ = ["account_run", "try_account_run", "check_zone", "zone_known"]

log = logging.getLogger("wattprint")


def _settings() -> Any:
    from ..config import load_config

    return load_config()


def zone_known(zone: str | None = None) -> bool:
    """Whether a grid zone is set: the argument, the configuration or ``WATTPRINT_ZONE``
    (without one, carbon would rest on the world average)."""
    import os

    from ..accounting.zones import ENV_ZONE

    return bool(zone or os.environ.get(ENV_ZONE) or getattr(_settings(), "zone", None))


def check_zone(zone: str | None) -> None:
    """Raise :class:`wattprint.accounting.UnknownZoneError` now, at setup, for a zone that
    would make accounting fail at the end of a long job."""
    if zone is not None:
        from ..accounting import resolve_zone

        resolve_zone(zone)


def account_run(result: RunResult, *, zone: str | None = None, pue: float | None = None) -> Any:
    """The :class:`~wattprint.accounting.Accounting` of a finished run."""
    from ..accounting import account

    if zone is None or pue is None:
        settings = _settings()
        zone = zone if zone is not None else getattr(settings, "zone", None)
        pue = pue if pue is not None else getattr(settings, "pue", None)
    when = datetime.fromisoformat(result.started_at) if result.started_at else None
    return account(result.energy_j, zone=zone, pue=pue, when=when,
                   duration_s=result.duration_s)


def try_account_run(result: RunResult, *, zone: str | None = None,
                    pue: float | None = None, warnings: list[str] | None = None) -> Any:
    """:func:`account_run`, or None (logged, and noted in ``warnings``) when it fails:
    used at the end of training, where an accounting problem must not lose the run."""
    try:
        return account_run(result, zone=zone, pue=pue)
    except Exception as err:  # noqa: BLE001 - the energy figures stand without carbon
        log.error("wattprint: carbon accounting failed (%s); energy is logged without "
                  "carbon", err)
        if warnings is not None:
            warnings.append(f"carbon accounting failed: {err}")
        return None
