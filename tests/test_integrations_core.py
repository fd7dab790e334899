"""Integrations without any framework: lazy imports, missing extras, metric names, the
model card block, and the inference meter around plain callables."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

import wattprint
import wattprint.errors
from wattprint import UsageError
from wattprint.integrations import metrics as wm
from wattprint.integrations._require import MissingExtraError, require
from wattprint.integrations.inference import measure_inference
from wattprint.integrations.model_card import (co2_eq_emissions, read_model_card_block,
                                               render_block, write_model_card)
from wattprint.report import _card
from wattprint.ledger import Ledger
from wattprint.testing import FakeSensor

HEAVY = ("torch", "lightning", "pytorch_lightning", "transformers", "mlflow", "wandb",
         "numpy", "accelerate")


def test_importing_wattprint_and_integrations_loads_no_ml_library() -> None:
    code = ("import sys, wattprint, wattprint.integrations, wattprint.integrations.inference, "
            "wattprint.integrations.model_card, wattprint.integrations.metrics; "
            f"heavy = set({HEAVY!r}) & set(sys.modules); assert not heavy, heavy")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("module, extra, attribute", [
    ("wattprint.integrations.lightning", "lightning", "WattprintCallback"),
    ("wattprint.integrations.transformers", "hf", "WattprintTrainerCallback"),
    ("wattprint.integrations.mlflow", "mlflow", "MlflowSink"),
    ("wattprint.integrations.wandb", "wandb", "WandbSink"),
])
def test_a_missing_library_names_the_pip_command(module: str, extra: str,
                                                  attribute: str) -> None:
    # The library is hidden (None in sys.modules makes its import fail) in a fresh process.
    blocked = {"lightning": ["lightning", "pytorch_lightning"], "hf": ["transformers"],
               "mlflow": ["mlflow"], "wandb": ["wandb"]}[extra]
    code = (f"import sys\nfor m in {blocked!r}: sys.modules[m] = None\n"
            "from wattprint.integrations._require import MissingExtraError\n"
            "try:\n"
            f"    import {module} as mod\n"
            f"    getattr(mod, {attribute!r})()\n"
            "except MissingExtraError as err:\n"
            "    print('MISSING', err.extra, err.pip, '|', err)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert f"MISSING {extra} pip install 'wattprint[{extra}]'" in out, out


def test_require_error_is_an_import_error_and_joins_the_tree() -> None:
    with pytest.raises(ImportError) as info:
        require("wattprint_no_such_module", "mlflow", feature="a test")
    err = info.value
    assert isinstance(err, MissingExtraError) and isinstance(err, wattprint.WattprintError)
    assert err.pip == "pip install 'wattprint[mlflow]'" and err.pip in str(err)
    assert "MissingExtraError" in wattprint.errors.__doc__


def test_unknown_log_to_fails_at_setup() -> None:
    with pytest.raises(UsageError, match="not a known experiment tracker"):
        measure_inference(log_to=("tensorboard",))


# -- metric names ------------------------------------------------------------------------
def _result() -> wattprint.RunResult:
    with wattprint.track("m", sensors=[FakeSensor(100.0)], rate_hz=50) as run:
        with run.phase("train"):
            time.sleep(0.05)
            run.count(samples=8, steps=2, tokens=64)
        with run.phase("validation"):
            time.sleep(0.02)
            run.count(samples=4, steps=1)
    return run.result


def test_run_metrics_names_and_values() -> None:
    r = _result()
    m = wm.run_metrics(r)
    assert m["energy/total_j"] == r.energy_j and m["power/mean_w"] == r.mean_power_w
    assert m["energy/gpu_j"] == r.energy_j
    assert m["energy/j_per_sample"] == pytest.approx(r.energy_j / 12)
    assert m["count/samples"] == 12 and m["count/tokens"] == 64 and m["count/steps"] == 3
    train = r.phase("train")
    assert m["energy/train/total_j"] == train.energy_j
    assert m["energy/train/j_per_token"] == pytest.approx(train.energy_j / 64)
    assert m["count/validation/samples"] == 4 and "energy/validation/j_per_token" not in m
    assert all(k.split("/")[0] in wm.PREFIXES for k in m)
    assert "energy/low_j" not in m  # measured: no model range


# -- model card --------------------------------------------------------------------------
@pytest.fixture(params=["huggingface_hub", "stdlib"])
def card_api(request, monkeypatch):
    """Both implementations of the merge: huggingface_hub's card API, and the fallback."""
    if request.param == "huggingface_hub":
        pytest.importorskip("huggingface_hub", reason="comes with wattprint[hf]")
    else:
        monkeypatch.setitem(sys.modules, "huggingface_hub", None)
    return request.param


def test_model_card_block_is_valid_yaml_and_merges_without_clobbering(tmp_path,
                                                                      card_api) -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML comes with wattprint[hf]")
    r = _result()
    readme = tmp_path / "README.md"
    readme.write_text("---\nlicense: mit\nco2_eq_emissions:\n  emissions: 99\ntags:\n- x\n"
                      "---\n\n# My model\n\nBody stays.\n")
    path = write_model_card(tmp_path, r, zone="FR")
    text = open(path).read()
    front = yaml.safe_load(text.split("---\n")[1])
    assert front["license"] == "mit" and front["tags"] == ["x"]
    block = front["co2_eq_emissions"]
    assert block["training_type"] == "fine-tuning"
    assert block["geographical_location"] == "France"
    assert block["emissions"] == pytest.approx(r.energy_j / 3.6e6 * 33, rel=0.5)
    assert "measured" in block["source"] and block["hardware_used"] == \
        "1 x Fake device (measured)"
    assert text.endswith("# My model\n\nBody stays.\n")
    assert read_model_card_block(tmp_path) == block
    write_model_card(tmp_path, r, zone="FR")  # idempotent: one block
    assert open(path).read().count("co2_eq_emissions:") == 1


def test_model_card_without_a_zone_names_no_place(tmp_path, monkeypatch, card_api) -> None:
    monkeypatch.delenv("WATTPRINT_ZONE", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "config"))
    monkeypatch.chdir(tmp_path)
    with wattprint.track("m", sensors=[FakeSensor(50.0, domain="cpu", kind="modelled",
                                                  device="Xeon (4 vCPU, modelled)")],
                         rate_hz=50) as run:
        time.sleep(0.03)
    write_model_card(tmp_path / "out", run.result)
    block = read_model_card_block(tmp_path / "out")
    assert "geographical_location" not in block  # not "WORLD … no zone was set"
    assert "no grid zone was set" in block["source"] and block["emissions"] >= 0
    assert block["hardware_used"] == "1 x Xeon (4 vCPU, modelled)"  # labelled once


def test_model_card_tiny_emissions_stay_numbers_in_yaml() -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML comes with wattprint[hf]")
    for grams in (5e-06, 1.2e-05, 3.0, 1e20):
        text = render_block({"emissions": grams})
        assert yaml.safe_load(text)["co2_eq_emissions"]["emissions"] == grams


def test_model_card_new_file_and_no_front_matter(card_api) -> None:
    block = {"emissions": 1.5, "source": "wattprint: x"}
    new = _card.merge_card("", block)
    assert new.startswith("---\n") and _card.read_block(new) == block
    merged = _card.merge_card("# T\n\nBody.\n", block)
    assert merged.startswith("---\n") and merged.endswith("# T\n\nBody.\n")
    assert _card.read_block(merged) == block


def test_model_card_rejects_unknown_training_type() -> None:
    from wattprint.integrations._carbon import account_run

    r = _result()
    with pytest.raises(UsageError):
        co2_eq_emissions(r, account_run(r, zone="DE"), training_type="distillation")
    assert "emissions" in render_block({"emissions": 1.0})


# -- inference meter around plain callables --------------------------------------------------
def test_meter_call_and_marked_loop_into_the_ledger(tmp_path) -> None:
    db = tmp_path / "l.db"
    with measure_inference("serve", ledger=db, sensors=[FakeSensor(80.0)],
                           rate_hz=50) as meter:
        out = meter.call(lambda n: list(range(n)), 5, tokens=len)
        assert out == [0, 1, 2, 3, 4]
        for _ in range(3):
            with meter.request(prompt_tokens=10):
                meter.mark_prefill()
                time.sleep(0.02)
                meter.mark_decode()
                for _ in range(4):
                    time.sleep(0.005)
                    meter.count(tokens=1)
        with meter.decode():
            meter.count(tokens=2)
    r = meter.result
    assert r.counters == {"tokens": 5 + 12 + 2, "requests": 4}
    assert [p.name for p in r.phases] == ["prefill", "decode"]
    prefill, decode = r.phase("prefill"), r.phase("decode")
    assert prefill.entries == 3 and decode.entries == 4
    assert decode.counters == {"tokens": 14} and prefill.energy_j > 0 and decode.energy_j > 0
    m = meter.metrics()
    assert m["count/prompt_tokens"] == 30
    assert m["energy/prefill/j_per_prompt_token"] == pytest.approx(prefill.energy_j / 30)
    assert m["energy/j_per_request"] == pytest.approx(r.energy_j / 4)
    with Ledger(db) as ledger:
        rec = ledger.get(r.run_id)
    assert rec.counters == {"tokens": 19, "requests": 4}
    assert {p.name for p in rec.phases} == {"prefill", "decode"}


def test_meter_with_a_user_run_never_stops_it() -> None:
    with wattprint.track("outer", sensors=[FakeSensor(10.0)]) as run:
        meter = measure_inference(run=run).start()
        meter.wrap(lambda: "x", tokens=3)()
        assert meter.stop() is None and run.running
    assert run.result.counters == {"tokens": 3, "requests": 1}
    with pytest.raises(UsageError):
        measure_inference(run=run, ledger=True)
