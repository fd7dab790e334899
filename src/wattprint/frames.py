"""DataFrames of runs, phases and samples, for notebooks and analysis: pandas or polars,
both optional (``pip install 'wattprint[pandas]'`` / ``'wattprint[polars]'``), imported
only when a frame is asked for.

    import wattprint.ledger
    df = wattprint.ledger.runs(project="llm", since="2026-01-01").to_pandas()
    run.result.samples_frame()            # t_s, device, power_w, energy_j of a recorded run
    run.result.phases_frame()             # one row per phase

Every frame is built from plain rows (:func:`run_rows`, :func:`phase_rows`,
:func:`sample_rows`, also usable without either library), with units in the column names
(``energy_j``, ``power_w``, ``duration_s``) and the ``basis`` column saying whether a run's
energy was measured or modelled.
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

__all__ = ["RunList", "run_rows", "phase_rows", "sample_rows", "frame", "FRAME_LIBRARIES",
           "RUN_COLUMNS"]

#: library → the wattprint extra that installs it
FRAME_LIBRARIES = {"pandas": "pandas", "polars": "polars"}

RUN_COLUMNS = ("id", "name", "project", "tags", "status", "started_at", "ended_at",
               "duration_s", "energy_j", "energy_low_j", "energy_high_j", "mean_power_w",
               "peak_power_w", "basis", "zone", "host", "exit_code")


def _library(name: str) -> Any:
    from .integrations._require import require

    return require(name, FRAME_LIBRARIES[name], feature=f"a {name} DataFrame")


def frame(rows: Sequence[dict[str, Any]], columns: Sequence[str], library: str) -> Any:
    """``rows`` as a pandas or polars DataFrame with ``columns`` first (then any other key
    the rows have, in order of appearance)."""
    if library not in FRAME_LIBRARIES:
        from .errors import UsageError

        raise UsageError(f"DataFrame library {library!r}: use 'pandas' or 'polars'")
    cols = list(columns)
    for row in rows:
        cols.extend(k for k in row if k not in cols)
    data = {c: [row.get(c) for row in rows] for c in cols}
    lib = _library(library)
    if library == "pandas":
        return lib.DataFrame(data, columns=cols)
    return lib.DataFrame(data, strict=False)


def run_rows(runs: Iterable[Any]) -> list[dict[str, Any]]:
    """One flat row per run (:class:`wattprint.ledger.RunRecord`): the summary columns,
    then ``count_<unit>`` per counted unit and ``energy_<domain>_j`` per domain."""
    rows = []
    for r in runs:
        row = {"id": r.id, "name": r.name, "project": r.project, "tags": ",".join(r.tags),
               "status": r.status, "started_at": r.started_at, "ended_at": r.ended_at,
               "duration_s": r.duration_s, "energy_j": r.energy_j,
               "energy_low_j": r.energy_low_j, "energy_high_j": r.energy_high_j,
               "mean_power_w": r.mean_power_w, "peak_power_w": r.peak_power_w,
               "basis": r.basis, "zone": r.zone, "host": r.host, "exit_code": r.exit_code}
        row.update({f"count_{u}": float(n) for u, n in sorted(r.counters.items())})
        row.update({f"energy_{d}_j": float(e) for d, e in sorted(r.by_domain.items())})
        rows.append(row)
    return rows


PHASE_COLUMNS = ("phase", "energy_j", "duration_s", "entries")


def phase_rows(phases: Iterable[Any], run_id: str | None = None) -> list[dict[str, Any]]:
    """One row per phase (:class:`wattprint.result.PhaseEnergy`): energy, duration,
    windows, counts (``count_<unit>``) and energy per unit (``j_per_<unit>``)."""
    rows = []
    for p in phases:
        row: dict[str, Any] = {"run_id": run_id} if run_id is not None else {}
        row.update(phase=p.name, energy_j=p.energy_j, duration_s=p.duration_s,
                   entries=p.entries)
        row.update({f"count_{u}": float(n) for u, n in sorted(p.counters.items())})
        row.update(p.per_unit)
        rows.append(row)
    return rows


SAMPLE_COLUMNS = ("t_s", "device", "sensor", "domain", "kind", "power_w", "energy_j")


def sample_rows(ledger_path: str, run_id: str, *,
                every_s: float | None = None) -> list[dict[str, Any]]:
    """The samples of a recorded run: ``t_s`` from its start, the device (index, sensor
    name, domain, measured/modelled), ``power_w`` and the device's cumulative
    ``energy_j``; ``every_s`` downsamples."""
    from .ledger import Ledger

    with Ledger(ledger_path, readonly=True) as ledger:
        record = ledger.get(run_id)
        devices = {i: d for i, d in enumerate(record.devices)}
        rows = []
        for index, t_s, power_w, energy_j in ledger.samples(record.id, every_s=every_s):
            d = devices.get(index)
            rows.append({"t_s": t_s, "device": index,
                         "sensor": d.name if d is not None else None,
                         "domain": d.domain if d is not None else None,
                         "kind": d.kind if d is not None else None,
                         "power_w": power_w, "energy_j": energy_j})
    return rows


class RunList(list):  # type: ignore[type-arg]
    """A list of :class:`wattprint.ledger.RunRecord` that turns into a DataFrame:
    :meth:`to_pandas`, :meth:`to_polars` (one row per run, :data:`RUN_COLUMNS` first)."""

    def to_rows(self) -> list[dict[str, Any]]:
        return run_rows(self)

    def to_pandas(self) -> Any:
        """A ``pandas.DataFrame``; needs ``pip install 'wattprint[pandas]'``."""
        return frame(self.to_rows(), RUN_COLUMNS, "pandas")

    def to_polars(self) -> Any:
        """A ``polars.DataFrame``; needs ``pip install 'wattprint[polars]'``."""
        return frame(self.to_rows(), RUN_COLUMNS, "polars")
