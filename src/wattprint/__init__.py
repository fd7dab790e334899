"""wattprint: electricity, carbon, cost and water of AI training and inference.

    import wattprint
    with wattprint.track("finetune") as run:
        with run.phase("train"):
            ...
            run.count(tokens=4096)
    print(run.result.summary())

``wattprint.bench(model, tokenizer, prompts, batch_sizes=(1, 8, 32))`` benchmarks a
model's inference energy (:mod:`wattprint.benchmark`; loaded on first use).

Importing the package starts nothing: no threads, no vendor libraries, no files read.
"""

from .errors import (ConfigError, SensorError, SensorReadError, SensorUnavailable,
                     UsageError, WattprintError)
from .result import DeviceEnergy, PhaseEnergy, RunResult
from .sensors import Detection, detect
from .tracker import Phase, Tracker, start, track

__version__ = "0.1.0"

__all__ = [
    "track", "start", "Tracker", "Phase", "detect", "Detection",
    "RunResult", "DeviceEnergy", "PhaseEnergy",
    "WattprintError", "UsageError", "ConfigError", "SensorError", "SensorUnavailable",
    "SensorReadError", "__version__", "bench",
]


def __getattr__(name: str):  # noqa: ANN202 - PEP 562: ``wattprint.bench`` loads on use
    if name == "bench":
        from .benchmark import bench

        return bench
    raise AttributeError(f"module 'wattprint' has no attribute {name!r}")
