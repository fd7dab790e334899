"""Every way the ledger file can be unusable ends in a LedgerError with a reason and a
fix: corrupt, not a ledger, unwritable, locked, full. sqlite3 errors are all mapped."""

from __future__ import annotations

import errno
import os
import sqlite3

import pytest

from wattprint.errors import LEDGER_REASONS, LedgerError, RunNotFound, WattprintError
from wattprint.ledger import Ledger
from wattprint.ledger._sqlite import reason_of, translate


@pytest.mark.parametrize("code, reason", [
    (3, "unwritable"), (5, "locked"), (6, "locked"), (8, "unwritable"), (10, "io"),
    (11, "corrupt"), (13, "full"), (14, "unwritable"), (23, "unwritable"), (26, "corrupt"),
    (10 | (3 << 8), "io"), (8 | (1 << 8), "unwritable"), (1, "io"),
])
def test_every_sqlite_code_maps_to_a_reason(code, reason) -> None:
    err = sqlite3.OperationalError("boom")
    err.sqlite_errorcode = code  # type: ignore[attr-defined]
    assert reason_of(err) == reason
    translated = translate(err, "/x/ledger.db")
    assert translated.reason in LEDGER_REASONS and translated.fix
    assert "/x/ledger.db" in str(translated)


@pytest.mark.parametrize("text, reason", [
    ("database is locked", "locked"), ("attempt to write a readonly database", "unwritable"),
    ("unable to open database file", "unwritable"), ("file is not a database", "corrupt"),
    ("database disk image is malformed", "corrupt"), ("database or disk is full", "full"),
])
def test_messages_map_without_error_codes(text, reason) -> None:
    assert reason_of(sqlite3.OperationalError(text)) == reason


@pytest.mark.parametrize("number, reason", [
    (errno.ENOSPC, "full"), (errno.EACCES, "unwritable"), (errno.EROFS, "unwritable"),
    (errno.EIO, "io")])
def test_os_errors_map(number, reason) -> None:
    assert reason_of(OSError(number, os.strerror(number))) == reason


def test_error_classes() -> None:
    assert issubclass(RunNotFound, LedgerError) and issubclass(LedgerError, WattprintError)
    with pytest.raises(ValueError):
        LedgerError("x", reason="bogus")


def test_corrupt_file(tmp_path) -> None:
    path = tmp_path / "ledger.db"
    path.write_bytes(b"this is not a database at all" * 100)
    for readonly in (False, True):
        with pytest.raises(LedgerError) as err:
            Ledger(str(path), readonly=readonly)
        assert err.value.reason == "corrupt" and "move the file aside" in str(err.value)
    assert path.read_bytes().startswith(b"this is not")  # never overwritten


def test_sqlite_file_that_is_not_a_ledger(tmp_path) -> None:
    path = str(tmp_path / "other.db")
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE customers (name TEXT)")
    conn.commit()
    conn.close()
    with pytest.raises(LedgerError, match="not a wattprint ledger") as err:
        Ledger(path)
    assert err.value.reason == "not_ledger"


def test_unwritable_places(tmp_path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(LedgerError) as err:
        Ledger(str(blocker / "ledger.db"))
    assert err.value.reason == "unwritable" and "--ledger" in str(err.value)
    with pytest.raises(LedgerError, match="is a folder"):
        Ledger(str(tmp_path))


@pytest.mark.skipif(os.geteuid() == 0, reason="root bypasses file modes")
def test_read_only_folder(tmp_path) -> None:
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(LedgerError) as err:
            Ledger(str(folder / "ledger.db"))
        assert err.value.reason == "unwritable"
    finally:
        folder.chmod(0o700)


def test_locked_ledger(tmp_path) -> None:
    path = str(tmp_path / "ledger.db")
    Ledger(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(LedgerError) as err:
            with Ledger(path, timeout_s=0.2) as ledger:
                ledger.tag("last", add=["x"])
        assert err.value.reason == "locked"
    finally:
        holder.execute("ROLLBACK")
        holder.close()
