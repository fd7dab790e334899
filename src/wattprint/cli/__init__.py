"""The ``wattprint`` command line. Each subcommand lives in its own module.

User errors (bad arguments, a missing command, a run id that does not exist, a ledger
that cannot be used, a bad setting, a value refused by a function it was passed to) print
one line naming the problem and the fix, and exit with status 2; no traceback. Those are
the :class:`~wattprint.errors.WattprintError` family, plain ``ValueError`` — the
convention of the accounting and estimate functions for a value out of its domain
(``PUE is at least 1.0``) — and an ``OSError`` about a file (an output path that cannot
be written, a full disk: the file and the reason are named). An unexpected internal error
(any other exception) prints one line too (the traceback with ``-v``) and exits with
status 1.
"""

from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
import traceback
from typing import Sequence

from .. import __version__
from .._printable import printable
from ..errors import WattprintError

__all__ = ["main", "build_parser"]

#: (name, module, help) — modules are imported only when their command runs.
COMMANDS = (
    ("run", "_run", "run a command and measure its energy: wattprint run -- python train.py"),
    ("doctor", "_doctor", "show the power sensors found here, the ones not usable, and the fix"),
    ("data", "_data", "shipped reference data: wattprint data sources"),
    ("zones", "_zones", "search grid zones and cloud regions: wattprint zones california"),
    ("equiv", "_equiv", "an energy in everyday terms: wattprint equiv 1287MWh --country CN"),
    ("grid", "_grid", "a zone's grid intensity by year and hour of day: wattprint grid DE"),
    ("when", "_when", "the cleanest start for a job: wattprint when --duration 6h --zone DE"),
    ("where", "_where", "regions ranked by a job's CO2e: wattprint where --duration 6h "
                        "--energy 2MWh --regions 'aws:*,gcp:europe-*'"),
    ("tune-power", "_tune_power", "find and keep the GPU power limit that saves energy: "
                                  "wattprint tune-power --eta 0.5 -- python train.py"),
    ("advise", "_advise", "ways to use less for a run or a plan, each with its saving and "
                          "source: wattprint advise last"),
    ("runs", "_runs", "list recorded runs (filter by project, tag, status, date; sortable)"),
    ("show", "_show", "show one run: summary, devices (measured or modelled), phases"),
    ("compare", "_compare", "compare two runs: energy, time, J/token side by side"),
    ("report", "_report", "reports: HTML with charts, paper statement (md, latex), model card, "
                          "EU AI Act energy section, JSON; several runs compared"),
    ("export", "_export", "export runs, phases, devices or samples as CSV, JSON Lines or "
                          "Parquet"),
    ("tag", "_tag", "add or remove tags of a run"),
    ("rm", "_rm", "delete runs and their samples from the ledger"),
    ("merge", "_merge", "bring other hosts' ledgers in: one job across hosts"),
    ("pending", "_pending", "runs waiting to be recorded (the ledger could not take them); "
                            "records them now"),
    ("push", "_push", "send recorded runs to the team server (those it has not "
                      "acknowledged yet)"),
    ("config", "_config", "show every setting, its effective value and where it came from"),
    ("estimate", "_estimate", "estimate before running: wattprint estimate train --hardware "
                              "H100 --count 1024 --days 30"),
    ("check", "_check", "is a published energy figure plausible? wattprint check 1.28TWh "
                        "--run GPT-3"),
    ("exporter", "_exporter", "serve this host's devices and the runs in progress to "
                              "Prometheus at /metrics: wattprint exporter --port 9464"),
    ("bench", "_bench", "benchmark a saved model's inference energy per batch size and "
                        "precision: wattprint bench ./model --batch 1,8,32"),
    ("validate", "_validate", "reproduce published training and inference figures with the "
                              "estimator"),
    ("server", "_server", "the team server: wattprint server [--db URL]; wattprint server "
                          "token create --project P"),
)


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser. Every command is listed (``wattprint --help``), but only the module of
    ``command`` is imported to add its arguments (all of them when ``command`` is None):
    a command's start-up does not pay for the other commands' imports."""
    parser = argparse.ArgumentParser(
        prog="wattprint",
        description="Measure, estimate and reduce the energy of AI training and inference.")
    parser.add_argument("--version", action="version", version=f"wattprint {__version__}")
    parser.add_argument("-v", "--verbose", action="store_true", help="log sensor details")
    parser.add_argument("--ledger", metavar="PATH", default=None,
                        help="the run ledger file (default: WATTPRINT_LEDGER, the config "
                             "files, then ~/.local/share/wattprint/ledger.db)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    import importlib

    for name, module, help_ in COMMANDS:
        p = sub.add_parser(name, help=help_, description=help_)
        if command is not None and name != command:
            continue
        mod = importlib.import_module(f".{module}", __name__)
        mod.add_arguments(p)
        if getattr(mod, "USES_LEDGER", False):
            from ._common import add_ledger_argument

            add_ledger_argument(p)
        p.set_defaults(handler=mod.handle)
    return parser


def command_of(argv: Sequence[str]) -> str:
    """The command named in ``argv`` (its first word after the global options), or ""."""
    words = iter(argv)
    for word in words:
        if word == "--ledger":
            next(words, None)
        elif word == "--":
            return next(words, "")
        elif not word.startswith("-"):
            return word
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        parser = build_parser(command_of(argv))
        args = parser.parse_args(argv)
    except KeyboardInterrupt:  # Ctrl-C while starting up
        print("wattprint: interrupted", file=sys.stderr)
        return 130
    logging.basicConfig(level=logging.INFO if args.verbose else logging.WARNING,
                        format="%(message)s")
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        return int(args.handler(args) or 0)
    except WattprintError as err:
        print(f"wattprint: error: {printable(err)}", file=sys.stderr)
        return 2
    except ValueError as err:
        if type(err) is not ValueError:  # UnicodeDecodeError, JSONDecodeError...: a bug
            return _unexpected(err, args.verbose)
        if args.verbose:
            traceback.print_exc()
        print(f"wattprint: error: {printable(err)}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("wattprint: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:  # `wattprint runs | head`
        try:
            sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - silence the flush at exit
        except OSError:
            pass
        return 141
    except OSError as err:
        if err.filename is None and err.errno not in _FULL:  # no file named: a bug
            return _unexpected(err, args.verbose)
        print(f"wattprint: error: {_file_error(err)}", file=sys.stderr)
        return 2
    except Exception as err:  # noqa: BLE001 - a bug: one line, the traceback with -v
        return _unexpected(err, args.verbose)


#: errno values that mean "no space left": the disk, or the user's quota.
_FULL = (errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC))


def _file_error(err: OSError) -> str:
    """A file the command was asked to read or write could not be: say which and why."""
    path = printable(err.filename) if err.filename is not None else None
    if err.errno in _FULL:
        return (f"disk full: no space left to write {path or 'the output'} (fix: free "
                "some disk space, or write to another disk)")
    return f"{path}: {err.strerror or err}"


def _unexpected(err: BaseException, verbose: bool) -> int:
    if verbose:
        traceback.print_exception(err)
    print(f"wattprint: unexpected error: {type(err).__name__}: {printable(err)} (run with -v "
          "for the traceback, and please report it)", file=sys.stderr)
    return 1
