"""What the *use less* commands (``when``, ``where``, ``advise``, ``run --start-within``)
share: the live provider the settings name, times and energies from flags, a ledger run's
energy (``--like RUN``)."""

from __future__ import annotations

import argparse
from datetime import datetime, timedelta, timezone
from typing import Any, NamedTuple

from ..errors import UsageError


def live_provider(name: str | None) -> Any:
    """The live provider named by ``--provider`` or the ``intensity_provider`` setting;
    None for the shipped profiles."""
    from ..config import load_config

    if name is None:
        name = load_config().intensity_provider
    if not name or name == "shipped":
        return None
    from ..accounting.providers import get_provider

    return get_provider(name)


def duration_flag(flag: str, text: str | None) -> float | None:
    from ..units import parse_duration

    if text is None:
        return None
    value = parse_duration(text)
    if value <= 0:
        raise UsageError(f"{flag} {text!r}: a duration above 0 is needed; write e.g. "
                         f"{flag} 6h")
    return value


def deadline_flag(text: str | None, now: datetime) -> datetime | None:
    """``--deadline``: an ISO date-time (local time when it names no zone) or a duration
    from now (``36h``)."""
    if text is None:
        return None
    try:
        from ..units import parse_duration

        return now + timedelta(seconds=parse_duration(text))
    except UsageError:
        pass
    try:
        when = datetime.fromisoformat(text.strip().replace(" ", "T", 1).replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"--deadline {text!r} is not a time; write e.g. --deadline "
                         "'2026-03-01 18:00', 2026-03-01T18:00Z or 36h") from None
    if when.tzinfo is None:
        when = when.astimezone()
    return when.astimezone(timezone.utc)


class JobEnergy(NamedTuple):
    """The job's IT energy from ``--energy`` or ``--like RUN``; with ``--like``, also the
    run's duration, zone and PUE (each None when the run has none), as defaults for the
    flags not given."""

    energy_j: float | None
    duration_s: float | None
    energy_from: str | None
    zone: str | None = None
    pue: float | None = None


def energy_flag(args: argparse.Namespace) -> JobEnergy:
    """The job's energy from ``--energy`` or ``--like RUN`` (all None with neither)."""
    from ..units import parse_energy

    if getattr(args, "energy", None) and getattr(args, "like", None):
        raise UsageError("give --energy or --like, not both")
    if getattr(args, "energy", None):
        return JobEnergy(parse_energy(args.energy), None, "given")
    if getattr(args, "like", None):
        from ._common import open_ledger

        with open_ledger(args, write=False) as ledger:
            record = ledger.get(args.like)
        if record.energy_j is None:
            raise UsageError(f"run {record.id} has no energy recorded (status "
                             f"{record.status}); pick a finished run or pass --energy")
        pue = record.settings.get("pue")
        return JobEnergy(record.energy_j, record.duration_s,
                         f"run {record.id} ({record.basis})", record.zone,
                         float(pue) if isinstance(pue, (int, float)) else None)
    return JobEnergy(None, None, None)
