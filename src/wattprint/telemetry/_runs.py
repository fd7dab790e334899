"""The runs in progress on this host, read from the local ledger, as per-run series.

Mechanism (cheap, and the same figures as the ledger by construction): at a scrape, at
most once a second, one indexed query lists this host's ``running`` runs (the partial
index ``runs_running``), and for each counted device of each run one indexed range read
gives the samples flushed since the last read — the run's cumulative attributed energy
and its last interval power, exactly what the ledger holds (trackers flush every 0.5–2 s).
Each increment of energy is kept by the clock hour it was used in (split at the hour
boundaries as constant power between two samples), so a zone with hourly intensities or
prices weights every hour of the run as the report does: the CO2e and cost counters are
the sum over hours of energy × that hour's factors, and never go down. When a run
ends, its final per-device energies are read from its ``devices`` rows; a run whose
process died (still ``running``), or whose row was deleted, keeps its last figures. Runs
that ended stay in the exposition for ``grace_s`` seconds, then leave it, so label
cardinality is bounded by the runs of the last few minutes.

Runs tracked without a ledger are not seen here: expose them from their own process
(``track(..., prometheus_port=...)``).
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, Callable

from ..accounting._timeline import energy_by_hour
from ._factors import factors
from ._metrics import Series
from ._node import device_id

__all__ = ["LedgerRuns", "RunView"]

log = logging.getLogger("wattprint")

#: Seconds between two reads of the ledger (scrapes in between reuse the last read).
REFRESH_S = 1.0
#: Seconds between two checks that a running run's process is alive (psutil, ~0.1 ms).
ALIVE_RECHECK_S = 5.0


@dataclass
class _Device:
    idx: int
    device: str
    domain: str
    basis: str
    energy_j: float = 0.0
    power_w: float = 0.0
    t_seen: float = 0.0  # run time (s) of the last sample read
    by_hour: dict[int, float] = field(default_factory=dict)  # hour start (epoch s) -> J
    # hours before the last sample's hour whose factors are known: summed once
    settled: set[int] = field(default_factory=set)
    co2e_settled_g: float = 0.0
    cost_settled: float = 0.0

    def add(self, start_s: float, t0: float, t1: float, energy_j: float) -> None:
        """``energy_j`` used between run times ``t0`` and ``t1`` (constant power), run
        started at ``start_s`` (epoch s), kept by clock hour."""
        if energy_j <= 0:
            return
        hour = int((start_s + t1) // 3600 * 3600)
        if t1 <= t0 or start_s + t0 >= hour:  # one hour (the usual case: no date maths)
            self.by_hour[hour] = self.by_hour.get(hour, 0.0) + energy_j
            return
        weights = energy_by_hour(datetime.fromtimestamp(start_s + t0, timezone.utc), t1 - t0)
        total = sum(weights.values())
        for hour, w in weights.items():
            self.by_hour[hour] = self.by_hour.get(hour, 0.0) + energy_j * w / total


@dataclass
class RunView:
    """What the exporter knows of one run."""

    rid: int
    run_id: str
    name: str
    project: str
    job: str
    rank: str
    zone: str | None
    started_at: str
    pid: int | None
    pid_started: float | None
    settings: dict[str, Any]
    devices: list[_Device] = field(default_factory=list)
    status: str = "running"
    ended_s: float | None = None  # monotonic time the exporter saw it end
    alive_s: float = float("-inf")  # when its process was last found alive

    @property
    def created(self) -> float:
        try:
            return datetime.fromisoformat(self.started_at).timestamp()
        except ValueError:
            return 0.0

    def read_samples(self, conn: sqlite3.Connection) -> None:
        """The samples flushed since the last read: each device's energy (never below what
        was shown), last power, and the increments by clock hour."""
        start_s = self.created
        for d in self.devices:
            rows = conn.execute(  # streamed: a long run's first read is many rows
                "SELECT t, energy_j, power_w FROM samples WHERE rid = ? AND device = ? "
                "AND t > ? ORDER BY t", (self.rid, d.idx, d.t_seen))
            for t, energy, power in rows:
                if energy is None or energy < d.energy_j:
                    continue
                d.add(start_s, d.t_seen, float(t), float(energy) - d.energy_j)
                d.energy_j, d.power_w, d.t_seen = float(energy), float(power or 0.0), float(t)


class LedgerRuns:
    """This host's runs in the ledger at ``path`` (see the module doc)."""

    def __init__(self, path: str, *, host: str, grace_s: float = 300.0,
                 zone: str | None = None, pue: float | None = None,
                 price_per_kwh: float | None = None, currency: str | None = None,
                 clock: Callable[[], float] = time.monotonic,
                 alive: Callable[[int | None, float | None], bool] | None = None,
                 factors: Callable[..., Any] = factors) -> None:
        self.path = os.path.abspath(os.path.expanduser(path))
        self.host = host
        self.grace_s = float(grace_s)
        self._defaults = dict(zone=zone, pue=pue, price_per_kwh=price_per_kwh,
                              currency=currency)
        self._clock = clock
        self._factors = factors  # None while pending (IsolatedFactors)
        if alive is None:
            from ..ledger._recovery import process_alive as alive
        self._alive = alive
        self._conn: sqlite3.Connection | None = None
        self.runs: dict[str, RunView] = {}  # by run id (a deleted run's rid is reused)
        self._read_s = float("-inf")
        self._started = False  # the first read also loads recently ended runs
        self.error: str | None = None

    # -- reading the ledger ----------------------------------------------------------------
    def _connection(self) -> sqlite3.Connection | None:
        if self._conn is not None:
            return self._conn
        if not os.path.exists(self.path):
            return None
        from ..ledger._migrations import check_version
        from ..ledger._sqlite import connect

        conn = connect(self.path, readonly=True)
        try:
            check_version(conn, self.path, writable=False)
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def refresh(self, force: bool = False) -> None:
        """Read the ledger when the last read is older than :data:`REFRESH_S`. Never
        raises: a ledger that cannot be read keeps the last figures (``error`` says why)."""
        now = self._clock()
        if not force and now - self._read_s < REFRESH_S:
            return
        self._read_s = now
        try:
            conn = self._connection()
            if conn is not None:
                self._read(conn, now)
            self.error = None
        except Exception as err:  # noqa: BLE001 - a scrape must never fail on the ledger
            if self.error is None:
                log.warning("wattprint: exporter: reading the ledger %s failed: %s",
                            self.path, err)
            self.error = str(err)
            if self._conn is not None:
                self._conn.close()
                self._conn = None
        for run_id in [run_id for run_id, r in self.runs.items()
                       if r.ended_s is not None and now - r.ended_s >= self.grace_s]:
            del self.runs[run_id]

    def _recent(self, conn: sqlite3.Connection, now: float) -> None:
        """At the first read: this host's runs that ended less than ``grace_s`` ago, so an
        exporter restarted within the grace period still shows them (once; unindexed)."""
        from datetime import timedelta, timezone

        wall = datetime.now(timezone.utc)
        since = (wall - timedelta(seconds=self.grace_s)).isoformat(timespec="milliseconds")
        for row in conn.execute(
                "SELECT rid, id, name, project, job, zone, settings, started_at, pid, "
                "pid_started, status, ended_at FROM runs WHERE host = ? AND status != "
                "'running' AND ended_at >= ?", (self.host, since)).fetchall():
            run = self._view(conn, row[:10])
            run.status = str(row[10])
            try:
                ago = (wall - datetime.fromisoformat(row[11])).total_seconds()
            except (TypeError, ValueError):
                ago = 0.0
            run.ended_s = now - max(ago, 0.0)
            self._final(conn, run)
            self.runs[run.run_id] = run

    def _view(self, conn: sqlite3.Connection, row: tuple) -> RunView:
        rid, run_id, name, project, job, zone, settings, started, pid, pid_started = row
        job_d = _json(job, {})
        rank = job_d.get("rank")
        run = RunView(rid, run_id, name or "", project or "", str(job_d.get("job_id") or ""),
                      "" if rank is None else str(rank), zone, started, pid, pid_started,
                      _json(settings, {}))
        run.devices = self._devices(conn, rid)
        return run

    @staticmethod
    def _final(conn: sqlite3.Connection, run: RunView) -> None:
        """The run ended: its final per-device energies (never below what was shown); what
        its samples do not hold (the last moments) counts in the hour of its last sample."""
        run.read_samples(conn)
        final = {idx: e for idx, e in conn.execute(
            "SELECT idx, energy_j FROM devices WHERE rid = ?", (run.rid,))}
        for d in run.devices:
            d.power_w = 0.0
            e = final.get(d.idx)
            if e is not None and e >= d.energy_j:
                d.add(run.created, d.t_seen, d.t_seen, float(e) - d.energy_j)
                d.energy_j = float(e)

    def _read(self, conn: sqlite3.Connection, now: float) -> None:
        if not self._started:
            self._started = True
            self._recent(conn, now)
        rows = conn.execute(
            "SELECT rid, id, name, project, job, zone, settings, started_at, pid, "
            "pid_started FROM runs WHERE status = 'running' AND host = ?",
            (self.host,)).fetchall()
        running = set()
        for rid, run_id, name, project, job, zone, settings, started, pid, pid_started in rows:
            run = self.runs.get(run_id)
            if run is None:
                run = self.runs[run_id] = self._view(conn, (
                    rid, run_id, name, project, job, zone, settings, started, pid,
                    pid_started))
            if run.ended_s is not None:
                continue  # seen dead before: keeps its last figures until the grace ends
            run.read_samples(conn)  # read first: a run found dead keeps what it flushed
            if now - run.alive_s >= ALIVE_RECHECK_S:
                run.alive_s = now if self._alive(pid, pid_started) else float("-inf")
            if run.alive_s == float("-inf"):
                run.status, run.ended_s = "interrupted", now
                for d in run.devices:
                    d.power_w = 0.0
                continue
            running.add(run_id)
        for run_id, run in self.runs.items():
            if run_id in running or run.ended_s is not None:
                continue
            run.ended_s = now
            for d in run.devices:
                d.power_w = 0.0
            end = conn.execute("SELECT status, id FROM runs WHERE rid = ?",
                               (run.rid,)).fetchone()
            if end is None or end[1] != run_id:  # deleted (its rid may be reused)
                run.status = "deleted"
                continue
            run.status = str(end[0])
            self._final(conn, run)

    @staticmethod
    def _devices(conn: sqlite3.Connection, rid: int) -> list[_Device]:
        out = []
        for idx, name, domain, kind, counted, prov in conn.execute(
                "SELECT idx, name, domain, kind, counted, provenance FROM devices "
                "WHERE rid = ? ORDER BY idx", (rid,)):
            if not counted:
                continue  # nested in another device: never summed
            out.append(_Device(idx, device_id(name, _json(prov, {})), domain, kind))
        return out

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None

    # -- series ------------------------------------------------------------------------
    def series(self) -> list[Series]:
        self.refresh()
        out: list[Series] = []
        host = self.host
        for run in self.runs.values():
            zone = run.zone or self._defaults["zone"]
            s = run.settings
            pue = s.get("pue") if isinstance(s.get("pue"), (int, float)) else \
                self._defaults["pue"]
            price = s.get("price_per_kwh")
            currency = s.get("currency") if isinstance(price, (int, float)) else None
            if not isinstance(price, (int, float)):
                price, currency = self._defaults["price_per_kwh"], self._defaults["currency"]
            try:
                when = datetime.fromisoformat(run.started_at)
            except ValueError:
                when = None

            def at(hour: datetime | None) -> Any:
                return self._factors(zone, when=hour, pue=pue, price_per_kwh=price,
                                     currency=currency)

            f = at(when)
            created = run.created
            if f is not None:  # run_info carries the accounted zone: once it is known
                out.append(Series("wattprint_run_info", (
                    host, run.run_id, run.job, run.project, run.rank, run.name, run.status,
                    f.zone), 1.0))
            for d in run.devices:
                labels = (host, d.device, d.domain, d.basis, run.run_id, run.job,
                          run.project, run.rank)
                out.append(Series("wattprint_energy_joules_total", labels, d.energy_j, created))
                out.append(Series("wattprint_power_watts", labels, d.power_w))
                if f is None:
                    continue
                priced = _priced(d, at, open_from=(created + d.t_seen) // 3600 * 3600
                                 if run.ended_s is None else float("inf"))
                if priced is None:
                    continue  # an hour's factors are still pending (IsolatedFactors)
                co2e_g, cost = priced
                out.append(Series("wattprint_co2e_grams_total", labels + (f.zone,), co2e_g,
                                  created))
                if f.cost_per_j is not None:
                    out.append(Series("wattprint_cost_total", labels + (f.currency,), cost,
                                      created))
        return out


def _priced(d: _Device, at: Callable[[datetime | None], Any],
            open_from: float) -> tuple[float, float] | None:
    """``(grams CO2e, cost)`` of a device's energy, each clock hour at its own factors
    (None while one is pending). Hours before ``open_from`` no longer change: summed once."""
    co2e, cost = d.co2e_settled_g, d.cost_settled
    for hour, energy in d.by_hour.items():
        if hour in d.settled:
            continue
        f = at(datetime.fromtimestamp(hour, timezone.utc))
        if f is None:
            return None
        co2e += energy * f.co2e_g_per_j
        cost += energy * (f.cost_per_j or 0.0)
        if hour < open_from:
            d.settled.add(hour)
            d.co2e_settled_g += energy * f.co2e_g_per_j
            d.cost_settled += energy * (f.cost_per_j or 0.0)
    return co2e, cost


def _json(text: Any, default: Any) -> Any:
    if not text:
        return default
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return default
    return value if isinstance(value, type(default)) else default
