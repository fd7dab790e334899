"""The accelerator catalogue: the names people type, suggestions, the shipped data."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from wattprint.estimate import UnknownAccelerator, find_accelerator, search_accelerators
from wattprint.errors import UsageError

REPO = Path(__file__).resolve().parents[1]
DATA_DIR = REPO / "src" / "wattprint" / "data"
SOURCE = REPO / ".." / "shared" / "data"


@pytest.mark.parametrize("typed, name", [
    ("H100", "NVIDIA H100 SXM5 80GB"), ("H100 SXM", "NVIDIA H100 SXM5 80GB"),
    ("NVIDIA H100 80GB HBM3", "NVIDIA H100 SXM5 80GB"), ("h100-pcie", "NVIDIA H100 PCIe"),
    ("A100-40GB", "NVIDIA A100 SXM4 40 GB"), ("A100 80GB", "NVIDIA A100 SXM4 80 GB"),
    ("TPU v4", "Google TPU v4"), ("TPUv3", "Google TPU v3"), ("v2 TPU", "Google TPU v2"),
    ("V100", "NVIDIA V100"), ("MI300X", "AMD Instinct MI300X"), ("A100 (Jean Zay)",
                                                                 "NVIDIA A100"),
    ("NVIDIA H100 SXM5 80GB", "NVIDIA H100 SXM5 80GB"),
])
def test_aliases(typed, name):
    assert find_accelerator(typed).name == name


def test_tdp_picks_the_variant():
    assert find_accelerator("P100").tdp_w == 250  # Epoch's generic P100 (PCIe figures)
    assert find_accelerator("P100", tdp_w=300).name == "NVIDIA Tesla P100 SXM2"


def test_unknown_names_get_suggestions():
    with pytest.raises(UnknownAccelerator) as err:
        find_accelerator("A300")
    assert err.value.suggestions and isinstance(err.value, UsageError)
    assert "did you mean" in str(err.value)
    with pytest.raises(UnknownAccelerator):
        find_accelerator("Hopper 9000 turbo")


def test_peak_flops_by_precision_and_fallbacks():
    h100 = find_accelerator("H100")
    assert h100.peak_flops("bf16") == (989.4e12, "bf16")
    assert h100.peak_flops("fp8")[0] == pytest.approx(1979e12)
    assert "peak_tflops_fp8" in h100.unverified  # from the hand-transcribed gap fill
    v100 = find_accelerator("V100")
    assert v100.peak_flops("fp8") == (125e12, "fp16")  # no FP8 or bf16 on Volta
    assert find_accelerator("P100").peak_flops("bf16")[1] == "fp16"
    with pytest.raises(UsageError):
        v100.peak_flops("fp7")


def test_catalogue_fields():
    tpu = find_accelerator("TPU v4")
    assert tpu.kind == "tpu" and tpu.year == 2021 and tpu.memory_gb == 32
    assert find_accelerator("L40S").source.startswith("gap-fill")
    assert {a.name for a in search_accelerators("h100")} >= {"NVIDIA H100 PCIe",
                                                            "NVIDIA H100 NVL"}


@pytest.mark.skipif(not (SOURCE / "hardware").is_dir(), reason="reference data not found")
def test_estimator_data_rebuilds_byte_for_byte(tmp_path):
    subprocess.run([sys.executable, str(REPO / "tools" / "build_data.py"), str(SOURCE),
                    "--out", str(tmp_path), "--only", "accelerators", "published"],
                   check=True, capture_output=True)
    for name in ("accelerators.csv", "published/training_dev.csv",
                 "published/inference_dev.csv"):
        assert (tmp_path / name).read_bytes() == (DATA_DIR / name).read_bytes(), name


def test_notice_names_the_estimator_data():
    notice = (DATA_DIR / "NOTICE.md").read_text(encoding="utf-8")
    for needle in ("`accelerators.csv`", "Epoch AI", "CC-BY-4.0", "`training_dev.csv`",
                   "`inference_dev.csv`", "UNVERIFIED"):
        assert needle in notice, needle


def test_nothing_is_read_at_import():
    code = ("import wattprint.data as d, wattprint.estimate, wattprint.cli._estimate; "
            "print(d.open_text.cache_info().currsize, d.read_csv.cache_info().currsize)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.split() == ["0", "0"]
