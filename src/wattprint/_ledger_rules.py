"""The two ledger rules the configuration also needs: where the ledger lives when nothing
says otherwise, and what a tag may be.

They live here, apart from :mod:`wattprint.ledger`, so that :mod:`wattprint.config` never
imports the ledger package (which itself reads the configuration): no import cycle.
"""

from __future__ import annotations

import os
import re
from typing import Iterable, Mapping

from .errors import UsageError

__all__ = ["default_ledger_path", "clean_tags", "TAG_PATTERN"]

#: A tag: 1 to 64 characters, no whitespace, no comma (commas separate tags in variables).
TAG_PATTERN = re.compile(r"^[^\s,]{1,64}$")


def default_ledger_path(env: Mapping[str, str] | None = None) -> str:
    """``$XDG_DATA_HOME/wattprint/ledger.db``, or ``~/.local/share/wattprint/ledger.db``
    (the place used when neither a flag, ``WATTPRINT_LEDGER`` nor a config file says)."""
    env = os.environ if env is None else env
    base = env.get("XDG_DATA_HOME") or os.path.join(os.path.expanduser("~"),
                                                            ".local", "share")
    return os.path.join(base, "wattprint", "ledger.db")


def clean_tags(tags: Iterable[str]) -> list[str]:
    """Validated, de-duplicated tags in order. Raises :class:`UsageError`."""
    out: list[str] = []
    for tag in tags:
        if not isinstance(tag, str) or not TAG_PATTERN.match(tag.strip()):
            raise UsageError(f"tag {tag!r} is not valid; a tag is 1 to 64 characters without "
                             "spaces or commas (e.g. 'baseline', 'lr=3e-4')")
        if tag.strip() not in out:
            out.append(tag.strip())
    return out
