"""What the benchmark serves: a saved model loaded from its folder (nothing downloaded),
prompts from a dataset file or synthetic ones of an exact length, encoded to token ids."""

from __future__ import annotations

import os
import random
from typing import Any, Sequence

from ..errors import UsageError
from ._engines import PRECISIONS

__all__ = ["load_model", "synthetic_prompts", "read_dataset", "prompt_ids"]


def load_model(path: str, task: str, precision: str | None = None,
               device: str | None = None) -> tuple[Any, Any]:
    """A saved Hugging Face model and its tokenizer (None when the folder has none) from
    a local folder; nothing is downloaded."""
    if not os.path.isdir(path) or not os.path.exists(os.path.join(path, "config.json")):
        raise UsageError(f"MODEL {path}: not a saved Hugging Face model folder (it needs a "
                         "config.json); save one with model.save_pretrained(FOLDER)")
    from ..integrations._require import require

    require("torch", "torch", feature="wattprint bench")
    require("transformers", "hf", feature="wattprint bench")
    import torch
    import transformers

    cls = (transformers.AutoModelForCausalLM if task == "text-generation"
           else transformers.AutoModelForSequenceClassification)
    transformers.utils.logging.disable_progress_bar()  # no loading bars on stderr
    kwargs: dict[str, Any] = {"local_files_only": True}
    if precision:
        kwargs["dtype"] = getattr(torch, PRECISIONS[precision])
    try:
        model = cls.from_pretrained(path, **kwargs)
    except (OSError, ValueError) as err:
        raise UsageError(f"MODEL {path}: cannot load it for {task}: {err}") from err
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    model.to(device).eval()
    try:
        tokenizer = transformers.AutoTokenizer.from_pretrained(path, local_files_only=True)
    except (OSError, ValueError, TypeError):
        tokenizer = None
    return model, tokenizer


def synthetic_prompts(n: int, length: int, vocab_size: int, *, avoid: Sequence[int] = (),
                      seed: int = 0) -> list[list[int]]:
    """``n`` prompts of exactly ``length`` random token ids (never an id in ``avoid``:
    end-of-sequence, padding)."""
    rng = random.Random(seed)
    banned = set(avoid)
    choices = [i for i in range(min(vocab_size, 50_000)) if i not in banned]
    if not choices:
        raise UsageError("the model's vocabulary has no usable token for synthetic prompts")
    return [[rng.choice(choices) for _ in range(length)] for _ in range(n)]


def read_dataset(path: str) -> list[str]:
    """Prompts from a file: JSON Lines (a ``prompt`` or ``text`` field per line) or plain
    text (one prompt per line)."""
    import json

    try:
        with open(path, encoding="utf-8") as fh:
            lines = [line.rstrip("\n") for line in fh if line.strip()]
    except OSError as err:
        raise UsageError(f"--dataset {path}: {err.strerror or err}") from err
    prompts = []
    for n, line in enumerate(lines, start=1):
        if line.lstrip().startswith("{"):
            try:
                row = json.loads(line)
            except ValueError as err:
                raise UsageError(f"--dataset {path} line {n}: not JSON ({err})") from err
            text = row.get("prompt", row.get("text")) if isinstance(row, dict) else None
            if not isinstance(text, str):
                raise UsageError(f"--dataset {path} line {n}: needs a 'prompt' or 'text' "
                                 "string field")
            prompts.append(text)
        else:
            prompts.append(line)
    if not prompts:
        raise UsageError(f"--dataset {path}: no prompts in it")
    return prompts


def _encode(prompts: Sequence[Any], tokenizer: Any, input_tokens: int | None) -> list[list[int]]:
    out = []
    for p in prompts:
        if isinstance(p, str):
            if tokenizer is None:
                raise UsageError("text prompts need a tokenizer: pass one (or token id "
                                 "lists), or save the tokenizer in the model folder")
            ids = list(tokenizer(p, add_special_tokens=True)["input_ids"])
        else:
            ids = [int(i) for i in p]
        if input_tokens:
            ids = ids[:input_tokens]
        if not ids:
            raise UsageError(f"prompt {p!r} has no tokens")
        out.append(ids)
    return out


def prompt_ids(model: Any, tokenizer: Any, prompts: Sequence[Any] | None,
                opts: Any) -> list[list[int]]:
    if prompts is not None:
        if isinstance(prompts, (str, bytes)) or not len(prompts):
            raise UsageError("prompts must be a non-empty list of texts or token id lists")
        return _encode(prompts, tokenizer, opts.input_tokens)
    config = getattr(model, "config", None)
    if isinstance(model, (str, os.PathLike)):  # an engine that loads the folder itself
        import json
        from types import SimpleNamespace

        try:
            with open(os.path.join(os.fspath(model), "config.json"), encoding="utf-8") as fh:
                config = SimpleNamespace(**json.load(fh))
        except (OSError, ValueError, TypeError) as err:
            raise UsageError(f"MODEL {model}: cannot read its config.json ({err})") from err
    vocab = int(getattr(config, "vocab_size", 0) or 0)
    if vocab < 2:
        raise UsageError("synthetic prompts need the model's vocab_size; pass prompts")
    avoid = []
    for attr in ("eos_token_id", "pad_token_id", "bos_token_id"):
        v = getattr(config, attr, None)
        avoid += v if isinstance(v, list) else [v] if isinstance(v, int) else []
    n = max(opts.batch_sizes) * 2
    return synthetic_prompts(n, opts.input_tokens or 32, vocab, avoid=avoid, seed=opts.seed)
