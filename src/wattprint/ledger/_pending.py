"""Runs waiting to be recorded: when a ledger cannot take a run — it could not be opened
when the run started, or the end of the run could not be written (disk full, a lock held
too long) — the run is saved as one JSON file and recorded by the next open of that
ledger for writing (any ``wattprint`` command, ``Ledger(path)``) or by
``wattprint pending``. Nothing measured is lost to a ledger fault.

Where the file goes, the first folder that can be written:

1. ``<ledger>.pending/`` next to the ledger file (``ledger.db.pending/``);
2. ``$XDG_STATE_HOME/wattprint/pending/`` (``~/.local/state/wattprint/pending/``);
3. ``<temporary folder>/wattprint-<uid>/pending/`` (``/tmp/wattprint-0/pending/``).

A file is named ``<run id>-<ledger key>.json``; the key is a hash of the ledger's path, so
the shared folders (2 and 3) serve every ledger and each ledger takes only its own runs.
Files are written whole (a temporary file renamed into place) and removed only after the
run is committed. Recording is idempotent: a run already in the ledger (its ``running``
row, or a copy recorded before a crash) gets its end written again, never a second row.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import tempfile
import threading
from dataclasses import asdict
from typing import Any, Mapping, Sequence

from ..result import RunResult
from ._writer import MAX_BUFFERED, insert_run, write_end

__all__ = ["FORMAT", "pending_dirs", "pending_files", "run_payload", "save_pending",
           "load_pending", "record_pending", "MemoryRun"]

log = logging.getLogger("wattprint")

FORMAT = "wattprint-pending-run/1"


def _key(ledger_path: str) -> str:
    return hashlib.sha256(os.path.abspath(ledger_path).encode()).hexdigest()[:12]


def pending_dirs(ledger_path: str, env: Mapping[str, str] | None = None) -> list[str]:
    """The folders a pending run of ``ledger_path`` may be in, in the order tried."""
    env = os.environ if env is None else env
    state = env.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local",
                                                      "state")
    uid = os.getuid() if hasattr(os, "getuid") else "user"
    return [os.path.abspath(ledger_path) + ".pending",
            os.path.join(state, "wattprint", "pending"),
            os.path.join(tempfile.gettempdir(), f"wattprint-{uid}", "pending")]


def _own_folder(folder: str) -> bool:
    """Whether ``folder`` is a real folder of this user (not a link another user planted
    in a shared temporary folder)."""
    try:
        st = os.lstat(folder)
    except OSError:
        return False
    import stat

    mine = not hasattr(os, "getuid") or st.st_uid == os.getuid()
    return stat.S_ISDIR(st.st_mode) and mine


def pending_files(ledger_path: str) -> list[str]:
    """The pending run files of ``ledger_path``, oldest run first."""
    suffix = f"-{_key(ledger_path)}.json"
    found = []
    for folder in pending_dirs(ledger_path):
        if not _own_folder(folder):
            continue
        try:
            names = os.listdir(folder)
        except OSError:
            continue
        found += [os.path.join(folder, n) for n in names if n.endswith(suffix)]
    return sorted(found, key=os.path.basename)


def run_payload(*, ledger_path: str, run_id: str, begin: Mapping[str, Any],
                result: RunResult, exit_code: int | None, ended_at: str,
                samples: Sequence[Sequence[float]], why: str) -> dict[str, Any]:
    """Everything needed to record a run: ``begin`` holds the fields of its ``running``
    row (name, project, tags, command, host, pid, mode, started_at, zone, settings),
    ``samples`` the ``(device, t_s, power_w, energy_j)`` rows not in the ledger yet."""
    return {"format": FORMAT, "ledger": os.path.abspath(ledger_path), "run_id": run_id,
            "why": why, "begin": dict(begin), "result": asdict(result),
            "exit_code": exit_code, "ended_at": ended_at,
            "samples": [list(row) for row in samples]}


def save_pending(payload: Mapping[str, Any]) -> str:
    """Write ``payload`` to the first folder of :func:`pending_dirs` that takes it and
    return the file's path. Raises ``OSError`` (naming every folder tried) when none
    does."""
    ledger_path = payload["ledger"]
    name = f"{payload['run_id']}-{_key(ledger_path)}.json"
    text = json.dumps(payload, default=str, separators=(",", ":"))
    errors = []
    for folder in pending_dirs(ledger_path):
        try:
            os.makedirs(folder, mode=0o700, exist_ok=True)
            if not _own_folder(folder):
                raise PermissionError(f"{folder} is not a folder owned by this user")
            path = os.path.join(folder, name)
            fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=".json", dir=folder)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as fh:
                    fh.write(text)
                    fh.flush()
                    os.fsync(fh.fileno())
                os.replace(tmp, path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
            return path
        except OSError as err:
            errors.append(f"{folder}: {err.strerror or err}")
    raise OSError("no folder could take the pending run (" + "; ".join(errors) + ")")


def load_pending(path: str) -> dict[str, Any]:
    """A pending run file's payload. Raises ``OSError`` or ``ValueError``."""
    with open(path, encoding="utf-8") as fh:
        payload = json.load(fh)
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise ValueError(f"{path} is not a wattprint pending run ({FORMAT})")
    return payload


def record_pending(conn: sqlite3.Connection, payload: Mapping[str, Any]) -> str:
    """Record a pending run inside the caller's write transaction; its id."""
    run_id = str(payload["run_id"])
    row = conn.execute("SELECT rid FROM runs WHERE id = ?", (run_id,)).fetchone()
    if row is not None:
        rid = int(row[0])
    else:
        b = payload["begin"]
        rid = insert_run(conn, run_id, name=b.get("name"), project=b.get("project"),
                         tags=list(b.get("tags") or []), command=b.get("command"),
                         host=str(b.get("host") or ""), pid=b.get("pid"), pid_started=None,
                         mode=b.get("mode"), started_at=str(b["started_at"]),
                         zone=b.get("zone"), settings=b.get("settings") or {},
                         job=b.get("job"))
    result = RunResult.from_dict(payload["result"])
    rows = [(rid, int(d), float(t), float(p), float(e)) for d, t, p, e in payload["samples"]]
    write_end(conn, rid, result, payload.get("exit_code"), str(payload["ended_at"]), rows)
    return run_id


class MemoryRun:
    """A run kept in memory while its ledger cannot be opened: its id, the fields of its
    ``running`` row and its samples (at most ``MAX_BUFFERED``; older ones are dropped
    and counted). A :data:`wattprint.sampler.SampleSink` like a ledger writer's."""

    def __init__(self, run_id: str, begin: Mapping[str, Any]) -> None:
        self.run_id = run_id
        self.begin = dict(begin)
        self.t0 = 0.0
        self.dropped = 0
        self._samples: list[tuple[int, float, float, float]] = []
        self._lock = threading.Lock()

    def sink(self, index: int, time_s: float, power_w: float, energy_j: float) -> None:
        with self._lock:
            self._samples.append((index, time_s - self.t0, power_w, energy_j))
            if len(self._samples) > MAX_BUFFERED + MAX_BUFFERED // 10:  # trim in chunks
                excess = len(self._samples) - MAX_BUFFERED
                del self._samples[:excess]
                self.dropped += excess

    def take(self) -> list[tuple[int, float, float, float]]:
        with self._lock:
            rows, self._samples = self._samples, []
        return rows
