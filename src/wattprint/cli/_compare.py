"""``wattprint compare RUN_A RUN_B``: two runs side by side — energy, time, power, energy
per unit of work (J/token…), energy per domain and per phase — with the difference."""

from __future__ import annotations

import argparse
import json
from typing import Any, Callable

from ..result import _unit_label
from ._common import fmt_duration, fmt_energy, fmt_number, fmt_power, open_ledger, table

USES_LEDGER = True


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run_a", metavar="RUN_A", help="a run id, prefix, 'last' or 'last~N'")
    p.add_argument("run_b", metavar="RUN_B", help="the run to compare with RUN_A")
    p.add_argument("--json", action="store_true", help="JSON output for scripts")


def rows_of(a: Any, b: Any) -> list[tuple[str, float | None, float | None, Callable]]:
    """(label, value in A, value in B, formatter) for every comparable figure."""
    per = fmt_number
    rows: list[tuple[str, Any, Any, Callable]] = [
        ("energy", a.energy_j, b.energy_j, fmt_energy),
        ("duration", a.duration_s, b.duration_s, fmt_duration),
        ("mean power", a.mean_power_w, b.mean_power_w, fmt_power),
        ("peak power", a.peak_power_w, b.peak_power_w, fmt_power),
        ("CPU time (s)", a.cpu_s, b.cpu_s, per),
    ]
    for key in sorted(set(a.per_unit) | set(b.per_unit)):
        rows.append((_unit_label(key), a.per_unit.get(key), b.per_unit.get(key), per))
    for unit in sorted(set(a.counters) | set(b.counters)):
        rows.append((unit, a.counters.get(unit), b.counters.get(unit), per))
    for domain in sorted(set(a.by_domain) | set(b.by_domain)):
        rows.append((f"energy {domain}", a.by_domain.get(domain), b.by_domain.get(domain),
                     fmt_energy))
    pa = {p.name: p for p in a.phases}
    pb = {p.name: p for p in b.phases}
    for name in list(pa) + [n for n in pb if n not in pa]:
        ea = pa[name].energy_j if name in pa else None
        eb = pb[name].energy_j if name in pb else None
        rows.append((f"phase {name}", ea, eb, fmt_energy))
        for key in sorted(set(pa[name].per_unit if name in pa else {})
                          | set(pb[name].per_unit if name in pb else {})):
            rows.append((f"phase {name} {_unit_label(key)}",
                         pa[name].per_unit.get(key) if name in pa else None,
                         pb[name].per_unit.get(key) if name in pb else None, per))
    return rows + bench_rows(a.settings, b.settings)


def bench_rows(sa: dict, sb: dict) -> list[tuple[str, Any, Any, Callable]]:
    """Rows of two ``wattprint bench`` configurations (their stored figures, the
    estimator's prediction and the gap); none unless both runs are benchmarks."""
    from ..report._bench import bench_configs

    ca, cb = bench_configs([{"settings": sa}]), bench_configs([{"settings": sb}])
    if not (ca and cb):
        return []
    from ..benchmark._figures import FIGURES, device_power_rows

    a, b = ca[0], cb[0]
    rows: list[tuple[str, Any, Any, Callable]] = [
        ("bench batch size", a["batch_size"], b["batch_size"], fmt_number)]
    for key, label, unit in FIGURES:
        fa, fb = a["figures"].get(key) or {}, b["figures"].get(key) or {}
        if fa.get("value") is None and fb.get("value") is None:
            continue
        basis = "/".join(sorted({f["basis"] for f in (fa, fb) if f}))
        rows.append((f"bench {label} ({unit}, {basis})", fa.get("value"), fb.get("value"),
                     fmt_number))
        if key == "mean_power_w":
            for dev_label, dev_basis, (da, db) in device_power_rows([a, b]):
                rows.append((f"bench {dev_label} (W, {dev_basis})", (da or {}).get("value"),
                             (db or {}).get("value"), fmt_number))
    pa, pb = a.get("prediction") or {}, b.get("prediction") or {}
    if pa.get("j_per_output_token") is not None or pb.get("j_per_output_token") is not None:
        rows.append(("bench predicted J/output token (estimated)",
                     pa.get("j_per_output_token"), pb.get("j_per_output_token"), fmt_number))
        rows.append(("bench gap measured vs predicted", pa.get("gap"), pb.get("gap"),
                     _percent))
    return rows


def bench_text_rows(sa: dict, sb: dict) -> list[tuple[str, str, str, str]]:
    """Text rows naming two benchmark configurations (model, precision, engine)."""
    ba, bb = sa.get("bench"), sb.get("bench")
    if not (isinstance(ba, dict) and isinstance(bb, dict)):
        return []
    return [(f"bench {k}", str(ba.get(k) or "-"), str(bb.get(k) or "-"), "")
            for k in ("model", "precision", "dtype", "engine", "task")]


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:+.0%}"


def _change(va: float | None, vb: float | None) -> str:
    if va is None or vb is None:
        return "-"
    if va == 0:
        return "=" if vb == 0 else "new"
    return f"{(vb - va) / abs(va):+.1%}"


def handle(args: argparse.Namespace) -> int:
    with open_ledger(args, write=False) as ledger:
        a = ledger.get(args.run_a)
        b = ledger.get(args.run_b)
    rows = rows_of(a, b)
    if args.json:
        print(json.dumps({"a": a.id, "b": b.id, "rows": [
            {"figure": label, "a": va, "b": vb,
             "change": None if va in (None, 0) or vb is None else (vb - va) / abs(va)}
            for label, va, vb, _ in rows]}, indent=1))
        return 0
    header = ("", f"A {a.id}", f"B {b.id}", "B - A")
    text_rows = [("name", a.name or "-", b.name or "-", ""),
                 *bench_text_rows(a.settings, b.settings),
                 ("status", a.status, b.status, ""),
                 ("basis", a.basis or "-", b.basis or "-", "")]
    text_rows += [(label, fmt(va), fmt(vb), _change(va, vb)) for label, va, vb, fmt in rows]
    print("\n".join(table(header, text_rows, right=(1, 2, 3))))
    if "modelled" in (a.basis, b.basis) or "mixed" in (a.basis, b.basis):
        print("note: modelled figures carry the model's uncertainty; see `wattprint show`")
    return 0
