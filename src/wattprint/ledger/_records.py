"""What the ledger returns: :class:`RunRecord`, one run with its devices, phases and
counters, built from database rows. Devices and phases reuse the result classes of
:mod:`wattprint.result`, so a recorded run reads like a live one."""

from __future__ import annotations

import copy
import json
import sqlite3
from dataclasses import dataclass, field, fields
from datetime import datetime, timezone
from typing import Any, NamedTuple

from ..result import DeviceEnergy, PhaseEnergy, RunResult, _per_unit

__all__ = ["RunRecord", "RUN_COLUMNS", "STATUSES", "run_from_row", "device_from_row",
           "phase_from_row", "utc_now_iso", "parse_time"]

#: Run statuses: ``running`` while recorded; the others are final. ``stopped``: ended by
#: wattprint itself (a budget with ``on_budget="stop"``); ``end_reason`` says why.
STATUSES = ("running", "finished", "failed", "interrupted", "stopped")

#: Columns selected for a run, in the order :func:`run_from_row` reads them.
RUN_COLUMNS = (
    "runs.rid, runs.id, runs.name, runs.project, "
    "(SELECT group_concat(tag, char(31)) FROM run_tags t WHERE t.rid = runs.rid), "
    "runs.command, runs.host, runs.pid, runs.mode, runs.status, runs.started_at, "
    "runs.ended_at, runs.duration_s, runs.exit_code, runs.zone, runs.settings, "
    "runs.energy_j, runs.energy_low_j, runs.energy_high_j, runs.peak_power_w, runs.basis, "
    "runs.by_domain, runs.warnings, runs.cpu_s, runs.samples, runs.end_reason, "
    "runs.overhead_cpu_s, runs.job")

DEVICE_COLUMNS = ("idx, name, domain, kind, device, counted, energy_j, device_energy_j, "
                  "mean_power_w, peak_power_w, samples, bridged_j, errors, last_error, "
                  "replaced_by, gaps, provenance")


def utc_now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


def parse_time(text: str) -> datetime:
    """An ISO 8601 time from the ledger (always UTC) as an aware datetime."""
    dt = datetime.fromisoformat(text)
    return dt if dt.tzinfo else dt.replace(tzinfo=timezone.utc)


def _json(text: str | None, default: Any) -> Any:
    if not text:
        return default
    try:
        return json.loads(text)
    except ValueError:
        return default


@dataclass
class RunRecord:
    """One run as stored. Energies in joules; ``None`` where a figure is unknown (a run
    still running, or recovered after its process died)."""

    id: str
    name: str | None
    project: str | None
    tags: list[str]
    command: list[str] | None
    host: str
    pid: int | None
    mode: str | None
    status: str
    started_at: str  # ISO 8601, UTC
    ended_at: str | None
    duration_s: float | None
    exit_code: int | None
    zone: str | None
    settings: dict[str, Any]
    energy_j: float | None
    energy_low_j: float | None
    energy_high_j: float | None
    peak_power_w: float | None
    basis: str | None
    by_domain: dict[str, float]
    warnings: list[str]
    cpu_s: float | None
    samples: int
    end_reason: str | None = None  # why the run ended so (a budget that stopped it...)
    overhead_cpu_s: float | None = None  # wattprint's own sampling CPU (measured)
    #: the run's place in a distributed job (JobIdentity as a dict), None for a lone run
    job_info: dict[str, Any] | None = None
    counters: dict[str, float] = field(default_factory=dict)
    devices: list[DeviceEnergy] = field(default_factory=list)
    phases: list[PhaseEnergy] = field(default_factory=list)
    rid: int = field(default=0, repr=False)

    @property
    def mean_power_w(self) -> float | None:
        if self.energy_j is None or not self.duration_s:
            return None
        return self.energy_j / self.duration_s

    @property
    def job(self) -> Any:
        """The :class:`wattprint.distributed.JobIdentity` of a job part, else None."""
        if not self.job_info:
            return None
        from ..distributed import JobIdentity

        return JobIdentity.from_dict(self.job_info)

    @property
    def job_id(self) -> str | None:
        return (self.job_info or {}).get("job_id")

    @property
    def per_unit(self) -> dict[str, float]:
        """Energy per counted unit: ``{"j_per_token": …}`` (empty when unknown)."""
        return _per_unit(self.energy_j, self.counters) if self.energy_j is not None else {}

    def to_dict(self) -> dict[str, Any]:
        data = _plain(self)
        data.pop("rid")
        data.update(mean_power_w=self.mean_power_w, per_unit=self.per_unit)
        for p, obj in zip(data["phases"], self.phases):
            p["per_unit"] = obj.per_unit
        return data

    def listing_dict(self) -> dict[str, Any]:
        """What :meth:`to_dict` gives without the per-device, per-phase and per-unit detail
        (the run as ``wattprint runs --json`` lists it), for serialising at once: a new
        dict whose values are the record's own (lists and dicts shared, not copied)."""
        data = {name: getattr(self, name) for name in _LISTING_FIELDS}
        data["mean_power_w"] = self.mean_power_w
        return data

    def to_result(self) -> RunResult:
        """The run as a :class:`RunResult` (unknown figures as 0)."""
        return RunResult(
            name=self.name, mode=self.mode or "process", started_at=self.started_at,
            duration_s=self.duration_s or 0.0, energy_j=self.energy_j or 0.0,
            energy_low_j=self.energy_low_j or 0.0, energy_high_j=self.energy_high_j or 0.0,
            by_domain=dict(self.by_domain), devices=list(self.devices),
            phases=list(self.phases), counters=dict(self.counters),
            peak_power_w=self.peak_power_w or 0.0, status=self.status,
            warnings=list(self.warnings), run_id=self.id, cpu_s=self.cpu_s,
            end_reason=self.end_reason, overhead_cpu_s=self.overhead_cpu_s)


#: The fields of a run in a listing: all but the row id and the per-device, per-phase and
#: counter detail.
_LISTING_FIELDS = tuple(f.name for f in fields(RunRecord)
                        if f.name not in ("rid", "devices", "phases", "counters"))


def _plain(obj: Any) -> Any:
    """``dataclasses.asdict`` for a record: the same dicts and lists, built without its
    ``deepcopy`` of every number and string (immutable: shared). ``runs --all --json``
    on a hundred thousand runs spent half its time there."""
    if hasattr(obj, "__dataclass_fields__"):
        return {f.name: _plain(getattr(obj, f.name)) for f in fields(obj)}
    if isinstance(obj, (list, tuple)) and not hasattr(obj, "_fields"):
        return type(obj)(_plain(v) for v in obj)
    if isinstance(obj, dict):
        return type(obj)((_plain(k), _plain(v)) for k, v in obj.items())
    if isinstance(obj, (str, int, float, bool, type(None))):
        return obj
    return copy.deepcopy(obj)  # anything else is copied as asdict copies it


#: Columns of a run's listing row, in the order of :class:`RunSummary`'s fields.
SUMMARY_COLUMNS = (
    "runs.id, runs.started_at, runs.status, runs.duration_s, runs.energy_j, runs.basis, "
    "runs.project, (SELECT group_concat(tag, char(31)) FROM run_tags t WHERE t.rid = runs.rid), "
    "runs.name, runs.job_id")


class RunSummary(NamedTuple):
    """What a listing shows of a run (``wattprint runs``), read without the JSON columns:
    the fields keep :class:`RunRecord`'s names."""

    id: str
    started_at: str
    status: str
    duration_s: float | None
    energy_j: float | None
    basis: str | None
    project: str | None
    tags: list[str]
    name: str | None
    job_id: str | None


def summary_from_row(row: tuple) -> RunSummary:
    tags = row[7]
    return RunSummary(*row[:7], sorted(tags.split("\x1f")) if tags else [], row[8], row[9])


def run_from_row(row: sqlite3.Row | tuple) -> RunRecord:
    (rid, id_, name, project, tags, command, host, pid, mode, status, started_at, ended_at,
     duration_s, exit_code, zone, settings, energy_j, low, high, peak, basis, by_domain,
     warnings, cpu_s, samples, end_reason, overhead_cpu_s, job) = row
    return RunRecord(
        id=id_, name=name, project=project,
        tags=sorted(tags.split("\x1f")) if tags else [],
        command=_json(command, None), host=host, pid=pid, mode=mode, status=status,
        started_at=started_at, ended_at=ended_at, duration_s=duration_s,
        exit_code=exit_code, zone=zone, settings=_json(settings, {}), energy_j=energy_j,
        energy_low_j=low, energy_high_j=high, peak_power_w=peak, basis=basis,
        by_domain=_json(by_domain, {}), warnings=_json(warnings, []), cpu_s=cpu_s,
        samples=samples or 0, end_reason=end_reason, overhead_cpu_s=overhead_cpu_s,
        job_info=_json(job, None), rid=rid)


def device_from_row(row: tuple) -> DeviceEnergy:
    (_idx, name, domain, kind, device, counted, energy_j, device_energy_j, mean_power_w,
     peak_power_w, samples, bridged_j, errors, last_error, replaced_by, gaps,
     provenance) = row
    return DeviceEnergy(
        name=name, domain=domain, kind=kind, device=device or "",
        energy_j=energy_j or 0.0, device_energy_j=device_energy_j,  # type: ignore[arg-type]
        mean_power_w=mean_power_w or 0.0, peak_power_w=peak_power_w or 0.0,
        samples=samples or 0, counted=bool(counted), bridged_j=bridged_j or 0.0,
        gaps=_json(gaps, []), errors=errors or 0, last_error=last_error,
        replaced_by=replaced_by, provenance=_json(provenance, {}))


def phase_from_row(row: tuple) -> PhaseEnergy:
    name, energy_j, duration_s, entries, by_domain, counters = row
    return PhaseEnergy(name=name, energy_j=energy_j, duration_s=duration_s, entries=entries,
                       by_domain=_json(by_domain, {}), counters=_json(counters, {}))
