"""Run ids: 12 characters of lower-case Crockford base32, sortable by start time.

The first 10 characters encode the start time in milliseconds since the Unix epoch
(48 bits fit in 50), the last 2 are random (1,024 values), so ids created in the same
millisecond rarely collide and a collision is retried by the writer. Ids sort like the
runs' start times, and a unique prefix is enough on the command line, as with git.
"""

from __future__ import annotations

import secrets
import time

__all__ = ["ALPHABET", "ID_LENGTH", "new_run_id", "is_id_prefix", "id_time_s"]

ALPHABET = "0123456789abcdefghjkmnpqrstvwxyz"
ID_LENGTH = 12
_TIME_CHARS = 10
_VALUES = {c: i for i, c in enumerate(ALPHABET)}


def _encode(value: int, width: int) -> str:
    chars = []
    for _ in range(width):
        chars.append(ALPHABET[value & 31])
        value >>= 5
    return "".join(reversed(chars))


def new_run_id(time_s: float | None = None) -> str:
    """A fresh id for a run starting at ``time_s`` (default: now)."""
    ms = int((time.time() if time_s is None else time_s) * 1000)
    return _encode(ms, _TIME_CHARS) + _encode(secrets.randbits(10), ID_LENGTH - _TIME_CHARS)


def is_id_prefix(text: str) -> bool:
    """Whether ``text`` could be (the start of) a run id."""
    return 0 < len(text) <= ID_LENGTH and all(c in _VALUES for c in text)


def id_time_s(run_id: str) -> float:
    """The start time (Unix seconds) encoded in a full run id."""
    ms = 0
    for c in run_id[:_TIME_CHARS]:
        ms = ms * 32 + _VALUES[c]
    return ms / 1000.0
