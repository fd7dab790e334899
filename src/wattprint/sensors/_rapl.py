"""Linux powercap energy counters (Intel RAPL, and AMD RAPL served by the same
``intel-rapl`` driver) as sensors: one :class:`RaplSensor` per CPU package, DRAM domain
or platform (psys) zone, with wrap-around handled and nothing counted twice.

How the powercap tree looks, and what this module does about it:

* Zones are directories named ``<control>:<N>`` (top level: a package or psys) and
  ``<control>:<N>:<M>`` (a subzone of zone N: ``core``, ``uncore``, ``dram``). The
  control type is ``intel-rapl`` (MSR interface; AMD Zen uses it too) or a mirror such
  as ``intel-rapl-mmio``. Each zone holds ``name``, ``energy_uj``,
  ``max_energy_range_uj`` and usually ``enabled``.
* ``/sys/class/powercap`` lists every zone at top level (symlinks), *and* each package
  directory nests its subzones, so the same zone is reachable twice. Zones are keyed by
  their directory name (unique in the kernel), so each is counted once.
* ``intel-rapl-mmio:0`` named ``package-0`` mirrors ``intel-rapl:0``: sensors are keyed by
  their logical name (``rapl:package-0``) and the MSR zone wins over a mirror.
* ``core`` and ``uncore`` are *inside* their package's energy: they are left out unless
  ``include_subdomains=True``, and then carry ``nested_in = "rapl:package-N"`` so the
  tracker does not add them to the package. ``dram`` is outside the package and is kept.
* ``psys`` covers the whole platform, packages included. It is returned by default only
  when no package zone exists; with ``include_psys=True`` it is returned alongside the
  packages with ``nested_in = None`` and ``contains`` naming the sensors it already
  includes: **the tracker must not sum psys with those**.
* A zone's ``enabled`` file is the *power-limit* (PL1) enable bit, not a counter switch:
  the kernel returns 0 for any zone whose limit is off or locked by firmware, typically
  DRAM, while its ``energy_uj`` keeps counting. Such zones are therefore kept by default;
  ``skip_disabled=True`` drops them for callers who want that anyway.
* Since Linux 5.10 ``energy_uj`` is readable by root only (mitigation of the PLATYPUS
  power side channel, CVE-2020-8694); that is reported as ``reason="permission"`` with the
  commands that fix it.

Counter arithmetic is kept in pure functions (:func:`parse_uj`, :func:`counter_delta_uj`)
so it can be property-tested. The root and the cpuinfo path are parameters so tests run
against fixture trees.
"""

from __future__ import annotations

import errno
import os
import re
import time
import weakref
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

from wattprint.errors import SensorReadError, SensorUnavailable, UsageError
from wattprint.sensors.base import Domain, Reading, Sensor, new_reading

__all__ = [
    "DEFAULT_ROOT",
    "DEFAULT_CPUINFO",
    "RaplSensor",
    "open_rapl_sensors",
    "probe_rapl",
    "counter_delta_uj",
    "parse_uj",
]

SOURCE = "rapl"
DEFAULT_ROOT = "/sys/class/powercap"
DEFAULT_CPUINFO = "/proc/cpuinfo"
METHOD = "Linux powercap RAPL energy counter"

#: ``energy_uj`` holds an unsigned 64-bit number in decimal: at most 20 digits and "\n".
_READ_SIZE = 32
#: ``intel-rapl:0``, ``intel-rapl:0:1``, ``intel-rapl-mmio:0``...
_ZONE_DIR = re.compile(r"^(intel-rapl(?:-[a-z]+)?):(\d+)(?::(\d+))?$")
_MSR_CONTROL = "intel-rapl"

_pread = os.pread
_monotonic = time.monotonic


# --------------------------------------------------------------------------- arithmetic


def parse_uj(raw: bytes | str) -> int:
    """Parse the content of ``energy_uj`` / ``max_energy_range_uj`` (decimal microjoules).

    Raises :class:`ValueError` for anything but a non-negative decimal integer with optional
    surrounding whitespace (an empty read, ``"-1"``, ``"n/a"``...).
    """
    text = raw.strip()
    if not text.isdigit() or not text.isascii():
        raise ValueError(f"not a microjoule counter value: {raw!r}")
    return int(text)


def counter_delta_uj(prev_uj: int, cur_uj: int, max_range_uj: int) -> int:
    """Microjoules counted between two readings of a wrapping energy counter.

    The counter runs from 0 up to ``max_range_uj`` and wraps to 0. ``cur_uj < prev_uj``
    is read as exactly one wrap, giving ``cur_uj + max_range_uj - prev_uj``: the caller
    must read often enough that the counter cannot wrap twice, or wrap back past its
    previous value, between two reads. At wattprint's 10 Hz this holds with a wide margin
    (a RAPL package counter wraps after minutes even at several hundred watts).

    When ``max_range_uj`` is 0 or negative (unknown or invalid range), or when the
    decrease is larger than the range (the values cannot come from one wrap), the
    decrease is treated as a counter reset and 0 is returned: the energy of that one
    interval is lost rather than invented. The result is never negative.

    The kernel reports ``max_energy_range_uj`` as the largest counter value, one energy
    unit (about 15-61 uJ) below the true modulus, so each wrap may lose that one unit:
    negligible against the hundreds of kilojoules between wraps.
    """
    if cur_uj >= prev_uj:
        return cur_uj - prev_uj
    if max_range_uj <= 0:
        return 0
    delta = cur_uj + max_range_uj - prev_uj
    return delta if delta >= 0 else 0


# --------------------------------------------------------------------------- the sensor


def _close_fd(fd: int) -> None:
    try:
        os.close(fd)
    except OSError:  # already gone: nothing left to release
        pass


def _reason_for(err: OSError) -> str:
    """Map an OSError from sysfs onto one of :data:`wattprint.errors.REASONS`."""
    if err.errno in (errno.EACCES, errno.EPERM):
        return "permission"
    if err.errno in (errno.ENOENT, errno.ENODEV, errno.ENXIO):
        return "not_present"
    if err.errno in (errno.EISDIR, errno.EINVAL):
        return "invalid"
    return "driver"


class RaplSensor(Sensor):
    """One powercap zone's cumulative energy counter.

    ``read()`` costs one ``pread`` on a file descriptor kept open since the sensor was
    opened (sysfs re-renders an attribute on every read at offset 0) plus an integer
    parse. It returns the joules counted since the sensor was opened, corrected for
    wrap-around under the one-wrap-per-read assumption of :func:`counter_delta_uj`.
    Not thread-safe: one sampler thread reads it.
    """

    kind = "measured"
    scope = "device"
    interval_s = None
    #: Name of the sensor whose energy already includes this one (``"rapl:package-0"`` for
    #: core/uncore), or ``None``. The tracker must not add a nested sensor to its parent.
    nested_in: str | None = None
    #: Names of sensors whose energy this one already includes (psys: the packages and
    #: DRAM). The tracker must not sum this sensor with them. Empty for the others.
    contains: tuple[str, ...] = ()

    def __init__(self, *, name: str, domain: Domain, device: str, zone: str, zone_name: str,
                 energy_path: str, fd: int, first_uj: int, max_range_uj: int,
                 nested_in: str | None = None, contains: tuple[str, ...] = ()) -> None:
        self.name = name
        self.domain = domain
        self.device = device
        self.nested_in = nested_in
        self.contains = contains
        self.zone = zone
        self.zone_name = zone_name
        self.path = energy_path
        self.max_range_uj = max_range_uj
        self._fd = fd
        self._last_uj = first_uj
        self._total_uj = 0
        self._finalizer = weakref.finalize(self, _close_fd, fd)

    def read(self) -> Reading:
        fd = self._fd
        if fd < 0:
            raise UsageError(f"{self.name}: read() called after close()")
        try:
            raw = _pread(fd, _READ_SIZE, 0)
        except OSError as err:
            raise SensorReadError(
                f"{self.name}: reading {self.path} failed: {err}", source=SOURCE,
                reason=_reason_for(err),
                fix="The RAPL zone stopped answering (CPU hot-unplug, driver unloaded?); "
                    "restart the run to re-detect sensors.") from err
        time_s = _monotonic()
        try:
            cur = parse_uj(raw)
        except ValueError as err:
            raise SensorReadError(f"{self.name}: {self.path} returned garbage: {raw!r}",
                                  source=SOURCE, reason="invalid") from err
        self._total_uj += counter_delta_uj(self._last_uj, cur, self.max_range_uj)
        self._last_uj = cur
        return new_reading((time_s, self._total_uj / 1_000_000, None, None))

    def close(self) -> None:
        self._fd = -1
        self._finalizer()  # closes the descriptor once; later calls do nothing

    def provenance(self) -> Mapping[str, Any]:
        return {
            "kind": self.kind,
            "method": METHOD,
            "zone": self.zone,
            "zone_name": self.zone_name,
            "path": self.path,
            "max_energy_range_uj": self.max_range_uj,
            "nested_in": self.nested_in,
            "contains": list(self.contains),
        }

    def describe(self) -> dict[str, Any]:
        out = super().describe()
        out["nested_in"] = self.nested_in
        out["contains"] = list(self.contains)
        return out


# --------------------------------------------------------------------------- discovery


@dataclass(frozen=True)
class _Zone:
    """A zone found in the tree and classified by its ``name`` file."""

    zone: str  # directory name, e.g. "intel-rapl:0:1"
    path: str  # the directory
    control: str  # "intel-rapl", "intel-rapl-mmio"...
    indices: tuple[int, ...]  # (0,) for a top-level zone, (0, 1) for a subzone
    label: str  # content of the name file: "package-0", "dram", "psys"...
    role: str  # "package", "core", "uncore", "dram", "psys"
    sensor_name: str  # "rapl:package-0"
    domain: Domain
    device: str
    nested_in: str | None


def _read_text(path: str) -> str | None:
    try:
        with open(path, "rb") as f:
            return f.read(256).decode("ascii", "replace").strip()
    except OSError:
        return None


def _find_zone_dirs(root: str) -> dict[str, str]:
    """Zone directory name -> one path to it, whether listed at top level, nested, or both."""
    found: dict[str, str] = {}
    try:
        top = sorted(os.listdir(root))
    except OSError:
        return found
    parents = []
    for entry in top:
        path = os.path.join(root, entry)
        if _ZONE_DIR.match(entry) and os.path.isdir(path):
            found.setdefault(entry, path)
            parents.append(path)
    for parent in parents:
        try:
            children = sorted(os.listdir(parent))
        except OSError:
            continue
        for entry in children:
            path = os.path.join(parent, entry)
            if _ZONE_DIR.match(entry) and os.path.isdir(path):
                found.setdefault(entry, path)
    return found


def _package_suffix(label: str | None, index: int) -> str:
    """"0" for "package-0", "0-die-1" for "package-0-die-1", else the zone index."""
    if label and label.startswith("package-") and len(label) > len("package-"):
        return label[len("package-"):]
    return str(index)


def _classify(zone: str, path: str, labels: dict[str, str | None]) -> _Zone | None:
    match = _ZONE_DIR.match(zone)
    assert match is not None
    control = match.group(1)
    indices = tuple(int(g) for g in match.group(2, 3) if g is not None)
    label = labels.get(zone)
    if not label:
        return None
    if len(indices) == 1:
        if label.startswith("package"):
            suffix = _package_suffix(label, indices[0])
            return _Zone(zone, path, control, indices, label, "package", f"rapl:{label}", "cpu",
                         f"CPU package {suffix.replace('-', ' ')} (RAPL)", None)
        if label == "psys":
            return _Zone(zone, path, control, indices, label, "psys", "rapl:psys", "system",
                         "Platform (RAPL psys)", None)
        return None  # unknown top-level zone: cannot say what it covers, so not counted
    parent_label = labels.get(f"{control}:{indices[0]}")
    suffix = _package_suffix(parent_label, indices[0])
    where = f"CPU package {suffix.replace('-', ' ')}"
    parent_name = (f"rapl:{parent_label}" if parent_label and parent_label.startswith("package")
                   else f"rapl:package-{suffix}")
    if label == "dram":
        return _Zone(zone, path, control, indices, label, "dram", f"rapl:dram-{suffix}", "dram",
                     f"DRAM of {where} (RAPL)", None)
    if label == "core":
        return _Zone(zone, path, control, indices, label, "core", f"rapl:core-{suffix}", "cpu",
                     f"Cores of {where} (RAPL)", parent_name)
    if label == "uncore":
        return _Zone(zone, path, control, indices, label, "uncore", f"rapl:uncore-{suffix}", "cpu",
                     f"Uncore / integrated GPU of {where} (RAPL)", parent_name)
    return None


def _select(zones: Iterable[_Zone], *, include_subdomains: bool,
            include_psys: bool) -> list[_Zone]:
    # MSR zones first so they win over mirrors (mmio) of the same logical domain.
    ordered = sorted(zones, key=lambda z: (z.control != _MSR_CONTROL, z.control, z.indices))
    unique: dict[str, _Zone] = {}
    for z in ordered:
        unique.setdefault(z.sensor_name, z)
    has_package = any(z.role == "package" for z in unique.values())
    kept = []
    for z in sorted(unique.values(), key=lambda z: (z.indices, z.control)):
        if z.role in ("core", "uncore") and not include_subdomains:
            continue
        if z.role == "psys" and has_package and not include_psys:
            continue
        kept.append(z)
    return kept


# --------------------------------------------------------------------------- errors


def _is_virtual_machine(cpuinfo_path: str | os.PathLike[str]) -> bool:
    """True when the CPU flags in cpuinfo include ``hypervisor`` (set inside a VM guest)."""
    try:
        with open(cpuinfo_path, "rb") as f:
            for line in f:
                if line.startswith(b"flags") and b"hypervisor" in line.split(b":", 1)[-1].split():
                    return True
    except OSError:
        return False
    return False


def _absent(root: str, cpuinfo_path: str | os.PathLike[str], what: str) -> SensorUnavailable:
    if _is_virtual_machine(cpuinfo_path):
        return SensorUnavailable(
            f"{what}; this is a virtual machine (the CPU flags include 'hypervisor') and "
            "hypervisors usually hide RAPL from guests", source=SOURCE, reason="virtualised",
            fix="Virtual machines usually hide RAPL: run on bare metal (a 'metal' cloud "
                "instance) to measure CPU energy, or use wattprint's CPU utilisation model, "
                "whose figures are labelled as modelled.")
    return SensorUnavailable(
        f"{what}: no Linux powercap RAPL zones", source=SOURCE, reason="not_present",
        fix="Load the powercap RAPL driver (sudo modprobe intel_rapl_msr; AMD Zen CPUs need "
            f"a recent kernel) and check that {root} lists intel-rapl:* zones. Virtual "
            "machines and some containers usually hide RAPL: measure on bare metal, or use "
            "wattprint's CPU utilisation model, whose figures are labelled as modelled.")


def _permission_error(root: str, zones: list[_Zone], files: list[str]) -> SensorUnavailable:
    controls = sorted({z.control for z in zones})
    patterns = " ".join(f"{root}/{c}:*/energy_uj {root}/{c}:*/{c}:*/energy_uj" for c in controls)
    return SensorUnavailable(
        "cannot read the RAPL energy counters " + ", ".join(files) + " as this user",
        source=SOURCE, reason="permission",
        fix="Since Linux 5.10 energy_uj is readable by root only (mitigation of the PLATYPUS "
            "power side channel, CVE-2020-8694). Run as root, or let other users read the "
            f"counters until the next reboot: sudo chmod o+r {patterns} ; to keep it across "
            "reboots add a udev rule, e.g. /etc/udev/rules.d/99-wattprint-rapl.rules "
            'containing: ACTION=="add", SUBSYSTEM=="powercap", '
            'RUN+="/bin/chmod o+r /sys%p/energy_uj" . Both re-open the side channel to '
            "local users: prefer a dedicated group (chgrp + chmod g+r) on shared machines.")


# --------------------------------------------------------------------------- public entry


def _open_zone(z: _Zone, contains: tuple[str, ...]) -> RaplSensor:
    """Open one zone's counter. Raises PermissionError (collected by the caller) or
    SensorUnavailable for anything else."""
    energy_path = os.path.join(z.path, "energy_uj")
    range_path = os.path.join(z.path, "max_energy_range_uj")
    try:
        fd = os.open(energy_path, os.O_RDONLY | getattr(os, "O_CLOEXEC", 0))
    except PermissionError:
        raise
    except OSError as err:
        raise SensorUnavailable(f"cannot open {energy_path}: {err}", source=SOURCE,
                                reason="invalid" if err.errno == errno.ENOENT
                                else _reason_for(err)) from err
    try:
        try:
            raw = _pread(fd, _READ_SIZE, 0)
        except PermissionError:
            raise
        except OSError as err:
            raise SensorUnavailable(f"cannot read {energy_path}: {err}", source=SOURCE,
                                    reason=_reason_for(err)) from err
        try:
            first_uj = parse_uj(raw)
        except ValueError as err:
            raise SensorUnavailable(f"{energy_path} holds garbage: {raw!r}", source=SOURCE,
                                    reason="invalid") from err
        try:
            with open(range_path, "rb") as f:
                range_raw = f.read(_READ_SIZE)
        except FileNotFoundError:
            max_range_uj = 0  # unknown range: a decrease then counts as a reset
        except OSError as err:
            raise SensorUnavailable(f"cannot read {range_path}: {err}", source=SOURCE,
                                    reason=_reason_for(err)) from err
        else:
            try:
                max_range_uj = parse_uj(range_raw)
            except ValueError as err:
                raise SensorUnavailable(f"{range_path} holds garbage: {range_raw!r}",
                                        source=SOURCE, reason="invalid") from err
    except BaseException:
        os.close(fd)
        raise
    return RaplSensor(name=z.sensor_name, domain=z.domain, device=z.device, zone=z.zone,
                      zone_name=z.label,
                      energy_path=energy_path, fd=fd, first_uj=first_uj,
                      max_range_uj=max_range_uj, nested_in=z.nested_in, contains=contains)


def open_rapl_sensors(root: str | os.PathLike[str] = DEFAULT_ROOT, *,
                      cpuinfo_path: str | os.PathLike[str] = DEFAULT_CPUINFO,
                      include_subdomains: bool = False, include_psys: bool = False,
                      skip_disabled: bool = False) -> list[RaplSensor]:
    """Open one sensor per usable powercap RAPL zone under ``root``.

    By default returns the package zones (domain ``cpu``), the DRAM zones (``dram``) and,
    only when there is no package zone, psys (``system``): sensors that can be summed
    without counting any joule twice. ``include_subdomains`` adds core/uncore with
    ``nested_in`` set; ``include_psys`` adds psys next to the packages, with ``contains``
    naming what it already includes. ``skip_disabled`` drops zones whose power limit is
    disabled (``enabled`` = 0), which is not needed for measuring (see the module doc).

    Raises :class:`~wattprint.errors.SensorUnavailable` with ``reason`` ``not_present``
    or ``virtualised`` (no zones; ``cpuinfo_path`` decides which), ``permission`` (the
    counters exist but this user may not read them; the message names the files and the
    fix gives the commands), ``invalid`` (garbage in the counter files) or
    ``not_supported`` (zones exist but none this module knows how to count).
    Never returns an empty list.
    """
    root_s = os.fspath(root)
    if not os.path.isdir(root_s):
        raise _absent(root_s, cpuinfo_path, f"{root_s} does not exist")
    dirs = _find_zone_dirs(root_s)
    if not dirs:
        raise _absent(root_s, cpuinfo_path, f"{root_s} has no RAPL zones")
    labels = {zone: _read_text(os.path.join(path, "name")) for zone, path in dirs.items()}
    classified = [z for zone, path in sorted(dirs.items())
                  if (z := _classify(zone, path, labels)) is not None]
    kept = _select(classified, include_subdomains=include_subdomains,
                   include_psys=include_psys)
    if skip_disabled:
        kept = [z for z in kept if _read_text(os.path.join(z.path, "enabled")) != "0"]
    if not kept:
        raise SensorUnavailable(
            f"{root_s} has powercap zones ({', '.join(sorted(dirs))}) but none that wattprint "
            "can count (package, dram or psys)", source=SOURCE, reason="not_supported",
            fix="Report the zone names to the wattprint developers; meanwhile use "
                "wattprint's CPU utilisation model.")
    summed = tuple(z.sensor_name for z in kept if z.role in ("package", "dram"))
    sensors: list[RaplSensor] = []
    unreadable: list[str] = []
    unreadable_zones: list[_Zone] = []
    first_denied: PermissionError | None = None
    try:
        for z in kept:
            try:
                sensors.append(_open_zone(z, summed if z.role == "psys" else ()))
            except PermissionError as err:
                first_denied = first_denied or err
                unreadable.append(os.path.join(z.path, "energy_uj"))
                unreadable_zones.append(z)
        if unreadable:
            raise _permission_error(root_s, unreadable_zones, unreadable) from first_denied
    except BaseException:
        for s in sensors:
            s.close()
        raise
    return sensors


#: What :func:`wattprint.sensors.detect` calls; the same as :func:`open_rapl_sensors`.
probe_rapl = open_rapl_sensors
