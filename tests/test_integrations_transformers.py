"""WattprintTrainerCallback on a real Trainer fine-tune of a tiny GPT-2 built from a config
(no hub download), and the inference meter around generate() and a pipeline."""

from __future__ import annotations

import os
import time

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
torch = pytest.importorskip("torch", reason="needs pip install 'wattprint[torch]'")
transformers = pytest.importorskip("transformers", reason="needs pip install 'wattprint[hf]'")
pytest.importorskip("accelerate", reason="needs pip install 'wattprint[hf]'")

from _tiny_hf import (BATCH, LENGTH, N_EVAL, N_TRAIN, VOCAB, Tokens, fake,  # noqa: E402
                     make_trainer, tiny_gpt2)

import wattprint  # noqa: E402
from wattprint.integrations.inference import generated_tokens, measure_inference  # noqa: E402
from wattprint.integrations.transformers import (WattprintTrainerCallback,  # noqa: E402
                                                 eval_phase_name)
from wattprint.ledger import Ledger  # noqa: E402


def test_trainer_fine_tune_phases_counts_logs_ledger_and_model_card(tmp_path) -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML comes with wattprint[hf]")
    db = tmp_path / "l.db"
    cb = WattprintTrainerCallback(ledger=db, project="hf", sensors=[fake()], rate_hz=50,
                                  write_model_card=True, zone="FR")
    trainer = make_trainer(tmp_path, cb)
    trainer.train()
    r = cb.result
    assert r.name == "transformers-train" and r.status == "finished"
    assert [p.name for p in r.phases] == ["train", "validation"]
    train, val = r.phase("train"), r.phase("validation")
    steps = trainer.state.global_step
    assert steps == 2 * N_TRAIN // BATCH
    assert train.counters == {"samples": 2 * N_TRAIN, "steps": steps,
                              "tokens": 2 * Tokens(N_TRAIN, 0).tokens}
    assert val.entries == 2
    assert val.counters == {"samples": 2 * N_EVAL, "steps": 2 * 2,  # 12 rows / 6 per batch
                            "tokens": 2 * Tokens(N_EVAL, 1).tokens}
    assert train.energy_j > 0 and val.energy_j > 0

    # energy metrics in the Trainer's own log history
    history = trainer.state.log_history
    live = [e for e in history if "loss" in e]
    assert live and all("energy/total_j" in e and "power/mean_w" in e for e in live)
    evals = [e for e in history if "eval_loss" in e]
    assert len(evals) == 2  # left alone: create_model_card turns their keys into columns
    assert not any(k.startswith(("energy/", "count/")) for e in evals for k in e)
    phases = [e for e in history if "count/validation/samples" in e and "loss" not in e
              and "train_runtime" not in e]
    assert len(phases) == 2 and phases[-1]["count/validation/samples"] == 2 * N_EVAL
    assert phases[-1]["energy/validation/total_j"] == pytest.approx(val.energy_j)
    final = history[-1]
    assert "train_runtime" in final and final["energy/total_j"] == r.energy_j
    assert final["energy/train/j_per_token"] == pytest.approx(train.per_unit["j_per_token"])
    assert final["carbon/co2e_g"] > 0

    with Ledger(db) as ledger:
        rec = ledger.get(r.run_id)
    assert rec.project == "hf" and {p.name for p in rec.phases} == {"train", "validation"}
    assert rec.counters["steps"] == steps + 4

    card = yaml.safe_load(open(tmp_path / "out" / "README.md").read().split("---\n")[1])
    block = card["co2_eq_emissions"]
    assert block["training_type"] == "fine-tuning" and block["emissions"] > 0
    assert block["geographical_location"] == "France"


def test_user_run_spans_train_and_predict(tmp_path) -> None:
    with wattprint.track("hf-all", sensors=[fake()], rate_hz=50) as run:
        cb = WattprintTrainerCallback(run)
        trainer = make_trainer(tmp_path, cb, epochs=1)
        trainer.train()
        out = trainer.predict(Tokens(10, 2))
        assert out.predictions is not None and run.running
    r = run.result
    assert [p.name for p in r.phases] == ["train", "validation", "test"]
    assert r.phase("test").counters == {"samples": 10, "steps": 2,
                                        "tokens": Tokens(10, 2).tokens}
    assert trainer.state.log_history[-1]["count/test/samples"] == 10


def test_standalone_evaluate_is_its_own_run_and_model_outside_trainer_is_ignored(
        tmp_path) -> None:
    cb = WattprintTrainerCallback(sensors=[fake()])
    trainer = make_trainer(tmp_path, cb, epochs=1)
    metrics = trainer.evaluate()
    assert metrics["count/validation/samples"] == N_EVAL
    r = cb.result
    assert r.name == "transformers-validation" and [p.name for p in r.phases] == ["validation"]
    trainer.evaluate(metric_key_prefix="test")
    assert [p.name for p in cb.result.phases] == ["test"]
    runs = len(cb.results)
    model = trainer.model.eval()
    with torch.no_grad():
        model(input_ids=torch.randint(1, VOCAB, (2, 8)))  # not a Trainer call
    assert len(cb.results) == runs and cb.run is not None and not cb.run.running


def test_trainer_token_count_is_used_when_it_counts(tmp_path) -> None:
    cb = WattprintTrainerCallback(sensors=[fake()])
    trainer = make_trainer(tmp_path, cb, epochs=1, include_num_input_tokens_seen="all",
                           eval_strategy="no")
    trainer.train()
    assert cb.result.phase("train").counters["tokens"] == N_TRAIN * LENGTH  # padding too
    assert trainer.state.num_input_tokens_seen == N_TRAIN * LENGTH


def test_eval_phase_names() -> None:
    assert eval_phase_name("eval") == "validation"
    assert eval_phase_name("eval_squad") == "validation_squad"
    assert eval_phase_name("test") == "test"


# -- progress, forecast and budgets ------------------------------------------------------
def test_progress_reaches_max_steps_and_forecasts_are_logged(tmp_path) -> None:
    cb = WattprintTrainerCallback(sensors=[fake()], rate_hz=50)
    trainer = make_trainer(tmp_path, cb, epochs=1, eval_strategy="no")
    trainer.train()
    total = N_TRAIN // BATCH
    assert trainer.state.max_steps == trainer.state.global_step == total
    f = cb.run.forecast()
    assert f.unit == "steps" and f.done == f.total == total and f.progress == 1.0
    assert cb.result.phase("train").counters["steps"] == total  # not counted twice
    logged = [e for e in trainer.state.log_history if "loss" in e]
    assert logged and all("forecast/energy_j" in e for e in logged)
    for e in logged:
        assert 0 < e["forecast/energy_low_j"] <= e["forecast/energy_j"] \
            <= e["forecast/energy_high_j"]
        assert e["forecast/remaining_s"] >= 0 and 0 < e["forecast/progress"] <= 1


class _Slow(transformers.TrainerCallback):
    def on_step_end(self, args, state, control, **kwargs):
        time.sleep(0.005)


def test_budget_stops_training_cleanly_and_the_ledger_says_why(tmp_path) -> None:
    db = tmp_path / "l.db"
    cb = WattprintTrainerCallback(ledger=db, sensors=[fake()], budget_kwh=1e-12,
                                  on_budget="stop")
    trainer = make_trainer(tmp_path, cb, epochs=500, eval_strategy="no", logging_steps=50)
    trainer.add_callback(_Slow())
    trainer.train()  # no BudgetExceeded: a clean stop
    assert 0 < trainer.state.global_step < trainer.state.max_steps
    r = cb.result
    assert r.status == "stopped" and "energy budget exceeded" in r.end_reason
    assert r.phase("train").counters["steps"] == trainer.state.global_step
    with Ledger(db) as ledger:
        rec = ledger.get(r.run_id)
    assert rec.status == "stopped" and rec.end_reason == r.end_reason
    assert rec.settings["budget"] == {"energy_kwh": 1e-12, "action": "stop"}


# -- inference -----------------------------------------------------------------------------
def test_generate_requests_tokens_prefill_and_decode(tmp_path) -> None:
    model = tiny_gpt2().eval()
    db = tmp_path / "l.db"
    expected = 0
    with measure_inference("gen", ledger=db, sensors=[fake()], rate_hz=50) as meter:
        for seed in range(3):
            g = torch.Generator().manual_seed(seed)
            ids = torch.randint(1, VOCAB, (2, 8), generator=g)
            out = meter.generate(model, input_ids=ids, attention_mask=torch.ones_like(ids),
                                 max_new_tokens=12, do_sample=True)
            expected += generated_tokens(out, 8, eos_token_id=0)
    r = meter.result
    assert r.counters == {"requests": 6, "tokens": expected} and expected > 0
    prefill, decode = r.phase("prefill"), r.phase("decode")
    assert prefill.entries == 3 and decode.entries == 3
    assert decode.counters == {"tokens": expected} and prefill.energy_j > 0
    assert meter.metrics()["count/prompt_tokens"] == 3 * 16
    with Ledger(db) as ledger:
        assert ledger.get(r.run_id).counters == {"requests": 6, "tokens": expected}


def test_pipeline_is_measured_per_generate_and_restored() -> None:
    tokenizers = pytest.importorskip("tokenizers", reason="comes with wattprint[hf]")
    from transformers import PreTrainedTokenizerFast, pipeline

    vocab = {f"w{i}": i for i in range(VOCAB)}
    tk = tokenizers.Tokenizer(tokenizers.models.WordLevel(vocab=vocab, unk_token="w1"))
    tk.pre_tokenizer = tokenizers.pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(tokenizer_object=tk, unk_token="w1", eos_token="w0",
                                        pad_token="w0")
    model = tiny_gpt2().eval()
    pipe = pipeline("text-generation", model=model, tokenizer=tokenizer, device="cpu")
    with measure_inference("pipe", sensors=[fake()]) as meter:
        out = meter.pipeline(pipe, ["w5 w6 w7", "w8 w9"], max_new_tokens=4, do_sample=False,
                             eos_token_id=None)
    assert len(out) == 2
    r = meter.result
    assert r.counters == {"requests": 2, "tokens": 8}
    assert r.phase("prefill").entries == 2 and r.phase("decode").counters == {"tokens": 8}
    assert "generate" not in vars(model)  # the model's generate is back as it was


def test_train_that_raises_ends_the_program_and_the_run_is_recorded_failed(tmp_path) -> None:
    """The Trainer has no exception event; the exit handler records the run."""
    import subprocess
    import sys

    db = tmp_path / "l.db"
    script = f"""
import sys
sys.path.insert(0, {os.path.dirname(__file__)!r})
from _tiny_hf import fake, make_trainer
from wattprint.integrations.transformers import WattprintTrainerCallback

class Boom(Exception):
    pass

cb = WattprintTrainerCallback(ledger={str(db)!r}, sensors=[fake()], rate_hz=50)
trainer = make_trainer(__import__("pathlib").Path({str(tmp_path)!r}), cb, epochs=1)
def explode(*args, **kwargs):
    raise Boom("loss is NaN at step 2")
trainer.compute_loss = explode  # the training step itself fails
trainer.train()
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                          timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert proc.returncode == 1 and "Boom: loss is NaN at step 2" in proc.stderr
    with Ledger(db, readonly=True) as ledger:
        (run,) = ledger.runs()
        rec = ledger.get(run.id)
    assert rec.name == "transformers-train" and rec.status == "failed"
    assert any("uncaught Boom: loss is NaN at step 2" in w for w in rec.warnings)
    assert rec.energy_j > 0
