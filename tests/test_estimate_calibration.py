"""The calibrated priors (issue 14): their shape, and that calibration only ever sees the
development split."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from wattprint.estimate import estimate_inference, estimate_training
from wattprint.estimate._priors import (TRAIN_DRAW_LARGE, TRAIN_DRAW_SMALL,
                                        train_draw_fraction)
from wattprint.estimate.inference import moe_weights_read

REPO = Path(__file__).resolve().parents[1]


def test_training_draw_depends_on_model_size():
    small, mid, large = (train_draw_fraction(n) for n in (0.1e9, 2e9, 70e9))
    assert small == TRAIN_DRAW_SMALL and large == TRAIN_DRAW_LARGE
    assert small.central < mid.central < large.central
    unknown = train_draw_fraction(None)
    assert unknown.low == small.low and unknown.high == large.high
    # the estimator uses it: a small model's run draws less than a large one's
    e_small = estimate_training(accelerator="V100", accelerator_hours=1000, params="110M")
    e_large = estimate_training(accelerator="V100", accelerator_hours=1000, params="70B")
    assert e_small.power_accelerator_w.central < 0.6 * e_large.power_accelerator_w.central
    # a mixture-of-experts is sized by its active parameters
    moe = estimate_training(accelerator="H100", accelerator_hours=10, params="400B",
                            active_params="200M")
    assert moe.power_accelerator_w.central == pytest.approx(
        TRAIN_DRAW_SMALL.central * 700, rel=1e-6)


def test_moe_reads_the_experts_a_batch_touches():
    assert moe_weights_read(70e9, 70e9, 64) == 70e9  # dense: everything, every step
    assert moe_weights_read(235e9, 22e9, 1) == pytest.approx(22e9)
    b8, b64 = moe_weights_read(235e9, 22e9, 8), moe_weights_read(235e9, 22e9, 64)
    assert 22e9 < b8 < b64 < 235e9 and b64 > 0.99 * 235e9


def test_serving_host_overhead_grows_with_the_batch():
    small = estimate_inference(params="8B", accelerator="H100", batch_size=8)
    big = estimate_inference(params="8B", accelerator="H100", batch_size=512)
    # per step, the larger batch pays more host time: its step is more than the 8-batch
    # step plus the weights-bound part alone would give
    assert big.decode_step_s.central > small.decode_step_s.central + 500 * 20e-6
    assert any("per running sequence" in a.name for a in big.assumptions)


def test_low_precision_and_moe_efficiency_are_stated():
    fp8 = estimate_inference(params="405B", accelerator="H100", n_accelerators=8,
                             precision="fp8", batch_size=256)
    names = " ".join(a.name for a in fp8.assumptions)
    assert "fp8" in names and "model error" in names
    moe = estimate_inference(params="235B", active_params="22B", accelerator="H100",
                             n_accelerators=8, batch_size=64)
    assert "mixture-of-experts" in " ".join(a.name for a in moe.assumptions)
    dense = estimate_inference(params="70B", accelerator="H100", n_accelerators=4)
    assert "mixture-of-experts step" not in " ".join(a.name for a in dense.assumptions)


def test_calibration_tool_reports_the_development_split_only():
    out = subprocess.run([sys.executable, str(REPO / "tools" / "calibrate.py"), "--current"],
                         capture_output=True, text=True, timeout=300,
                         env={"PYTHONPATH": str(REPO / "src"), "PATH": "/usr/bin:/bin"})
    assert out.returncode == 0, out.stderr
    lines = [ln for ln in out.stdout.splitlines() if " dev n=" in ln]
    assert {ln.split()[0] for ln in lines} == {"train-hours", "train-compute", "train-time",
                                               "infer"}
    assert "held-out" not in out.stdout.replace("held-out rows are not estimated", "")


def test_recent_accelerators_use_an_effective_utilisation_by_model_size():
    from wattprint.estimate._priors import MFU_MODERN, MFU_RECENT_LARGE, MFU_RECENT_SMALL
    from wattprint.estimate.catalogue import find_accelerator
    from wattprint.estimate.training import mfu_prior

    h100, a100 = find_accelerator("H100"), find_accelerator("A100")
    assert mfu_prior(a100, 8e9) == MFU_MODERN  # 2020–2021 parts: per-step MFU
    small, large = mfu_prior(h100, 1e9), mfu_prior(h100, 400e9)
    assert small.central == MFU_RECENT_SMALL.central
    assert large.central == MFU_RECENT_LARGE.central
    assert small.central < mfu_prior(h100, 70e9).central < large.central
    # a mixture-of-experts is sized by its active parameters
    moe = estimate_training(accelerator="H100", params="400B", active_params="17B",
                            tokens="22T")
    dense17 = estimate_training(accelerator="H100", params="17B", tokens="22T")
    assert moe.accelerator_hours.central == pytest.approx(dense17.accelerator_hours.central)


def test_external_rows_carry_their_source():
    from wattprint.estimate._published import _read

    rows = _read("training_external.csv")
    assert len(rows) >= 9
    for r in rows:
        assert r["source"].startswith("Meta, model card of meta-llama/")
        assert float(r["energy_MWh"]) == pytest.approx(
            float(r["accelerator_hours"]) * 0.7 / 1000, rel=1e-3)
