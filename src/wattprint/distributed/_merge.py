"""The one rule that turns the parts of a distributed job into the job's figures.

A *part* is what one process measured: a rank (or the launcher that started the ranks)
on one host. Parts never overlap — each GPU is measured by one rank, host-level sensors
by shares of disjoint process trees (see :mod:`._registry`) — so the job's energy is the
:func:`wattprint.result.aggregate` of every part's counted devices, its counters are the
sums of the parts' counters (J/token on the job's total tokens; steps, which the ranks
of a data-parallel job take together, are the largest rank's), and phases add up by
name. Status: ``running`` while any part runs, else ``failed`` if any part failed, else
``interrupted`` / ``stopped`` if any part was, else ``finished``. Ranks of the job's
world size that left no part are listed in ``missing_ranks`` with a warning.

Parts come from live results (gathered at stop on global rank 0) or from the ledger
(:meth:`wattprint.ledger.Ledger.job`): :meth:`JobPart.from_result` / ``from_record``.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Iterable, Sequence

from ..result import (DeviceEnergy, PhaseEnergy, RunResult, Totals, _per_unit, aggregate)
from ._identity import JobIdentity

__all__ = ["JobPart", "JobResult", "merge_parts", "STATUS_ORDER"]

#: A job's status is the first of these that any part has.
STATUS_ORDER = ("running", "failed", "interrupted", "stopped", "finished")


def _parse(text: str) -> datetime:
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


@dataclass
class JobPart:
    """What one process of a job measured."""

    job: JobIdentity
    status: str
    started_at: str  # ISO 8601, UTC
    duration_s: float
    devices: list[DeviceEnergy]
    phases: list[PhaseEnergy]
    counters: dict[str, float]
    peak_power_w: float = 0.0
    warnings: list[str] = field(default_factory=list)
    run_id: str | None = None
    host: str = ""  # the host name, for people (job.host_id identifies the machine)
    exit_code: int | None = None

    @property
    def totals(self) -> Totals:
        return aggregate(self.devices)

    @property
    def label(self) -> str:
        return "launcher" if self.job.launcher else f"rank {self.job.rank}"

    @classmethod
    def from_result(cls, result: RunResult, job: JobIdentity, *, host: str = "",
                    exit_code: int | None = None) -> "JobPart":
        return cls(job=job, status=result.status, started_at=result.started_at,
                   duration_s=result.duration_s, devices=list(result.devices),
                   phases=list(result.phases), counters=dict(result.counters),
                   peak_power_w=result.peak_power_w, warnings=list(result.warnings),
                   run_id=result.run_id, host=host, exit_code=exit_code)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (for gathering across processes)."""
        data = asdict(self)
        data["job"] = self.job.to_dict()
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "JobPart":
        data = dict(data)
        data["job"] = JobIdentity.from_dict(data["job"])
        data["devices"] = [DeviceEnergy(**d) for d in data["devices"]]
        data["phases"] = [PhaseEnergy(**p) for p in data["phases"]]
        return cls(**data)

    @classmethod
    def from_record(cls, record: Any) -> "JobPart":
        """A part from a :class:`wattprint.ledger.RunRecord` of a job."""
        job = record.job
        assert job is not None, "not the record of a job part"
        return cls(job=job, status=record.status, started_at=record.started_at,
                   duration_s=record.duration_s or 0.0,
                   devices=list(record.devices),
                   phases=list(record.phases), counters=dict(record.counters),
                   peak_power_w=record.peak_power_w or 0.0, warnings=list(record.warnings),
                   run_id=record.id, host=record.host, exit_code=record.exit_code)


@dataclass
class JobResult:
    """A distributed job's figures, merged from its parts (see the module doc)."""

    job_id: str
    engine: str
    world_size: int
    status: str
    started_at: str
    duration_s: float
    energy_j: float
    energy_low_j: float
    energy_high_j: float
    basis: str
    by_domain: dict[str, float]
    counters: dict[str, float]
    phases: list[PhaseEnergy]
    parts: list[JobPart]
    missing_ranks: list[int] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    @property
    def per_unit(self) -> dict[str, float]:
        """Energy per counted unit of the whole job: ``{"j_per_token": …}``."""
        return _per_unit(self.energy_j, self.counters)

    @property
    def energy_kwh(self) -> float:
        return self.energy_j / 3.6e6

    @property
    def hosts(self) -> list[str]:
        return sorted({p.job.host_id for p in self.parts})

    def by_rank(self) -> list[dict[str, Any]]:
        """One row per part: rank (or launcher), host, status, energy, counters, run id."""
        rows = []
        for p in sorted(self.parts, key=lambda p: (p.job.launcher is False, p.job.rank)):
            t = p.totals
            rows.append(dict(part=p.label, rank=None if p.job.launcher else p.job.rank,
                             local_rank=p.job.local_rank, host=p.host or p.job.host_id,
                             host_id=p.job.host_id, status=p.status, energy_j=t.energy_j,
                             by_domain=t.by_domain, basis=t.basis, counters=dict(p.counters),
                             duration_s=p.duration_s, run_id=p.run_id))
        return rows

    def by_host(self) -> dict[str, dict[str, Any]]:
        """Host id → energy, energy by domain and the parts measured there."""
        out: dict[str, dict[str, Any]] = {}
        for p in self.parts:
            t = p.totals
            h = out.setdefault(p.job.host_id, {"energy_j": 0.0, "by_domain": {},
                                               "parts": [], "host": p.host})
            h["energy_j"] += t.energy_j
            for k, v in t.by_domain.items():
                h["by_domain"][k] = h["by_domain"].get(k, 0.0) + v
            h["parts"].append(p.label)
        return out

    def to_result(self, name: str | None = None) -> RunResult:
        """The job as one :class:`RunResult` (devices of every part, names prefixed by the
        part), for reports, model cards and metrics written once per job."""
        devices = []
        for p in self.parts:
            devices.extend(replace(d, name=f"{p.job.part_prefix}/{d.name}")
                           for d in p.devices)
        return RunResult(
            name=name, mode="process", started_at=self.started_at,
            duration_s=self.duration_s, energy_j=self.energy_j,
            energy_low_j=self.energy_low_j, energy_high_j=self.energy_high_j,
            by_domain=dict(self.by_domain), devices=devices, phases=list(self.phases),
            counters=dict(self.counters),
            peak_power_w=sum(p.peak_power_w for p in self.parts),  # an upper bound
            status=self.status, warnings=list(self.warnings))

    def to_dict(self) -> dict[str, Any]:
        return dict(job_id=self.job_id, engine=self.engine, world_size=self.world_size,
                    status=self.status, started_at=self.started_at,
                    duration_s=self.duration_s, energy_j=self.energy_j,
                    energy_kwh=self.energy_kwh, energy_low_j=self.energy_low_j,
                    energy_high_j=self.energy_high_j, basis=self.basis,
                    by_domain=dict(self.by_domain), counters=dict(self.counters),
                    per_unit=self.per_unit,
                    phases=[dict(name=p.name, energy_j=p.energy_j, duration_s=p.duration_s,
                                 entries=p.entries, by_domain=dict(p.by_domain),
                                 counters=dict(p.counters), per_unit=p.per_unit)
                            for p in self.phases],
                    hosts=self.hosts, by_rank=self.by_rank(), by_host=self.by_host(),
                    missing_ranks=list(self.missing_ranks), warnings=list(self.warnings))


def _merge_phases(parts: Sequence[JobPart]) -> list[PhaseEnergy]:
    merged: dict[str, PhaseEnergy] = {}
    for p in parts:
        for ph in p.phases:
            m = merged.get(ph.name)
            if m is None:
                merged[ph.name] = m = PhaseEnergy(name=ph.name, energy_j=0.0, duration_s=0.0,
                                                  entries=0)
            m.energy_j += ph.energy_j
            m.duration_s = max(m.duration_s, ph.duration_s)  # ranks run phases side by side
            m.entries = max(m.entries, ph.entries)
            for k, v in ph.by_domain.items():
                m.by_domain[k] = m.by_domain.get(k, 0.0) + v
            m.counters = _merge_counters([m.counters, ph.counters])
    return list(merged.values())


#: Counters the ranks of a data-parallel job advance together (each rank takes every
#: optimiser step): the job's count is the largest rank's, not the sum.
LOCKSTEP_COUNTERS = ("steps",)


def _merge_counters(each: Iterable[dict[str, float]]) -> dict[str, float]:
    """Work counted by several ranks: tokens, samples and requests add up (each rank
    does its own share); steps are taken together, so the job's steps are the most any
    rank took."""
    out: dict[str, float] = {}
    for counters in each:
        for k, v in counters.items():
            out[k] = max(out.get(k, 0.0), v) if k in LOCKSTEP_COUNTERS else out.get(k, 0.0) + v
    return out


def merge_parts(parts: Iterable[JobPart]) -> JobResult:
    """The job made of ``parts`` (all of one job id; see the module doc for the rules)."""
    parts = list(parts)
    if not parts:
        raise ValueError("a job needs at least one part")
    ids = {p.job.job_id for p in parts}
    if len(ids) > 1:
        raise ValueError(f"parts of different jobs: {sorted(ids)}")
    # one part per (rank, host, launcher): a duplicate (the same ledger merged twice)
    # keeps the latest record
    unique: dict[tuple[Any, ...], JobPart] = {}
    for p in parts:
        key = (p.run_id,) if p.run_id else (p.job.host_id, p.job.launcher, p.job.rank)
        unique[key] = p
    parts = list(unique.values())
    totals = aggregate(d for p in parts for d in p.devices)
    counters = _merge_counters(p.counters for p in parts)
    statuses = {p.status for p in parts}
    status = next((s for s in STATUS_ORDER if s in statuses), "finished")
    starts = [(_parse(p.started_at), p) for p in parts if p.started_at]
    if starts:
        t0 = min(s for s, _ in starts)
        t1 = max(s + timedelta(seconds=max(p.duration_s, 0.0)) for s, p in starts)
        started_at, duration = t0.isoformat(timespec="milliseconds"), (t1 - t0).total_seconds()
    else:
        started_at, duration = "", max((p.duration_s for p in parts), default=0.0)
    ranks_parts = [p for p in parts if not p.job.launcher]
    world = max([p.job.world_size for p in ranks_parts] or [1])
    seen = {p.job.rank for p in ranks_parts}
    has_launcher = any(p.job.launcher for p in parts)
    missing = [r for r in range(world) if r not in seen] if ranks_parts else []
    warnings: list[str] = []
    if missing and not has_launcher:
        warnings.append(
            f"{len(missing)} of {world} ranks left no record (ranks "
            f"{', '.join(map(str, missing[:8]))}{'…' if len(missing) > 8 else ''}): the job's "
            "figures cover the recorded ranks only; track every rank, or wrap the launcher "
            "in `wattprint run`")
    for p in parts:
        if p.status in ("failed", "interrupted"):
            warnings.append(f"{p.label} on {p.host or p.job.host_id} ended {p.status}"
                            + (f" (exit code {p.exit_code})" if p.exit_code else ""))
    first = min(parts, key=lambda p: (p.job.launcher is False, p.job.rank))
    return JobResult(job_id=first.job.job_id, engine=first.job.engine, world_size=world,
                     status=status, started_at=started_at, duration_s=duration,
                     energy_j=totals.energy_j, energy_low_j=totals.energy_low_j,
                     energy_high_j=totals.energy_high_j, basis=totals.basis,
                     by_domain=totals.by_domain, counters=counters,
                     phases=_merge_phases(parts), parts=parts, missing_ranks=missing,
                     warnings=warnings)
