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
:meth:`FakeNVML.fail_init`. ``tests/test_nvml.py`` checks that every public ``nvml*``/
``NVML*`` name here exists in the real pynvml, with the same value or arity.
"""

from __future__ import annotations

import hashlib
import math
import string
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Mapping, Sequence

__all__ = ["FakeNVML", "FakeGPU", "NVMLError", "ProcessUtilizationSample", "ProcessInfo",
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


@dataclass(frozen=True)
class SampleValue:
    """The value union of an ``nvmlDeviceGetSamples`` entry (pynvml's ``c_nvmlValue_t``):
    the member named by the returned value type holds the value."""

    dVal: float = 0.0
    uiVal: int = 0
    ulVal: int = 0
    ullVal: int = 0
    sllVal: int = 0
    siVal: int = 0
    usVal: int = 0


@dataclass(frozen=True)
class Sample:
    """One entry of ``nvmlDeviceGetSamples`` (pynvml's ``c_nvmlSample_t``)."""

    timeStamp: int  # microseconds, CPU clock
    sampleValue: SampleValue


PowerTrace = float | Sequence[float] | Callable[[float], float]


@dataclass
class FakeGPU:
    """Configuration of one fake GPU (change fields between calls to script a scenario).

    ``power_w``: watts as a constant, a list (one value per ``trace_step_s`` seconds of
    fake time, the last one held) or a function of fake time in seconds.
    ``energy_counter=False`` makes the total-energy call raise NOT_SUPPORTED (pre-Volta);
    ``power_readings=False`` does the same for the power call. ``mig``: number of MIG
    slices (or their UUIDs); non-zero turns MIG mode on. ``processes``: PIDs holding a
    compute context. ``sm_util``: PID -> SM utilisation percent (or a function of fake time
    returning that mapping); a sample per PID is recorded every ``sample_period_s``.
    ``process_utilization=False`` makes the attribution calls raise NOT_SUPPORTED.
    """

    name: str = "NVIDIA H100 80GB HBM3"
    uuid: str | None = None
    power_w: PowerTrace = 100.0
    trace_step_s: float = 1.0
    energy_counter: bool = True
    power_readings: bool = True
    power_limit_w: float = 700.0
    default_power_limit_w: float = 700.0
    mig: int | Sequence[str] = 0
    processes: Sequence[int] = ()
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


@dataclass
class _Failure:
    function: str
    code: int
    skip: int  # matching calls to let through first
    times: int | None  # None: forever
    gpu: int | None


def _fake_uuid(prefix: str, seed: str) -> str:
    h = hashlib.sha256(seed.encode()).hexdigest()
    return f"{prefix}{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


class FakeNVML:
    """A deterministic stand-in for the ``pynvml`` module (see the module docstring).

    ``gpus`` is a list of :class:`FakeGPU` or a number of default GPUs. ``calls`` counts
    every call by function name. ``init_count`` is NVML's init reference count.
    """

    NVMLError = NVMLError
    nvmlExceptionClass = staticmethod(nvmlExceptionClass)
    EPOCH_US = 1_700_000_000_000_000  # fake wall clock of timestamps at fake time 0

    def __init__(self, gpus: Sequence[FakeGPU] | int = 1, *,
                 driver_version: str = "550.54.15") -> None:
        self.gpus: list[FakeGPU] = ([FakeGPU() for _ in range(gpus)] if isinstance(gpus, int)
                                    else list(gpus))
        for i, gpu in enumerate(self.gpus):
            if gpu.uuid is None:
                gpu.uuid = _fake_uuid("GPU-", f"fake-gpu-{i}")
        self.driver_version = driver_version
        self.now_s = 0.0
        self.init_count = 0
        self.calls: Counter[str] = Counter()
        self._energy_mj = [float(g.initial_energy_mj) for g in self.gpus]
        self._samples: list[list[ProcessUtilizationSample]] = [[] for _ in self.gpus]
        self._next_sample_s = [g.sample_period_s for g in self.gpus]
        self._failures: list[_Failure] = []

    # -- scripting ------------------------------------------------------------------------
    def time(self) -> float:
        """Fake seconds since the fake was created (pass as ``clock=`` to the sensors)."""
        return self.now_s

    def power_w(self, gpu: int, t_s: float | None = None) -> float:
        """The power of GPU ``gpu`` at fake time ``t_s`` (default: now)."""
        g = self.gpus[gpu]
        t = self.now_s if t_s is None else t_s
        p = g.power_w
        if callable(p):
            return float(p(t))
        if isinstance(p, (int, float)):
            return float(p)
        step = min(int(t // g.trace_step_s), len(p) - 1)
        return float(p[max(step, 0)])

    def advance(self, seconds: float) -> None:
        """Move fake time forward: energy grows by the integral of power, and utilisation
        samples are recorded."""
        if seconds < 0:
            raise ValueError("time only moves forward")
        t0, t1 = self.now_s, self.now_s + seconds
        for i, gpu in enumerate(self.gpus):
            self._energy_mj[i] += 1000.0 * self._integral_j(i, t0, t1)
            while self._next_sample_s[i] <= t1 + 1e-12:
                ts = self._next_sample_s[i]
                util = gpu.sm_util(ts) if callable(gpu.sm_util) else gpu.sm_util
                stamp = self.EPOCH_US + round(ts * 1e6)
                self._samples[i].extend(
                    ProcessUtilizationSample(pid, stamp, int(round(u))) for pid, u in util.items())
                self._next_sample_s[i] += gpu.sample_period_s
        self.now_s = t1

    def _integral_j(self, i: int, t0: float, t1: float) -> float:
        g = self.gpus[i]
        p = g.power_w
        if isinstance(p, (int, float)):
            return float(p) * (t1 - t0)
        if callable(p):  # midpoint rule on steps of at most 10 ms
            n = max(1, math.ceil((t1 - t0) / 0.01))
            dt = (t1 - t0) / n
            return sum(float(p(t0 + (k + 0.5) * dt)) for k in range(n)) * dt
        total, t = 0.0, t0  # piecewise constant: exact
        while t < t1:
            edge = (math.floor(t / g.trace_step_s + 1e-9) + 1) * g.trace_step_s
            nxt = min(edge, t1)
            total += self.power_w(i, t) * (nxt - t)
            t = nxt
        return total

    def energy_j(self, gpu: int) -> float:
        """The true energy counter of ``gpu`` in joules (for assertions)."""
        return self._energy_mj[gpu] / 1000.0

    def fail(self, function: str, code: int, *, call: int = 1, times: int | None = 1,
             gpu: int | None = None) -> None:
        """Make the ``call``-th next call of ``function`` (on GPU ``gpu``, or any) raise
        ``NVMLError(code)``, and the following ``times - 1`` calls too (``None``: forever)."""
        if not function.startswith("nvml") or not hasattr(self, function):
            raise ValueError(f"FakeNVML has no function {function!r}")
        self._failures.append(_Failure(function, code, call - 1, times, gpu))

    def fail_init(self, code: int) -> None:
        """Make the next ``nvmlInit`` raise ``NVMLError(code)``."""
        self.fail("nvmlInit", code)

    # -- plumbing -------------------------------------------------------------------------
    def _enter(self, function: str, handle: _Handle | None = None, *,
               needs_init: bool = True) -> None:
        self.calls[function] += 1
        for f in self._failures:
            if f.function != function or (f.gpu is not None and
                                          (handle is None or handle.gpu != f.gpu)):
                continue
            if f.skip > 0:
                f.skip -= 1
                continue
            if f.times is not None:
                f.times -= 1
                if f.times <= 0:
                    self._failures.remove(f)
            raise NVMLError(f.code)
        if needs_init and self.init_count <= 0:
            raise NVMLError(NVML_ERROR_UNINITIALIZED)

    def _gpu(self, handle: Any, *, allow_mig: bool = False) -> FakeGPU:
        if not isinstance(handle, _Handle) or not 0 <= handle.gpu < len(self.gpus):
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        if handle.mig is not None and not allow_mig:
            raise NVMLError(NVML_ERROR_NOT_SUPPORTED)  # no such reading per MIG slice
        return self.gpus[handle.gpu]

    def _mig_uuids(self, gpu: int) -> list[str]:
        mig = self.gpus[gpu].mig
        if isinstance(mig, int):
            return [_fake_uuid("MIG-", f"fake-mig-{gpu}-{k}") for k in range(mig)]
        return list(mig)

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
            if uuid in self._mig_uuids(i):
                return _Handle(i, self._mig_uuids(i).index(uuid))
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
        return (gpu.uuid or "") if handle.mig is None else self._mig_uuids(handle.gpu)[handle.mig]

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
        mode = NVML_DEVICE_MIG_ENABLE if self._mig_uuids(handle.gpu) else NVML_DEVICE_MIG_DISABLE
        return [mode, mode]

    def nvmlDeviceGetMaxMigDeviceCount(self, handle: _Handle) -> int:
        self._enter("nvmlDeviceGetMaxMigDeviceCount", handle)
        self._gpu(handle)
        return 7 if self._mig_uuids(handle.gpu) else 0

    def nvmlDeviceGetMigDeviceHandleByIndex(self, handle: _Handle, index: int) -> _Handle:
        self._enter("nvmlDeviceGetMigDeviceHandleByIndex", handle)
        self._gpu(handle)
        if not 0 <= index < len(self._mig_uuids(handle.gpu)):
            raise NVMLError(NVML_ERROR_NOT_FOUND)
        return _Handle(handle.gpu, index)

    def nvmlDeviceGetDeviceHandleFromMigDeviceHandle(self, migDevice: _Handle) -> _Handle:
        self._enter("nvmlDeviceGetDeviceHandleFromMigDeviceHandle", migDevice)
        self._gpu(migDevice, allow_mig=True)
        if migDevice.mig is None:
            raise NVMLError(NVML_ERROR_INVALID_ARGUMENT)
        return _Handle(migDevice.gpu)


# Constants and error classes are reachable on the fake as on the pynvml module.
for _name, _value in list(globals().items()):
    if _name.startswith("NVML_") or _name.startswith("NVMLError_"):
        setattr(FakeNVML, _name, _value)
del _name, _value
