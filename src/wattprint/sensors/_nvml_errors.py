"""NVML error translation: every NVML error code onto a reason of
:data:`wattprint.errors.REASONS` and the fix a user can apply (:data:`NVML_ERRORS`), and the
errors for a machine with no NVIDIA GPU or driver. ``tests/test_nvml.py`` fails when the
installed pynvml defines a code that is missing here."""

from __future__ import annotations

from typing import Any

from ..errors import SensorError, SensorReadError, SensorUnavailable
from ._gpu_common import pci_has_gpu

__all__ = ["NVML_ERRORS", "SOURCE", "INSTALL_FIX"]

SOURCE = "nvml"
INSTALL_FIX = "pip install 'wattprint[nvidia]'  (nvidia-ml-py)"


_DRIVER_FIX = ("check that the NVIDIA driver works (`nvidia-smi`); reinstall or reload it "
               "if it does not")
_DEFAULT_FIX = {
    "not_present": "check `nvidia-smi -L` and CUDA_VISIBLE_DEVICES",
    "driver": _DRIVER_FIX,
    "permission": ("give this user access to /dev/nvidia* (the group that owns them) or ask "
                   "the administrator to allow NVML queries for non-root users"),
    "not_supported": ("this GPU or driver does not offer the measurement; a newer driver "
                      "may (energy counters need Volta or later)"),
    "invalid": "update the NVIDIA driver and nvidia-ml-py; report this if it persists",
}

#: Every NVML error code (by constant name) -> (reason, fix or None for the reason's
#: default). ``tests/test_nvml.py`` fails when pynvml defines a code missing here.
NVML_ERRORS: dict[str, tuple[str, str | None]] = {
    "NVML_ERROR_UNINITIALIZED": ("driver", "NVML was shut down while in use; please report "
                                           "this as a wattprint bug"),
    "NVML_ERROR_INVALID_ARGUMENT": ("invalid", None),
    "NVML_ERROR_NOT_SUPPORTED": ("not_supported", None),
    "NVML_ERROR_NO_PERMISSION": ("permission", None),
    "NVML_ERROR_ALREADY_INITIALIZED": ("driver", None),
    "NVML_ERROR_NOT_FOUND": ("not_present", None),
    "NVML_ERROR_INSUFFICIENT_SIZE": ("invalid", None),
    "NVML_ERROR_INSUFFICIENT_POWER": ("driver", "connect the GPU's external power cables"),
    "NVML_ERROR_DRIVER_NOT_LOADED": ("driver", "load the NVIDIA kernel driver (`sudo modprobe "
                                               "nvidia` or reinstall the driver), then check "
                                               "`nvidia-smi`"),
    "NVML_ERROR_TIMEOUT": ("driver", None),
    "NVML_ERROR_IRQ_ISSUE": ("driver", "the GPU has an interrupt problem: check `dmesg`"),
    "NVML_ERROR_LIBRARY_NOT_FOUND": ("driver", "install the NVIDIA driver (it provides "
                                               "libnvidia-ml.so.1); in a container, start it "
                                               "with the NVIDIA Container Toolkit "
                                               "(`docker run --gpus all ...`)"),
    "NVML_ERROR_FUNCTION_NOT_FOUND": ("not_supported", "update the NVIDIA driver: the "
                                                       "installed one lacks this NVML function"),
    "NVML_ERROR_CORRUPTED_INFOROM": ("driver", "the GPU's infoROM is corrupted: contact the "
                                               "hardware vendor"),
    "NVML_ERROR_GPU_IS_LOST": ("driver", "the GPU fell off the bus: check `dmesg`, reset the "
                                         "GPU or reboot"),
    "NVML_ERROR_RESET_REQUIRED": ("driver", "reset the GPU (`nvidia-smi -r`) or reboot"),
    "NVML_ERROR_OPERATING_SYSTEM": ("permission", "the operating system blocked the request "
                                                  "(a VM, container or security policy)"),
    "NVML_ERROR_LIB_RM_VERSION_MISMATCH": ("driver", "the NVIDIA driver was upgraded but not "
                                                     "reloaded: reboot (or reload the nvidia "
                                                     "kernel modules)"),
    "NVML_ERROR_IN_USE": ("driver", None),
    "NVML_ERROR_MEMORY": ("driver", None),
    "NVML_ERROR_NO_DATA": ("not_supported", None),
    "NVML_ERROR_VGPU_ECC_NOT_SUPPORTED": ("not_supported", None),
    "NVML_ERROR_INSUFFICIENT_RESOURCES": ("driver", None),
    "NVML_ERROR_FREQ_NOT_SUPPORTED": ("not_supported", None),
    "NVML_ERROR_ARGUMENT_VERSION_MISMATCH": ("driver", "the NVIDIA driver is older than "
                                                       "nvidia-ml-py expects: update the driver "
                                                       "or install an older nvidia-ml-py"),
    "NVML_ERROR_DEPRECATED": ("not_supported", None),
    "NVML_ERROR_NOT_READY": ("driver", None),
    "NVML_ERROR_GPU_NOT_FOUND": ("not_present", None),
    "NVML_ERROR_INVALID_STATE": ("driver", None),
    "NVML_ERROR_RESET_TYPE_NOT_SUPPORTED": ("not_supported", None),
    "NVML_ERROR_UNKNOWN": ("driver", None),
}

#: Codes meaning "this GPU/driver cannot do that" (switch method instead of failing).
_UNSUPPORTED = frozenset({"NVML_ERROR_NOT_SUPPORTED", "NVML_ERROR_FUNCTION_NOT_FOUND"})
#: Codes that turn per-process attribution off (whole device counted) instead of failing.
_NO_ATTRIBUTION = _UNSUPPORTED | {"NVML_ERROR_NO_PERMISSION", "NVML_ERROR_NO_DATA"}


# -- translation --------------------------------------------------------------------------

def _error_name(nvml: Any, err: BaseException) -> str:
    value = getattr(err, "value", None)
    for name in NVML_ERRORS:
        if getattr(nvml, name, object()) == value:
            return name
    return f"NVML error {value}"


def _translate(nvml: Any, err: BaseException, what: str,
               cls: type[SensorError] = SensorReadError) -> SensorError:
    name = _error_name(nvml, err)
    reason, fix = NVML_ERRORS.get(name, ("driver", None))
    return cls(f"NVML {what} failed: {err} ({name})", source=SOURCE, reason=reason,
               fix=fix or _DEFAULT_FIX[reason])


def _no_nvidia_gpu(detail: str) -> SensorUnavailable:
    return SensorUnavailable(
        f"no NVIDIA GPU on this machine (no NVIDIA display device on the PCI bus; {detail})",
        source=SOURCE, reason="not_present",
        fix="nothing to do on a machine without NVIDIA GPUs; in a container, start it with "
            "the GPUs passed through (`--gpus all`)")


def _init_error(nvml: Any, err: BaseException, sys_root: str) -> SensorError:
    """nvmlInit failed: say whether there is an NVIDIA GPU at all (PCI) or a driver problem."""
    no_driver = _error_name(nvml, err) in ("NVML_ERROR_LIBRARY_NOT_FOUND",
                                           "NVML_ERROR_DRIVER_NOT_LOADED")
    if no_driver and pci_has_gpu(sys_root, "0x10de") is False:
        return _no_nvidia_gpu(f"NVML: {err}")
    return _translate(nvml, err, "initialisation (nvmlInit)", SensorUnavailable)
