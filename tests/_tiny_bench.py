"""Tiny randomly initialised GPT-2 and BERT classifiers saved with a word-level tokenizer
in a folder (save_pretrained), for ``wattprint bench`` tests: built from configs, nothing
downloaded. Import after ``pytest.importorskip("transformers")``."""

from __future__ import annotations

import os

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import pytest  # noqa: E402
import torch  # noqa: E402
from transformers import (BertConfig, BertForSequenceClassification, GPT2Config,  # noqa: E402
                          GPT2LMHeadModel, PreTrainedTokenizerFast)

VOCAB = 100


@pytest.fixture(scope="module")
def one_torch_thread():
    """Two shared cores: one intra-op thread keeps a tiny model's timings steady (a test
    module uses it with ``pytestmark = pytest.mark.usefixtures("one_torch_thread")``
    after importing it)."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
WORDS = ["<eos>", "<unk>", "<cls>"] + [f"w{i}" for i in range(3, VOCAB)]


def tokenizer() -> PreTrainedTokenizerFast:
    from tokenizers import Tokenizer, models, pre_tokenizers

    tok = Tokenizer(models.WordLevel({w: i for i, w in enumerate(WORDS)}, unk_token="<unk>"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<eos>",
                                   pad_token="<eos>", unk_token="<unk>")


def gpt2(**kw) -> GPT2LMHeadModel:
    torch.manual_seed(0)
    config = GPT2Config(n_layer=1, n_head=2, n_embd=32, vocab_size=VOCAB, n_positions=128,
                        bos_token_id=0, eos_token_id=0, pad_token_id=0, **kw)
    return GPT2LMHeadModel(config).eval()


def bert() -> BertForSequenceClassification:
    torch.manual_seed(0)
    config = BertConfig(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64,
                        max_position_embeddings=128, num_labels=2, pad_token_id=0)
    return BertForSequenceClassification(config).eval()


def save(model, folder) -> str:
    model.save_pretrained(folder)
    tokenizer().save_pretrained(folder)
    return str(folder)


def bench_cli(folder, *args: str) -> tuple[dict, str, dict]:
    """``wattprint bench <a tiny GPT-2 saved in folder> *args --json`` as a subprocess, one
    thread: ``(env, model folder, the JSON it printed)``."""
    import json

    from _cli import cli_env, wp

    model = save(gpt2(), folder / "tiny-gpt2")
    env = cli_env(folder, OMP_NUM_THREADS="1")
    proc = wp(folder, "bench", model, *args, "--json", env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    return env, model, json.loads(proc.stdout)
