"""Helpers shared by the GPU sources (NVML, amdsmi): visible-device lists read with
CUDA's rules, a PCI-bus check for a vendor's GPU, and one reference-counted session of a
vendor library."""

from __future__ import annotations

import enum
import logging
import os
import threading
from typing import Callable, Hashable, TypeVar

__all__ = ["FROM_ENV", "LibrarySession", "pci_has_gpu", "resolve_visible_devices"]

log = logging.getLogger("wattprint")


class _Env(enum.Enum):
    FROM_ENV = "from the environment"


#: Default of ``visible_devices``: read ``CUDA_VISIBLE_DEVICES`` when the sensors are opened.
FROM_ENV = _Env.FROM_ENV

K = TypeVar("K", bound=Hashable)


def resolve_visible_devices(spec: str, *, count: int,
                            match_uuid: Callable[[str], K | None]) -> list[int | K]:
    """Devices named by a ``CUDA_VISIBLE_DEVICES``-style list, in the list's order.

    Pure, CUDA's rules: entries are separated by commas; the first entry decides whether
    the list holds ordinals (read like ``strtoul``: leading digits) or UUIDs
    (``GPU-``/``MIG-``; ``match_uuid`` returns a device key, or ``None`` when the entry
    matches no device or more than one). The list stops at the first entry that is
    invalid, out of range or of the other kind; a device named twice makes the whole list
    empty. An empty string names no device.
    """
    out: list[int | K] = []
    uuid_mode: bool | None = None
    for raw in spec.split(","):
        token = raw.strip()
        is_uuid = token.startswith(("GPU-", "MIG-"))
        if uuid_mode is None:
            uuid_mode = is_uuid
        if not token or is_uuid != uuid_mode:
            break
        key: int | K | None
        if is_uuid:
            key = match_uuid(token)
        else:
            digits = len(token) - len(token.lstrip("0123456789"))
            key = int(token[:digits]) if digits else None
            if key is not None and key >= count:
                key = None
        if key is None:
            break
        if key in out:
            return []
        out.append(key)
    return out


def pci_has_gpu(sys_root: str, vendor_id: str, classes: tuple[str, ...] = ("0x03",)
                ) -> bool | None:
    """Whether the PCI bus shows a display/accelerator device of ``vendor_id``
    (``"0x10de"`` NVIDIA, ``"0x1002"`` AMD); ``None`` when ``sys_root`` cannot be read."""
    devices = os.path.join(sys_root, "bus", "pci", "devices")
    try:
        entries = os.listdir(devices)
    except OSError:
        return None
    for entry in entries:
        try:
            with open(os.path.join(devices, entry, "vendor")) as f:
                vendor = f.read().strip().lower()
            with open(os.path.join(devices, entry, "class")) as f:
                pci_class = f.read().strip().lower()
        except OSError:
            continue
        if vendor == vendor_id and pci_class.startswith(classes):
            return True
    return False


class LibrarySession:
    """One initialisation of a vendor library shared by the sensors opened together.

    Each sensor (and each fallback) holds one reference; the library is shut down once,
    when the last reference is released. Releasing twice is harmless.
    """

    def __init__(self, shutdown: Callable[[], None], source: str) -> None:
        self._shutdown = shutdown
        self._source = source
        self._refs = 0
        self._done = False
        self._lock = threading.Lock()

    def acquire(self) -> None:
        with self._lock:
            if self._done:
                raise RuntimeError(f"{self._source} session already shut down")
            self._refs += 1

    def release(self) -> None:
        with self._lock:
            if self._done:
                return
            self._refs -= 1
            if self._refs > 0:
                return
            self._done = True
        try:
            self._shutdown()
        except Exception as err:  # noqa: BLE001 - shutting down must not fail a run's end
            log.debug("wattprint: %s shutdown failed: %r", self._source, err)

    @property
    def closed(self) -> bool:
        return self._done
