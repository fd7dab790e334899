"""``wattprint report RUN [RUN…] --format …``: reports from the ledger.

One run: a self-contained HTML page with charts (``html``, the default, written to
``wattprint-report-RUN.html`` unless ``-o`` says otherwise), the compute-and-emissions
statement for a paper (``md``, ``latex``), the Hugging Face model-card block
(``model-card``: a loadable card, or merged into the front matter of the README.md that
``-o`` names when it exists), the EU AI Act energy disclosure (``eu-ai-act``), or everything as JSON
(``json``). Several runs: a comparison (``html``, ``md``, ``json``), one statement each
(``latex``), or their sum (``model-card``, ``eu-ai-act``: every run that trained one
model). Text formats go to standard output unless ``-o FILE``.

The zone is ``--zone``, else the run's, else the configured one, else ``WATTPRINT_ZONE``,
else the world average (with a loud note); the PUE is ``--pue``, else the run's setting,
else the configured one.
"""

from __future__ import annotations

import argparse
import os
import sys

from ..errors import UsageError
from ._common import ledger_path, open_ledger

USES_LEDGER = True


def add_arguments(p: argparse.ArgumentParser) -> None:
    from ..report import FORMATS

    p.add_argument("runs", nargs="+", metavar="RUN",
                   help="run ids, unique prefixes, 'last' or 'last~N' (several: a comparison "
                        "or a sum, depending on the format)")
    p.add_argument("-f", "--format", dest="fmt", choices=tuple(FORMATS), default="html",
                   help="; ".join(f"{k}: {v}" for k, v in FORMATS.items()))
    p.add_argument("-o", "--output", metavar="FILE",
                   help="write to FILE ('-' for standard output; html defaults to "
                        "wattprint-report-RUN.html)")
    p.add_argument("--zone", help="grid zone to account the runs in (default: each run's)")
    p.add_argument("--pue", type=float, help="power usage effectiveness (default: each run's "
                                             "setting, else the configured one, else 1.0)")
    p.add_argument("--provider", help="data-centre operator for PUE/WUE defaults: aws, gcp, "
                                      "azure, ovh, oracle, datacenter")
    p.add_argument("--price-per-kwh", type=float, metavar="PRICE",
                   help="electricity price for the cost figure")
    p.add_argument("--currency", help="currency of the price (default EUR)")
    p.add_argument("--renewable-share", type=float, metavar="0..1",
                   help="share covered by renewable contracts (market-based CO2e)")
    p.add_argument("--market-factor", type=float, metavar="G_PER_KWH",
                   help="contracted emission factor (market-based CO2e)")
    p.add_argument("--training-type", choices=("pre-training", "fine-tuning"),
                   help="for the model card (default: the run's tag or setting, if any)")
    p.add_argument("--model", help="the model's name, for the EU AI Act section")
    p.add_argument("--points", type=int, default=2000,
                   help="at most this many chart points per device (default 2000)")


def handle(args: argparse.Namespace) -> int:
    from ..config import load_config
    from ..report import build_report, render

    from .. import inputs
    from ._common import check_flags

    check_flags(args, pue="pue", renewable_share="renewable_share",
                market_factor="intensity_g_per_kwh", points="points")
    inputs.price_per_kwh("--price-per-kwh", args.price_per_kwh, args.currency)
    config = load_config({"ledger": getattr(args, "ledger", None)})
    if args.zone:
        from ..accounting import resolve_zone

        resolve_zone(args.zone)  # an unknown zone stops here, with close matches
    path = ledger_path(args)
    if not os.path.exists(path):
        raise UsageError(f"no ledger at {path}: record a run first (wattprint run -- ...), or "
                         "point --ledger at your ledger")
    reports = []
    with open_ledger(args, write=False) as ledger:
        for run in args.runs:
            record = ledger.get(run)
            pue = args.pue
            if pue is None and not isinstance(record.settings.get("pue"), (int, float)):
                pue = config.pue  # the configured PUE where the run recorded none
            reports.append(build_report(
                ledger, record.id, zone=args.zone or record.zone or config.zone, pue=pue,
                provider=args.provider, price_per_kwh=args.price_per_kwh,
                currency=args.currency, renewable_share=args.renewable_share,
                market_factor_g_per_kwh=args.market_factor,
                training_type=args.training_type, points=args.points))
    text = render(reports, args.fmt, training_type=args.training_type, model=args.model)
    out = args.output
    if args.fmt == "model-card" and out not in (None, "-") and os.path.isfile(out):
        text = _merged_card(out, text)
    if out is None and args.fmt == "html":
        out = f"wattprint-report-{'-'.join(r.run['id'] for r in reports)[:80]}.html"
    if out is None or out == "-":
        sys.stdout.write(text)
        return 0
    parent = os.path.dirname(os.path.abspath(out))
    if not os.path.isdir(parent):
        raise UsageError(f"-o {out}: the folder {parent} does not exist")
    try:
        with open(out, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError as err:  # named, so the CLI reports the file (a full disk included)
        raise OSError(err.errno, err.strerror, out) from err
    print(f"wattprint: wrote {out} ({args.fmt}, {len(reports)} run(s))", file=sys.stderr)
    return 0


def _merged_card(path: str, card: str) -> str:
    """An existing README.md with the new card's ``co2_eq_emissions`` merged into its
    front matter (every other key and the body kept)."""
    from ..report._card import merge_card, read_block

    with open(path, encoding="utf-8") as fh:
        existing = fh.read()
    block = read_block(card)
    assert block is not None  # the card was rendered just now
    return merge_card(existing, block)
