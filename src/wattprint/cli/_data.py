"""``wattprint data sources``: every shipped dataset, its source, year and licence.

Read from the package's ``data/NOTICE.md`` (the attribution of record), so the command and
the notice cannot disagree. ``--full`` prints the notice itself.
"""

from __future__ import annotations

import argparse
import json
import re
import sys


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="data_command", metavar="ACTION")
    s = sub.add_parser("sources", help="list the shipped datasets with source, year and licence")
    s.add_argument("--json", action="store_true", help="machine-readable output")
    s.add_argument("--full", action="store_true", help="print the whole NOTICE")


def notice_sections(text: str) -> list[dict[str, str]]:
    """[{title, dataset key, source, year, licence, shipped in}] from NOTICE.md."""
    out = []
    for block in re.split(r"^## ", text, flags=re.M)[1:]:
        title, _, body = block.partition("\n")
        fields: dict[str, str] = {"title": title.strip()}
        for m in re.finditer(r"^- ([A-Za-z ]+):(.*(?:\n(?!- |\n).*)*)", body, flags=re.M):
            fields[m.group(1).strip().lower()] = " ".join(m.group(2).split())
        out.append(fields)
    return out


def _first_sentence(text: str, limit: int = 110) -> str:
    text = re.sub(r"\s+>\s.*", "", text)  # drop quoted licence text ("> MIT License > ...")
    return text if len(text) <= limit else text[: limit - 3].rstrip() + "..."


def handle(args: argparse.Namespace) -> int:
    from .. import data

    if args.data_command != "sources":
        print("usage: wattprint data sources [--json | --full]", file=sys.stderr)
        return 2
    text = data.notice()
    if args.full:
        print(text)
        return 0
    sections = notice_sections(text)
    if args.json:
        print(json.dumps(sections, indent=2, ensure_ascii=False))
        return 0
    print(f"wattprint ships {len(sections)} datasets (full text: wattprint data sources --full)\n")
    for s in sections:
        print(s["title"])
        if "dataset key" in s:
            print(f"  key:       {s['dataset key'].replace('`', '')}")
        print(f"  source:    {_first_sentence(s.get('source', '?'))}")
        print(f"  year:      {s.get('year', '?')}")
        print(f"  licence:   {_first_sentence(s.get('licence', '?'))}")
        files = re.findall(r"`([\w.-]+\.csv)`", s.get("shipped in", ""))
        print(f"  files:     {', '.join(dict.fromkeys(files)) or s.get('shipped in', '?')}")
        print()
    return 0
