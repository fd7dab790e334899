"""Tiny Lightning models and loaders shared by the integration tests (import after
``pytest.importorskip("lightning.pytorch")``)."""

from __future__ import annotations

import lightning.pytorch as L
import torch
from lightning.pytorch.loggers import CSVLogger
from torch.utils.data import DataLoader, TensorDataset

from wattprint.testing import FakeSensor

N_TRAIN, N_VAL, N_TEST, BATCH, EPOCHS = 64, 32, 24, 8, 2


class MLP(L.LightningModule):
    def __init__(self) -> None:
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(8, 32), torch.nn.ReLU(),
                                       torch.nn.Linear(32, 1))

    def _loss(self, batch):
        x, y = batch
        return torch.nn.functional.mse_loss(self.net(x), y)

    def training_step(self, batch, batch_idx):
        return self._loss(batch)

    def validation_step(self, batch, batch_idx):
        self.log("val_loss", self._loss(batch))

    def test_step(self, batch, batch_idx):
        self.log("test_loss", self._loss(batch))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05)


class TokenModel(L.LightningModule):
    """Dict batches with input_ids and a padding mask: tokens are counted."""

    def __init__(self) -> None:
        super().__init__()
        self.emb = torch.nn.Embedding(50, 16)
        self.head = torch.nn.Linear(16, 1)

    def training_step(self, batch, batch_idx):
        mask = batch["attention_mask"].unsqueeze(-1).float()
        h = (self.emb(batch["input_ids"]) * mask).sum(1) / mask.sum(1)
        return torch.nn.functional.mse_loss(self.head(h), batch["y"])

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05)


def loader(n: int, seed: int) -> DataLoader:
    g = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 8, generator=g)
    return DataLoader(TensorDataset(x, x.sum(1, keepdim=True)), batch_size=BATCH)


def trainer(tmp_path, callback, **kw) -> "L.Trainer":
    options = dict(max_epochs=EPOCHS, callbacks=[callback], logger=CSVLogger(tmp_path),
                   enable_progress_bar=False, enable_model_summary=False,
                   accelerator="cpu", log_every_n_steps=2, default_root_dir=tmp_path)
    options.update(kw)
    return L.Trainer(**options)


def fake() -> FakeSensor:
    return FakeSensor(40.0, domain="gpu")
