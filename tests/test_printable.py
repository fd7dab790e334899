"""The one function that makes user text safe for a terminal (``wattprint._printable``)."""

from __future__ import annotations

import pytest

from wattprint._printable import printable


@pytest.mark.parametrize("raw, shown", [
    ("\x1b[2Jclear", "\\x1b[2Jclear"),  # CSI: clear screen
    ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),  # OSC: retitle the terminal
    ("a\tb\nc\rd", "a\\x09b\\x0ac\\x0dd"),  # layout controls break the columns
    ("del\x7f", "del\\x7f"),
    ("c1\x9b31m", "c1\\x9b31m"),  # 8-bit CSI
    ("gpj.exe\u202e", "gpj.exe\\u202e"),  # right-to-left override
    ("iso\u2066late\u2069", "iso\\u2066late\\u2069"),
    ("line\u2028sep", "line\\u2028sep"),
])
def test_controls_become_visible_escapes(raw: str, shown: str) -> None:
    assert printable(raw) == shown


@pytest.mark.parametrize("text", ["llama-3 8B", "café", "训练", "run 🚀", "a\\x1b", ""])
def test_ordinary_text_is_unchanged(text: str) -> None:
    assert printable(text) == text


def test_none_and_non_strings() -> None:
    assert printable(None) == ""
    assert printable(3.5) == "3.5"
    assert printable(ValueError("bad\x1b[0m")) == "bad\\x1b[0m"


def test_escaping_twice_changes_nothing_more() -> None:
    once = printable("\x1b[31mred\u202e")
    assert printable(once) == once
