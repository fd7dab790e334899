"""``wattprint tag RUN TAG... [--remove TAG]``: add or remove tags of a recorded run."""

from __future__ import annotations

import argparse

from .._printable import printable
from ..errors import UsageError
from ._common import open_ledger

USES_LEDGER = True


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", metavar="RUN", help="a run id, a unique prefix, 'last' or 'last~N'")
    p.add_argument("tags", nargs="*", metavar="TAG", help="tags to add")
    p.add_argument("-r", "--remove", action="append", default=[], metavar="TAG",
                   help="a tag to remove (repeatable)")


def handle(args: argparse.Namespace) -> int:
    if not args.tags and not args.remove:
        raise UsageError("give tags to add (wattprint tag RUN baseline) or to remove "
                         "(--remove TAG)")
    with open_ledger(args, write=True) as ledger:
        run_id = ledger.resolve(args.run)
        tags = ledger.tag(run_id, add=args.tags, remove=args.remove)
    print(f"{run_id}: {printable(', '.join(tags)) if tags else '(no tags)'}")
    return 0
