"""The run payload that clients push to a team server, format ``wattprint.run/1``.

Standard library only: the push client (core path) builds payloads, the server (extra
``[server]``) validates them, and both import this module.

A final run of a local ledger becomes one or more JSON-ready chunks
(:func:`run_payloads`). Chunk 0 carries the run, its devices, phases and counters; every
chunk carries ``run.id``, ``chunk: {"index": i, "count": n}``, the ``digest`` of the whole
set (:func:`payload_digest`) and part of the power trace, downsampled for the server
(the full resolution stays in the local ledger)::

    {"format": "wattprint.run/1", "digest": "…", "chunk": {"index": 0, "count": 2},
     "run": {"id": "…", "name": …, "project": …, "user": …, "energy_j": …, …},
     "devices": [{"index": 0, "name": "nvml:0", "domain": "gpu", …}, …],
     "phases": [...], "counters": {"tokens": 1e6},
     "power": [{"device": 0, "t": [0.1, …], "power_w": [...], "energy_j": [...]}]}

``t`` is seconds from the run's start, ``energy_j`` the device's cumulative energy at
each point (optional: the server derives it from power when absent).
:func:`parse_payload` validates a chunk (every number finite, energies >= 0, strings
bounded) and raises :class:`PayloadError` whose message names the field and the rule.
"""

from __future__ import annotations

import getpass
import hashlib
import json
import math
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Mapping, Sequence

from .errors import UsageError

__all__ = ["FORMAT", "PayloadError", "RunPayload", "run_payloads", "payload_digest",
           "parse_payload", "FINAL_STATUSES", "MAX_STRING", "MAX_POINTS_PER_CHUNK"]

#: The format name and version every payload carries.
FORMAT = "wattprint.run/1"
#: Statuses a pushed run may have: only runs that ended are pushed.
FINAL_STATUSES = ("finished", "failed", "interrupted", "stopped")
#: Longest accepted text field (names, hosts, warnings...), in characters.
MAX_STRING = 4096
#: Most power points one chunk may carry (all devices together).
MAX_POINTS_PER_CHUNK = 100_000
#: Most devices, phases, counters, tags and warnings a run may have.
MAX_ITEMS = 10_000
#: Largest JSON size of the free-form dicts (settings, provenance, job), in characters.
MAX_JSON = 65_536

_ID = re.compile(r"^[0-9a-z][0-9a-z_.-]{0,63}$")
_DOMAINS = ("gpu", "cpu", "dram", "ram", "system")
_KINDS = ("measured", "modelled")
_BASES = ("measured", "modelled", "mixed", "none")


class PayloadError(UsageError):
    """A payload that does not follow ``wattprint.run/1``; ``field`` names the part."""

    def __init__(self, field_name: str, rule: str) -> None:
        super().__init__(f"{field_name}: {rule}")
        self.field = field_name
        self.rule = rule


# -- building ------------------------------------------------------------------------------
def run_payloads(ledger: Any, run_id: str, *, max_points_per_device: int = 2000,
                 chunk_points: int = 5000, user: str | None = None) -> list[dict[str, Any]]:
    """The payload chunks of one final run of ``ledger`` (a :class:`wattprint.ledger.
    Ledger`). The power trace is downsampled to at most ``max_points_per_device + 1``
    points per device (index seeks: fast on runs of any length) and cut into chunks of at
    most ``chunk_points`` points. ``user``: who ran it (default: the run's ``settings``
    key ``user``, else the local login name). Raises :class:`PayloadError` for a run
    still running."""
    if chunk_points < 1 or max_points_per_device < 2:
        raise ValueError("chunk_points must be >= 1 and max_points_per_device >= 2")
    full_id = ledger.resolve(run_id)
    record = ledger.get(full_id)
    if record.status not in FINAL_STATUSES:
        raise PayloadError("run.status", f"run {record.id} is {record.status!r}: only runs "
                           f"that ended ({', '.join(FINAL_STATUSES)}) are pushed")
    series = ledger.series(record.id, points=max_points_per_device)
    head = {"run": _run_dict(record, user), "devices": [
        _device_dict(i, d) for i, d in enumerate(record.devices)],
        "phases": [_phase_dict(p) for p in record.phases],
        "counters": {str(k): float(v) for k, v in record.counters.items()}}
    pieces: list[list[dict[str, Any]]] = [[]]
    room = chunk_points
    for idx in sorted(series):
        points = [p for p in series[idx] if _finite(p[0]) and _finite(p[1])]
        start = 0
        while start < len(points):
            if room == 0:
                pieces.append([])
                room = chunk_points
            part = points[start:start + room]
            pieces[-1].append({"device": idx, "t": [p[0] for p in part],
                               "power_w": [max(p[1], 0.0) for p in part],
                               "energy_j": [max(p[2], 0.0) if _finite(p[2]) else 0.0
                                            for p in part]})
            start += len(part)
            room -= len(part)
    count = len(pieces)
    chunks = []
    for i, power in enumerate(pieces):
        chunk: dict[str, Any] = {"format": FORMAT, "chunk": {"index": i, "count": count}}
        chunk.update(head if i == 0 else {"run": {"id": record.id}})
        chunk["power"] = power
        chunks.append(chunk)
    digest = payload_digest(chunks)
    for chunk in chunks:
        chunk["digest"] = digest
    return chunks


def payload_digest(payloads: Sequence[Mapping[str, Any]]) -> str:
    """A stable sha256 (hex) of the payloads' content, without their own ``digest``
    keys: the same run gives the same digest; a run re-tagged or renamed gives another,
    so it is pushed again."""
    h = hashlib.sha256()
    for p in payloads:
        body = {k: v for k, v in p.items() if k != "digest"}
        h.update(json.dumps(body, sort_keys=True, separators=(",", ":"),
                            allow_nan=False, default=str).encode())
        h.update(b"\n")
    return h.hexdigest()


def _finite(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def _num(x: Any) -> float | None:
    return float(x) if _finite(x) else None


def _run_dict(r: Any, user: str | None) -> dict[str, Any]:
    settings = dict(r.settings or {})
    if user is None:
        user = settings.get("user") if isinstance(settings.get("user"), str) else None
    if user is None:
        try:
            user = getpass.getuser()
        except (KeyError, OSError):  # no login name (a container without passwd entry)
            user = None
    return {
        "id": r.id, "name": r.name, "project": r.project, "user": user,
        "tags": list(r.tags), "command": list(r.command) if r.command else None,
        "host": r.host, "mode": r.mode, "status": r.status, "started_at": r.started_at,
        "ended_at": r.ended_at, "duration_s": _num(r.duration_s), "exit_code": r.exit_code,
        "zone": r.zone, "settings": settings, "energy_j": _num(r.energy_j),
        "energy_low_j": _num(r.energy_low_j), "energy_high_j": _num(r.energy_high_j),
        "peak_power_w": _num(r.peak_power_w), "basis": r.basis,
        "by_domain": {k: v for k, v in (r.by_domain or {}).items() if _finite(v)},
        "warnings": list(r.warnings), "cpu_s": _num(r.cpu_s), "samples": int(r.samples or 0),
        "end_reason": r.end_reason, "overhead_cpu_s": _num(r.overhead_cpu_s),
        "job": r.job_info}


def _device_dict(i: int, d: Any) -> dict[str, Any]:
    return {"index": i, "name": d.name, "domain": d.domain, "kind": d.kind,
            "device": d.device or "", "counted": bool(d.counted),
            "energy_j": _num(d.energy_j) or 0.0, "device_energy_j": _num(d.device_energy_j),
            "mean_power_w": _num(d.mean_power_w) or 0.0,
            "peak_power_w": _num(d.peak_power_w) or 0.0, "samples": int(d.samples or 0),
            "bridged_j": _num(d.bridged_j) or 0.0, "gaps": d.gaps or [],
            "errors": int(d.errors or 0), "last_error": d.last_error,
            "replaced_by": d.replaced_by, "provenance": d.provenance or {}}


def _phase_dict(p: Any) -> dict[str, Any]:
    return {"name": p.name, "energy_j": _num(p.energy_j) or 0.0,
            "duration_s": _num(p.duration_s) or 0.0, "entries": int(p.entries),
            "by_domain": {k: v for k, v in (p.by_domain or {}).items() if _finite(v)},
            "counters": {k: v for k, v in (p.counters or {}).items() if _finite(v)}}


# -- validating ----------------------------------------------------------------------------
@dataclass
class RunPayload:
    """One validated chunk. ``run`` holds only ``id`` in chunks after the first."""

    run_id: str
    chunk_index: int
    chunk_count: int
    digest: str
    run: dict[str, Any]
    devices: list[dict[str, Any]] = field(default_factory=list)
    phases: list[dict[str, Any]] = field(default_factory=list)
    counters: dict[str, float] = field(default_factory=dict)
    power: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_head(self) -> bool:
        """Whether this chunk carries the run (chunk 0)."""
        return self.chunk_index == 0

    @property
    def points(self) -> int:
        return sum(len(p["t"]) for p in self.power)


def parse_payload(obj: Any) -> RunPayload:
    """Validate one chunk (a parsed JSON object). Raises :class:`PayloadError`."""
    if not isinstance(obj, dict):
        raise PayloadError("payload", f"must be a JSON object, not {_kind(obj)}")
    if obj.get("format") != FORMAT:
        raise PayloadError("format", f"must be {FORMAT!r} (got {_short(obj.get('format'))})")
    chunk = _dict(obj, "chunk", "chunk")
    count = _int(chunk.get("count"), "chunk.count", 1, 100_000)
    index = _int(chunk.get("index"), "chunk.index", 0, count - 1)
    digest = obj.get("digest")
    if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{16,128}", digest):
        raise PayloadError("digest", "must be a hex string (payload_digest of the chunks)")
    run = _dict(obj, "run", "run")
    run_id = run.get("id")
    if not isinstance(run_id, str) or not _ID.match(run_id):
        raise PayloadError("run.id", "must be a run id: 1 to 64 characters of 0-9, a-z, "
                           f"'.', '_' or '-' (got {_short(run_id)})")
    power = _power(obj.get("power", []))
    if index > 0:
        return RunPayload(run_id, index, count, digest, {"id": run_id}, power=power)
    return RunPayload(run_id, index, count, digest, _run(run), _devices(obj.get("devices")),
                      _phases(obj.get("phases", [])), _counters(obj.get("counters", {}),
                                                                "counters"), power)


def _kind(x: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean",
            type(None): "null"}.get(type(x), "a number")


def _short(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def _dict(obj: Mapping[str, Any], key: str, name: str) -> dict[str, Any]:
    value = obj.get(key)
    if not isinstance(value, dict):
        raise PayloadError(name, f"must be an object (got {_kind(value)})")
    return value


def _int(x: Any, name: str, lo: int, hi: int) -> int:
    if not isinstance(x, int) or isinstance(x, bool) or not lo <= x <= hi:
        raise PayloadError(name, f"must be an integer from {lo} to {hi} (got {_short(x)})")
    return x


def _float(x: Any, name: str, *, optional: bool = True, lo: float | None = 0.0) -> float | None:
    if x is None and optional:
        return None
    if not _finite(x):
        raise PayloadError(name, f"must be a finite number (got {_short(x)})")
    if lo is not None and x < lo:
        raise PayloadError(name, f"must be >= {lo:g} (got {x!r})")
    return float(x)


def _str(x: Any, name: str, *, optional: bool = True, limit: int = MAX_STRING) -> str | None:
    if x is None and optional:
        return None
    if not isinstance(x, str):
        raise PayloadError(name, f"must be a string (got {_kind(x)})")
    if len(x) > limit:
        raise PayloadError(name, f"must be at most {limit} characters (got {len(x)})")
    if "\x00" in x:
        raise PayloadError(name, "must not contain NUL characters")
    return x


def _choice(x: Any, name: str, choices: Sequence[str], optional: bool = False) -> str | None:
    if x is None and optional:
        return None
    if x not in choices:
        raise PayloadError(name, f"must be one of {', '.join(choices)} (got {_short(x)})")
    return x


def _time(x: Any, name: str, optional: bool = False) -> str | None:
    if x is None and optional:
        return None
    text = _str(x, name, optional=False, limit=64)
    if text.endswith(("Z", "z")):  # type: ignore[union-attr]
        text = text[:-1] + "+00:00"  # type: ignore[index]
    try:
        datetime.fromisoformat(text)  # type: ignore[arg-type]
    except ValueError:
        raise PayloadError(name, f"must be an ISO 8601 time (got {_short(x)})") from None
    return text


def _json(x: Any, name: str, want: type) -> Any:
    if not isinstance(x, want):
        raise PayloadError(name, f"must be {'an object' if want is dict else 'an array'} "
                           f"(got {_kind(x)})")
    try:
        text = json.dumps(x, allow_nan=False)
    except (TypeError, ValueError):
        raise PayloadError(name, "must hold only finite numbers, strings, arrays and "
                           "objects") from None
    if len(text) > MAX_JSON:
        raise PayloadError(name, f"must be at most {MAX_JSON} characters of JSON "
                           f"(got {len(text)})")
    return x


def _list(x: Any, name: str) -> list[Any]:
    if not isinstance(x, list):
        raise PayloadError(name, f"must be an array (got {_kind(x)})")
    if len(x) > MAX_ITEMS:
        raise PayloadError(name, f"must have at most {MAX_ITEMS} items (got {len(x)})")
    return x


def _strings(x: Any, name: str, limit: int = MAX_STRING) -> list[str]:
    return [_str(v, f"{name}[{i}]", optional=False, limit=limit)  # type: ignore[misc]
            for i, v in enumerate(_list(x, name))]


def _counters(x: Any, name: str) -> dict[str, float]:
    if not isinstance(x, dict) or len(x) > MAX_ITEMS:
        raise PayloadError(name, f"must be an object of at most {MAX_ITEMS} numbers")
    return {_str(k, f"{name} key", optional=False, limit=64):  # type: ignore[misc]
            _float(v, f"{name}.{k}", optional=False, lo=None) for k, v in x.items()}


def _run(r: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {"id": r["id"]}
    for key in ("name", "project", "user", "host", "mode", "zone", "end_reason"):
        out[key] = _str(r.get(key), f"run.{key}", limit=256 if key != "end_reason"
                        else MAX_STRING)
    if not out["host"]:
        raise PayloadError("run.host", "must be the name of the machine the run ran on")
    out["status"] = _choice(r.get("status"), "run.status", FINAL_STATUSES)
    out["started_at"] = _time(r.get("started_at"), "run.started_at")
    out["ended_at"] = _time(r.get("ended_at"), "run.ended_at", optional=True)
    for key in ("duration_s", "energy_j", "energy_low_j", "energy_high_j", "peak_power_w",
                "cpu_s", "overhead_cpu_s"):
        out[key] = _float(r.get(key), f"run.{key}")
    out["exit_code"] = (None if r.get("exit_code") is None else
                        _int(r.get("exit_code"), "run.exit_code", -(2**31), 2**31 - 1))
    out["samples"] = _int(r.get("samples", 0), "run.samples", 0, 2**62)
    out["basis"] = _choice(r.get("basis"), "run.basis", _BASES, optional=True)
    out["tags"] = _strings(r.get("tags", []), "run.tags", limit=64)
    command = r.get("command")
    out["command"] = None if command is None else _strings(command, "run.command")
    out["warnings"] = _strings(r.get("warnings", []), "run.warnings")
    out["settings"] = _json(r.get("settings", {}), "run.settings", dict)
    out["by_domain"] = _counters(r.get("by_domain", {}), "run.by_domain")
    for k, v in out["by_domain"].items():
        _float(v, f"run.by_domain.{k}", optional=False)
    job = r.get("job")
    out["job"] = None if job is None else _json(job, "run.job", dict)
    return out


def _devices(x: Any) -> list[dict[str, Any]]:
    out = []
    for i, d in enumerate(_list(x if x is not None else [], "devices")):
        name = f"devices[{i}]"
        if not isinstance(d, dict):
            raise PayloadError(name, f"must be an object (got {_kind(d)})")
        out.append({
            "index": _int(d.get("index", i), f"{name}.index", 0, MAX_ITEMS),
            "name": _str(d.get("name"), f"{name}.name", optional=False, limit=256),
            "domain": _choice(d.get("domain"), f"{name}.domain", _DOMAINS),
            "kind": _choice(d.get("kind"), f"{name}.kind", _KINDS),
            "device": _str(d.get("device", ""), f"{name}.device", optional=False, limit=256),
            "counted": bool(d.get("counted", True)),
            "energy_j": _float(d.get("energy_j", 0.0), f"{name}.energy_j", optional=False),
            "device_energy_j": _float(d.get("device_energy_j"), f"{name}.device_energy_j"),
            "mean_power_w": _float(d.get("mean_power_w", 0.0), f"{name}.mean_power_w",
                                   optional=False),
            "peak_power_w": _float(d.get("peak_power_w", 0.0), f"{name}.peak_power_w",
                                   optional=False),
            "samples": _int(d.get("samples", 0), f"{name}.samples", 0, 2**62),
            "bridged_j": _float(d.get("bridged_j", 0.0), f"{name}.bridged_j", optional=False),
            "gaps": _json(d.get("gaps", []), f"{name}.gaps", list),
            "errors": _int(d.get("errors", 0), f"{name}.errors", 0, 2**62),
            "last_error": _str(d.get("last_error"), f"{name}.last_error"),
            "replaced_by": _str(d.get("replaced_by"), f"{name}.replaced_by", limit=256),
            "provenance": _json(d.get("provenance", {}), f"{name}.provenance", dict)})
    if len({d["index"] for d in out}) != len(out):
        raise PayloadError("devices", "device indexes must be distinct")
    return out


def _phases(x: Any) -> list[dict[str, Any]]:
    out = []
    for i, p in enumerate(_list(x, "phases")):
        name = f"phases[{i}]"
        if not isinstance(p, dict):
            raise PayloadError(name, f"must be an object (got {_kind(p)})")
        out.append({
            "name": _str(p.get("name"), f"{name}.name", optional=False, limit=256),
            "energy_j": _float(p.get("energy_j"), f"{name}.energy_j", optional=False),
            "duration_s": _float(p.get("duration_s"), f"{name}.duration_s", optional=False),
            "entries": _int(p.get("entries", 1), f"{name}.entries", 0, 2**62),
            "by_domain": _counters(p.get("by_domain", {}), f"{name}.by_domain"),
            "counters": _counters(p.get("counters", {}), f"{name}.counters")})
    return out


def _power(x: Any) -> list[dict[str, Any]]:
    out = []
    total = 0
    for i, s in enumerate(_list(x, "power")):
        name = f"power[{i}]"
        if not isinstance(s, dict):
            raise PayloadError(name, f"must be an object (got {_kind(s)})")
        device = _int(s.get("device"), f"{name}.device", 0, MAX_ITEMS)
        t, power_w = s.get("t"), s.get("power_w")
        if not isinstance(t, list) or not isinstance(power_w, list) or len(t) != len(power_w):
            raise PayloadError(name, "t and power_w must be arrays of the same length")
        energy = s.get("energy_j")
        if energy is not None and (not isinstance(energy, list) or len(energy) != len(t)):
            raise PayloadError(f"{name}.energy_j", "must be an array as long as t")
        total += len(t)
        if total > MAX_POINTS_PER_CHUNK:
            raise PayloadError("power", f"a chunk holds at most {MAX_POINTS_PER_CHUNK} "
                               "points: cut the trace into more chunks")
        out.append({"device": device, "t": _floats(t, f"{name}.t", None),
                    "power_w": _floats(power_w, f"{name}.power_w", 0.0),
                    "energy_j": None if energy is None else _floats(
                        energy, f"{name}.energy_j", 0.0)})
    return out


_NUMBER_TYPES = {int, float}


def _floats(xs: list[Any], name: str, lo: float | None) -> list[float]:
    """An array of finite numbers (>= ``lo``) as floats: checked with builtins over the
    whole array (the power arrays are most of a chunk), element by element only to name
    the first bad one."""
    if (set(map(type, xs)) <= _NUMBER_TYPES and all(map(math.isfinite, xs))
            and (lo is None or not xs or min(xs) >= lo)):
        return list(map(float, xs))
    for k, v in enumerate(xs):
        _float(v, f"{name}[{k}]", optional=False, lo=lo)
    raise AssertionError("unreachable")  # pragma: no cover
