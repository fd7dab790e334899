"""A fake of NVML (the ``pynvml`` module of nvidia-ml-py) for tests without a GPU.

:class:`FakeNVML` exposes the pynvml functions wattprint calls, under the same names, with
NVML's units (mW, mJ, bytes, microsecond timestamps), the ``NVML_ERROR_*`` codes and an
``NVMLError`` hierarchy that behaves like pynvml's (``NVMLError(code)`` returns the
subclass of that code, e.g. :class:`NVMLError_NotSupported`; catching ``NVMLError``
catches them all). Pass it wherever wattprint accepts ``nvml=``::

    from wattprint.testing.fake_nvml import FakeGPU, FakeNVML

    fake = FakeNVML([FakeGPU(power_w=250.0), FakeGPU(energy_counter=False)])
    sensors = open_nvml_sensors(nvml=fake, visible_devices=None, clock=fake.time)
    fake.advance(2.0)          # both GPUs draw their power for 2 s of fake time
    sensors[0].read().energy_j # 500.0

Time is fake and only moves with :meth:`FakeNVML.advance`, so tests are deterministic.
Errors are injected with :meth:`FakeNVML.fail` (on the N-th call of a function) and
:meth:`FakeNVML.fail_init`; a counter going backwards with :meth:`FakeNVML.rewind_counter`.
The device model (power trace, true energy, processes, failure injection) is shared with
the AMD fake in :mod:`wattprint.testing._fake_device`. ``tests/test_nvml.py`` checks
that every public ``nvml*``/``NVML*`` name here exists in the real pynvml, with the same
value or arity.
"""

from __future__ import annotations

import hashlib
import math
import string
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, NamedTuple, NoReturn, Sequence

from ._fake_device import FakeDevice, FakeDeviceLibrary, PowerTrace

__all__ = ["FakeNVML", "RealTimeNVML", "FakeGPU", "NVMLError", "ProcessUtilizationSample", "ProcessInfo",
           "Sample", "SampleValue"]

# NVML return codes (nvml.h; values are part of NVML's ABI).
NVML_SUCCESS = 0
NVML_ERROR_UNINITIALIZED = 1
NVML_ERROR_INVALID_ARGUMENT = 2
NVML_ERROR_NOT_SUPPORTED = 3
NVML_ERROR_NO_PERMISSION = 4
NVML_ERROR_ALREADY_INITIALIZED = 5
NVML_ERROR_NOT_FOUND = 6
NVML_ERROR_INSUFFICIENT_SIZE = 7
NVML_ERROR_INSUFFICIENT_POWER = 8
NVML_ERROR_DRIVER_NOT_LOADED = 9
NVML_ERROR_TIMEOUT = 10
NVML_ERROR_IRQ_ISSUE = 11
NVML_ERROR_LIBRARY_NOT_FOUND = 12
NVML_ERROR_FUNCTION_NOT_FOUND = 13
NVML_ERROR_CORRUPTED_INFOROM = 14
NVML_ERROR_GPU_IS_LOST = 15
NVML_ERROR_RESET_REQUIRED = 16
NVML_ERROR_OPERATING_SYSTEM = 17
NVML_ERROR_LIB_RM_VERSION_MISMATCH = 18
NVML_ERROR_IN_USE = 19
NVML_ERROR_MEMORY = 20
NVML_ERROR_NO_DATA = 21
NVML_ERROR_VGPU_ECC_NOT_SUPPORTED = 22
NVML_ERROR_INSUFFICIENT_RESOURCES = 23
NVML_ERROR_FREQ_NOT_SUPPORTED = 24
NVML_ERROR_ARGUMENT_VERSION_MISMATCH = 25
NVML_ERROR_DEPRECATED = 26
NVML_ERROR_NOT_READY = 27
NVML_ERROR_GPU_NOT_FOUND = 28
NVML_ERROR_INVALID_STATE = 29
NVML_ERROR_RESET_TYPE_NOT_SUPPORTED = 30
NVML_ERROR_UNKNOWN = 999

NVML_DEVICE_MIG_DISABLE = 0
NVML_DEVICE_MIG_ENABLE = 1

NVML_TOTAL_POWER_SAMPLES = 0  # nvmlSamplingType_t
NVML_VALUE_TYPE_UNSIGNED_INT = 1  # nvmlValueType_t

_ERROR_CODES = {name: value for name, value in globals().items()
                if name.startswith("NVML_ERROR_")}
_ERROR_TEXT = {
    NVML_ERROR_UNINITIALIZED: "Uninitialized",
    NVML_ERROR_INVALID_ARGUMENT: "Invalid Argument",
    NVML_ERROR_NOT_SUPPORTED: "Not Supported",
    NVML_ERROR_NO_PERMISSION: "Insufficient Permissions",
    NVML_ERROR_ALREADY_INITIALIZED: "Already Initialized",
    NVML_ERROR_NOT_FOUND: "Not Found",
    NVML_ERROR_DRIVER_NOT_LOADED: "Driver Not Loaded",
    NVML_ERROR_TIMEOUT: "Timeout",
    NVML_ERROR_LIBRARY_NOT_FOUND: "NVML Shared Library Not Found",
    NVML_ERROR_FUNCTION_NOT_FOUND: "Function Not Found",
    NVML_ERROR_GPU_IS_LOST: "GPU is lost",
    NVML_ERROR_LIB_RM_VERSION_MISMATCH: "RM has detected an NVML/RM version mismatch.",
    NVML_ERROR_UNKNOWN: "Unknown Error",
}


class NVMLError(Exception):
    """An NVML failure: ``NVMLError(code)`` builds the subclass registered for ``code``."""

    _valClassMapping: dict[int, type[NVMLError]] = {}
    value: int

    def __new__(cls, value: int) -> NVMLError:
        if cls is NVMLError:
            cls = NVMLError._valClassMapping.get(value, cls)
        obj = Exception.__new__(cls)
        obj.value = value
        return obj

    def __init__(self, value: int | None = None) -> None:
        super().__init__(self.value)

    def __str__(self) -> str:
        return _ERROR_TEXT.get(self.value, f"NVML Error with code {self.value}")

    def __eq__(self, other: object) -> bool:
        return isinstance(other, NVMLError) and self.value == other.value

    __hash__ = Exception.__hash__


def _error_class(name: str, value: int) -> type[NVMLError]:
    # NVML_ERROR_NOT_SUPPORTED -> NVMLError_NotSupported, as pynvml names them.
    class_name = "NVMLError_" + string.capwords(
        name.replace("NVML_ERROR_", ""), "_").replace("_", "")

    def __new__(cls: type[NVMLError], *args: Any) -> NVMLError:
        return NVMLError.__new__(cls, value)

    cls = type(class_name, (NVMLError,), {"__new__": __new__, "__module__": __name__})
    NVMLError._valClassMapping[value] = cls
    return cls


_ERROR_CLASSES = {name: _error_class(name, value) for name, value in _ERROR_CODES.items()}
globals().update({cls.__name__: cls for cls in _ERROR_CLASSES.values()})
__all__ += sorted(cls.__name__ for cls in _ERROR_CLASSES.values())


def nvmlExceptionClass(nvmlErrorCode: int) -> type[NVMLError]:
    """The NVMLError subclass of a code (as pynvml's function of the same name)."""
    if nvmlErrorCode not in NVMLError._valClassMapping:
        raise ValueError(f"nvmlErrorCode {nvmlErrorCode} is not valid")
    return NVMLError._valClassMapping[nvmlErrorCode]


@dataclass(frozen=True)
class ProcessUtilizationSample:
    """One entry of ``nvmlDeviceGetProcessUtilization`` (fields as pynvml's struct)."""

    pid: int
    timeStamp: int  # microseconds, CPU clock
    smUtil: int  # percent
    memUtil: int = 0
    encUtil: int = 0
    decUtil: int = 0


@dataclass(frozen=True)
class ProcessInfo:
    """One entry of ``nvmlDeviceGetComputeRunningProcesses`` (fields as pynvml's)."""

    pid: int
    usedGpuMemory: int | None  # bytes
    gpuInstanceId: int = 0xFFFFFFFF
    computeInstanceId: int = 0xFFFFFFFF


class SampleValue(NamedTuple):
    """The value union of an ``nvmlDeviceGetSamples`` entry (pynvml's ``c_nvmlValue_t``):
    the member named by the returned value type holds the value. Named tuples: cheap to
    make, as the benchmark's fake driver makes ten a second per GPU."""

    dVal: float = 0.0
    uiVal: int = 0
    ulVal: int = 0
    ullVal: int = 0
    sllVal: int = 0
    siVal: int = 0
    usVal: int = 0


class Sample(NamedTuple):
    """One entry of ``nvmlDeviceGetSamples`` (pynvml's ``c_nvmlSample_t``)."""

    timeStamp: int  # microseconds, CPU clock
    sampleValue: SampleValue


@dataclass(frozen=True)
class PowerCurve:
    """How a workload's speed and power answer a power limit (for the power optimiser).

    Uncapped it draws ``full_power_w`` and a step takes ``step_s``. Under a limit below
    that, the GPU draws the limit and slows: the part of the power above ``idle_power_w``
    (the dynamic part) scales as the cube of the clock (P ∝ f·V², V ∝ f), so the speed is
    ``((limit - idle) / (full - idle)) ** exponent`` with ``exponent = 1/3`` by default.
    A memory-bound workload slows less (a smaller ``exponent``).
    """

    full_power_w: float = 600.0
    idle_power_w: float = 90.0
    step_s: float = 0.25
    exponent: float = 1.0 / 3.0

    def power_w(self, limit_w: float) -> float:
        return min(float(limit_w), self.full_power_w)

    def step_time_s(self, limit_w: float) -> float:
        if limit_w >= self.full_power_w:
            return self.step_s
        share = (limit_w - self.idle_power_w) / (self.full_power_w - self.idle_power_w)
        if share <= 0:
            raise ValueError(f"a limit of {limit_w} W is below the idle power")
        return self.step_s / share ** self.exponent

    def step_energy_j(self, limit_w: float) -> float:
        return self.power_w(limit_w) * self.step_time_s(limit_w)


class _CurvePower:
    """A GPU's power under its current limit, as a power trace (a function of time)."""

    def __init__(self, gpu: "FakeGPU") -> None:
        self.gpu = gpu

    def __call__(self, t_s: float) -> float:
        return self.gpu.workload.power_w(self.gpu.power_limit_w)  # type: ignore[union-attr]


@dataclass
class FakeGPU(FakeDevice):
    """Configuration of one fake GPU (change fields between calls to script a scenario).

    ``power_w``: watts as a constant, a list (one value per ``trace_step_s`` seconds of
    fake time, the last one held) or a function of fake time in seconds.
    ``energy_counter=False`` makes the total-energy call raise NOT_SUPPORTED (pre-Volta);
    ``power_readings=False`` does the same for the power call. ``mig``: number of MIG
    slices (or their UUIDs); non-zero turns MIG mode on. ``processes``: PIDs holding a
    compute context. ``sm_util``: PID -> SM utilisation percent (or a function of fake time
    returning that mapping); a sample per PID is recorded every ``sample_period_s``.
    ``process_utilization=False`` makes the attribution calls raise NOT_SUPPORTED.

    Power limits: ``power_limit_w`` (what ``nvmlDeviceGetPowerManagementLimit`` reads and
    ``nvmlDeviceSetPowerManagementLimit`` changes), within ``min_power_limit_w`` ..
    ``max_power_limit_w`` (the constraints); ``power_limit_permission=False`` makes the
    set call raise NO_PERMISSION, as for a user who is not root. ``workload``: a
    :class:`PowerCurve` — the GPU then draws the curve's power under its current limit
    (``power_w`` is ignored) and :meth:`FakeNVML.run_steps` advances time by its steps.
    """

    name: str = "NVIDIA H100 80GB HBM3"
    uuid: str | None = None
    power_w: PowerTrace = 100.0
    power_readings: bool = True
    power_limit_w: float = 700.0
    default_power_limit_w: float = 700.0
    min_power_limit_w: float = 200.0
    max_power_limit_w: float = 700.0
    power_limit_permission: bool = True
    workload: PowerCurve | None = None
    mig: int | Sequence[str] = 0
    used_memory_bytes: int = 1 << 30
    sm_util: Mapping[int, float] | Callable[[float], Mapping[int, float]] = field(
        default_factory=dict)
    process_utilization: bool = True
    sample_period_s: float = 1.0 / 6.0
    initial_energy_mj: int = 1_234_567
    #: The driver's power samples (``nvmlDeviceGetSamples(…, NVML_TOTAL_POWER_SAMPLES, …)``):
    #: one every ``power_sample_period_s`` of fake time (the power at that instant, mW),
    #: the last ``power_sample_buffer`` kept; ``power_samples=False``: NOT_SUPPORTED.
    power_samples: bool = True
    power_sample_period_s: float = 0.1
    power_sample_buffer: int = 120


@dataclass(frozen=True)
class _Handle:
    gpu: int
    mig: int | None = None


def _fake_uuid(prefix: str, seed: str) -> str:
    h = hashlib.sha256(seed.encode()).hexdigest()
    return f"{prefix}{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


class FakeNVML(FakeDeviceLibrary[FakeGPU]):
    """A deterministic stand-in for the ``pynvml`` module (see the module docstring).

    ``gpus`` is a list of :class:`FakeGPU` or a number of default GPUs. ``calls`` counts
    every call by function name. ``init_count`` is NVML's init reference count.
    """

    PREFIX = "nvml"

    NVMLError = NVMLError
    nvmlExceptionClass = staticmethod(nvmlExceptionClass)
    EPOCH_US = 1_700_000_000_000_000  # fake wall clock of timestamps at fake time 0

    def __init__(self, gpus: Sequence[FakeGPU] | int = 1, *,
                 driver_version: str = "550.54.15") -> None:
        super().__init__([FakeGPU() for _ in range(gpus)] if isinstance(gpus, int) else gpus)
        for i, gpu in enumerate(self.gpus):
            if gpu.uuid is None:
                gpu.uuid = _fake_uuid("GPU-", f"fake-gpu-{i}")
        self.driver_version = driver_version
        self._energy_mj = [float(g.initial_energy_mj) for g in self.gpus]
        self._samples: list[list[ProcessUtilizationSample]] = [[] for _ in self.gpus]
        self._next_sample_s = [g.sample_period_s for g in self.gpus]
        self.steps = 0
        self.limit_history: list[tuple[float, int, float]] = []  # (fake time, gpu, W)
        for gpu in self.gpus:
            if gpu.workload is not None:
                gpu.power_w = _CurvePower(gpu)

    # -- scripting (time, power_w, advance, fail: see FakeDeviceLibrary) --------------------
    def energy_j(self, gpu: int) -> float:
        """The energy counter of ``gpu`` in joules, as NVML reports it (for assertions)."""
        return self._energy_mj[gpu] / 1000.0

    def rewind_counter(self, gpu: int, millijoules: float) -> None:
        """Move the energy counter of ``gpu`` back (the glitch of a counter going
        backwards); later energy adds on top of the lower value."""
        self._energy_mj[gpu] -= millijoules

    def fail_init(self, code: int) -> None:
        """Make the next ``nvmlInit`` raise ``NVMLError(code)``."""
        self.fail("nvmlInit", code)

    def run_steps(self, n: int = 1) -> float:
        """Run ``n`` steps of the GPUs' workloads (data-parallel: each step lasts as long
        as the slowest GPU's under its current limit); returns the fake seconds taken."""
        curves = [g for g in self.gpus if g.workload is not None]
        if not curves:
            raise ValueError("no FakeGPU has a workload (PowerCurve) to run steps of")
        total = 0.0
        for _ in range(n):
            dt = max(g.workload.step_time_s(g.power_limit_w) for g in curves)  # type: ignore[union-attr]
            self.advance(dt)
            self.steps += 1
            total += dt
        return total

    def mig_uuids(self, gpu: int) -> list[str]:
        """The UUIDs of the MIG slices of ``gpu`` (empty without MIG)."""
        mig = self.gpus[gpu].mig
        if isinstance(mig, int):
            return [_fake_uuid("MIG-", f"fake-mig-{gpu}-{k}") for k in range(mig)]
        return list(mig)

    # -- plumbing -------------------------------------------------------------------------
    def _advanced(self, gpu: int, joules: float, t0_s: float, t1_s: float) -> None:
        """The counter grows by the energy drawn; utilisation samples are recorded."""
        g = self.gpus[gpu]
        self._energy_mj[gpu] += 1000.0 * joules
        while self._next_sample_s[gpu] <= t1_s + 1e-12:
            ts = self._next_sample_s[gpu]
            util = g.sm_util(ts) if callable(g.sm_util) else g.sm_util
            stamp = self.EPOCH_US + round(ts * 1e6)
            self._samples[gpu].extend(
                ProcessUtilizationSample(pid, stamp, int(round(u))) for pid, u in util.items())
            self._next_sample_s[gpu] += g.sample_period_s

    def _raise(self, code: int) -> NoReturn:
        raise NVMLError(code)

    def _not_init(self) -> NoReturn:
        raise NVMLError(NVML_ERROR_UNINITIALIZED)

    def _gpu(self, handle: Any, *, allow_mig: bool = False) -> FakeGPU:
        if not isinstance(handle, _Handle) or not 0 <= handle.gpu < len(self.gpus):
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        if handle.mig is not None and not allow_mig:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)  # no such reading per MIG slice
        return self.gpus[handle.gpu]

    # -- the pynvml API -------------------------------------------------------------------
    def nvmlInit(self) -> None:
        self._enter("nvmlInit", needs_init=False)
        self.init_count += 1

    def nvmlShutdown(self) -> None:
        self._enter("nvmlShutdown")
        self.init_count -= 1

    def nvmlSystemGetDriverVersion(self) -> str:
        self._enter("nvmlSystemGetDriverVersion")
        return self.driver_version

    def nvmlDeviceGetCount(self) -> int:
        self._enter("nvmlDeviceGetCount")
        return len(self.gpus)

    def nvmlDeviceGetHandleByIndex(self, index: int) -> _Handle:
        self._enter("nvmlDeviceGetHandleByIndex")
        if not 0 <= index < len(self.gpus):
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        return _Handle(index)

    def nvmlDeviceGetHandleByUUID(self, uuid: str) -> _Handle:
        self._enter("nvmlDeviceGetHandleByUUID")
        for i, gpu in enumerate(self.gpus):
            if gpu.uuid == uuid:
                return _Handle(i)
            if uuid in self.mig_uuids(i):
                return _Handle(i, self.mig_uuids(i).index(uuid))
        raise NVMLError(NVML_ERROR_NOT_FOUND)

    def nvmlDeviceGetIndex(self, handle: _Handle) -> int:
        self._enter("nvmlDeviceGetIndex", handle)
        self._gpu(handle)
        return handle.gpu

    def nvmlDeviceGetName(self, handle: _Handle) -> str:
        self._enter("nvmlDeviceGetName", handle)
        gpu = self._gpu(handle, allow_mig=True)
        return gpu.name if handle.mig is None else f"{gpu.name} MIG slice {handle.mig}"

    def nvmlDeviceGetUUID(self, handle: _Handle) -> str:
        self._enter("nvmlDeviceGetUUID", handle)
        gpu = self._gpu(handle, allow_mig=True)
        return (gpu.uuid or "") if handle.mig is None else self.mig_uuids(handle.gpu)[handle.mig]

    def nvmlDeviceGetTotalEnergyConsumption(self, handle: _Handle) -> int:
        self._enter("nvmlDeviceGetTotalEnergyConsumption", handle)
        if not self._gpu(handle).energy_counter:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return int(self._energy_mj[handle.gpu])  # mJ

    def nvmlDeviceGetPowerUsage(self, handle: _Handle) -> int:
        self._enter("nvmlDeviceGetPowerUsage", handle)
        if not self._gpu(handle).power_readings:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return int(round(self.power_w(handle.gpu) * 1000.0))  # mW

    def nvmlDeviceGetEnforcedPowerLimit(self, handle: _Handle) -> int:
        self._enter("nvmlDeviceGetEnforcedPowerLimit", handle)
        return int(round(self._gpu(handle).power_limit_w * 1000.0))  # mW

    def nvmlDeviceGetPowerManagementLimit(self, handle: _Handle) -> int:
        self._enter("nvmlDeviceGetPowerManagementLimit", handle)
        return int(round(self._gpu(handle).power_limit_w * 1000.0))  # mW

    def nvmlDeviceGetPowerManagementLimitConstraints(self, handle: _Handle) -> list[int]:
        """``[min, max]`` settable limit in mW, as pynvml returns it."""
        self._enter("nvmlDeviceGetPowerManagementLimitConstraints", handle)
        gpu = self._gpu(handle)
        return [int(round(gpu.min_power_limit_w * 1000.0)),
                int(round(gpu.max_power_limit_w * 1000.0))]

    def nvmlDeviceSetPowerManagementLimit(self, handle: _Handle, limit: int) -> None:
        """Set the limit (mW). NO_PERMISSION unless allowed (root, on real NVML);
        INVALID_ARGUMENT outside the constraints; NOT_SUPPORTED on a MIG slice."""
        self._enter("nvmlDeviceSetPowerManagementLimit", handle)
        gpu = self._gpu(handle)
        if not gpu.power_limit_permission:
            raise NVMLError(NVML_ERROR_NO_PERMISSION)
        if not (round(gpu.min_power_limit_w * 1000) <= int(limit)
                <= round(gpu.max_power_limit_w * 1000)):
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        gpu.power_limit_w = int(limit) / 1000.0
        self.limit_history.append((self.now_s, handle.gpu, gpu.power_limit_w))

    def nvmlDeviceGetPowerManagementDefaultLimit(self, handle: _Handle) -> int:
        self._enter("nvmlDeviceGetPowerManagementDefaultLimit", handle)
        return int(round(self._gpu(handle).default_power_limit_w * 1000.0))  # mW

    def nvmlDeviceGetProcessUtilization(self, handle: _Handle, timeStamp: int
                                        ) -> list[ProcessUtilizationSample]:
        self._enter("nvmlDeviceGetProcessUtilization", handle)
        if not self._gpu(handle).process_utilization:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        found = [s for s in self._samples[handle.gpu] if s.timeStamp > timeStamp]
        if not found:
            raise NVMLError(NVML_ERROR_NOT_FOUND)
        return found

    def nvmlDeviceGetComputeRunningProcesses(self, handle: _Handle) -> list[ProcessInfo]:
        self._enter("nvmlDeviceGetComputeRunningProcesses", handle)
        gpu = self._gpu(handle)
        if not gpu.process_utilization:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        return [ProcessInfo(pid, gpu.used_memory_bytes) for pid in gpu.processes]

    def nvmlDeviceGetSamples(self, device: _Handle, sampling_type: int, timeStamp: int
                             ) -> tuple[int, list[Sample]]:
        """``(value type, samples newer than timeStamp)`` as pynvml returns them; only
        ``NVML_TOTAL_POWER_SAMPLES`` (mW, unsigned int) is faked. No newer sample:
        NOT_FOUND, as NVML."""
        self._enter("nvmlDeviceGetSamples", device)
        gpu = self._gpu(device)
        if sampling_type != NVML_TOTAL_POWER_SAMPLES or not gpu.power_samples:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)
        period = gpu.power_sample_period_s
        newest = math.floor(self.now_s / period + 1e-9)  # samples at k * period, k >= 1
        first = max(1, newest - gpu.power_sample_buffer + 1,
                    math.floor((timeStamp - self.EPOCH_US) / 1e6 / period + 1e-9) + 1)
        samples = []
        for k in range(first, newest + 1):
            stamp = self.EPOCH_US + round(k * period * 1e6)
            if stamp > timeStamp:
                mw = int(round(self.power_w(device.gpu, k * period) * 1000.0))
                samples.append(Sample(stamp, SampleValue(uiVal=mw)))
        if not samples:
            raise NVMLError(NVML_ERROR_NOT_FOUND)
        return NVML_VALUE_TYPE_UNSIGNED_INT, samples

    def wall_time(self) -> float:
        """The fake wall clock of NVML's timestamps, in seconds (pass as ``wall_clock=``
        to the sensors with ``clock=fake.time``)."""
        return self.EPOCH_US / 1e6 + self.now_s

    def nvmlDeviceGetMigMode(self, handle: _Handle) -> list[int]:
        self._enter("nvmlDeviceGetMigMode", handle)
        self._gpu(handle)
        mode = NVML_DEVICE_MIG_ENABLE if self.mig_uuids(handle.gpu) else NVML_DEVICE_MIG_DISABLE
        return [mode, mode]

    def nvmlDeviceGetMaxMigDeviceCount(self, handle: _Handle) -> int:
        self._enter("nvmlDeviceGetMaxMigDeviceCount", handle)
        self._gpu(handle)
        return 7 if self.mig_uuids(handle.gpu) else 0

    def nvmlDeviceGetMigDeviceHandleByIndex(self, handle: _Handle, index: int) -> _Handle:
        self._enter("nvmlDeviceGetMigDeviceHandleByIndex", handle)
        self._gpu(handle)
        if not 0 <= index < len(self.mig_uuids(handle.gpu)):
            raise NVMLError(NVML_ERROR_NOT_FOUND)
        return _Handle(handle.gpu, index)

    def nvmlDeviceGetDeviceHandleFromMigDeviceHandle(self, migDevice: _Handle) -> _Handle:
        self._enter("nvmlDeviceGetDeviceHandleFromMigDeviceHandle", migDevice)
        self._gpu(migDevice, allow_mig=True)
        if migDevice.mig is None:
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        return _Handle(migDevice.gpu)


class RealTimeNVML(FakeNVML):
    """A :class:`FakeNVML` whose fake time follows ``time.monotonic()`` (advanced at each
    call, at most once a millisecond) and whose sample timestamps are the real wall clock:
    for running wattprint as a real process without a GPU (the exporter in tests and
    benchmarks). ``gpus`` as for :class:`FakeNVML`. Per-process samples are pruned to
    NVML's buffer size, so a call never scans a long run's history. ``resolution_s``:
    fake time catches up with the real clock when it lags by more than this (default a
    millisecond, which keeps calls cheap); 0 makes every call catch up, so the energy
    of a short window is its power times its real duration to within microseconds."""

    def __init__(self, gpus: Sequence[FakeGPU] | int, *, resolution_s: float = 0.001) -> None:
        import time as _time

        super().__init__(gpus)
        self.resolution_s = float(resolution_s)
        self._monotonic = _time.monotonic
        self._t0 = _time.monotonic()
        self.EPOCH_US = int(_time.time() * 1e6)

    def _enter(self, function: str, handle: Any = None, *, needs_init: bool = True) -> None:
        dt = self._monotonic() - self._t0 - self.now_s
        if dt > self.resolution_s:
            self.advance(dt)
            for samples in self._samples:
                del samples[:-100]
        super()._enter(function, handle, needs_init=needs_init)


# Constants and error classes are reachable on the fake as on the pynvml module.
for _name, _value in list(globals().items()):
    if _name.startswith("NVML_") or _name.startswith("NVMLError_"):
        setattr(FakeNVML, _name, _value)
del _name, _value
