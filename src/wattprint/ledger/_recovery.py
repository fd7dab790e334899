"""Recovery of runs whose recording process died (SIGKILL, OOM killer, power loss).

A run is written as ``running`` with the host, PID and the process's start time. When a
ledger is opened for writing, every ``running`` run of this host whose process is gone —
or whose PID now belongs to a process started at another time (PID reuse) — is marked
``interrupted``; its totals come from the samples that were flushed: the last cumulative
energy of each device, the time of the last sample as its duration. Runs of other hosts
are left alone (their processes cannot be checked from here).
"""

from __future__ import annotations

import json
import sqlite3
from datetime import timedelta
from typing import Any

import psutil

from ..result import DeviceEnergy, aggregate
from ._records import parse_time
from ._sqlite import write_txn

__all__ = ["process_alive", "stale_runs", "recover_run", "PID_TIME_TOLERANCE_S"]

#: Two start times of one PID closer than this are the same process.
PID_TIME_TOLERANCE_S = 1.0


def process_alive(pid: int | None, started: float | None) -> bool:
    """Whether the process that wrote a run still runs (``started``: its create time)."""
    if pid is None:
        return False
    try:
        proc = psutil.Process(pid)
        if started is not None and abs(proc.create_time() - started) > PID_TIME_TOLERANCE_S:
            return False
        return proc.status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False
    except psutil.AccessDenied:  # someone else's live process: cannot tell, keep it
        return True


def stale_runs(conn: sqlite3.Connection, host: str) -> list[int]:
    """Row ids of this host's ``running`` runs whose process is gone."""
    rows = conn.execute("SELECT rid, pid, pid_started FROM runs "
                        "WHERE status = 'running' AND host = ?", (host,)).fetchall()
    return [rid for rid, pid, started in rows if not process_alive(pid, started)]


def _json_dict(text: str | None) -> dict[str, Any]:
    try:
        value = json.loads(text or "{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def recover_run(conn: sqlite3.Connection, rid: int) -> bool:
    """Mark one stale run ``interrupted`` with totals from its flushed samples, in one
    transaction. False when another process finished or recovered it first."""
    with write_txn(conn):
        row = conn.execute("SELECT status, started_at, pid, host, warnings FROM runs "
                           "WHERE rid = ?", (rid,)).fetchone()
        if row is None or row[0] != "running":
            return False
        _status, started_at, pid, host, warnings_text = row
        per_device = {
            device: (n, last_e, peak_w, last_t)
            for device, n, last_e, peak_w, last_t in conn.execute(
                "SELECT device, count(*), max(energy_j), max(power_w), max(t) "
                "FROM samples WHERE rid = ? GROUP BY device", (rid,))}
        duration = max((v[3] for v in per_device.values()), default=0.0) or 0.0
        devices: list[DeviceEnergy] = []
        updates: list[tuple[Any, ...]] = []
        for idx, domain, kind, counted, provenance in conn.execute(
                "SELECT idx, domain, kind, counted, provenance FROM devices WHERE rid = ?",
                (rid,)).fetchall():
            n, energy, peak, _t = per_device.get(idx, (0, 0.0, 0.0, 0.0))
            energy = energy or 0.0
            updates.append((energy, energy / duration if duration > 0 else 0.0, peak or 0.0,
                            n, rid, idx))
            devices.append(DeviceEnergy(
                name="", domain=domain, kind=kind, device="", energy_j=energy,
                device_energy_j=0.0, mean_power_w=0.0, peak_power_w=0.0, samples=n,
                counted=bool(counted), provenance=_json_dict(provenance)))
        conn.executemany("UPDATE devices SET energy_j = ?, mean_power_w = ?, peak_power_w = ?, "
                         "samples = ? WHERE rid = ? AND idx = ?", updates)
        totals = aggregate(devices)
        try:
            warnings = list(json.loads(warnings_text or "[]"))
        except ValueError:
            warnings = []
        warnings.append(
            f"interrupted: the recording process (PID {pid} on {host}) ended without "
            f"finishing the run; totals come from the samples flushed up to {duration:.1f} s "
            "(peak power and whole-device energy are unknown)")
        ended_at = (parse_time(started_at) + timedelta(seconds=duration)).isoformat(
            timespec="milliseconds")
        conn.execute(
            "UPDATE runs SET status = 'interrupted', ended_at = ?, duration_s = ?, "
            "energy_j = ?, energy_low_j = ?, energy_high_j = ?, peak_power_w = NULL, "
            "basis = ?, by_domain = ?, warnings = ?, "
            "samples = (SELECT count(*) FROM samples WHERE rid = ?) WHERE rid = ?",
            (ended_at, duration, totals.energy_j, totals.energy_low_j, totals.energy_high_j,
             totals.basis, json.dumps(totals.by_domain),
             json.dumps(warnings), rid, rid))
    return True
