"""WattprintCallback on real (tiny) Lightning training: fit with validation, test;
phases, counts, metrics in Lightning's logs, the ledger and the model card."""

from __future__ import annotations

import csv
import time

import pytest

L = pytest.importorskip("lightning.pytorch", reason="needs pip install 'wattprint[lightning]'")
torch = pytest.importorskip("torch", reason="needs pip install 'wattprint[torch]'")

from _step_sensor import StepEnergySensor  # noqa: E402
from _tiny_lightning import (BATCH, EPOCHS, MLP, N_TEST, N_TRAIN, N_VAL,  # noqa: E402
                             TokenModel, fake, loader, trainer)
from torch.utils.data import DataLoader  # noqa: E402

import wattprint  # noqa: E402
from wattprint import UsageError  # noqa: E402
from wattprint.integrations.lightning import WattprintCallback  # noqa: E402
from wattprint.ledger import Ledger  # noqa: E402

pytestmark = [pytest.mark.filterwarnings("ignore::UserWarning:lightning"),
              pytest.mark.filterwarnings("ignore:.*LeafSpec")]  # torch 2.13 vs lightning 2.6


def test_fit_and_test_into_one_user_run(tmp_path) -> None:
    db = tmp_path / "l.db"
    with wattprint.track("lit", ledger=db, sensors=[fake()], rate_hz=50) as run:
        cb = WattprintCallback(run)
        t = trainer(tmp_path, cb, num_sanity_val_steps=1)
        model = MLP()
        t.fit(model, loader(N_TRAIN, 0), loader(N_VAL, 1))
        assert run.running  # the callback never stops a run it was given
        assert t.callback_metrics["count/validation/samples"] == EPOCHS * N_VAL
        val_logged_j = float(t.callback_metrics["energy/validation/total_j"])
        tested = t.test(model, loader(N_TEST, 2))
    assert tested[0]["count/test/samples"] == N_TEST
    r = run.result
    # logged after the phase closed: the tracker's exact figure, not a sampler-tick estimate
    assert tested[0]["energy/test/total_j"] == pytest.approx(r.phase("test").energy_j)
    assert val_logged_j == pytest.approx(r.phase("validation").energy_j, rel=1e-5)
    assert [p.name for p in r.phases] == ["sanity_check", "train", "validation", "test"]
    train, val, test = r.phase("train"), r.phase("validation"), r.phase("test")
    steps = EPOCHS * N_TRAIN // BATCH
    assert train.counters == {"samples": EPOCHS * N_TRAIN, "steps": steps}
    assert train.entries == 1 + EPOCHS  # resumed after each validation
    assert val.counters == {"samples": EPOCHS * N_VAL, "steps": EPOCHS * N_VAL // BATCH}
    assert val.entries == EPOCHS
    assert test.counters == {"samples": N_TEST, "steps": N_TEST // BATCH}
    assert all(p.energy_j > 0 for p in (train, val, test))
    assert sum(p.energy_j for p in r.phases) <= r.energy_j * 1.001  # flat, no double count
    with Ledger(db) as ledger:
        rec = ledger.get(r.run_id)
    assert {p.name for p in rec.phases} == {"sanity_check", "train", "validation", "test"}
    assert rec.counters["samples"] == EPOCHS * (N_TRAIN + N_VAL) + N_TEST


def test_owned_runs_log_to_lightning_and_write_the_model_card(tmp_path) -> None:
    yaml = pytest.importorskip("yaml", reason="PyYAML comes with wattprint[lightning]")
    db = tmp_path / "l.db"
    cb = WattprintCallback(ledger=db, project="lit", sensors=[fake()], rate_hz=50,
                           write_model_card=True, zone="DE")
    t = trainer(tmp_path, cb)
    model = MLP()
    t.fit(model, loader(N_TRAIN, 0), loader(N_VAL, 1))
    fit = cb.result
    assert fit.name == "lightning-fit" and fit.status == "finished"
    assert {p.name for p in fit.phases} >= {"train", "validation"}
    assert cb.record["energy/total_j"] == fit.energy_j
    assert cb.record["carbon/co2e_g"] > 0  # a zone was given
    t.test(model, loader(N_TEST, 2))
    test = cb.result
    assert test.name == "lightning-test" and [p.name for p in test.phases] == ["test"]
    assert [r.run_id for r in cb.results] == [fit.run_id, test.run_id]
    with Ledger(db) as ledger:
        assert {r.id for r in ledger.runs(project="lit")} == {fit.run_id, test.run_id}

    # Lightning's own logs: live figures on steps, phases on epochs, the final record
    rows = []
    for path in sorted(tmp_path.glob("lightning_logs/version_*/metrics.csv")):
        with open(path) as f:
            rows.extend(csv.DictReader(f))
    logged = {k for row in rows for k, v in row.items() if v not in ("", None)}
    assert {"energy/total_j", "power/mean_w", "energy/step_j", "energy/train/total_j",
            "count/train/samples", "energy/validation/j_per_sample", "energy/test/total_j",
            "energy/fit/total_j", "energy/fit/gpu_j", "power/fit/peak_w",
            "carbon/fit/co2e_g", "carbon/co2e_g"} <= logged
    # each stage's final record under its own names
    assert [float(row["count/fit/samples"]) for row in rows if row.get("count/fit/samples")] \
        == [EPOCHS * (N_TRAIN + N_VAL)]
    assert N_TEST in [float(row["count/test/samples"]) for row in rows
                      if row.get("count/test/samples")]

    # the model card next to the checkpoints
    card = next(tmp_path.glob("lightning_logs/version_0/checkpoints/README.md"))
    front = yaml.safe_load(card.read_text().split("---\n")[1])["co2_eq_emissions"]
    assert front["geographical_location"] == "Germany" and front["emissions"] > 0


def test_tokens_counted_from_input_ids_without_padding(tmp_path) -> None:
    g = torch.Generator().manual_seed(0)
    ids = torch.randint(0, 50, (32, 12), generator=g)
    mask = torch.ones(32, 12, dtype=torch.long)
    mask[::2, 8:] = 0  # half the rows padded after 8 tokens
    data = [{"input_ids": ids[i], "attention_mask": mask[i], "y": torch.randn(1)}
            for i in range(32)]
    cb = WattprintCallback(sensors=[fake()], count_samples=None)
    t = trainer(tmp_path, cb, max_epochs=1)
    t.fit(TokenModel(), DataLoader(data, batch_size=8))
    train = cb.result.phase("train")
    assert train.counters == {"samples": 32, "steps": 4, "tokens": int(mask.sum())}
    assert train.per_unit["j_per_token"] == pytest.approx(train.energy_j / int(mask.sum()))


def test_failed_fit_is_recorded_as_failed(tmp_path) -> None:
    class Broken(MLP):
        def training_step(self, batch, batch_idx):
            if batch_idx == 2:
                raise RuntimeError("boom")
            return super().training_step(batch, batch_idx)

    db = tmp_path / "l.db"
    cb = WattprintCallback(ledger=db, sensors=[fake()])
    with pytest.raises(RuntimeError, match="boom"):
        trainer(tmp_path, cb).fit(Broken(), loader(N_TRAIN, 0))
    assert cb.result.status == "failed"
    with Ledger(db) as ledger:
        assert ledger.get(cb.result.run_id).status == "failed"


def test_misuse_fails_before_training() -> None:
    with pytest.raises(UsageError, match="own the run"):
        with wattprint.track(sensors=[fake()]) as run:
            WattprintCallback(run, write_model_card=True)
    with pytest.raises(UsageError, match="apply only when the callback creates"):
        with wattprint.track(sensors=[fake()]) as run:
            WattprintCallback(run, ledger=True)
    from wattprint.accounting import UnknownZoneError

    with pytest.raises(UnknownZoneError):
        WattprintCallback(write_model_card=True, zone="Atlantis")
    with pytest.raises(UsageError):
        WattprintCallback(rate_hz=-1)


# -- progress, forecast and budgets ------------------------------------------------------
def test_progress_reaches_the_total_and_forecasts_are_logged(tmp_path) -> None:
    cb = WattprintCallback(sensors=[fake()], rate_hz=50)
    t = trainer(tmp_path, cb)
    t.fit(MLP(), loader(N_TRAIN, 0), loader(N_VAL, 1))
    total = EPOCHS * N_TRAIN // BATCH
    assert t.estimated_stepping_batches == total == t.global_step
    f = cb.run.forecast()  # the stopped run: its progress as last reported
    assert f.unit == "steps" and f.done == f.total == total and f.progress == 1.0
    assert cb.result.status == "finished"
    assert cb.result.phase("train").counters["steps"] == total  # not counted twice
    rows = []
    for path in tmp_path.glob("lightning_logs/version_*/metrics.csv"):
        with open(path) as f_:
            rows.extend(csv.DictReader(f_))
    forecasts = [row for row in rows if row.get("forecast/energy_j")]
    assert forecasts
    for row in forecasts:
        low, mid, high = (float(row[f"forecast/energy{k}_j"]) for k in ("_low", "", "_high"))
        assert 0 < low <= mid <= high and float(row["forecast/remaining_s"]) >= 0
        assert 0 < float(row["forecast/progress"]) <= 1


class SlowMLP(MLP):
    def __init__(self, pause_s: float = 0.005) -> None:
        super().__init__()
        self.pause_s = pause_s

    def training_step(self, batch, batch_idx):
        time.sleep(self.pause_s)
        return super().training_step(batch, batch_idx)


def test_budget_stops_fit_cleanly_and_the_ledger_says_why(tmp_path) -> None:
    db = tmp_path / "l.db"
    cb = WattprintCallback(ledger=db, sensors=[fake()], budget_kwh=1e-12, on_budget="stop")
    t = trainer(tmp_path, cb, max_epochs=500)
    t.fit(SlowMLP(), loader(N_TRAIN, 0), loader(N_VAL, 1))  # no BudgetExceeded: a clean stop
    assert t.should_stop and 0 < t.global_step < t.estimated_stepping_batches
    r = cb.result
    assert r.status == "stopped" and "energy budget exceeded" in r.end_reason
    assert r.phase("train").counters["steps"] == t.global_step
    with Ledger(db) as ledger:
        rec = ledger.get(r.run_id)
    assert rec.status == "stopped" and rec.end_reason == r.end_reason
    assert rec.settings["budget"] == {"energy_kwh": 1e-12, "action": "stop"}


class CountedSlowMLP(SlowMLP):
    def __init__(self, sensor: StepEnergySensor) -> None:
        super().__init__(pause_s=0.02)
        self.sensor = sensor

    def training_step(self, batch, batch_idx):
        loss = super().training_step(batch, batch_idx)
        self.sensor.step()
        return loss


def test_forecast_budget_stops_a_user_run_before_the_energy_is_spent(tmp_path) -> None:
    """1 J per step for 240 steps: 240 J at the end; the budget is 150 J. The forecast
    trips it once 10 % of the steps are done (24 J), at the budget thread's next check
    (once a second: <= ~50 steps of >= 20 ms later), long before 150 steps are spent. The
    energy follows the steps, so neither a slow start nor a loaded machine moves it."""
    budget_j, epochs, n = 150.0, 6, 40 * BATCH
    sensor = StepEnergySensor(1.0)
    run = wattprint.Tracker("lit", sensors=[sensor], rate_hz=50,
                            budget_kwh=budget_j / 3.6e6)
    cb = WattprintCallback(run)
    t = trainer(tmp_path, cb, max_epochs=epochs, limit_val_batches=0,
                enable_checkpointing=False)
    with run:
        t.fit(CountedSlowMLP(sensor), loader(n, 0))
        assert run.stop_requested
    assert t.global_step < epochs * n // BATCH
    events = run.budget_events
    assert [e.basis for e in events] == ["forecast"] and events[0].value * 3.6e6 > budget_j
    assert run.result.status == "stopped" and "will be exceeded" in run.result.end_reason
    assert run.result.energy_j == pytest.approx(sensor.spent_j)
    assert run.result.energy_j < budget_j
