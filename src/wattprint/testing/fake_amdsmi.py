"""A fake of AMD's ``amdsmi`` Python package for tests without an AMD GPU.

:class:`FakeAMDSMI` exposes the amdsmi functions wattprint calls, under the same names and
with the same return dictionaries as amdsmi 7.0 (energy in ticks of
``counter_resolution`` microjoules, power in watts, power caps in microwatts, ``"N/A"``
for unsupported fields), the same exception classes (:class:`AmdSmiLibraryException`
carrying ``err_code``), ``AmdSmiInitFlags`` and an ``amdsmi_wrapper`` namespace holding the
``AMDSMI_STATUS_*`` codes. Pass it wherever wattprint accepts ``amdsmi=``::

    from wattprint.testing.fake_amdsmi import FakeAMDGPU, FakeAMDSMI

    fake = FakeAMDSMI([FakeAMDGPU(power_w=500.0)])
    sensors = open_amdsmi_sensors(amdsmi=fake, visible_devices=None,
                                  rocr_visible_devices=None, clock=fake.time)
    fake.advance(1.0)
    sensors[0].read().energy_j   # ~500.0 (to the counter's resolution)

Time is fake and only moves with :meth:`FakeAMDSMI.advance`. Errors are injected with
:meth:`FakeAMDSMI.fail` / :meth:`FakeAMDSMI.fail_init`; the counter faults seen on real
GPUs with ``FakeAMDGPU.counter_stuck`` and :meth:`FakeAMDSMI.rewind_counter`. The device
model (power trace, true energy, failure injection) is shared with the NVML fake in
:mod:`wattprint.testing._fake_device`.
``tests/test_amdsmi.py`` checks these names against amdsmi's own source.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from enum import IntEnum
from types import SimpleNamespace
from typing import Any, NoReturn, Sequence

from ._fake_device import FakeDevice, FakeDeviceLibrary, PowerTrace

__all__ = ["FakeAMDSMI", "FakeAMDGPU", "AmdSmiException", "AmdSmiLibraryException",
           "AmdSmiRetryException", "AmdSmiTimeoutException", "AmdSmiParameterException",
           "AmdSmiInitFlags", "amdsmi_wrapper"]

# amdsmi_status_t (amdsmi.h; values are part of the library's ABI).
_STATUS = {
    "AMDSMI_STATUS_SUCCESS": 0, "AMDSMI_STATUS_INVAL": 1, "AMDSMI_STATUS_NOT_SUPPORTED": 2,
    "AMDSMI_STATUS_NOT_YET_IMPLEMENTED": 3, "AMDSMI_STATUS_FAIL_LOAD_MODULE": 4,
    "AMDSMI_STATUS_FAIL_LOAD_SYMBOL": 5, "AMDSMI_STATUS_DRM_ERROR": 6,
    "AMDSMI_STATUS_API_FAILED": 7, "AMDSMI_STATUS_TIMEOUT": 8, "AMDSMI_STATUS_RETRY": 9,
    "AMDSMI_STATUS_NO_PERM": 10, "AMDSMI_STATUS_INTERRUPT": 11, "AMDSMI_STATUS_IO": 12,
    "AMDSMI_STATUS_ADDRESS_FAULT": 13, "AMDSMI_STATUS_FILE_ERROR": 14,
    "AMDSMI_STATUS_OUT_OF_RESOURCES": 15, "AMDSMI_STATUS_INTERNAL_EXCEPTION": 16,
    "AMDSMI_STATUS_INPUT_OUT_OF_BOUNDS": 17, "AMDSMI_STATUS_INIT_ERROR": 18,
    "AMDSMI_STATUS_REFCOUNT_OVERFLOW": 19, "AMDSMI_STATUS_DIRECTORY_NOT_FOUND": 20,
    "AMDSMI_STATUS_BUSY": 30, "AMDSMI_STATUS_NOT_FOUND": 31, "AMDSMI_STATUS_NOT_INIT": 32,
    "AMDSMI_STATUS_NO_SLOT": 33, "AMDSMI_STATUS_DRIVER_NOT_LOADED": 34,
    "AMDSMI_STATUS_MORE_DATA": 39, "AMDSMI_STATUS_NO_DATA": 40,
    "AMDSMI_STATUS_INSUFFICIENT_SIZE": 41, "AMDSMI_STATUS_UNEXPECTED_SIZE": 42,
    "AMDSMI_STATUS_UNEXPECTED_DATA": 43, "AMDSMI_STATUS_NON_AMD_CPU": 44,
    "AMDSMI_STATUS_NO_ENERGY_DRV": 45, "AMDSMI_STATUS_NO_MSR_DRV": 46,
    "AMDSMI_STATUS_NO_HSMP_DRV": 47, "AMDSMI_STATUS_NO_HSMP_SUP": 48,
    "AMDSMI_STATUS_NO_HSMP_MSG_SUP": 49, "AMDSMI_STATUS_HSMP_TIMEOUT": 50,
    "AMDSMI_STATUS_NO_DRV": 51, "AMDSMI_STATUS_FILE_NOT_FOUND": 52,
    "AMDSMI_STATUS_ARG_PTR_NULL": 53, "AMDSMI_STATUS_AMDGPU_RESTART_ERR": 54,
    "AMDSMI_STATUS_SETTING_UNAVAILABLE": 55, "AMDSMI_STATUS_CORRUPTED_EEPROM": 56,
    "AMDSMI_STATUS_MAP_ERROR": 0xFFFFFFFE, "AMDSMI_STATUS_UNKNOWN_ERROR": 0xFFFFFFFF,
}
_INIT = {"AMDSMI_INIT_ALL_PROCESSORS": 0xFFFFFFFF, "AMDSMI_INIT_AMD_CPUS": 1,
         "AMDSMI_INIT_AMD_GPUS": 2, "AMDSMI_INIT_NON_AMD_CPUS": 4, "AMDSMI_INIT_NON_AMD_GPUS": 8,
         "AMDSMI_INIT_AMD_APUS": 3}

#: Stand-in for the ``amdsmi.amdsmi_wrapper`` submodule (status and init constants).
amdsmi_wrapper = SimpleNamespace(
    **_STATUS, **_INIT,
    amdsmi_status_t__enumvalues={v: k for k, v in _STATUS.items()})


class AmdSmiInitFlags(IntEnum):
    INIT_ALL_PROCESSORS = _INIT["AMDSMI_INIT_ALL_PROCESSORS"]
    INIT_AMD_CPUS = _INIT["AMDSMI_INIT_AMD_CPUS"]
    INIT_AMD_GPUS = _INIT["AMDSMI_INIT_AMD_GPUS"]
    INIT_AMD_APUS = _INIT["AMDSMI_INIT_AMD_APUS"]
    INIT_NON_AMD_CPUS = _INIT["AMDSMI_INIT_NON_AMD_CPUS"]
    INIT_NON_AMD_GPUS = _INIT["AMDSMI_INIT_NON_AMD_GPUS"]


class AmdSmiException(Exception):
    """Base of every amdsmi exception."""


class AmdSmiLibraryException(AmdSmiException):
    """A status other than success from the library (``err_code`` is the status)."""

    def __init__(self, err_code: int) -> None:
        err_code = abs(err_code)
        super().__init__(err_code)
        self.err_code = err_code
        name = amdsmi_wrapper.amdsmi_status_t__enumvalues.get(err_code,
                                                              "AMDSMI_STATUS_UNKNOWN_ERROR")
        self.err_info = f"{name} - fake amdsmi"

    def __str__(self) -> str:
        return f"Error code:\n\t{self.err_code} | {self.err_info}"

    def get_error_info(self, detailed: bool = True) -> str:
        return self.err_info if detailed else self.err_info.split(" - ")[0]

    def get_error_code(self) -> int:
        return self.err_code


class AmdSmiRetryException(AmdSmiLibraryException):
    def __init__(self) -> None:
        super().__init__(_STATUS["AMDSMI_STATUS_RETRY"])


class AmdSmiTimeoutException(AmdSmiLibraryException):
    def __init__(self) -> None:
        super().__init__(_STATUS["AMDSMI_STATUS_TIMEOUT"])


class AmdSmiParameterException(AmdSmiException):
    def __init__(self, receivedValue: Any, expectedType: Any, msg: str | None = None) -> None:
        super().__init__(msg)
        self.err_code = None
        self.err_msg = msg or (f"Invalid parameter:\nActual type: {type(receivedValue)}\n"
                               f"Expected type: {expectedType}")

    def __str__(self) -> str:
        return self.err_msg


_InitFlags = AmdSmiInitFlags  # for annotations inside FakeAMDSMI, which shadows the name


def _raise(code: int) -> None:
    if code == _STATUS["AMDSMI_STATUS_RETRY"]:
        raise AmdSmiRetryException()
    if code == _STATUS["AMDSMI_STATUS_TIMEOUT"]:
        raise AmdSmiTimeoutException()
    raise AmdSmiLibraryException(code)


@dataclass
class FakeAMDGPU(FakeDevice):
    """Configuration of one fake AMD GPU.

    ``power_w``: watts as a constant, a list (one value per ``trace_step_s``) or a function
    of fake time. ``energy_counter=False``: the energy call raises NOT_SUPPORTED.
    ``legacy_energy_key=True`` names the tick count ``power`` as amdsmi < 6.1 did.
    ``power_field`` is the power_info field this GPU fills (``current_socket_power`` on
    MI300+, ``average_socket_power`` before); ``None`` fills none. ``counter_stuck=True``
    freezes the accumulator (a firmware fault). ``hip_id=None`` gives the GPU's position.
    """

    market_name: str = "AMD Instinct MI300X"
    uuid: str | None = None
    bdf: str | None = None
    hip_id: int | None = None
    power_w: PowerTrace = 300.0
    counter_resolution_uj: float = 15.300000190734863  # a float32 15.3, as amdsmi returns
    legacy_energy_key: bool = False
    power_field: str | None = "current_socket_power"
    counter_stuck: bool = False
    power_cap_w: float = 750.0
    default_power_cap_w: float = 750.0
    initial_ticks: int = 4_750_896_266


@dataclass(frozen=True)
class _Handle:
    gpu: int


class FakeAMDSMI(FakeDeviceLibrary[FakeAMDGPU]):
    """A deterministic stand-in for the ``amdsmi`` package (see the module docstring).

    ``enumeration_info=False`` makes ``amdsmi_get_gpu_enumeration_info`` fail with
    NOT_SUPPORTED, as on amdsmi releases without HIP ids (handle order is then used).
    """

    PREFIX = "amdsmi_"

    AmdSmiException = AmdSmiException
    AmdSmiLibraryException = AmdSmiLibraryException
    AmdSmiRetryException = AmdSmiRetryException
    AmdSmiTimeoutException = AmdSmiTimeoutException
    AmdSmiParameterException = AmdSmiParameterException
    AmdSmiInitFlags = AmdSmiInitFlags
    amdsmi_wrapper = amdsmi_wrapper
    EPOCH_NS = 1_712_024_507_665_000

    def __init__(self, gpus: Sequence[FakeAMDGPU] | int = 1, *,
                 driver_version: str = "6.8.5", enumeration_info: bool = True) -> None:
        super().__init__([FakeAMDGPU() for _ in range(gpus)] if isinstance(gpus, int)
                         else gpus)
        for i, gpu in enumerate(self.gpus):
            digest = hashlib.sha256(f"fake-amd-{i}".encode()).hexdigest()
            if gpu.uuid is None:
                gpu.uuid = (f"{digest[:8]}-{digest[8:12]}-{digest[12:16]}-{digest[16:20]}-"
                            f"{digest[20:32]}")
            if gpu.bdf is None:
                gpu.bdf = f"0000:{0x10 + 0x10 * i:02x}:00.0"
        self.driver_version = driver_version
        self.enumeration_info = enumeration_info
        self._ticks = [g.initial_ticks for g in self.gpus]
        self._rewound = [0 for _ in self.gpus]

    # -- scripting (time, power_w, advance, fail: see FakeDeviceLibrary) --------------------
    def energy_j(self, gpu: int) -> float:
        """The true energy drawn by ``gpu`` since the fake was created, in joules."""
        return self.drawn_j(gpu)

    def rewind_counter(self, gpu: int, ticks: int) -> None:
        """Move the accumulator back by ``ticks`` (the fault of a counter going backwards)."""
        self._ticks[gpu] -= ticks
        self._rewound[gpu] += ticks

    def fail_init(self, code: int) -> None:
        self.fail("amdsmi_init", code)

    # -- plumbing -------------------------------------------------------------------------
    def _advanced(self, gpu: int, joules: float, t0_s: float, t1_s: float) -> None:
        """The accumulator counts the energy drawn in ticks of ``counter_resolution_uj``,
        unless it is stuck."""
        g = self.gpus[gpu]
        if not g.counter_stuck:
            self._ticks[gpu] = (g.initial_ticks - self._rewound[gpu]
                                + int(self.drawn_j(gpu) * 1e6 / g.counter_resolution_uj))

    def _raise(self, code: int) -> NoReturn:
        _raise(code)
        raise AssertionError("unreachable")

    def _not_init(self) -> NoReturn:
        self._raise(_STATUS["AMDSMI_STATUS_NOT_INIT"])

    def _enter(self, function: str, handle: Any = None, *, needs_init: bool = True) -> None:
        super()._enter(function, handle, needs_init=needs_init)
        if handle is not None and (not isinstance(handle, _Handle)
                                   or not 0 <= handle.gpu < len(self.gpus)):
            raise AmdSmiParameterException(handle, _Handle)

    # -- the amdsmi API -------------------------------------------------------------------
    def amdsmi_init(self, flag: _InitFlags = _InitFlags.INIT_AMD_GPUS) -> None:
        if not isinstance(flag, AmdSmiInitFlags):
            raise AmdSmiParameterException(flag, AmdSmiInitFlags)
        self._enter("amdsmi_init", needs_init=False)
        self.init_count += 1

    def amdsmi_shut_down(self) -> None:
        self._enter("amdsmi_shut_down")
        self.init_count -= 1

    def amdsmi_get_processor_handles(self) -> list[_Handle]:
        self._enter("amdsmi_get_processor_handles")
        return [_Handle(i) for i in range(len(self.gpus))]

    def amdsmi_get_gpu_enumeration_info(self, processor_handle: _Handle) -> dict[str, Any]:
        self._enter("amdsmi_get_gpu_enumeration_info", processor_handle)
        if not self.enumeration_info:
            _raise(_STATUS["AMDSMI_STATUS_NOT_SUPPORTED"])
        g = self.gpus[processor_handle.gpu]
        hip_id = processor_handle.gpu if g.hip_id is None else g.hip_id
        return {"drm_render": 128 + processor_handle.gpu, "drm_card": processor_handle.gpu,
                "hsa_id": hip_id + 1, "hip_id": hip_id,
                "hip_uuid": "GPU-" + (g.uuid or "").replace("-", "")[:16]}

    def amdsmi_get_gpu_device_uuid(self, processor_handle: _Handle) -> str:
        self._enter("amdsmi_get_gpu_device_uuid", processor_handle)
        return self.gpus[processor_handle.gpu].uuid or ""

    def amdsmi_get_gpu_device_bdf(self, processor_handle: _Handle) -> str:
        self._enter("amdsmi_get_gpu_device_bdf", processor_handle)
        return self.gpus[processor_handle.gpu].bdf or ""

    def amdsmi_get_gpu_asic_info(self, processor_handle: _Handle) -> dict[str, Any]:
        self._enter("amdsmi_get_gpu_asic_info", processor_handle)
        g = self.gpus[processor_handle.gpu]
        return {"market_name": g.market_name, "vendor_id": "0x1002",
                "vendor_name": "Advanced Micro Devices Inc. [AMD/ATI]", "subvendor_id": "0x1002",
                "device_id": "0x74a1", "rev_id": "0x00", "asic_serial": "0x0000000000000000",
                "oam_id": processor_handle.gpu, "num_compute_units": 304,
                "target_graphics_version": "gfx942", "subsystem_id": "0x74a1"}

    def amdsmi_get_gpu_driver_info(self, processor_handle: _Handle) -> dict[str, str]:
        self._enter("amdsmi_get_gpu_driver_info", processor_handle)
        return {"driver_name": "amdgpu", "driver_version": self.driver_version,
                "driver_date": "2015/01/01 00:00"}

    def amdsmi_get_power_cap_info(self, processor_handle: _Handle) -> dict[str, int]:
        self._enter("amdsmi_get_power_cap_info", processor_handle)
        g = self.gpus[processor_handle.gpu]
        return {"power_cap": int(g.power_cap_w * 1e6),  # microwatts
                "default_power_cap": int(g.default_power_cap_w * 1e6),
                "dpm_cap": 2100, "min_power_cap": 0, "max_power_cap": int(g.power_cap_w * 1e6)}

    def amdsmi_get_energy_count(self, processor_handle: _Handle) -> dict[str, Any]:
        self._enter("amdsmi_get_energy_count", processor_handle)
        g = self.gpus[processor_handle.gpu]
        if not g.energy_counter:
            _raise(_STATUS["AMDSMI_STATUS_NOT_SUPPORTED"])
        key = "power" if g.legacy_energy_key else "energy_accumulator"
        return {key: self._ticks[processor_handle.gpu],
                "counter_resolution": g.counter_resolution_uj,
                "timestamp": self.EPOCH_NS + round(self.now_s * 1e9)}

    def amdsmi_get_power_info(self, processor_handle: _Handle) -> dict[str, Any]:
        self._enter("amdsmi_get_power_info", processor_handle)
        g = self.gpus[processor_handle.gpu]
        watts = int(round(self.power_w(processor_handle.gpu)))
        info: dict[str, Any] = {"socket_power": "N/A", "current_socket_power": "N/A",
                                "average_socket_power": "N/A", "gfx_voltage": "N/A",
                                "soc_voltage": "N/A", "mem_voltage": "N/A",
                                "power_limit": int(g.power_cap_w)}
        if g.power_field is not None:
            info[g.power_field] = watts
            info["socket_power"] = watts
        return info
