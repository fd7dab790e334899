"""A real (tiny) PyTorch training loop measured with the core API, and the inference
meter around a torch model — torch pinned by the ``torch`` extra."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch", reason="needs pip install 'wattprint[torch]'")

import wattprint  # noqa: E402
from wattprint.integrations.inference import generated_tokens, measure_inference  # noqa: E402
from wattprint.ledger import Ledger  # noqa: E402
from wattprint.testing import FakeSensor  # noqa: E402


def test_two_layer_mlp_loop_phases_counts_and_ledger(tmp_path) -> None:
    torch.manual_seed(0)
    x, y = torch.randn(256, 16), torch.randn(256, 1)
    model = torch.nn.Sequential(torch.nn.Linear(16, 64), torch.nn.ReLU(),
                                torch.nn.Linear(64, 1))
    opt = torch.optim.SGD(model.parameters(), lr=0.05)
    db = tmp_path / "l.db"
    losses = []
    with wattprint.track("mlp", ledger=db, project="tests",
                         sensors=[FakeSensor(60.0)], rate_hz=50) as run:
        for _epoch in range(3):
            with run.phase("train"):
                for i in range(0, 256, 32):
                    loss = torch.nn.functional.mse_loss(model(x[i:i + 32]), y[i:i + 32])
                    opt.zero_grad()
                    loss.backward()
                    opt.step()
                    run.count(samples=32, steps=1)
            with run.phase("validation"), torch.no_grad():
                losses.append(torch.nn.functional.mse_loss(model(x), y).item())
                run.count(samples=256)
    assert losses[-1] < losses[0]  # it really trained
    r = run.result
    train, val = r.phase("train"), r.phase("validation")
    assert train.entries == 3 and train.counters == {"samples": 768, "steps": 24}
    assert val.counters == {"samples": 768}
    assert train.energy_j > 0 and val.energy_j > 0
    assert train.per_unit["j_per_step"] == pytest.approx(train.energy_j / 24)
    with Ledger(db) as ledger:
        rec = ledger.get(r.run_id)
    assert rec.project == "tests" and rec.status == "finished"
    assert {p.name: p.counters for p in rec.phases} == {
        "train": {"samples": 768, "steps": 24}, "validation": {"samples": 768}}


def test_generated_tokens_stop_at_the_first_eos_of_each_row() -> None:
    seqs = torch.tensor([[5, 5, 1, 2, 9, 0, 0],    # eos 9 at the 3rd new token
                         [5, 5, 1, 2, 3, 4, 5],    # no eos: all 5
                         [5, 5, 9, 9, 9, 9, 9]])   # eos first: 1
    assert generated_tokens(seqs, 2, eos_token_id=9) == 3 + 5 + 1
    assert generated_tokens(seqs, 2, eos_token_id=[0, 9]) == 3 + 5 + 1
    assert generated_tokens(seqs, 2) == 15
    assert generated_tokens(seqs, 7, eos_token_id=9) == 0


def test_meter_around_a_torch_model_call() -> None:
    model = torch.nn.Linear(8, 8).eval()
    with measure_inference("linear", sensors=[FakeSensor(20.0)]) as meter, torch.no_grad():
        for _ in range(5):
            meter.call(model, torch.randn(4, 8), tokens=lambda out: out.shape[0],
                       phase="decode")
    r = meter.result
    assert r.counters == {"tokens": 20, "requests": 5}
    assert r.phase("decode").entries == 5 and r.phase("decode").counters == {"tokens": 20}
