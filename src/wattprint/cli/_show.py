"""``wattprint show RUN``: one run in full — summary, devices with their measured or
modelled label and provenance, phases, energy per unit, warnings. Reads summary tables
only (never the samples)."""

from __future__ import annotations

import argparse
import json
import shlex
from typing import Any

from .._printable import printable
from ..result import _unit_label
from ._common import (fmt_duration, fmt_energy, fmt_number, fmt_power, fmt_time, open_ledger,
                      table)

USES_LEDGER = True


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", metavar="RUN",
                   help="a run id, a unique prefix of one, 'last' or 'last~N'; or a "
                        "distributed job's id (as `wattprint runs` lists it): the job "
                        "with its breakdown by rank and host")
    p.add_argument("--part", action="store_true",
                   help="for a run that is one part of a distributed job: show that part "
                        "alone, not the whole job")
    p.add_argument("--json", action="store_true", help="JSON output for scripts")
    p.add_argument("--provenance", action="store_true",
                   help="print every device's full provenance")


def _provenance_line(prov: dict[str, Any]) -> str:
    """The few provenance facts that matter at a glance."""
    parts = []
    for key in ("model", "match_method", "architecture", "cpu_name", "method"):
        value = prov.get(key)
        if isinstance(value, str) and value and len(value) <= 60:
            parts.append(f"{key}={value}")
    coeffs = prov.get("coefficients")
    if isinstance(coeffs, dict):
        for name, c in coeffs.items():
            value = c.get("value") if isinstance(c, dict) else c
            parts.append(f"{name}={fmt_number(value)}" if isinstance(value, float)
                         else f"{name}={value}")
    unc = prov.get("uncertainty")
    if isinstance(unc, (int, float)) and unc:
        parts.append(f"uncertainty=±{unc:.0%}")
    return ", ".join(parts)


def render(r: Any, *, full_provenance: bool = False) -> list[str]:
    head = f"run {r.id}" + (f"  {r.name!r}" if r.name else "")
    status = r.status + (f" (exit {r.exit_code})" if r.exit_code is not None else "")
    facts = [
        ("status", status),
        *([("why", r.end_reason)] if r.end_reason else []),
        ("project", r.project or "-"),
        ("tags", ", ".join(r.tags) or "-"),
        ("started", fmt_time(r.started_at, seconds=True)),
        ("ended", fmt_time(r.ended_at, seconds=True)),
        ("duration", fmt_duration(r.duration_s)),
        ("host", f"{r.host} (PID {r.pid})" if r.pid else r.host),
        ("command", shlex.join(r.command) if r.command else "-"),
        ("mode", r.mode or "-"),
        ("zone", r.zone or "-"),
    ]
    facts += [("energy", _energy_text(r)), ("mean power", fmt_power(r.mean_power_w)),
              ("peak power", fmt_power(r.peak_power_w)),
              ("CPU time", f"{r.cpu_s:,.2f} s" if r.cpu_s is not None else "-"),
              ("samples", f"{r.samples:,}")]
    if r.overhead_cpu_s is not None and r.duration_s:
        facts.append(("measuring cost", f"{r.overhead_cpu_s * 1e3:,.1f} ms CPU of wattprint's threads "
                      f"({100 * r.overhead_cpu_s / r.duration_s:.3f} % of one core), measured"))
    extra = {k: v for k, v in r.settings.items() if k not in ("mode",)}
    if extra:
        facts.append(("settings", ", ".join(f"{k}={v}" for k, v in sorted(extra.items()))))
    lines = [head] + table(("", ""), facts, indent="  ")[1:]
    if r.devices:
        lines += ["", "devices"]
        rows = []
        for d in r.devices:
            note = "" if d.counted else "nested, not summed"
            rows.append((d.name, d.domain, d.kind, fmt_energy(d.energy_j),
                         fmt_power(d.mean_power_w), fmt_power(d.peak_power_w),
                         f"{d.samples:,}", note))
        lines += table(("DEVICE", "DOMAIN", "KIND", "ENERGY", "MEAN", "PEAK", "SAMPLES", ""),
                       rows, right=(3, 4, 5, 6), indent="  ")
        for d in r.devices:
            if full_provenance:
                lines.append(f"  {d.name}: {json.dumps(d.provenance, default=str)}")
            elif d.kind != "measured" and d.provenance:
                lines.append(f"  {d.name} is modelled: {_provenance_line(d.provenance)}")
    if r.phases:
        lines += ["", "phases"]
        units = sorted({k for p in r.phases for k in p.per_unit})
        rows = [(p.name, fmt_energy(p.energy_j), fmt_duration(p.duration_s), p.entries,
                 *(fmt_number(p.per_unit.get(u)) for u in units))
                for p in r.phases]
        lines += table(("PHASE", "ENERGY", "DURATION", "ENTRIES",
                        *(_unit_label(u) for u in units)), rows,
                       right=range(1, 4 + len(units)), indent="  ")
    return lines + _work_and_warnings(r, "work")


def _energy_text(r: Any) -> str:
    """Energy with its basis and, when modelled, its range (a run or a job)."""
    energy = fmt_energy(r.energy_j)
    if r.energy_j is not None:
        energy += f" [{r.basis or 'none'}]"
        if r.basis in ("modelled", "mixed") and r.energy_low_j is not None:
            energy += f", range {fmt_energy(r.energy_low_j)} - {fmt_energy(r.energy_high_j)}"
    return energy


def _work_and_warnings(r: Any, title: str) -> list[str]:
    """The counted work with energy per unit, then the warnings (a run or a job)."""
    lines: list[str] = []
    if r.counters:
        lines += ["", title]
        lines += [f"  {unit}: {_count(value)}" for unit, value in sorted(r.counters.items())]
        lines += [f"  {_unit_label(k)}: {fmt_number(v)}" for k, v in r.per_unit.items()]
    if r.warnings:
        lines += ["", "warnings"] + [f"  {w}" for w in r.warnings]
    return lines


def job_lines(job: Any) -> list[str]:
    """A distributed job: its totals, then one row per part (rank or launcher) and per
    host. Every figure comes from :func:`wattprint.distributed.merge_parts`."""
    hosts = job.by_host()
    head = (f"job {job.job_id}  ({job.engine}, {job.world_size} rank"
            f"{'s' if job.world_size != 1 else ''} on {len(hosts)} host"
            f"{'s' if len(hosts) != 1 else ''})")
    facts = [("status", job.status), ("started", fmt_time(job.started_at, seconds=True)),
             ("duration", fmt_duration(job.duration_s)), ("energy", _energy_text(job)),
             ("by domain", ", ".join(f"{k} {fmt_energy(v)}"
                                     for k, v in sorted(job.by_domain.items())) or "-")]
    lines = [head] + table(("", ""), facts, indent="  ")[1:]
    rows = []
    for row in job.by_rank():
        share = f"{100 * row['energy_j'] / job.energy_j:.1f} %" if job.energy_j > 0 else "-"
        rows.append((row["part"], row["host"], row["status"], fmt_energy(row["energy_j"]),
                     share, fmt_duration(row["duration_s"]), row["run_id"] or "-"))
    lines += ["", "parts"] + table(("PART", "HOST", "STATUS", "ENERGY", "SHARE", "DURATION",
                                    "RUN"), rows, right=(3, 4, 5), indent="  ")
    if len(hosts) > 1:
        rows = [(h["host"] or host, host, ", ".join(h["parts"]), fmt_energy(h["energy_j"]))
                for host, h in sorted(hosts.items())]
        lines += ["", "hosts"] + table(("HOST", "HOST ID", "PARTS", "ENERGY"), rows,
                                       right=(3,), indent="  ")
    if job.phases:
        lines += ["", "phases"]
        rows = [(p.name, fmt_energy(p.energy_j), fmt_duration(p.duration_s)) for p in job.phases]
        lines += table(("PHASE", "ENERGY", "DURATION"), rows, right=(1, 2), indent="  ")
    return lines + _work_and_warnings(job, "work (all ranks)")


def handle(args: argparse.Namespace) -> int:
    with open_ledger(args, write=False) as ledger:
        if ledger.has_job(args.run):  # a job id (as `wattprint runs` lists it)
            job = ledger.job(args.run)
            record = None
        else:
            record = ledger.get(args.run)
            job = ledger.job(record.id) if record.job_id and not args.part else None
            if job is not None and len(job.parts) < 2:
                job = None  # a job of one part reads as the run it is
            pushed = _server_lines(ledger, record) if job is None and not args.json else []
    if job is not None:
        if args.json:
            print(json.dumps(job.to_dict(), indent=1, default=str))
        else:
            print("\n".join(printable(line) for line in job_lines(job)))
        return 0
    assert record is not None
    if args.json:
        print(json.dumps(record.to_dict(), indent=1, default=str))
    else:
        lines = render(record, full_provenance=args.provenance) + pushed
        print("\n".join(printable(line) for line in lines))
    return 0


def _server_lines(ledger: Any, record: Any) -> list[str]:
    """Whether the configured team server has the run (``docs/push.md``)."""
    from ..config import load_config

    server = load_config().server
    if not server:
        return []
    pushed_at, current = ledger.push_state(server, record.id)
    if record.status == "running":
        state = "pushed when the run ends"
    elif pushed_at is None:
        state = "waiting to be pushed (`wattprint push`)"
    elif current:
        state = f"acknowledged {fmt_time(pushed_at, seconds=True)}"
    else:
        state = (f"acknowledged {fmt_time(pushed_at, seconds=True)}, edited since: waiting "
                 "to be pushed again (`wattprint push`)")
    return ["", "team server", f"  {server}: {state}"]


def _count(value: float) -> str:
    """A counter exactly (``"1,234,567"``) while it is a whole number people can read."""
    if float(value).is_integer() and abs(value) < 1e15:
        return f"{int(value):,}"
    return fmt_number(value, 6)
