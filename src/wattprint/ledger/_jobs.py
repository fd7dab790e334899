"""A distributed job read as one run: the parts recorded under one job id, merged by
:func:`wattprint.distributed.merge_parts`, as a :class:`RunRecord` (devices of every part,
named ``r<rank>/<device>`` or ``launcher/<device>``) and one chart series — so reports,
comparisons and ``wattprint show`` take a job id wherever they take a run id."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any, Sequence

from ._records import RunRecord, parse_time

__all__ = ["job_record", "job_series"]


def _ordered(parts: Sequence[RunRecord]) -> list[RunRecord]:
    return sorted(parts, key=lambda r: (not (r.job_info or {}).get("launcher"),
                                        (r.job_info or {}).get("rank", 0), r.started_at))


def job_record(parts: Sequence[RunRecord], job: Any) -> RunRecord:
    """The job ``job`` (a :class:`JobResult` of ``parts``) as one record."""
    parts = _ordered(parts)
    first = parts[0]
    devices = []
    for r in parts:
        prefix = r.job.part_prefix
        host_id = r.job.host_id or r.host
        devices.extend(replace(d, name=f"{prefix}/{d.name}", provenance={
            **d.provenance, "job_part": {"part": prefix, "host_id": host_id,
                                         "sensor": d.name}}) for d in r.devices)
    start = parse_time(job.started_at) if job.started_at else parse_time(first.started_at)
    ended = (start + timedelta(seconds=job.duration_s)).isoformat(timespec="milliseconds")
    hosts = sorted({r.host for r in parts})
    tags = sorted({t for r in parts for t in r.tags})
    codes = [r.exit_code for r in parts if r.exit_code]
    cpu = [r.cpu_s for r in parts if r.cpu_s is not None]
    overhead = [r.overhead_cpu_s for r in parts if r.overhead_cpu_s is not None]
    return RunRecord(
        id=job.job_id, name=first.name, project=first.project, tags=tags,
        command=first.command, host=", ".join(hosts), pid=None, mode=first.mode,
        status=job.status, started_at=job.started_at or first.started_at,
        ended_at=None if job.status == "running" else ended, duration_s=job.duration_s,
        exit_code=codes[0] if codes else (0 if all(r.exit_code == 0 for r in parts)
                                          else None),
        zone=next((r.zone for r in parts if r.zone), None), settings=dict(first.settings),
        energy_j=job.energy_j, energy_low_j=job.energy_low_j,
        energy_high_j=job.energy_high_j,
        peak_power_w=sum(r.peak_power_w or 0.0 for r in parts) or None,  # an upper bound
        basis=job.basis, by_domain=dict(job.by_domain), warnings=list(job.warnings),
        cpu_s=sum(cpu) if cpu else None, samples=sum(r.samples for r in parts),
        overhead_cpu_s=sum(overhead) if overhead else None,
        job_info={**(first.job_info or {}), "parts": len(parts)},
        counters=dict(job.counters), devices=devices, phases=list(job.phases))


def job_series(parts: Sequence[RunRecord], series_of: Any, start_iso: str, *,
               points: int) -> dict[int, list[tuple[float, float, float]]]:
    """Chart series of every part, device indices numbered as in :func:`job_record` and
    times from the job's start."""
    out: dict[int, list[tuple[float, float, float]]] = {}
    offset = 0
    t0 = parse_time(start_iso)
    for r in _ordered(parts):
        shift = (parse_time(r.started_at) - t0).total_seconds()
        for idx, rows in series_of(r.id, points).items():
            out[offset + idx] = [(t + shift, p, e) for t, p, e in rows]
        offset += len(r.devices)
    return out
