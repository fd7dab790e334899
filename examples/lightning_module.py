"""A LightningModule trained, validated and tested with WattprintCallback.

    pip install 'wattprint[lightning]'
    python examples/lightning_module.py           # about 15 s on a laptop CPU
    python examples/lightning_module.py --quick   # a few seconds (used by the tests)

One line: `callbacks=[WattprintCallback(run)]`. Phases train / validation / test, steps
and samples counted, energy metrics in Lightning's logs (here a CSV file), the run in the
ledger.
"""

import argparse
import tempfile

import lightning.pytorch as L
import torch
from lightning.pytorch.loggers import CSVLogger
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import wattprint
from wattprint.integrations.lightning import WattprintCallback


class Regressor(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = nn.Sequential(nn.Linear(32, 1024), nn.ReLU(), nn.Linear(1024, 1))

    def training_step(self, batch, batch_idx):
        x, y = batch
        loss = nn.functional.mse_loss(self.net(x), y)
        self.log("train_loss", loss)
        return loss

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", nn.functional.mse_loss(self.net(x), y))

    def test_step(self, batch, batch_idx):
        x, y = batch
        self.log("test_loss", nn.functional.mse_loss(self.net(x), y))

    def configure_optimizers(self):
        return torch.optim.Adam(self.parameters(), lr=1e-3)


def loader(n: int, w: torch.Tensor, shuffle: bool = False) -> DataLoader:
    x = torch.randn(n, 32)
    return DataLoader(TensorDataset(x, x @ w), batch_size=64, shuffle=shuffle)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a tiny run, for tests")
    args = parser.parse_args()
    epochs, n = (2, 512) if args.quick else (5, 32768)

    torch.manual_seed(0)
    w = torch.randn(32, 1)
    logs = tempfile.mkdtemp(prefix="wattprint-lightning-")
    with wattprint.track("lightning-module", ledger=True, project="examples") as run:
        trainer = L.Trainer(max_epochs=epochs, callbacks=[WattprintCallback(run)],
                            logger=CSVLogger(logs), enable_progress_bar=False,
                            enable_model_summary=False, enable_checkpointing=False,
                            log_every_n_steps=5, accelerator="cpu")
        model = Regressor()
        trainer.fit(model, loader(n, w, shuffle=True), loader(n // 4, w))
        trainer.test(model, loader(n // 4, w))
    print(run.result.summary())
    print(f"Lightning's metrics (energy/… included): {trainer.logger.log_dir}/metrics.csv")


if __name__ == "__main__":
    main()
