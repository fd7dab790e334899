"""Text from users made safe for a terminal: the one function every command uses before
printing a run's name, project, tags, command, warnings or any other text it did not
write itself.

A run name such as ``"\\x1b]0;pwned\\x07"`` or ``"\\x1b[2J"`` would otherwise retitle or
clear the terminal of whoever lists the runs; bidirectional overrides (U+202E) would make
a name read differently from what it is. Every such character is shown as a visible
escape (``\\x1b``, ``\\u202e``) instead, so the text stays recognisable and nothing is
silently dropped.
"""

from __future__ import annotations

import re

__all__ = ["printable"]

# C0 controls (tab included: it breaks column alignment), DEL, C1 controls, and the
# Unicode bidirectional embeddings, overrides and isolates, plus the line and paragraph
# separators some terminals honour.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: object) -> str:
    """``text`` (``str()`` of it when it is not a string) with every control character
    and bidirectional override replaced by a visible escape; ``None`` becomes ``""``."""
    if text is None:
        return ""
    return _UNSAFE.sub(_escape, text if isinstance(text, str) else str(text))
