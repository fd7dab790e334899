"""Samples and tokens in a batch, without a device synchronisation per step.

A batch is a tensor, a sequence whose first item is the input, or a mapping (a Hugging
Face ``BatchEncoding``, a dict of tensors). Samples are the first dimension of the input;
tokens are counted for text batches (an ``input_ids`` entry): the sum of
``attention_mask`` when there is one (padding excluded), else ``input_ids.numel()``.
Mask sums stay on the device until :meth:`BatchCounter.flush`, which the callbacks call
at log points and phase boundaries only.
"""

from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

__all__ = ["BatchCounter", "samples_in", "token_count"]

TOKEN_KEYS = ("input_ids",)


def _first_dim(x: Any) -> int | None:
    shape = getattr(x, "shape", None)
    if shape is not None and len(shape) > 0:
        try:
            return int(shape[0])
        except (TypeError, ValueError):
            return None
    return None


def samples_in(batch: Any, _depth: int = 0) -> int | None:
    """The batch size of ``batch`` (None when it cannot be told)."""
    n = _first_dim(batch)
    if n is not None or _depth > 3:
        return n
    if isinstance(batch, Mapping):
        for key in TOKEN_KEYS + ("pixel_values", "input_values", "inputs", "x"):
            if key in batch:
                n = _first_dim(batch[key])
                if n is not None:
                    return n
        for value in batch.values():
            n = samples_in(value, _depth + 1)
            if n is not None:
                return n
        return None
    if isinstance(batch, Sequence) and not isinstance(batch, (str, bytes)) and batch:
        return samples_in(batch[0], _depth + 1)
    return None


def token_count(batch: Any) -> Any:
    """Tokens in a text batch: an int, a 0-d tensor (mask sum, not synchronised), or None."""
    if not isinstance(batch, Mapping):
        return None
    ids = next((batch[k] for k in TOKEN_KEYS if k in batch), None)
    if ids is None or getattr(ids, "shape", None) is None:
        return None
    mask = batch.get("attention_mask")
    if mask is not None and getattr(mask, "shape", None) == ids.shape:
        return mask.sum()
    n = 1
    for d in ids.shape:
        n *= int(d)
    return n


class BatchCounter:
    """Accumulates samples and tokens of batches; :meth:`flush` returns and resets them.

    ``count_samples`` / ``count_tokens`` (functions of the batch) replace the defaults."""

    def __init__(self, count_samples: Callable[[Any], Any] | None = None,
                 count_tokens: Callable[[Any], Any] | None = None) -> None:
        self._samples_fn = count_samples or samples_in
        self._tokens_fn = count_tokens or token_count
        self._samples = 0
        self._tokens: Any = 0

    def add(self, batch: Any) -> None:
        n = self._samples_fn(batch)
        if n:
            self._samples += int(n)
        t = self._tokens_fn(batch)
        if t is not None:
            self._tokens = self._tokens + t  # a device tensor stays one (no sync)

    def flush(self) -> dict[str, float]:
        samples, tokens = self._samples, self._tokens
        self._samples, self._tokens = 0, 0
        tokens = float(tokens.item() if hasattr(tokens, "item") else tokens)
        return {"samples": float(samples), "tokens": tokens}
