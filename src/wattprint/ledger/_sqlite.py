"""The SQLite border: opening a ledger file, write transactions, and error translation.

Every ``sqlite3`` error that leaves this package is translated here into a
:class:`~wattprint.errors.LedgerError` with a reason from ``LEDGER_REASONS`` and a fix,
chained to the original (``raise ... from err``). Connections run in autocommit mode and
writers take the write lock up front (``BEGIN IMMEDIATE``), so concurrent writers wait
for each other (``busy_timeout``) instead of failing on a lock upgrade.
"""

from __future__ import annotations

import contextlib
import os
import random
import sqlite3
import time
from typing import Callable, Iterator, TypeVar
from urllib.parse import quote

from ..errors import LedgerError

__all__ = ["connect", "translate", "disk_full", "guard", "write_txn", "retry_busy",
           "reclaim_space", "DEFAULT_TIMEOUT_S", "CONVERT_FREE_SHARE"]

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 10.0
#: A ledger made without auto_vacuum (before wattprint set it) is converted, by one VACUUM,
#: at the first removal that leaves at least this share of its pages free.
CONVERT_FREE_SHARE = 0.1

# Primary result codes (https://www.sqlite.org/rescode.html).
_PERM, _BUSY, _LOCKED, _READONLY, _IOERR, _CORRUPT, _FULL, _CANTOPEN, _AUTH, _NOTADB = (
    3, 5, 6, 8, 10, 11, 13, 14, 23, 26)
_REASON_BY_CODE = {
    _PERM: "unwritable", _READONLY: "unwritable", _CANTOPEN: "unwritable", _AUTH: "unwritable",
    _BUSY: "locked", _LOCKED: "locked",
    _CORRUPT: "corrupt", _NOTADB: "corrupt",
    _FULL: "full",
    _IOERR: "io",
}
_REASON_BY_TEXT = (
    ("locked", "locked"), ("readonly", "unwritable"), ("read-only", "unwritable"),
    ("unable to open", "unwritable"), ("not a database", "corrupt"),
    ("malformed", "corrupt"), ("disk is full", "full"), ("disk i/o", "io"),
)
_FIX = {
    "unwritable": "check that the folder exists and is writable by you, or choose another "
                  "ledger with --ledger PATH or WATTPRINT_LEDGER",
    "locked": "another wattprint process holds the ledger; retry when it is done, or use "
              "another ledger with --ledger PATH",
    "corrupt": "move the file aside (wattprint never overwrites it) and start a new ledger, "
               "or choose another with --ledger PATH",
    "full": "free some disk space on the disk holding {folder}, or choose a ledger on "
            "another disk with --ledger PATH or WATTPRINT_LEDGER",
    "io": "check the disk and the file system holding the ledger",
}
_WHAT = {
    "unwritable": "cannot open or write the ledger {path}",
    "locked": "the ledger {path} is locked by another process",
    "corrupt": "the ledger {path} is not a readable SQLite database (damaged, or not a ledger)",
    "full": "disk full: no space left to write the ledger {path}",
    "io": "input/output error on the ledger {path}",
}


def reason_of(err: BaseException) -> str:
    """The ``LEDGER_REASONS`` entry for an ``sqlite3`` or ``OSError`` exception."""
    if isinstance(err, OSError):
        import errno

        if err.errno == errno.ENOSPC:
            return "full"
        if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST):
            return "unwritable"
        return "io"
    code = getattr(err, "sqlite_errorcode", None)
    if isinstance(code, int) and (code & 0xFF) in _REASON_BY_CODE:
        return _REASON_BY_CODE[code & 0xFF]
    text = str(err).lower()
    for needle, reason in _REASON_BY_TEXT:
        if needle in text:
            return reason
    return "io"


#: Below this much free space (or with no free inode), an I/O error is a full disk.
FULL_BELOW_BYTES = 1 << 20


def disk_full(path: str) -> bool:
    """Whether the file system that holds (or would hold) ``path`` has no room left.

    SQLite reports some writes that fail for want of space as a generic I/O error
    (growing the shared-memory file, pre-allocating the WAL), so its own code cannot be
    trusted to say "full"; the file system can."""
    folder = os.path.dirname(os.path.abspath(path))
    while folder and not os.path.isdir(folder):
        parent = os.path.dirname(folder)
        if parent == folder:
            break
        folder = parent
    try:
        st = os.statvfs(folder)
    except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
        return False
    no_inode = st.f_files > 0 and st.f_favail == 0
    return st.f_bavail * st.f_frsize < FULL_BELOW_BYTES or no_inode


def translate(err: BaseException, path: str) -> LedgerError:
    """A :class:`LedgerError` for ``err`` (an ``sqlite3.Error`` or ``OSError``)."""
    reason = reason_of(err)
    if reason == "io" and disk_full(path):
        reason = "full"
    detail = getattr(err, "strerror", None) or str(err)
    fix = _FIX[reason].format(folder=os.path.dirname(os.path.abspath(path)))
    return LedgerError(f"{_WHAT[reason].format(path=path)}: {detail}", path=path,
                       reason=reason, fix=fix)


@contextlib.contextmanager
def guard(path: str) -> Iterator[None]:
    """Translate ``sqlite3`` and ``OSError`` exceptions raised in the block."""
    try:
        yield
    except (sqlite3.Error, OSError) as err:
        raise translate(err, path) from err


@contextlib.contextmanager
def write_txn(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """One write transaction: ``BEGIN IMMEDIATE`` … ``COMMIT``, rolled back on any error."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                conn.execute("ROLLBACK")
        raise
    else:
        try:
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
            raise


def retry_busy(fn: Callable[[], T], timeout_s: float) -> T:
    """Call ``fn`` until it does not fail with a lock error, for up to ``timeout_s``.

    SQLite answers some lock conflicts at once instead of waiting (switching a new file
    to WAL, two connections upgrading read locks while a new ledger is set up), so the
    setup of a ledger that several processes open at the same moment is retried here."""
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            return fn()
        except sqlite3.OperationalError as err:
            if reason_of(err) != "locked" or time.monotonic() >= deadline:
                raise
            time.sleep(random.uniform(0.005, 0.05))


def use_wal(conn: sqlite3.Connection) -> None:
    """Switch ``conn``'s file to WAL unless it is already (call through :func:`retry_busy`)."""
    if str(conn.execute("PRAGMA journal_mode").fetchone()[0]).lower() != "wal":
        conn.execute("PRAGMA journal_mode = WAL")


def connect(path: str, *, readonly: bool = False,
            timeout_s: float = DEFAULT_TIMEOUT_S) -> sqlite3.Connection:
    """Open ``path`` (creating it and its folder unless ``readonly``) in WAL mode.

    Raises :class:`LedgerError` when the file cannot be opened or is not a database.
    The connection may be used from several threads under the caller's lock.
    """
    with guard(path):
        if not readonly:
            parent = os.path.dirname(os.path.abspath(path))
            os.makedirs(parent, exist_ok=True)
        mode = "ro" if readonly else "rwc"
        conn = sqlite3.connect(f"file:{quote(os.path.abspath(path))}?mode={mode}", uri=True,
                               timeout=timeout_s, isolation_level=None,
                               check_same_thread=False)
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
            # Reading the schema fails here, not later, when the file is not a database.
            retry_busy(lambda: conn.execute("SELECT count(*) FROM sqlite_master").fetchone(),
                       timeout_s)
            if not readonly:
                # Space freed by `wattprint rm` goes back to the file system (reclaim_space);
                # this only takes effect on a new file (an older one is converted there).
                conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
                retry_busy(lambda: use_wal(conn), timeout_s)
                # Durable across a crash of this process (SIGKILL); an OS crash may lose
                # the last transactions, never corrupt the file.
                conn.execute("PRAGMA synchronous = NORMAL")
        except BaseException:
            conn.close()
            raise
        return conn


def reclaim_space(conn: sqlite3.Connection, timeout_s: float = DEFAULT_TIMEOUT_S) -> str:
    """Give the pages freed by deleted runs back to the file system, after the delete
    committed. Ledgers are created with ``auto_vacuum = INCREMENTAL``: the free pages are
    cut off the end of the file (``incremental_vacuum``, no copy). A ledger made before
    that is converted once by a ``VACUUM`` (a copy of the file: needs as much free disk)
    when at least :data:`CONVERT_FREE_SHARE` of it is free; below that its free pages are
    simply reused by new runs. The WAL is then checkpointed, and truncated unless another
    process is using the ledger (never waited for). Returns what was done
    (``"incremental"``, ``"vacuum"``, ``"reused"``, or ``"failed: …"``); never raises:
    the runs are removed either way."""
    try:
        mode = conn.execute("PRAGMA auto_vacuum").fetchone()[0]
        free = conn.execute("PRAGMA freelist_count").fetchone()[0]
        pages = conn.execute("PRAGMA page_count").fetchone()[0]
        if mode == 0:
            if not pages or free < CONVERT_FREE_SHARE * pages:
                return "reused"
            conn.execute("PRAGMA auto_vacuum = INCREMENTAL")
            conn.executescript("VACUUM")
            done = "vacuum"
        else:
            # executescript steps the pragma to the end (execute() would free one page)
            conn.executescript("PRAGMA incremental_vacuum")
            done = "incremental"
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        conn.execute("PRAGMA busy_timeout = 0")
        try:
            conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        finally:
            conn.execute(f"PRAGMA busy_timeout = {int(timeout_s * 1000)}")
        return done
    except sqlite3.Error as err:
        return f"failed: {err}"
