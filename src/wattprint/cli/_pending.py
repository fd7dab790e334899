"""``wattprint pending``: the runs waiting to be recorded in the ledger — runs it could not
take when they started or ended (disk full, an unwritable folder, a damaged file), saved
as JSON files (see :mod:`wattprint.ledger._pending`) — and recording them now. With a
team server configured, it also says how many recorded runs wait to be pushed.

Every open of the ledger for writing records them anyway; this command does it on
demand and says where the files are and why they are waiting. ``--list`` only lists."""

from __future__ import annotations

import argparse
import os

from .._printable import printable
from ..errors import LedgerError

USES_LEDGER = True


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--list", action="store_true",
                   help="only list the pending runs and their files; record nothing")


def _describe(path: str) -> str:
    from ..ledger._pending import load_pending

    try:
        payload = load_pending(path)
    except (OSError, ValueError) as err:
        return f"  {path}: unreadable ({err})"
    result = payload.get("result") or {}
    return (f"  {payload.get('run_id')}  {result.get('status', '?')}  "
            f"{printable(result.get('name') or '')}\n    file: {path}\n"
            f"    why: {printable(payload.get('why'))}")


def _print_outbox(path: str) -> None:
    """The runs recorded but not yet acknowledged by the team server, if one is set."""
    from ..ledger import Ledger
    from ._common import outbox_note

    if not os.path.exists(path):
        return
    try:
        with Ledger(path, readonly=True) as ledger:
            note = outbox_note(ledger)
    except LedgerError:  # an old schema on a read-only file: the push will say
        return
    if note:
        print(note)


def handle(args: argparse.Namespace) -> int:
    from ..ledger import Ledger
    from ..ledger._pending import pending_files
    from ._common import ledger_path

    path = os.path.abspath(ledger_path(args))
    files = pending_files(path)
    if not files:
        print(f"no pending runs for the ledger {path}")
        _print_outbox(path)
        return 0
    print(f"{len(files)} run(s) wait to be recorded in the ledger {path}:")
    print("\n".join(_describe(f) for f in files))
    if args.list:
        return 0
    try:
        with Ledger(path, recover=False) as ledger:
            done = ledger.import_pending()
    except LedgerError as err:
        raise LedgerError(f"the pending runs stay where they are: {err}", path=err.path,
                          reason=err.reason) from err
    left = pending_files(path)
    print(f"recorded {len(done)} run(s): {', '.join(done) or '-'}")
    _print_outbox(path)
    if left:
        print(f"{len(left)} file(s) could not be read and were left in place")
        return 1
    return 0
