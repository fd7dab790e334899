"""The model card the way it is published: the Transformers callback writes the
``co2_eq_emissions`` block, ``trainer.create_model_card()`` (what ``push_to_hub`` calls)
rewrites README.md and the block stays; ``wattprint report --format model-card`` gives the
same block for the same run, as a card huggingface_hub loads, or merged into that README.
Everything is read back with ``huggingface_hub.ModelCard.load``. No network."""

from __future__ import annotations

import pytest

from _cli import cli_env, wp

pytestmark = [pytest.mark.slow, pytest.mark.filterwarnings("ignore::FutureWarning"),
              pytest.mark.filterwarnings("ignore::DeprecationWarning")]


def test_block_survives_create_model_card_and_matches_the_cli(tmp_path) -> None:
    pytest.importorskip("transformers", reason="needs pip install 'wattprint[hf]'")
    pytest.importorskip("accelerate", reason="needs pip install 'wattprint[hf]'")
    from huggingface_hub import ModelCard

    import _tiny_hf as hf
    from wattprint.integrations.transformers import WattprintTrainerCallback

    db = tmp_path / "l.db"
    cb = WattprintTrainerCallback(ledger=db, sensors=[hf.fake()], rate_hz=50,
                                  write_model_card=True, zone="FR")
    trainer = hf.make_trainer(tmp_path, cb, epochs=1)
    trainer.train()
    readme = tmp_path / "out" / "README.md"
    written = ModelCard.load(readme).data.co2_eq_emissions
    assert written["geographical_location"] == "France"
    assert written["hardware_used"] == "1 x Fake device (measured)"
    assert cb.result.run_id in written["source"] and written["emissions"] > 0

    trainer.create_model_card(model_name="tiny-gpt2")  # README.md rewritten from scratch
    card = ModelCard.load(readme)
    assert "generated_from_trainer" in card.data.tags  # Transformers' card…
    assert card.data.co2_eq_emissions == written       # …with the block kept
    text = readme.read_text()
    assert text.count("co2_eq_emissions") == 1
    # wattprint's metrics are not turned into evaluation results or table columns
    assert "energy/" not in text and "Total J" not in text and " J |" not in text

    env = cli_env(tmp_path, WATTPRINT_LEDGER=str(db))
    proc = wp(tmp_path, "report", cb.result.run_id, "--format", "model-card", "--zone", "FR",
              "--training-type", "fine-tuning", env=env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("---\n")
    assert ModelCard(proc.stdout).data.co2_eq_emissions == written  # one implementation

    proc = wp(tmp_path, "report", cb.result.run_id, "--format", "model-card", "--zone", "DE",
              "--training-type", "pre-training", "-o", str(readme), env=env)
    assert proc.returncode == 0, proc.stderr
    merged = ModelCard.load(readme)
    assert merged.data.co2_eq_emissions["geographical_location"] == "Germany"
    assert merged.data.co2_eq_emissions["training_type"] == "pre-training"
    assert "generated_from_trainer" in merged.data.tags and merged.text == card.text


def test_cli_card_without_a_zone_is_loadable_and_names_no_place(tmp_path) -> None:
    from huggingface_hub import ModelCard

    import wattprint
    from wattprint.testing import FakeSensor

    db = tmp_path / "l.db"
    with wattprint.track("t", ledger=db, sensors=[FakeSensor(30.0)], rate_hz=50) as run:
        run.count(samples=2)
    env = cli_env(tmp_path, WATTPRINT_LEDGER=str(db))
    out = tmp_path / "card.md"
    proc = wp(tmp_path, "report", run.result.run_id, "--format", "model-card", "-o", str(out),
              env=env)
    assert proc.returncode == 0, proc.stderr
    block = ModelCard.load(out).data.co2_eq_emissions
    assert "geographical_location" not in block and "no grid zone" in block["source"]
    assert block["hardware_used"] == "1 x Fake device (measured)"
