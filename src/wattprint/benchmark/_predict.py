"""The estimator's prediction for a benchmarked configuration, and the gap to the
measurement: ``estimate_inference`` for the model's parameter count, precision, batch and
token lengths on the GPU measured here (or the one the user names)."""

from __future__ import annotations

import logging
from typing import Any

from ..errors import UsageError
from ._engines import PRECISIONS
from ._figures import Figure

__all__ = ["predict", "hardware_of"]


def hardware_of(result: Any) -> str:
    """What a run measured on: its counted GPUs, else its CPU."""
    gpus = [d.device for d in result.devices if d.domain == "gpu" and d.counted]
    if gpus:
        return f"{len(gpus)} × {gpus[0]}"
    cpus = [d.device for d in result.devices if d.domain == "cpu" and d.counted]
    return cpus[0] if cpus else "this machine"


def predict(config: dict[str, Any], params: int | None, opts: Any, result: Any,
             figs: dict[str, Figure], gpu_j: float | None, toks: list[float]) -> dict[str, Any]:
    """The estimator's J/output token for this configuration, and the gap to the
    measurement (accelerator energy when a GPU was measured, else the run's energy)."""
    out: dict[str, Any] = {"basis": "estimated", "j_per_output_token": None, "gap": None}
    if opts.task != "text-generation":
        out["reason"] = "the estimator models text generation only"
        return out
    if not params:
        out["reason"] = "the model's parameter count is unknown"
        return out
    gpus = [d.device for d in result.devices if d.domain == "gpu" and d.counted]
    accel = opts.estimate_accelerator
    if accel is None and gpus:
        from ..estimate import find_accelerator

        try:
            accel = find_accelerator(gpus[0]).name
        except Exception:  # noqa: BLE001 - an unknown GPU: no prediction, said below
            accel = None
    if accel is None:
        out["reason"] = ("no accelerator to predict for: the estimator models GPUs and "
                         "this ran on " + hardware_of(result) + "; pass --estimate-accelerator "
                         "NAME to compare anyway")
        return out
    from ..estimate import estimate_inference

    n_out = sum(toks) / max(1, config["requests_per_repeat"] * opts.repeat)
    prec = config["precision"] if config["precision"] in PRECISIONS else "bf16"
    try:
        logging.disable(logging.WARNING)  # "unusual: fewer than 1 million parameters"
        est = estimate_inference(params=f"{params / 1e9:.9g}B", accelerator=accel,
                                 precision=prec, batch_size=config["batch_size"],
                                 input_tokens=config["input_tokens"] or 32,
                                 output_tokens=max(1, round(n_out)), engine="eager",
                                 n_accelerators=1)
    except (UsageError, ValueError) as err:
        out["reason"] = f"the estimator could not model it: {err}"
        return out
    finally:
        logging.disable(logging.NOTSET)
    rng = est.energy_token_accelerators_j
    out.update(j_per_output_token=rng.central, low=rng.low, high=rng.high,
               accelerator=est.accelerator, boundary="accelerators")
    measured = figs["j_per_output_token"].value
    if gpu_j is not None and sum(toks):
        measured = gpu_j / sum(toks)
        out["measured_boundary"] = "gpu"
    else:
        out["measured_boundary"] = "all measured devices (no GPU here)"
    if measured is not None and rng.central > 0:
        out["measured_j_per_output_token"] = measured
        out["gap"] = (measured - rng.central) / rng.central
        out["within_range"] = rng.low <= measured <= rng.high
    return out
