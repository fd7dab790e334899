"""Estimate: the energy, carbon, water and cost of AI training and inference before (or
without) measuring — every figure a central value with a range and the assumptions it rests
on, labelled "estimated".

    from wattprint.estimate import estimate_training, estimate_inference, check_claim
    est = estimate_training(accelerator="H100", n_accelerators=1024, duration="30d",
                            zone="US-CA")
    print(est.summary())
    check_claim("1.28TWh", run="GPT-3").message   # off by ≈1,000× — a unit slip of 10^3

Modules: :mod:`.catalogue` (accelerators, Epoch AI data), :mod:`.training`,
:mod:`.inference`, :mod:`.fleet`, :mod:`.claims`, :mod:`.validate` (against published
runs); priors and their sources in :mod:`._priors` and docs/estimate.md. Nothing is read at
import; tables load on first use.
"""

from ._result import Assumption, Range
from .catalogue import (Accelerator, UnknownAccelerator, accelerators, find_accelerator,
                        search_accelerators)
from .claims import ClaimCheck, check_claim
from .fleet import FleetProjection, project_fleet
from .inference import InferenceEstimate, estimate_inference
from .training import TrainingEstimate, estimate_training
from .validate import ValidationReport, run_validation

__all__ = [
    "Range", "Assumption",
    "Accelerator", "UnknownAccelerator", "accelerators", "find_accelerator",
    "search_accelerators",
    "TrainingEstimate", "estimate_training",
    "InferenceEstimate", "estimate_inference",
    "FleetProjection", "project_fleet",
    "ClaimCheck", "check_claim",
    "ValidationReport", "run_validation",
]
