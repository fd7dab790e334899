"""Power and energy sources, and :func:`detect`, which finds the ones that work here.

Probing order is fixed: NVIDIA GPUs (NVML), AMD GPUs (amdsmi), Linux RAPL (CPU package and
DRAM), then the sensorless models for whatever the hardware did not cover: the CPU model
when no RAPL package counter is readable, the RAM model when no DRAM counter is. A model
never stands in beside a sensor for the same domain, so nothing is counted twice. For
every source that cannot be used, :class:`Detection` says why and how to fix it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

from ..errors import SensorError
from .base import DOMAINS, KINDS, Reading, Sensor, Unavailable

__all__ = ["Sensor", "Reading", "Unavailable", "Detection", "detect", "DOMAINS", "KINDS"]

log = logging.getLogger("wattprint")


@dataclass
class Detection:
    """The sensors that work on this machine and, for the rest, why not."""

    sensors: list[Sensor] = field(default_factory=list)
    unavailable: list[Unavailable] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"sensors": [s.describe() for s in self.sensors],
                "unavailable": [u.as_dict() for u in self.unavailable]}


def _try(detection: Detection, source: str, opener: Callable[[], list[Sensor]]) -> list[Sensor]:
    try:
        found = opener()
    except SensorError as err:
        detection.unavailable.append(Unavailable(source, err.reason, str(err.args[0]), err.fix))
        return []
    except Exception as err:  # noqa: BLE001 - an unexpected vendor failure must not stop a run
        log.warning("wattprint: probing %s failed unexpectedly: %r", source, err)
        detection.unavailable.append(Unavailable(
            source, "driver", f"probing {source} failed unexpectedly: {err!r}",
            "please report this with the output of `wattprint doctor`"))
        return []
    detection.sensors.extend(found)
    return found


def detect(*, mode: str = "process", tree: Any = None, gpus: bool = True,
           rapl_root: str = "/sys/class/powercap", cpuinfo_path: str = "/proc/cpuinfo",
           nvml: Any = None, amdsmi: Any = None, models: bool = True) -> Detection:
    """Probe every source in order and return what works and why the rest does not.

    ``tree`` is the :class:`~wattprint._proctree.ProcessTree` the run tracks (process
    mode); ``nvml``/``amdsmi`` let tests pass fake vendor modules
    (:mod:`wattprint.testing`); ``rapl_root`` and ``cpuinfo_path`` let them point at
    fixture trees. ``gpus=False`` skips the GPU probes; ``models=False`` skips the
    sensorless models (then a machine without sensors yields no sensors).
    """
    from . import _amdsmi, _cpu_model, _nvml, _rapl, _ram_model

    detection = Detection()
    pids = tree.pids if (tree is not None and mode == "process") else None
    if gpus:
        _try(detection, "nvml", lambda: _nvml.open_nvml_sensors(nvml=nvml, pids=pids))
        _try(detection, "amdsmi", lambda: _amdsmi.open_amdsmi_sensors(amdsmi=amdsmi))
    rapl = _try(detection, "rapl", lambda: _rapl.open_rapl_sensors(
        rapl_root, cpuinfo_path=cpuinfo_path))
    counted = [s for s in rapl if s.nested_in is None]
    if models:
        model_tree = tree if mode == "process" else None
        if not any(s.domain in ("cpu", "system") for s in counted):
            _try(detection, "cpu-model", lambda: [_cpu_model.CPUModelSensor(
                model_tree, mode=mode, cpuinfo_path=cpuinfo_path)])
        if not any(s.domain in ("dram", "system") for s in counted):
            _try(detection, "ram-model", lambda: [_ram_model.RAMModelSensor(
                model_tree, mode=mode)])
    return detection
