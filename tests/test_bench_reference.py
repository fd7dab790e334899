"""The AI Energy Score leaderboard of February 2025, shipped as the default reference of
``wattprint bench``'s star rating: the rule reproduces every published rating, the size
classes follow the method's Table 2, and a rating says what makes it comparable or not."""

from __future__ import annotations

import pytest

from wattprint import data
from wattprint.benchmark import rate, shipped_reference, size_class, stars_for
from wattprint.benchmark._rating import SHIPPED_REFERENCE
from wattprint.errors import UsageError

H100 = "1 × NVIDIA H100 80GB HBM3"
# a parameter count inside each text-generation class (Table 2: A ≤ 20 B, B ≤ 66 B, C above)
PARAMS_OF_CLASS = {"A": 7e9, "B": 34e9, "C": 70e9, "": None}


def test_every_published_rating_is_reproduced() -> None:
    ref = shipped_reference()
    assert len(ref.published) == 166  # the February 2025 leaderboard: 166 models, 10 tasks
    assert len(ref.energies_wh) == 10
    for task, cls, model, energy, stars in ref.published:
        r = rate(energy, task, ref, hardware=H100, gpu_energy=True, reference_data=True,
                 params=PARAMS_OF_CLASS[cls], batch_size=1,
                 precision="fp16" if task == "text-generation" else "fp32")
        assert (r.stars, r.size_class) == (stars, cls), (task, model, energy)
        assert r.comparable and not r.caveats


def test_a_rating_by_hand() -> None:
    ref = shipped_reference()
    low, high = min(ref.energies_wh["text-generation"]["A"]), \
        max(ref.energies_wh["text-generation"]["A"])
    # the class-A range runs from distilgpt2 (1.313333 Wh) to phi-4 (28.741175 Wh)
    assert (low, high) == (1.313333, 28.741175)
    band = (high - low) / 5  # 5.4855684 Wh per section
    r = rate(10.0, "text-generation", ref, hardware=H100, gpu_energy=True,
             reference_data=True, params=124e6, batch_size=1, precision="fp16")
    assert r.band_wh == pytest.approx(band)
    assert r.stars == 4  # 10 Wh is in the second section: (10 - 1.313) / 5.486 = 1.58
    assert r.stars == stars_for(10.0, low, high)
    assert r.models == 32 and r.size_class == "A"
    assert "AI Energy Score leaderboard, February 2025" in r.label()


def test_size_classes_follow_the_method() -> None:
    assert [size_class(p) for p in (124e6, 14e9, 20e9, 20.5e9, 66e9, 67e9, 405e9)] == \
        ["A", "A", "A", "B", "B", "C", "C"]
    ref = shipped_reference()
    classes = {(m, c) for t, c, m, _, _ in ref.published if t == "text-generation"}
    # models the leaderboard placed: phi-4 (14 B) in A, Mixtral 8x7B (47 B) in B,
    # Llama 3 70B in C — the same classes size_class gives their sizes
    assert ("microsoft/phi-4", size_class(14.7e9)) in classes
    assert ("mistralai/Mixtral-8x7B-v0.1", size_class(46.7e9)) in classes
    assert ("meta-llama/Meta-Llama-3-70B", size_class(70.6e9)) in classes


def test_what_makes_a_rating_indicative() -> None:
    ref = shipped_reference()
    here = rate(3.0, "text-generation", ref, hardware="AMD EPYC 7B13 (2 vCPU)",
                gpu_energy=False, reference_data=False, params=124e6, batch_size=8,
                precision="fp32")
    assert not here.comparable
    text = " | ".join(here.caveats)
    for part in ("not the reference NVIDIA H100", "no GPU energy", "reference dataset",
                 "batch size 8, the reference's is 1", "precision fp32, the reference's is fp16"):
        assert part in text
    classification = rate(0.3, "text-classification", ref, hardware=H100, gpu_energy=True,
                          reference_data=True, batch_size=1, precision="fp32")
    assert classification.comparable and classification.size_class == ""
    above = rate(1e6, "text-classification", ref, hardware=H100, gpu_energy=True,
                 reference_data=True, batch_size=1, precision="fp32")
    assert above.stars == 1 and above.caveats == ["outside the reference range"]
    assert above.comparable  # outside the range is said, but the measurement is comparable


def test_a_classed_task_needs_the_parameter_count() -> None:
    with pytest.raises(UsageError, match="size classes"):
        rate(3.0, "text-generation", shipped_reference(), hardware=H100, gpu_energy=True,
             reference_data=True)


def test_the_shipped_file_is_attributed() -> None:
    ref = shipped_reference()
    assert ref.meta["hardware"] == "NVIDIA H100" and ref.batch_size == 1
    assert "huggingface.co/spaces/AIEnergyScore" in ref.meta["url"]
    notice = data.notice()
    assert SHIPPED_REFERENCE in notice and "AI Energy Score" in notice
