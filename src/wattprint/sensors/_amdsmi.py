"""AMD GPUs through amdsmi (ROCm): one sensor per GPU visible to this process.

Energy comes from the GPU's energy accumulator (``amdsmi_get_energy_count``: ticks of
``counter_resolution`` microjoules; amdsmi before 6.1 named the tick count ``power``);
GPUs without it are polled for power (``amdsmi_get_power_info``, watts: MI300 and later
report ``current_socket_power``, older GPUs ``average_socket_power``) and the sampler
integrates. Two known counter faults are turned into read errors, so the sampler marks
a gap and, if they persist, switches to power polling through :meth:`fallback`: a
counter that goes backwards, and a counter that stops moving (seen on MI100/MI210 with
some ROCm releases).

Visibility follows ROCm: ``ROCR_VISIBLE_DEVICES`` filters first, then
``HIP_VISIBLE_DEVICES`` (or ``CUDA_VISIBLE_DEVICES``, which HIP also reads) picks from what
is left; entries are indices or ``GPU-`` UUIDs, read with CUDA's rules
(:func:`wattprint.sensors._gpu_common.resolve_visible_devices`). Indices follow HIP's order
(``hip_id`` where amdsmi offers ``amdsmi_get_gpu_enumeration_info``, as 7.0 does; else
amdsmi's handle order).

There is no per-process attribution for AMD GPUs yet: readings have ``share=None`` and
the whole device is counted (provenance says so). Vendor errors are translated here:
:data:`AMDSMI_STATUS` maps every amdsmi status onto a reason and a fix.
"""

from __future__ import annotations

import contextlib
import io
import os
from dataclasses import dataclass
from typing import Any, Callable, Literal, Mapping

from ..errors import SensorError, SensorReadError, SensorUnavailable
from ._gpu_common import FROM_ENV, LibrarySession, _Env, pci_has_gpu, resolve_visible_devices
from .base import Reading, Sensor, now_s

__all__ = ["open_amdsmi_sensors", "AMDSMIEnergySensor", "AMDSMIPowerSensor", "AMDSMI_STATUS",
           "energy_count_uj"]

SOURCE = "amdsmi"
INSTALL_FIX = "pip install 'wattprint[amd]'  (amdsmi; it also needs ROCm's libamd_smi.so)"
#: Seconds without any change of the energy accumulator after which it is taken as stuck.
STALE_AFTER_S = 5.0

_DRIVER_FIX = "check that the amdgpu driver and ROCm work (`amd-smi list`, `rocm-smi`)"
_DEFAULT_FIX = {
    "not_present": "check `amd-smi list` and HIP_VISIBLE_DEVICES / ROCR_VISIBLE_DEVICES",
    "driver": _DRIVER_FIX,
    "permission": ("add this user to the `render` and `video` groups (access to /dev/kfd "
                   "and /dev/dri), then log in again"),
    "not_supported": ("this GPU, its firmware or a VM guest does not offer the measurement; "
                      "a newer ROCm may"),
    "invalid": "update ROCm and the amdsmi package; report this if it persists",
}

#: Every amdsmi status (by constant name in ``amdsmi.amdsmi_wrapper``) -> (reason, fix or
#: None for the reason's default). ``tests/test_amdsmi.py`` fails when amdsmi defines a
#: status missing here.
AMDSMI_STATUS: dict[str, tuple[str, str | None]] = {
    "AMDSMI_STATUS_INVAL": ("invalid", None),
    "AMDSMI_STATUS_NOT_SUPPORTED": ("not_supported", None),
    "AMDSMI_STATUS_NOT_YET_IMPLEMENTED": ("not_supported", None),
    "AMDSMI_STATUS_FAIL_LOAD_MODULE": ("driver", "install ROCm's amd-smi-lib (libamd_smi.so) "
                                                 "or set ROCM_PATH to the ROCm install"),
    "AMDSMI_STATUS_FAIL_LOAD_SYMBOL": ("driver", "the amdsmi Python package does not match "
                                                 "libamd_smi.so: install the amdsmi version "
                                                 "of your ROCm release"),
    "AMDSMI_STATUS_DRM_ERROR": ("driver", None),
    "AMDSMI_STATUS_API_FAILED": ("driver", None),
    "AMDSMI_STATUS_TIMEOUT": ("driver", None),
    "AMDSMI_STATUS_RETRY": ("driver", None),
    "AMDSMI_STATUS_NO_PERM": ("permission", None),
    "AMDSMI_STATUS_INTERRUPT": ("driver", None),
    "AMDSMI_STATUS_IO": ("driver", None),
    "AMDSMI_STATUS_ADDRESS_FAULT": ("driver", None),
    "AMDSMI_STATUS_FILE_ERROR": ("driver", None),
    "AMDSMI_STATUS_OUT_OF_RESOURCES": ("driver", None),
    "AMDSMI_STATUS_INTERNAL_EXCEPTION": ("driver", None),
    "AMDSMI_STATUS_INPUT_OUT_OF_BOUNDS": ("invalid", None),
    "AMDSMI_STATUS_INIT_ERROR": ("driver", None),
    "AMDSMI_STATUS_REFCOUNT_OVERFLOW": ("driver", None),
    "AMDSMI_STATUS_DIRECTORY_NOT_FOUND": ("driver", None),
    "AMDSMI_STATUS_BUSY": ("driver", None),
    "AMDSMI_STATUS_NOT_FOUND": ("not_present", None),
    "AMDSMI_STATUS_NOT_INIT": ("driver", None),
    "AMDSMI_STATUS_NO_SLOT": ("driver", None),
    "AMDSMI_STATUS_DRIVER_NOT_LOADED": ("driver", "load the amdgpu kernel driver (`sudo "
                                                  "modprobe amdgpu` or reinstall it)"),
    "AMDSMI_STATUS_MORE_DATA": ("invalid", None),
    "AMDSMI_STATUS_NO_DATA": ("not_supported", None),
    "AMDSMI_STATUS_INSUFFICIENT_SIZE": ("invalid", None),
    "AMDSMI_STATUS_UNEXPECTED_SIZE": ("invalid", None),
    "AMDSMI_STATUS_UNEXPECTED_DATA": ("invalid", None),
    "AMDSMI_STATUS_NON_AMD_CPU": ("not_present", None),
    "AMDSMI_STATUS_NO_ENERGY_DRV": ("driver", "load the amd_energy kernel module"),
    "AMDSMI_STATUS_NO_MSR_DRV": ("driver", "load the msr kernel module"),
    "AMDSMI_STATUS_NO_HSMP_DRV": ("driver", "load the amd_hsmp kernel module"),
    "AMDSMI_STATUS_NO_HSMP_SUP": ("not_supported", None),
    "AMDSMI_STATUS_NO_HSMP_MSG_SUP": ("not_supported", None),
    "AMDSMI_STATUS_HSMP_TIMEOUT": ("driver", None),
    "AMDSMI_STATUS_NO_DRV": ("driver", None),
    "AMDSMI_STATUS_FILE_NOT_FOUND": ("not_supported", None),
    "AMDSMI_STATUS_ARG_PTR_NULL": ("invalid", None),
    "AMDSMI_STATUS_AMDGPU_RESTART_ERR": ("driver", "the amdgpu driver failed to restart: "
                                                   "check `dmesg`, then reboot"),
    "AMDSMI_STATUS_SETTING_UNAVAILABLE": ("not_supported", None),
    "AMDSMI_STATUS_CORRUPTED_EEPROM": ("driver", "the GPU's EEPROM is corrupted: contact the "
                                                 "hardware vendor"),
    "AMDSMI_STATUS_MAP_ERROR": ("driver", None),
    "AMDSMI_STATUS_UNKNOWN_ERROR": ("driver", None),
}

_UNSUPPORTED = frozenset({"AMDSMI_STATUS_NOT_SUPPORTED", "AMDSMI_STATUS_NOT_YET_IMPLEMENTED",
                          "AMDSMI_STATUS_NO_DATA", "AMDSMI_STATUS_FILE_NOT_FOUND"})
#: Power fields of ``amdsmi_get_power_info`` in order of preference (all in watts).
POWER_FIELDS = ("current_socket_power", "average_socket_power", "socket_power")


def energy_count_uj(count: Mapping[str, Any]) -> tuple[int, float]:
    """``(ticks, microjoules per tick)`` from an ``amdsmi_get_energy_count`` result
    (``energy_accumulator`` since amdsmi 6.1, ``power`` before)."""
    ticks = count.get("energy_accumulator", count.get("power"))
    return int(ticks), float(count["counter_resolution"])


def _power_w(info: Mapping[str, Any]) -> tuple[str, float] | None:
    """The first supported power field of an ``amdsmi_get_power_info`` result."""
    for key in POWER_FIELDS:
        value = info.get(key)
        # amdsmi marks unsupported fields "N/A" (or leaves 0xFFFF / UINT32_MAX in them).
        if isinstance(value, (int, float)) and 0 < value < 0xFFFF:
            return key, float(value)
    return None


# -- error translation --------------------------------------------------------------------

def _status_name(amdsmi: Any, err: BaseException) -> str | None:
    code = getattr(err, "err_code", None)
    if code is None:  # AmdSmiParameterException and friends: a caller bug, no status
        return None
    wrapper = getattr(amdsmi, "amdsmi_wrapper", None)
    for name in AMDSMI_STATUS:
        if getattr(wrapper, name, object()) == code:
            return name
    return f"amdsmi status {code}"


def _detail(err: BaseException) -> str:
    return " ".join(str(err).split())  # amdsmi's messages span lines


def _translate(amdsmi: Any, err: BaseException, what: str,
               cls: type[SensorError] = SensorReadError) -> SensorError:
    name = _status_name(amdsmi, err)
    reason, fix = AMDSMI_STATUS.get(name or "", ("invalid" if name is None else "driver", None))
    return cls(f"amdsmi {what} failed: {_detail(err)} ({name or type(err).__name__})",
               source=SOURCE, reason=reason, fix=fix or _DEFAULT_FIX[reason])


# -- sensors ------------------------------------------------------------------------------

@dataclass
class _GPUInfo:
    handle: Any
    ordinal: int
    hip_id: int | None
    name: str
    uuid: str
    bdf: str
    driver_version: str
    power_cap_w: float | None
    default_power_cap_w: float | None

    def label(self) -> str:
        gpu = f"GPU {self.hip_id}, " if self.hip_id is not None else ""
        return f"{self.name} ({gpu}BDF {self.bdf}, UUID {self.uuid})"


class _AMDSMISensor(Sensor):
    domain = "gpu"
    kind = "measured"
    scope = "device"
    method: Literal["counter", "polled"] = "counter"

    def __init__(self, amdsmi: Any, session: LibrarySession, info: _GPUInfo,
                 clock: Callable[[], float]) -> None:
        session.acquire()
        self._amdsmi = amdsmi
        self._session = session
        self._info = info
        self._handle = info.handle
        self._clock = clock
        self._closed = False
        self.name = f"amdsmi:{info.ordinal}"
        self.device = info.label()

    def _call(self, fn: Callable[..., Any], what: str) -> Any:
        try:
            return fn(self._handle)
        except self._amdsmi.AmdSmiException as err:
            raise _translate(self._amdsmi, err, f"{what} on {self.name}") from err

    def power_limit_w(self) -> float:
        """The power cap the GPU enforces now, in watts."""
        info = self._call(self._amdsmi.amdsmi_get_power_cap_info, "amdsmi_get_power_cap_info")
        return info["power_cap"] / 1e6  # microwatts

    def close(self) -> None:
        if not self._closed:
            self._closed = True
            self._session.release()

    def provenance(self) -> Mapping[str, Any]:
        info = self._info
        return {
            "kind": self.kind,
            "source": SOURCE,
            "energy": self.method,
            "gpu_name": info.name,
            "uuid": info.uuid,
            "bdf": info.bdf,
            "hip_id": info.hip_id,
            "hip_ordinal": info.ordinal,
            "driver_version": info.driver_version,
            "power_limit_w": info.power_cap_w,
            "default_power_limit_w": info.default_power_cap_w,
            "shared": False,
            "attribution": "not available for AMD GPUs: the whole device is counted",
        }


class AMDSMIEnergySensor(_AMDSMISensor):
    """An AMD GPU read through its energy accumulator: one amdsmi call per read."""

    method = "counter"

    def __init__(self, amdsmi: Any, session: LibrarySession, info: _GPUInfo,
                 clock: Callable[[], float], first: Mapping[str, Any],
                 stale_after_s: float = STALE_AFTER_S) -> None:
        super().__init__(amdsmi, session, info, clock)
        self._first_ticks, self._resolution_uj = energy_count_uj(first)
        self._last_ticks = self._first_ticks
        self._moved_s = clock()
        self._stale_after_s = stale_after_s

    def read(self) -> Reading:
        count = self._call(self._amdsmi.amdsmi_get_energy_count, "amdsmi_get_energy_count")
        now = self._clock()
        ticks, _ = energy_count_uj(count)
        if ticks < self._last_ticks:
            raise SensorReadError(
                f"{self.name}: the energy accumulator went backwards ({self._last_ticks} -> "
                f"{ticks} ticks)", source=SOURCE, reason="invalid", fix=_DEFAULT_FIX["invalid"])
        if ticks != self._last_ticks:
            self._last_ticks = ticks
            self._moved_s = now
        elif now - self._moved_s >= self._stale_after_s:
            raise SensorReadError(
                f"{self.name}: the energy accumulator has not moved for "
                f"{now - self._moved_s:.1f} s", source=SOURCE, reason="invalid",
                fix="a known amdsmi/firmware fault (counter stuck until reboot); wattprint "
                    "switches to power polling")
        energy_j = (ticks - self._first_ticks) * self._resolution_uj / 1e6
        return Reading(time_s=now, energy_j=energy_j)

    def fallback(self) -> Sensor | None:
        """Power polling of the same GPU (the accumulator failed mid-run)."""
        if self._session.closed:
            return None
        try:
            info = self._amdsmi.amdsmi_get_power_info(self._handle)
        except self._amdsmi.AmdSmiException:
            return None
        found = _power_w(info)
        if found is None:
            return None
        sensor = AMDSMIPowerSensor(self._amdsmi, self._session, self._info, self._clock,
                                   found[0])
        sensor.fallback_from = "energy accumulator"
        return sensor

    def provenance(self) -> Mapping[str, Any]:
        prov = dict(super().provenance())
        prov["method"] = ("amdsmi energy accumulator (amdsmi_get_energy_count), differenced; "
                          f"resolution {self._resolution_uj:g} uJ per tick")
        prov["counter_resolution_uj"] = self._resolution_uj
        return prov


class AMDSMIPowerSensor(_AMDSMISensor):
    """An AMD GPU without a usable accumulator: power is polled."""

    method = "polled"
    fallback_from: str | None = None

    def __init__(self, amdsmi: Any, session: LibrarySession, info: _GPUInfo,
                 clock: Callable[[], float], field: str) -> None:
        super().__init__(amdsmi, session, info, clock)
        self._field = field

    def read(self) -> Reading:
        info = self._call(self._amdsmi.amdsmi_get_power_info, "amdsmi_get_power_info")
        value = info.get(self._field)
        if not isinstance(value, (int, float)) or not 0 <= value < 0xFFFF:
            found = _power_w(info)
            if found is None:
                raise SensorReadError(f"{self.name}: amdsmi reports no power ({info!r})",
                                      source=SOURCE, reason="not_supported",
                                      fix=_DEFAULT_FIX["not_supported"])
            value = found[1]
        return Reading(time_s=self._clock(), power_w=float(value))

    def provenance(self) -> Mapping[str, Any]:
        prov = dict(super().provenance())
        prov["method"] = (f"amdsmi power polling (amdsmi_get_power_info['{self._field}'], W), "
                          "integrated by the sampler (trapezoid)")
        if self.fallback_from:
            prov["fallback_from"] = self.fallback_from
        return prov


# -- opening ------------------------------------------------------------------------------

def _no_amd_gpu(sys_root: str, detail: str) -> SensorUnavailable | None:
    """``not_present`` when the PCI bus shows no AMD GPU (display or accelerator class)."""
    if pci_has_gpu(sys_root, "0x1002", ("0x03", "0x12")) is not False:
        return None
    return SensorUnavailable(f"no AMD GPU on this machine (none on the PCI bus; {detail})",
                             source=SOURCE, reason="not_present",
                             fix="nothing to do on a machine without AMD GPUs; in a container, "
                                 "pass /dev/kfd and /dev/dri through")


def _import_amdsmi(sys_root: str) -> Any:
    captured = io.StringIO()
    try:
        # amdsmi prints (instead of raising) when libamd_smi.so is missing, then fails.
        with contextlib.redirect_stdout(captured):
            import amdsmi  # type: ignore[import-not-found]
    except ImportError as err:
        raise _no_amd_gpu(sys_root, "the amdsmi package is not installed either") or \
            SensorUnavailable("the amdsmi Python package is not installed", source=SOURCE,
                              reason="no_library", fix=INSTALL_FIX) from err
    except Exception as err:  # noqa: BLE001 - amdsmi fails with KeyError/OSError here
        said = " ".join(captured.getvalue().split()) or repr(err)
        raise _no_amd_gpu(sys_root, f"amdsmi could not load its library: {said}") or \
            SensorUnavailable(
                f"the amdsmi package is installed but its library failed to load: {said}",
                source=SOURCE, reason="driver",
                fix=AMDSMI_STATUS["AMDSMI_STATUS_FAIL_LOAD_MODULE"][1]) from err
    return amdsmi


def _optional(amdsmi: Any, fn: Callable[..., Any] | None, *args: Any) -> Any:
    if fn is None:
        return None
    try:
        return fn(*args)
    except amdsmi.AmdSmiException:
        return None


def _env_visible() -> tuple[str | None, str | None]:
    hip = os.environ.get("HIP_VISIBLE_DEVICES")
    if hip is None:
        hip = os.environ.get("CUDA_VISIBLE_DEVICES")
    return os.environ.get("ROCR_VISIBLE_DEVICES"), hip


def open_amdsmi_sensors(*, amdsmi: Any = None, visible_devices: str | None | _Env = FROM_ENV,
                        rocr_visible_devices: str | None | _Env = FROM_ENV,
                        clock: Callable[[], float] = now_s,
                        sys_root: str = "/sys") -> list[Sensor]:
    """Open one sensor per AMD GPU visible to this process.

    ``amdsmi`` is a module-like object with amdsmi's API (default: ``import amdsmi``;
    :class:`wattprint.testing.fake_amdsmi.FakeAMDSMI` in tests). ``visible_devices`` is a
    ``HIP_VISIBLE_DEVICES`` value and ``rocr_visible_devices`` a ``ROCR_VISIBLE_DEVICES``
    value (defaults: read from the environment now; ``None``: no filter). ``sys_root`` is
    where the PCI bus is looked up to tell "no AMD GPU" from "driver broken".

    Raises :class:`~wattprint.errors.SensorUnavailable` when no GPU can be measured.
    """
    env_rocr, env_hip = _env_visible()
    if visible_devices is FROM_ENV:
        visible_devices = env_hip
    if rocr_visible_devices is FROM_ENV:
        rocr_visible_devices = env_rocr
    if amdsmi is None:
        amdsmi = _import_amdsmi(sys_root)
    try:
        flags = getattr(amdsmi, "AmdSmiInitFlags", None)
        if flags is not None:
            amdsmi.amdsmi_init(flags.INIT_AMD_GPUS)
        else:
            amdsmi.amdsmi_init()
    except amdsmi.AmdSmiException as err:
        unavailable = _translate(amdsmi, err, "initialisation (amdsmi_init)", SensorUnavailable)
        if unavailable.reason == "driver":
            unavailable = _no_amd_gpu(sys_root, f"amdsmi: {_detail(err)}") or unavailable
        raise unavailable from err

    session = LibrarySession(amdsmi.amdsmi_shut_down, SOURCE)
    session.acquire()  # held while opening: amdsmi is shut down here if no sensor opened
    try:
        return _open_all(amdsmi, session, visible_devices, rocr_visible_devices, clock)
    finally:
        session.release()


def _devices_in_hip_order(amdsmi: Any, handles: list[Any]) -> list[tuple[Any, int | None,
                                                                          list[str]]]:
    """``(handle, hip_id, uuids)`` in HIP's order; ``uuids`` are the forms a
    ``GPU-`` entry of the visibility variables may match."""
    enumerate_fn = getattr(amdsmi, "amdsmi_get_gpu_enumeration_info", None)
    devices = []
    for handle in handles:
        info = _optional(amdsmi, enumerate_fn, handle) or {}
        hip_id = info.get("hip_id")
        uuids = [u for u in (info.get("hip_uuid"),) if isinstance(u, str) and u]
        uuid = _optional(amdsmi, amdsmi.amdsmi_get_gpu_device_uuid, handle)
        if uuid:
            uuids += [uuid if uuid.startswith("GPU-") else f"GPU-{uuid}"]
        devices.append((handle, hip_id if isinstance(hip_id, int) else None, uuids))
    if all(d[1] is not None for d in devices):
        devices.sort(key=lambda d: d[1] if d[1] is not None else -1)
    return devices


def _select(spec: str | None, devices: list[Any]) -> list[Any]:
    if spec is None:
        return devices

    def match(token: str) -> int | None:
        found = {i for i, d in enumerate(devices) for u in d[2] if u.startswith(token)}
        return found.pop() if len(found) == 1 else None

    picked = resolve_visible_devices(spec, count=len(devices), match_uuid=match)
    return [devices[k] for k in picked]


def _open_all(amdsmi: Any, session: LibrarySession, visible: str | None, rocr: str | None,
              clock: Callable[[], float]) -> list[Sensor]:
    try:
        handles = list(amdsmi.amdsmi_get_processor_handles())
    except amdsmi.AmdSmiException as err:
        raise _translate(amdsmi, err, "listing GPUs", SensorUnavailable) from err
    if not handles:
        raise SensorUnavailable("amdsmi works but reports no AMD GPU", source=SOURCE,
                                reason="not_present", fix=_DEFAULT_FIX["not_present"])
    devices = _select(visible, _select(rocr, _devices_in_hip_order(amdsmi, handles)))
    if not devices:
        raise SensorUnavailable(
            f"ROCR_VISIBLE_DEVICES={rocr!r} / HIP_VISIBLE_DEVICES={visible!r} leave no GPU "
            "visible to this process", source=SOURCE, reason="not_present",
            fix="set them to indices or UUIDs from `amd-smi list`, or unset them")
    driver = None
    sensors: list[Sensor] = []
    try:
        for ordinal, (handle, hip_id, uuids) in enumerate(devices):
            if driver is None:
                driver = (_optional(amdsmi, getattr(amdsmi, "amdsmi_get_gpu_driver_info", None),
                                    handle) or {}).get("driver_version", "unknown")
            sensors.append(_open_gpu(amdsmi, session, handle, ordinal, hip_id, uuids,
                                     driver or "unknown", clock))
    except BaseException:
        for sensor in sensors:
            sensor.close()
        raise
    return sensors


def _open_gpu(amdsmi: Any, session: LibrarySession, handle: Any, ordinal: int,
              hip_id: int | None, uuids: list[str], driver: str,
              clock: Callable[[], float]) -> Sensor:
    asic = _optional(amdsmi, amdsmi.amdsmi_get_gpu_asic_info, handle) or {}
    caps = _optional(amdsmi, amdsmi.amdsmi_get_power_cap_info, handle) or {}
    cap, default_cap = caps.get("power_cap"), caps.get("default_power_cap")
    info = _GPUInfo(
        handle=handle, ordinal=ordinal, hip_id=hip_id,
        name=asic.get("market_name") or "AMD GPU",
        uuid=uuids[-1] if uuids else "unknown",
        bdf=_optional(amdsmi, amdsmi.amdsmi_get_gpu_device_bdf, handle) or "unknown",
        driver_version=driver,
        power_cap_w=cap / 1e6 if isinstance(cap, (int, float)) else None,  # microwatts
        default_power_cap_w=default_cap / 1e6 if isinstance(default_cap, (int, float)) else None,
    )
    what = f"GPU {hip_id if hip_id is not None else ordinal} ({info.name})"
    try:
        first = amdsmi.amdsmi_get_energy_count(handle)
        if energy_count_uj(first)[1] > 0.0:
            return AMDSMIEnergySensor(amdsmi, session, info, clock, first)
    except amdsmi.AmdSmiException as err:
        if _status_name(amdsmi, err) not in _UNSUPPORTED:
            raise _translate(amdsmi, err, f"reading the energy of {what}",
                             SensorUnavailable) from err
    except (KeyError, TypeError, ValueError):
        pass  # an accumulator in a shape we do not know: poll power instead
    try:
        power = amdsmi.amdsmi_get_power_info(handle)
    except amdsmi.AmdSmiException as err:
        unavailable = _translate(amdsmi, err, f"reading the power of {what}", SensorUnavailable)
        unavailable.fix = f"{unavailable.fix}; or hide this GPU with HIP_VISIBLE_DEVICES"
        raise unavailable from err
    found = _power_w(power)
    if found is None:
        raise SensorUnavailable(f"{what} reports neither an energy count nor a power",
                                source=SOURCE, reason="not_supported",
                                fix=f"{_DEFAULT_FIX['not_supported']}; or hide this GPU with "
                                    "HIP_VISIBLE_DEVICES")
    return AMDSMIPowerSensor(amdsmi, session, info, clock, found[0])
