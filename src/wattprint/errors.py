"""Every exception wattprint raises, in one tree.

    WattprintError                  base of everything below; catch this to catch all
    ├── UsageError                  the caller misused the API (stop before start, bad arguments)
    ├── ConfigError                 a configuration key or value is wrong (names key, value, allowed)
    └── SensorError                 a power/energy source failed
        ├── SensorUnavailable       the source cannot be used on this machine at all
        │                           (reason: one of REASONS; fix: what to do about it)
        └── SensorReadError         a source that worked failed while reading

Vendor errors (NVML, amdsmi, OSError from sysfs) are translated into these classes where
they enter the package and chained with ``raise ... from err`` so the original stays visible.
Errors carry fields, not just text: ``err.source``, ``err.reason``, ``err.fix``.
"""

from __future__ import annotations

__all__ = [
    "WattprintError",
    "UsageError",
    "ConfigError",
    "SensorError",
    "SensorUnavailable",
    "SensorReadError",
    "REASONS",
]

#: Why a sensor cannot be used. Kept small on purpose: many vendor codes map onto these.
REASONS = (
    "not_present",  # no such hardware / interface on this machine
    "no_library",  # the vendor Python binding is not installed
    "driver",  # the driver or the vendor library failed to initialise
    "permission",  # the files/devices exist but this user may not read them
    "virtualised",  # a VM/container hides the interface
    "not_supported",  # the hardware exists but does not offer this measurement
    "invalid",  # the interface answered with nonsense (zero ranges, garbage)
)


class WattprintError(Exception):
    """Base class of all wattprint errors."""


class UsageError(WattprintError, ValueError):
    """The API was used wrongly; the message says what to do instead."""


class ConfigError(WattprintError, ValueError):
    """A configuration key or value is not valid."""

    def __init__(self, message: str, *, key: str | None = None, value: object = None,
                 allowed: str | None = None) -> None:
        super().__init__(message)
        self.key = key
        self.value = value
        self.allowed = allowed


class SensorError(WattprintError):
    """A power or energy source failed.

    ``source`` names the source (``"nvml"``, ``"rapl"``, ``"amdsmi"``...), ``reason`` is one
    of :data:`REASONS` and ``fix`` is a sentence telling the user how to make it work.
    """

    def __init__(self, message: str, *, source: str, reason: str = "driver",
                 fix: str | None = None) -> None:
        if reason not in REASONS:
            raise ValueError(f"unknown sensor error reason {reason!r}; expected one of {REASONS}")
        super().__init__(message)
        self.source = source
        self.reason = reason
        self.fix = fix

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text} (fix: {self.fix})" if self.fix else text


class SensorUnavailable(SensorError):
    """The source cannot be used on this machine."""


class SensorReadError(SensorError):
    """A source that was working failed during a read."""
