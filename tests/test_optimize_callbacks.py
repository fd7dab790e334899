"""The power optimiser inside Lightning's and Transformers' training loops (FakeNVML
GPUs whose fake time advances one step per training batch): it profiles, applies the
choice, and restores the original limit at the end and when training raises."""

from __future__ import annotations

import pytest

from wattprint.optimize import PowerLimitOptimizer
from wattprint.testing.fake_nvml import FakeGPU, FakeNVML, PowerCurve

CURVE = PowerCurve(idle_power_w=170.0)


def optimizer(fake: FakeNVML) -> PowerLimitOptimizer:
    return PowerLimitOptimizer(nvml=fake, clock=fake.time, eta=1.0, warmup_steps=2,
                               steps_per_limit=2, limits_w=[700, 500, 300],
                               guard_signals=False, log=lambda t: None)


def test_lightning_callback_tunes_and_restores(tmp_path):
    pytest.importorskip("lightning.pytorch")
    import lightning.pytorch as L
    from _tiny_lightning import MLP, N_TRAIN, N_VAL, loader, trainer

    from wattprint.integrations.power import PowerLimitCallback

    fake = FakeNVML([FakeGPU(workload=CURVE)])

    class Clock(L.Callback):  # each training batch is one step of the fake GPU
        def on_train_batch_end(self, *args):
            fake.run_steps(1)

    power = PowerLimitCallback(optimizer(fake))
    trainer(tmp_path, Clock(), callbacks=[Clock(), power]).fit(
        MLP(), loader(N_TRAIN, 0), loader(N_VAL, 1))
    report = power.report
    assert report.applied and report.chosen.limit_w == 300 and report.restored
    assert [p.limit_w for p in report.profiles] == [700, 500, 300]
    assert fake.gpus[0].power_limit_w == 700.0
    assert 300.0 in [w for _, _, w in fake.limit_history]


def test_lightning_callback_restores_when_training_raises(tmp_path):
    pytest.importorskip("lightning.pytorch")
    import lightning.pytorch as L
    from _tiny_lightning import MLP, N_TRAIN, N_VAL, loader, trainer

    from wattprint.integrations.power import PowerLimitCallback

    fake = FakeNVML([FakeGPU(workload=CURVE)])

    class Boom(L.Callback):
        def on_train_batch_end(self, trainer, *args):
            fake.run_steps(1)
            if trainer.global_step == 5:
                raise RuntimeError("diverged")

    power = PowerLimitCallback(optimizer(fake))
    with pytest.raises(RuntimeError, match="diverged"):
        trainer(tmp_path, Boom(), callbacks=[Boom(), power]).fit(
            MLP(), loader(N_TRAIN, 0), loader(N_VAL, 1))
    assert fake.gpus[0].power_limit_w == 700.0 and power.report.restored


def test_transformers_callback_tunes_and_restores(tmp_path):
    pytest.importorskip("transformers")
    from transformers import TrainerCallback

    from _tiny_hf import make_trainer
    from wattprint.integrations.power import PowerLimitTrainerCallback

    fake = FakeNVML([FakeGPU(workload=CURVE)])

    class Clock(TrainerCallback):
        def on_step_end(self, *args, **kwargs):
            fake.run_steps(1)

    power = PowerLimitTrainerCallback(optimizer(fake))
    hf_trainer = make_trainer(tmp_path, Clock(), max_steps=20, eval_strategy="no")
    hf_trainer.add_callback(power)
    hf_trainer.train()
    report = power.report
    assert report.applied and report.chosen.limit_w == 300 and report.restored
    assert fake.gpus[0].power_limit_w == 700.0
