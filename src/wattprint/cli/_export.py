"""``wattprint export``: runs, phases, devices or samples as CSV, JSON Lines or Parquet
(Parquet needs pyarrow: ``pip install 'wattprint[parquet]'``).

Output goes to stdout, or to ``-o PATH`` through a temporary file renamed into place at
the end, so a failed export never leaves a half-written file. Rows are streamed from the
ledger and written as they come: exporting a hundred thousand runs needs a few MiB. The format follows the
file extension (``.csv``, ``.jsonl``, ``.parquet``) unless ``--format`` says.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import json
import os
import sys
from typing import IO, Any, Iterable, Iterator

from ..errors import UsageError
from ._common import add_filter_arguments, filters_from, open_ledger

USES_LEDGER = True

COUNTER_COLUMNS = ("tokens", "samples", "steps", "requests")
#: (column, type) per table; types: str, float, int, bool, list, json.
COLUMNS: dict[str, tuple[tuple[str, str], ...]] = {
    "runs": (("run_id", "str"), ("name", "str"), ("project", "str"), ("tags", "list"),
             ("status", "str"), ("started_at", "str"), ("ended_at", "str"),
             ("duration_s", "float"), ("exit_code", "int"), ("host", "str"), ("mode", "str"),
             ("zone", "str"), ("energy_j", "float"), ("energy_low_j", "float"),
             ("energy_high_j", "float"), ("mean_power_w", "float"),
             ("peak_power_w", "float"), ("basis", "str"), ("cpu_s", "float"),
             ("overhead_cpu_s", "float"), ("sample_count", "int"), ("command", "list"), ("settings", "json"),
             ("job_id", "str"), ("job", "json"),
             *((f"count_{u}", "float") for u in COUNTER_COLUMNS),
             *((f"j_per_{u[:-1]}", "float") for u in COUNTER_COLUMNS)),
    "phases": (("run_id", "str"), ("phase", "str"), ("energy_j", "float"),
               ("duration_s", "float"), ("entries", "int"), ("by_domain", "json"),
               *((f"count_{u}", "float") for u in COUNTER_COLUMNS),
               *((f"j_per_{u[:-1]}", "float") for u in COUNTER_COLUMNS)),
    "devices": (("run_id", "str"), ("device_index", "int"), ("name", "str"),
                ("domain", "str"), ("kind", "str"), ("device", "str"), ("counted", "bool"),
                ("energy_j", "float"), ("device_energy_j", "float"),
                ("mean_power_w", "float"), ("peak_power_w", "float"), ("samples", "int"),
                ("bridged_j", "float"), ("errors", "int"), ("provenance", "json")),
    "samples": (("run_id", "str"), ("device_index", "int"), ("device", "str"),
                ("t_s", "float"), ("power_w", "float"), ("energy_j", "float")),
}
FORMATS = ("csv", "jsonl", "parquet")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("runs", nargs="*", metavar="RUN",
                   help="runs to export (ids, prefixes, 'last'); default: every run that "
                        "matches the filters")
    p.add_argument("--what", choices=tuple(COLUMNS), default="runs",
                   help="what to export (default: runs)")
    p.add_argument("--format", choices=FORMATS,
                   help="csv, jsonl or parquet (default: from the -o extension, else csv)")
    p.add_argument("-o", "--output", metavar="PATH", help="write to PATH (default: stdout)")
    p.add_argument("--every", type=float, metavar="SECONDS",
                   help="samples: keep one sample per device every SECONDS")
    add_filter_arguments(p)


def _format_of(args: argparse.Namespace) -> str:
    if args.format:
        return args.format
    ext = os.path.splitext(args.output or "")[1].lower().lstrip(".")
    return {"csv": "csv", "jsonl": "jsonl", "ndjson": "jsonl", "parquet": "parquet",
            "pq": "parquet"}.get(ext, "csv")


def _counters(prefix_values: dict[str, float], energy_j: float | None) -> list[Any]:
    counts = [prefix_values.get(u) for u in COUNTER_COLUMNS]
    per = [energy_j / n if energy_j is not None and n else None for n in counts]
    return counts + per


def _run_row(r: Any) -> list[Any]:
    """The ``runs`` row of a run (with its counters)."""
    return [r.id, r.name, r.project, r.tags, r.status, r.started_at, r.ended_at,
            r.duration_s, r.exit_code, r.host, r.mode, r.zone, r.energy_j,
            r.energy_low_j, r.energy_high_j, r.mean_power_w, r.peak_power_w,
            r.basis, r.cpu_s, r.overhead_cpu_s, r.samples, r.command, r.settings,
            r.job_id, r.job_info, *_counters(r.counters, r.energy_j)]


def _records(ledger: Any, what: str, ids: Iterable[str], every_s: float | None
             ) -> Iterator[list[Any]]:
    for run_id in ids:
        r = ledger.get(run_id)
        if what == "runs":
            yield _run_row(r)
        elif what == "phases":
            for p in r.phases:
                yield [r.id, p.name, p.energy_j, p.duration_s, p.entries, p.by_domain,
                       *_counters(p.counters, p.energy_j)]
        elif what == "devices":
            for i, d in enumerate(r.devices):
                yield [r.id, i, d.name, d.domain, d.kind, d.device, d.counted, d.energy_j,
                       d.device_energy_j, d.mean_power_w, d.peak_power_w, d.samples,
                       d.bridged_j, d.errors, d.provenance]
        else:
            names = {i: d.name for i, d in enumerate(r.devices)}
            for device, t, power_w, energy_j in ledger.samples(r.id, every_s=every_s):
                yield [r.id, device, names.get(device, ""), t, power_w, energy_j]


def _text_cell(value: Any, kind: str) -> Any:
    if value is None:
        return ""
    if kind == "list":
        return ";".join(map(str, value)) if value else ""
    if kind == "json":
        return json.dumps(value, default=str, separators=(",", ":"))
    if kind == "bool":
        return "true" if value else "false"
    return value


def _write_csv(fh: IO[str], columns: tuple[tuple[str, str], ...],
               rows: Iterator[list[Any]]) -> int:
    writer = csv.writer(fh, lineterminator="\n")
    writer.writerow([name for name, _ in columns])
    n = 0
    for row in rows:
        writer.writerow([_text_cell(v, kind) for v, (_, kind) in zip(row, columns)])
        n += 1
    return n


def _write_jsonl(fh: IO[str], columns: tuple[tuple[str, str], ...],
                 rows: Iterator[list[Any]]) -> int:
    names = [name for name, _ in columns]
    n = 0
    for row in rows:
        fh.write(json.dumps(dict(zip(names, row)), default=str) + "\n")
        n += 1
    return n


def _write_parquet(path: str, columns: tuple[tuple[str, str], ...],
                   rows: Iterator[list[Any]], batch: int = 65536) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise UsageError("Parquet export needs pyarrow: pip install 'wattprint[parquet]' "
                         "(or pip install pyarrow); CSV and JSON Lines need nothing") from None
    types = {"str": pa.string(), "float": pa.float64(), "int": pa.int64(),
             "bool": pa.bool_(), "list": pa.list_(pa.string()), "json": pa.string()}
    schema = pa.schema([(name, types[kind]) for name, kind in columns])

    def convert(value: Any, kind: str) -> Any:
        if value is None:
            return None
        if kind == "json":
            return json.dumps(value, default=str, separators=(",", ":"))
        if kind == "list":
            return [str(v) for v in value]
        return value

    n = 0
    with pq.ParquetWriter(path, schema) as writer:
        chunk: list[list[Any]] = []
        for row in rows:
            chunk.append([convert(v, kind) for v, (_, kind) in zip(row, columns)])
            if len(chunk) >= batch:
                writer.write_table(pa.Table.from_pylist(
                    [dict(zip(schema.names, r)) for r in chunk], schema=schema))
                n += len(chunk)
                chunk = []
        if chunk or n == 0:
            writer.write_table(pa.Table.from_pylist(
                [dict(zip(schema.names, r)) for r in chunk], schema=schema))
            n += len(chunk)
    return n


@contextlib.contextmanager
def _atomic_path(path: str) -> Iterator[str]:
    """A temporary path next to ``path``, renamed onto it if the block succeeds."""
    parent = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(parent):
        raise UsageError(f"-o {path}: the folder {parent} does not exist")
    tmp = os.path.join(parent, f".{os.path.basename(path)}.{os.getpid()}.tmp")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)


def handle(args: argparse.Namespace) -> int:
    fmt = _format_of(args)
    if fmt == "parquet" and not args.output:
        raise UsageError("Parquet is a binary format: give a file with -o PATH.parquet")
    from ._common import check_flags

    check_flags(args, every="sample_interval_s")
    columns = COLUMNS[args.what]
    with open_ledger(args, write=False) as ledger:
        # Streamed: rows are written as the ledger yields them, in constant memory.
        if args.runs:
            rows = _records(ledger, args.what, [ledger.resolve(r) for r in args.runs],
                            args.every)
        elif args.what == "runs":  # every matching run, with counters, in few queries
            rows = map(_run_row, ledger.iter_runs(**filters_from(args), descending=False,
                                                   counters=True))
        else:
            ids = (r.id for r in ledger.iter_runs(**filters_from(args), descending=False))
            rows = _records(ledger, args.what, ids, args.every)
        if not args.output:
            writer = _write_csv if fmt == "csv" else _write_jsonl
            writer(sys.stdout, columns, rows)
            return 0
        try:
            with _atomic_path(args.output) as tmp:
                if fmt == "parquet":
                    n = _write_parquet(tmp, columns, rows)
                else:
                    with open(tmp, "w", newline="", encoding="utf-8") as fh:
                        n = (_write_csv if fmt == "csv" else _write_jsonl)(fh, columns, rows)
        except OSError as err:
            raise UsageError(f"cannot write {args.output}: {err.strerror or err}") from err
    print(f"wrote {n} {args.what} rows to {args.output} ({fmt})", file=sys.stderr)
    return 0
