"""A tiny GPT-2 built from a config (no hub download), token data and a Trainer factory
shared by the integration tests (import after ``pytest.importorskip("transformers")``)."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # built from configs: nothing to download

import torch  # noqa: E402
from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments  # noqa: E402

from wattprint.testing import FakeSensor  # noqa: E402

VOCAB, LENGTH, N_TRAIN, N_EVAL, BATCH = 100, 16, 32, 12, 8


def tiny_gpt2(**kw) -> GPT2LMHeadModel:
    torch.manual_seed(0)
    config = GPT2Config(n_layer=1, n_head=2, n_embd=32, vocab_size=VOCAB, n_positions=64,
                        bos_token_id=0, eos_token_id=0, pad_token_id=0, **kw)
    return GPT2LMHeadModel(config)


class Tokens(torch.utils.data.Dataset):
    """Random sequences; every third row padded after 10 tokens."""

    def __init__(self, n: int, seed: int) -> None:
        g = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(1, VOCAB, (n, LENGTH), generator=g)
        self.mask = torch.ones(n, LENGTH, dtype=torch.long)
        self.mask[::3, 10:] = 0

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        return {"input_ids": self.ids[i], "attention_mask": self.mask[i],
                "labels": self.ids[i].masked_fill(self.mask[i] == 0, -100)}

    @property
    def tokens(self) -> int:
        return int(self.mask.sum())


def make_trainer(tmp_path, callback, epochs: int = 2, **kw) -> Trainer:
    options = dict(output_dir=str(tmp_path / "out"), num_train_epochs=epochs,
                   per_device_train_batch_size=BATCH, per_device_eval_batch_size=6,
                   eval_strategy="epoch", logging_steps=2, save_strategy="no", report_to=[],
                   use_cpu=True, disable_tqdm=True, learning_rate=1e-3)
    options.update(kw)
    return Trainer(model=tiny_gpt2(), args=TrainingArguments(**options),
                   train_dataset=Tokens(N_TRAIN, 0), eval_dataset=Tokens(N_EVAL, 1),
                   callbacks=[callback])


def fake() -> FakeSensor:
    return FakeSensor(40.0, domain="gpu")
