"""Every exception wattprint raises, in one tree.

    WattprintError                  base of everything below; catch this to catch all
    ├── UsageError                  the caller misused the API (stop before start, bad arguments)
    │   ├── UnknownAccelerator      no accelerator matches a name (query, suggestions)
    │   │                           [wattprint.estimate.catalogue]
    │   └── PayloadError            a pushed run payload breaks its format (field, rule)
    │                               [wattprint.wire]
    ├── ConfigError                 a configuration key or value is wrong (names key, value, allowed)
    │   └── UnknownZoneError        no grid zone matches (query, suggestions)
    │                               [wattprint.accounting.zones]
    ├── ProviderError               a live carbon-intensity provider failed (provider, reason,
    │                               status) [wattprint.accounting.providers]
    ├── MissingExtraError           an integration's library is not installed; also an
    │                               ImportError (package, extra, pip: the command to run)
    │                               [wattprint.integrations]
    ├── BudgetExceeded              a run's energy, CO2e or cost budget was exceeded (actual or
    │                               forecast) with on_budget="stop" (budget, limit, value, basis)
    ├── PushError                   a team server did not take pushed runs (server, reason: one
    │                               of PUSH_REASONS, status: the HTTP status, fix)
    │                               [wattprint.push]
    ├── LedgerError                 the run ledger cannot be used (path; reason: one of
    │   │                           LEDGER_REASONS; fix: what to do about it)
    │   └── RunNotFound             no run matches the id or prefix given (run_id, candidates)
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
    "LedgerError",
    "RunNotFound",
    "LEDGER_REASONS",
    "BudgetExceeded",
    "PushError",
    "PUSH_REASONS",
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


#: Why the ledger cannot be used. sqlite3 errors are mapped onto these in
#: ``wattprint.ledger._sqlite.translate``.
LEDGER_REASONS = (
    "unwritable",  # the file or its folder cannot be created or written (permissions, read-only)
    "locked",  # another process held the database longer than the busy timeout
    "corrupt",  # the file is not an SQLite database, or is damaged
    "not_ledger",  # a valid SQLite database that is not a wattprint ledger
    "schema",  # written by a newer wattprint (schema version unknown here)
    "full",  # the disk (or the database size limit) is full
    "io",  # any other input/output failure
    "unknown_run",  # no run matches the id given
    "in_use",  # the run is still being recorded by a live process
)


class LedgerError(WattprintError):
    """The run ledger cannot be read or written.

    ``path`` is the ledger file, ``reason`` one of :data:`LEDGER_REASONS` and ``fix`` a
    sentence saying what to do.
    """

    def __init__(self, message: str, *, path: str | None = None, reason: str = "io",
                 fix: str | None = None) -> None:
        if reason not in LEDGER_REASONS:
            raise ValueError(f"unknown ledger error reason {reason!r}; expected one of "
                             f"{LEDGER_REASONS}")
        super().__init__(message)
        self.path = path
        self.reason = reason
        self.fix = fix

    def __str__(self) -> str:
        text = super().__str__()
        return f"{text} (fix: {self.fix})" if self.fix else text


class RunNotFound(LedgerError):
    """No run in the ledger matches ``run_id``; ``candidates`` lists the ids an ambiguous
    prefix matched (empty when nothing matched)."""

    def __init__(self, message: str, *, run_id: str, path: str | None = None,
                 candidates: tuple[str, ...] = (), fix: str | None = None) -> None:
        super().__init__(message, path=path, reason="unknown_run", fix=fix)
        self.run_id = run_id
        self.candidates = candidates


class BudgetExceeded(WattprintError):
    """A budget of the run was exceeded and its action is ``"stop"``.

    ``budget`` is ``"energy_kwh"``, ``"co2e_kg"`` or ``"cost"``; ``limit`` the budget and
    ``value`` the figure that went past it (in the budget's unit); ``basis`` is
    ``"actual"`` (already spent) or ``"forecast"`` (predicted at completion); ``run_id`` is
    the run's ledger id when it is recorded. Raised in the tracked program's thread at the
    next ``count()``, ``progress()`` or phase boundary, never from wattprint's threads.
    """

    def __init__(self, message: str, *, budget: str, limit: float, value: float,
                 basis: str, run_id: str | None = None) -> None:
        super().__init__(message)
        self.budget = budget
        self.limit = limit
        self.value = value
        self.basis = basis
        self.run_id = run_id


#: Why a push to a team server failed (:mod:`wattprint.push`).
PUSH_REASONS = (
    "unreachable",  # no connection (refused, DNS, network down) or no answer
    "tls",  # the server's TLS certificate is not trusted here (or its name does not match)
    "token",  # the server refused the token (HTTP 401)
    "forbidden",  # the token may not write (a read-only token; HTTP 403)
    "not_found",  # no wattprint API at that URL (404, a redirect, an answer not JSON)
    "too_large",  # the server refused a chunk's size (HTTP 413)
    "rejected",  # the server found the payload invalid (HTTP 400, 422)
    "server",  # the server failed (HTTP 5xx, 429) or answered for another run
)


class PushError(WattprintError):
    """A team server did not acknowledge pushed runs; they stay in the local outbox.

    The message is one line that already says what to do; ``server`` is the server's
    URL, ``reason`` one of :data:`PUSH_REASONS`, ``status`` the HTTP status when the
    server answered, ``fix`` what to do about it, ``retry_after_s`` the wait the server
    asked for (HTTP 429/503), and ``retryable`` whether trying again may succeed.
    """

    def __init__(self, message: str, *, server: str, reason: str, status: int | None = None,
                 fix: str | None = None, retry_after_s: float | None = None) -> None:
        if reason not in PUSH_REASONS:
            raise ValueError(f"unknown push error reason {reason!r}; expected one of "
                             f"{PUSH_REASONS}")
        super().__init__(message)
        self.server = server
        self.reason = reason
        self.status = status
        self.fix = fix
        self.retry_after_s = retry_after_s

    @property
    def retryable(self) -> bool:
        return self.reason in ("unreachable", "server") or self.status == 429


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
