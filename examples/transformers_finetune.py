"""Fine-tune a tiny GPT-2 built in this file (no hub download) with the Hugging Face
Trainer and WattprintTrainerCallback.

    pip install 'wattprint[hf]'
    python examples/transformers_finetune.py           # about 20 s on a laptop CPU
    python examples/transformers_finetune.py --quick   # a few seconds (used by the tests)

Phases train / validation, steps, samples and tokens counted, energy metrics in
`trainer.state.log_history`, the run in the ledger, and the Hugging Face model card block
(`co2_eq_emissions`) in README.md next to the saved model.
"""

import argparse
import os
import tempfile

os.environ.setdefault("HF_HUB_OFFLINE", "1")  # everything here is built locally

import torch  # noqa: E402
from transformers import GPT2Config, GPT2LMHeadModel, Trainer, TrainingArguments  # noqa: E402

from wattprint.integrations.transformers import WattprintTrainerCallback  # noqa: E402


class RandomTokens(torch.utils.data.Dataset):
    """Random token sequences (causal LM: labels are the inputs), some padded."""

    def __init__(self, n: int, length: int = 32, vocab: int = 100) -> None:
        g = torch.Generator().manual_seed(n)
        self.ids = torch.randint(1, vocab, (n, length), generator=g)
        lengths = torch.randint(length // 2, length + 1, (n,), generator=g)
        self.mask = (torch.arange(length)[None, :] < lengths[:, None]).long()

    def __len__(self) -> int:
        return len(self.ids)

    def __getitem__(self, i: int) -> dict:
        labels = self.ids[i].masked_fill(self.mask[i] == 0, -100)
        return {"input_ids": self.ids[i], "attention_mask": self.mask[i], "labels": labels}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="a tiny run, for tests")
    parser.add_argument("--output-dir", default=None)
    args = parser.parse_args()
    n_train, epochs = (64, 1) if args.quick else (4096, 2)
    out = args.output_dir or tempfile.mkdtemp(prefix="wattprint-hf-")

    torch.manual_seed(0)
    config = GPT2Config(n_layer=2, n_head=2, n_embd=64, vocab_size=100, n_positions=64,
                        bos_token_id=0, eos_token_id=0)
    model = GPT2LMHeadModel(config)
    callback = WattprintTrainerCallback(ledger=True, project="examples",
                                        write_model_card=True)
    targs = TrainingArguments(output_dir=out, num_train_epochs=epochs,
                              per_device_train_batch_size=16, per_device_eval_batch_size=32,
                              eval_strategy="epoch", logging_steps=5, save_strategy="no",
                              report_to=[], use_cpu=True, disable_tqdm=True)
    trainer = Trainer(model=model, args=targs, train_dataset=RandomTokens(n_train),
                      eval_dataset=RandomTokens(n_train // 4), callbacks=[callback])
    trainer.train()
    trainer.save_model(out)
    print(callback.result.summary())
    print(f"model and its card (co2_eq_emissions): {os.path.join(out, 'README.md')}")


if __name__ == "__main__":
    main()
