"""NVIDIA GPUs through NVML: one sensor per GPU visible to this process.

Energy comes from the GPU's total-energy counter (``nvmlDeviceGetTotalEnergyConsumption``,
millijoules, Volta and later); GPUs without it are polled for power
(``nvmlDeviceGetPowerUsage``, milliwatts) and the sampler integrates. A counter read is a
single NVML call. Where the driver buffers power samples (``nvmlDeviceGetSamples``, see
:mod:`._nvml_trace`), the counter sensor carries them as its ``power_trace`` and the
sampler reads it once a second (and at phase boundaries) instead of at its rate. ``CUDA_VISIBLE_DEVICES`` is honoured the way CUDA reads it (indices,
``GPU-`` UUIDs or unique prefixes, ``MIG-`` UUIDs; the list stops at the first invalid
entry; a repeated device hides every device). NVML has no energy reading per MIG slice,
so a MIG slice is measured through its parent GPU and the sensor says that the figure
is shared.

Per-process attribution (``pids`` given) puts a ``share`` in every reading, refreshed at
most once a second:

* if any process ran kernels since the last refresh (NVML process-utilisation samples
  with SM utilisation > 0), share = SM utilisation of the tracked PIDs / SM utilisation
  of all processes;
* otherwise (the GPU idled), the idle energy is split equally between the processes that
  hold a CUDA context on it (``nvmlDeviceGetComputeRunningProcesses``): tracked alone
  -> 1.0, not present (or nobody present) -> 0.0, mixed -> tracked count / total count;
* where the GPU or driver cannot attribute (MIG, some consumer GPUs, vGPU), ``share`` is
  ``None`` and the whole device is counted; provenance says so.

The share is the one computed at the last refresh, so it describes the past second rather
than exactly the interval since the previous reading. Attribution never fails an energy
reading: a transient NVML error keeps the last share; repeated errors turn attribution off
(whole device counted, provenance says why).

NVML reports PIDs of the host's PID namespace: in a container with its own PID namespace
the tracked PIDs do not match and the share is wrong (0.0); run such containers with
``--pid=host`` or track in ``mode="machine"``.

Vendor errors are translated here: :data:`NVML_ERRORS` maps every NVML error code onto a
reason of :data:`wattprint.errors.REASONS` and a fix.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Literal, Mapping

from ..errors import SensorReadError, SensorUnavailable
from ._gpu_common import (FROM_ENV, LibrarySession, _Env, pci_has_gpu,  # noqa: F401
                          resolve_visible_devices)
from ._nvml_attribution import (ATTRIBUTION_INTERVAL_S,  # noqa: F401
                                ATTRIBUTION_MAX_FAILURES, SharedPids, _Attribution)
from ._nvml_errors import (_DEFAULT_FIX, _UNSUPPORTED, INSTALL_FIX, NVML_ERRORS,  # noqa: F401
                           SOURCE, _error_name, _init_error, _no_nvidia_gpu, _translate)
from ._nvml_trace import PowerTrace
from .base import Reading, Sensor, new_reading, now_s

__all__ = [
    "open_nvml_sensors",
    "NVMLEnergySensor",
    "NVMLPowerSensor",
    "NVML_ERRORS",
    "FROM_ENV",
    "LibrarySession",
    "resolve_visible_devices",
    "pci_has_gpu",
]

log = logging.getLogger("wattprint")


# -- sensors ------------------------------------------------------------------------------

@dataclass
class _GPUInfo:
    handle: Any
    ordinal: int
    index: int
    name: str
    uuid: str
    driver_version: str
    power_limit_w: float | None
    default_power_limit_w: float | None
    mig_uuids: list[str] = field(default_factory=list)
    mig_enabled: bool = False

    @property
    def shared(self) -> bool:
        return bool(self.mig_uuids) or self.mig_enabled

    def label(self) -> str:
        text = f"{self.name} (GPU {self.index}, UUID {self.uuid}"
        if self.mig_uuids:
            text += ", MIG " + ", ".join(self.mig_uuids)
        return text + ")"


class _NVMLSensor(Sensor):
    domain = "gpu"
    kind = "measured"
    scope = "device"
    method: Literal["counter", "polled"] = "counter"

    def __init__(self, nvml: Any, session: LibrarySession, info: _GPUInfo,
                 attribution: _Attribution | None, clock: Callable[[], float]) -> None:
        session.acquire()
        self._nvml = nvml
        self._session = session
        self._info = info
        self._handle = info.handle
        self._attribution = attribution
        self._clock = clock
        self._closed = False
        self.name = f"nvml:{info.ordinal}"
        self.device = info.label()

    def _call(self, fn: Callable[..., Any], what: str, *args: Any) -> Any:
        try:
            return fn(self._handle, *args)
        except self._nvml.NVMLError as err:
            raise _translate(self._nvml, err, f"{what} on {self.name}") from err

    def _share(self) -> float | None:
        return self._attribution.share() if self._attribution is not None else None

    def power_limit_w(self) -> float:
        """The power limit the GPU enforces now, in watts."""
        return self._call(self._nvml.nvmlDeviceGetEnforcedPowerLimit,
                          "nvmlDeviceGetEnforcedPowerLimit") / 1000.0

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._session.release()

    def provenance(self) -> Mapping[str, Any]:
        info = self._info
        prov: dict[str, Any] = {
            "kind": self.kind,
            "source": SOURCE,
            "energy": self.method,
            "gpu_name": info.name,
            "uuid": info.uuid,
            "nvml_index": info.index,
            "cuda_ordinal": info.ordinal,
            "driver_version": info.driver_version,
            "power_limit_w": info.power_limit_w,
            "default_power_limit_w": info.default_power_limit_w,
            "shared": info.shared,
        }
        if self.method == "counter":
            prov["method"] = ("NVML total energy counter (nvmlDeviceGetTotalEnergyConsumption, "
                              "mJ), differenced")
        else:
            prov["method"] = ("NVML power polling (nvmlDeviceGetPowerUsage, mW), integrated "
                              "by the sampler (trapezoid)")
            prov["power_note"] = ("on recent GPUs the reading is a short-window average, so "
                                  "spikes shorter than the window are smoothed")
        if info.shared:
            prov["mig_devices"] = list(info.mig_uuids)
            prov["mig_note"] = ("NVML has no energy per MIG slice: the parent GPU is measured "
                                "and its energy is shared by all its slices")
        if self._attribution is None:
            prov["attribution"] = "none requested: the whole device is counted"
        else:
            prov["attribution"] = self._attribution.note
        return prov


class NVMLEnergySensor(_NVMLSensor):
    """A GPU read through its total-energy counter: one NVML call per read. ``power_trace``
    is the driver's buffered power samples since the last call (``None`` where the GPU
    has none)."""

    method = "counter"

    def __init__(self, nvml: Any, session: LibrarySession, info: _GPUInfo,
                 attribution: _Attribution | None, clock: Callable[[], float],
                 first_mj: int, trace: PowerTrace | None = None) -> None:
        super().__init__(nvml, session, info, attribution, clock)
        self._first_mj = first_mj
        self._last_mj = first_mj
        self.power_trace = trace

    def provenance(self) -> Mapping[str, Any]:
        prov = dict(super().provenance())
        prov["power_trace"] = (
            "NVML buffered power samples (nvmlDeviceGetSamples, NVML_TOTAL_POWER_SAMPLES, "
            "mW) fetched with each counter read, scaled to the counter's energy"
            if self.power_trace is not None else
            "none: the counter is read at the sampler's rate")
        return prov

    def read(self) -> Reading:
        raw = self._call(self._nvml.nvmlDeviceGetTotalEnergyConsumption,
                         "nvmlDeviceGetTotalEnergyConsumption")
        now = self._clock()
        if raw < self._last_mj:
            # Not a wrap (64-bit mJ) and a reset needs every NVML client gone: a fault. The
            # sampler records a gap and, if it persists, switches to fallback().
            raise SensorReadError(
                f"{self.name}: the energy counter went backwards ({self._last_mj} -> {raw} mJ)",
                source=SOURCE, reason="invalid", fix=_DEFAULT_FIX["invalid"])
        self._last_mj = raw
        return new_reading((now, (raw - self._first_mj) / 1000.0, None, self._share()))

    def fallback(self) -> Sensor | None:
        """Power polling of the same GPU (the counter failed mid-run)."""
        if self._session.closed:
            return None
        sensor = NVMLPowerSensor(self._nvml, self._session, self._info, self._attribution,
                                 self._clock)
        sensor.fallback_from = "energy counter"
        return sensor


class NVMLPowerSensor(_NVMLSensor):
    """A GPU without an energy counter (or whose counter failed): power is polled."""

    method = "polled"
    fallback_from: str | None = None

    def read(self) -> Reading:
        mw = self._call(self._nvml.nvmlDeviceGetPowerUsage, "nvmlDeviceGetPowerUsage")
        return new_reading((self._clock(), None, mw / 1000.0, self._share()))

    def provenance(self) -> Mapping[str, Any]:
        prov = dict(super().provenance())
        if self.fallback_from:
            prov["fallback_from"] = self.fallback_from
        return prov


# -- opening ------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Target:
    index: int  # NVML index of the physical GPU
    mig_uuid: str | None = None


def _uuid_matcher(nvml: Any, count: int) -> Callable[[str], _Target | None]:
    gpu_uuids: list[str] | None = None
    mig_uuids: list[tuple[int, str]] | None = None

    def gpus() -> list[str]:
        nonlocal gpu_uuids
        if gpu_uuids is None:
            gpu_uuids = [nvml.nvmlDeviceGetUUID(nvml.nvmlDeviceGetHandleByIndex(i))
                         for i in range(count)]
        return gpu_uuids

    def migs() -> list[tuple[int, str]]:
        nonlocal mig_uuids
        if mig_uuids is None:
            mig_uuids = []
            for i in range(count):
                handle = nvml.nvmlDeviceGetHandleByIndex(i)
                try:
                    if nvml.nvmlDeviceGetMigMode(handle)[0] != nvml.NVML_DEVICE_MIG_ENABLE:
                        continue
                    slots = nvml.nvmlDeviceGetMaxMigDeviceCount(handle)
                except nvml.NVMLError:
                    continue
                for slot in range(slots):
                    try:
                        mig = nvml.nvmlDeviceGetMigDeviceHandleByIndex(handle, slot)
                    except nvml.NVMLError:
                        continue
                    mig_uuids.append((i, nvml.nvmlDeviceGetUUID(mig)))
        return mig_uuids

    def unique(found: list[Any]) -> Any:
        return found[0] if len(found) == 1 else None

    def match(token: str) -> _Target | None:
        if token.startswith("GPU-"):
            exact = [i for i, u in enumerate(gpus()) if u == token]
            index = unique(exact or [i for i, u in enumerate(gpus()) if u.startswith(token)])
            return None if index is None else _Target(index)
        if token.startswith("MIG-GPU-"):  # CUDA 11.0-era form MIG-GPU-<uuid>/<gi>/<ci>
            parent = token[len("MIG-"):].split("/", 1)[0]
            index = unique([i for i, u in enumerate(gpus()) if u == parent])
            return None if index is None else _Target(index, token)
        try:  # a full MIG UUID: NVML resolves it, and names its parent
            mig = nvml.nvmlDeviceGetHandleByUUID(token)
            parent = nvml.nvmlDeviceGetDeviceHandleFromMigDeviceHandle(mig)
            return _Target(nvml.nvmlDeviceGetIndex(parent), token)
        except nvml.NVMLError:
            pass
        exact_mig = [(i, u) for i, u in migs() if u == token]
        found = unique(exact_mig or [(i, u) for i, u in migs() if u.startswith(token)])
        return None if found is None else _Target(found[0], found[1])

    return match


def _optional(nvml: Any, fn: Callable[..., Any], *args: Any) -> Any:
    """A descriptive call whose failure must not stop measuring: ``None`` on NVMLError."""
    try:
        return fn(*args)
    except nvml.NVMLError:
        return None


def open_nvml_sensors(*, nvml: Any = None, visible_devices: str | None | _Env = FROM_ENV,
                      pids: Callable[[], set[int]] | None = None,
                      clock: Callable[[], float] = now_s, sys_root: str = "/sys",
                      attribution_interval_s: float = ATTRIBUTION_INTERVAL_S,
                      wall_clock: Callable[[], float] = time.time) -> list[Sensor]:
    """Open one sensor per NVIDIA GPU visible to this process.

    ``nvml`` is a module-like object with pynvml's API (default: ``import pynvml``;
    :class:`wattprint.testing.fake_nvml.FakeNVML` in tests). ``visible_devices`` is a
    ``CUDA_VISIBLE_DEVICES`` value (default: read from the environment now; ``None``: all
    GPUs). ``pids`` returns the tracked PIDs; when given, readings carry a ``share``.
    ``clock`` stamps readings (``time.monotonic``); ``wall_clock`` is the clock of NVML's
    sample timestamps (``time.time``; ``FakeNVML.wall_time`` in tests). ``sys_root`` is where the PCI bus is
    looked up to tell "no NVIDIA GPU" from "driver broken".

    Sensors are named ``nvml:<CUDA ordinal>``. Integer entries of ``CUDA_VISIBLE_DEVICES``
    are taken as NVML indices (PCI bus order), which is CUDA's order when
    ``CUDA_DEVICE_ORDER=PCI_BUS_ID`` and on machines whose GPUs are all the same model.

    Raises :class:`~wattprint.errors.SensorUnavailable` (with ``reason`` and ``fix``) when
    no GPU can be measured.
    """
    if visible_devices is FROM_ENV:
        visible_devices = os.environ.get("CUDA_VISIBLE_DEVICES")
    if nvml is None:
        try:
            import pynvml as nvml  # type: ignore[no-redef]
        except ImportError as err:
            if pci_has_gpu(sys_root, "0x10de") is False:  # no reason to install anything
                raise _no_nvidia_gpu("nvidia-ml-py is not installed either") from err
            raise SensorUnavailable("the NVML Python binding (nvidia-ml-py) is not installed",
                                    source=SOURCE, reason="no_library",
                                    fix=INSTALL_FIX) from err
    try:
        nvml.nvmlInit()
    except nvml.NVMLError as err:
        raise _init_error(nvml, err, sys_root) from err

    session = LibrarySession(nvml.nvmlShutdown, SOURCE)
    session.acquire()  # held while opening: NVML is shut down here if no sensor opened
    try:
        return _open_all(nvml, session, visible_devices,
                         None if pids is None else SharedPids(pids, clock), clock,
                         attribution_interval_s, wall_clock)
    finally:
        session.release()


def _open_all(nvml: Any, session: LibrarySession, visible_devices: str | None,
              pids: Callable[[], set[int]] | None, clock: Callable[[], float],
              attribution_interval_s: float, wall_clock: Callable[[], float]) -> list[Sensor]:
    try:
        count = nvml.nvmlDeviceGetCount()
    except nvml.NVMLError as err:
        raise _translate(nvml, err, "device count", SensorUnavailable) from err
    if count == 0:
        raise SensorUnavailable("NVML works but reports no GPU", source=SOURCE,
                                reason="not_present", fix=_DEFAULT_FIX["not_present"])
    try:
        if visible_devices is None:
            targets: list[Any] = [_Target(i) for i in range(count)]
        else:
            targets = resolve_visible_devices(visible_devices, count=count,
                                              match_uuid=_uuid_matcher(nvml, count))
            targets = [_Target(t) if isinstance(t, int) else t for t in targets]
    except nvml.NVMLError as err:
        raise _translate(nvml, err, "listing GPUs", SensorUnavailable) from err
    if not targets:
        raise SensorUnavailable(
            f"CUDA_VISIBLE_DEVICES={visible_devices!r} leaves no GPU visible to this process",
            source=SOURCE, reason="not_present",
            fix="set CUDA_VISIBLE_DEVICES to indices or UUIDs from `nvidia-smi -L`, or unset it")

    # One sensor per physical GPU, at the ordinal of its first appearance; MIG slices of
    # the same GPU share it.
    groups: dict[int, tuple[int, list[str]]] = {}
    for ordinal, target in enumerate(targets):
        _, migs = groups.setdefault(target.index, (ordinal, []))
        if target.mig_uuid is not None:
            migs.append(target.mig_uuid)

    driver = _optional(nvml, nvml.nvmlSystemGetDriverVersion) or "unknown"
    sensors: list[Sensor] = []
    try:
        for index, (ordinal, migs) in groups.items():
            sensors.append(_open_gpu(nvml, session, index, ordinal, migs, driver, pids, clock,
                                     attribution_interval_s, wall_clock))
    except BaseException:
        for sensor in sensors:
            sensor.close()
        raise
    return sensors


def _open_gpu(nvml: Any, session: LibrarySession, index: int, ordinal: int, migs: list[str],
              driver: str, pids: Callable[[], set[int]] | None, clock: Callable[[], float],
              attribution_interval_s: float, wall_clock: Callable[[], float]) -> Sensor:
    try:
        handle = nvml.nvmlDeviceGetHandleByIndex(index)
    except nvml.NVMLError as err:
        raise _translate(nvml, err, f"opening GPU {index}", SensorUnavailable) from err
    limit_mw = _optional(nvml, nvml.nvmlDeviceGetEnforcedPowerLimit, handle)
    default_mw = _optional(nvml, nvml.nvmlDeviceGetPowerManagementDefaultLimit, handle)
    mig_mode = _optional(nvml, nvml.nvmlDeviceGetMigMode, handle)
    info = _GPUInfo(
        handle=handle, ordinal=ordinal, index=index,
        name=_optional(nvml, nvml.nvmlDeviceGetName, handle) or "NVIDIA GPU",
        uuid=_optional(nvml, nvml.nvmlDeviceGetUUID, handle) or "unknown",
        driver_version=driver,
        power_limit_w=None if limit_mw is None else limit_mw / 1000.0,
        default_power_limit_w=None if default_mw is None else default_mw / 1000.0,
        mig_uuids=migs,
        mig_enabled=bool(mig_mode) and mig_mode[0] == nvml.NVML_DEVICE_MIG_ENABLE,
    )
    attribution = None
    try:
        first_mj: int | None = nvml.nvmlDeviceGetTotalEnergyConsumption(handle)
    except nvml.NVMLError as err:
        if _error_name(nvml, err) not in _UNSUPPORTED:
            raise _translate(nvml, err, f"reading the energy counter of GPU {index}",
                             SensorUnavailable) from err
        first_mj = None
    if first_mj is None:
        try:
            nvml.nvmlDeviceGetPowerUsage(handle)
        except nvml.NVMLError as err:
            unavailable = _translate(nvml, err, f"reading the power of GPU {index} "
                                                f"({info.name})", SensorUnavailable)
            unavailable.fix = f"{unavailable.fix}; or exclude this GPU with CUDA_VISIBLE_DEVICES"
            raise unavailable from err
    if pids is not None:
        attribution = _Attribution(nvml, handle, pids, clock, attribution_interval_s)
    if first_mj is not None:
        trace = PowerTrace.open(nvml, handle, clock, wall_clock)
        return NVMLEnergySensor(nvml, session, info, attribution, clock, first_mj, trace)
    return NVMLPowerSensor(nvml, session, info, attribution, clock)
