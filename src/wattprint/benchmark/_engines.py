"""Engines that serve one batch of requests for the benchmark: Transformers (``generate``
for text generation, a forward pass for classification) by default; vLLM and SGLang
when installed and a GPU is present. Each engine takes pre-built batches (tokenisation
is outside the measured time) and returns exact counts: generated tokens (up to and
including each row's first end-of-sequence token, never the padding after it) and
prompt tokens (padding excluded).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

from ..errors import UsageError

__all__ = ["ENGINES", "TASKS", "PRECISIONS", "Batch", "check_engine", "TransformersEngine",
           "make_engine"]

ENGINES = ("transformers", "vllm", "sglang")
#: Tasks and what a request is: a prompt to continue, or a text to label.
TASKS = ("text-generation", "text-classification")
PRECISIONS = {"fp32": "float32", "bf16": "bfloat16", "fp16": "float16"}


@dataclass
class Batch:
    """One batch of requests: token ids per request (no padding) and, for Transformers,
    the padded tensors."""

    ids: list[list[int]]
    tensors: dict[str, Any] | None = None

    @property
    def rows(self) -> int:
        return len(self.ids)


def _gpu_present() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def check_engine(engine: str, task: str) -> None:
    """Raise a clear :class:`UsageError` when ``engine`` cannot run ``task`` here."""
    if engine not in ENGINES:
        raise UsageError(f"--engine {engine!r} is not an engine; use one of "
                         f"{', '.join(ENGINES)}")
    if task not in TASKS:
        raise UsageError(f"--task {task!r} is not supported; use one of {', '.join(TASKS)}")
    if engine == "transformers":
        return
    import importlib.util

    if importlib.util.find_spec(engine) is None:
        raise UsageError(f"--engine {engine}: {engine} is not installed (pip install "
                         f"{engine}); it also needs an NVIDIA GPU. Use --engine transformers "
                         "here")
    if not _gpu_present():
        raise UsageError(f"--engine {engine}: no GPU found here (torch.cuda.is_available() is "
                         f"False); {engine} serves on NVIDIA GPUs. Use --engine transformers "
                         "here")
    if task != "text-generation":
        raise UsageError(f"--engine {engine} serves text generation only; use --engine "
                         f"transformers for --task {task}")


class TransformersEngine:
    """A Transformers model: ``generate`` (greedy, up to ``output_tokens`` new tokens;
    exactly that many with ``ignore_eos``) or a forward pass."""

    name = "transformers"

    def __init__(self, model: Any, *, task: str, output_tokens: int,
                 ignore_eos: bool = False, pad_token_id: int | None = None) -> None:
        self.model = model
        self.task = task
        self.output_tokens = output_tokens
        self.ignore_eos = ignore_eos
        config = getattr(model, "config", None)
        gen = getattr(model, "generation_config", None)
        eos = getattr(gen, "eos_token_id", None)
        if eos is None:
            eos = getattr(config, "eos_token_id", None)
        self.eos_token_id = eos
        if pad_token_id is None:
            pad_token_id = getattr(config, "pad_token_id", None)
        if pad_token_id is None:
            first_eos = eos[0] if isinstance(eos, (list, tuple)) and eos else eos
            pad_token_id = first_eos if isinstance(first_eos, int) else 0
        self.pad_token_id = int(pad_token_id)
        self.encoder_decoder = bool(getattr(config, "is_encoder_decoder", False))
        self.device = getattr(model, "device", None)

    def batch(self, ids: Sequence[Sequence[int]]) -> Batch:
        """Pad ``ids`` into tensors: on the left for generation (new tokens follow every
        prompt directly), on the right for classification."""
        import torch

        rows = [list(map(int, r)) for r in ids]
        width = max(len(r) for r in rows)
        left = self.task == "text-generation" and not self.encoder_decoder
        input_ids = torch.full((len(rows), width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.long)
        for i, r in enumerate(rows):
            if left:
                input_ids[i, width - len(r):] = torch.tensor(r)
                mask[i, width - len(r):] = 1
            else:
                input_ids[i, :len(r)] = torch.tensor(r)
                mask[i, :len(r)] = 1
        tensors = {"input_ids": input_ids, "attention_mask": mask}
        if self.device is not None:
            tensors = {k: v.to(self.device) for k, v in tensors.items()}
        return Batch(rows, tensors)

    def run(self, batch: Batch) -> tuple[int, int]:
        """Serve the batch: (generated tokens, prompt tokens)."""
        import torch

        from ..integrations.inference import generated_tokens

        assert batch.tensors is not None
        prompt = sum(len(r) for r in batch.ids)
        with torch.inference_mode():
            if self.task != "text-generation":
                self.model(**batch.tensors)
                return 0, prompt
            kwargs: dict[str, Any] = dict(max_new_tokens=self.output_tokens, do_sample=False,
                                          pad_token_id=self.pad_token_id)
            if self.ignore_eos:
                kwargs["min_new_tokens"] = self.output_tokens
            out = self.model.generate(**batch.tensors, **kwargs)
        seqs = getattr(out, "sequences", out)
        start = 1 if self.encoder_decoder else int(batch.tensors["input_ids"].shape[1])
        return generated_tokens(seqs, start, self.eos_token_id), prompt


class VLLMEngine:  # pragma: no cover - needs vLLM and a GPU (scripts/verify_bench_gpu.py)
    """vLLM's offline engine; batches are submitted whole, at most ``max_batch`` running."""

    name = "vllm"

    def __init__(self, path: str, *, precision: str | None, output_tokens: int,
                 ignore_eos: bool, max_batch: int) -> None:
        from vllm import LLM, SamplingParams

        self.llm = LLM(model=path, dtype=PRECISIONS.get(precision or "", "auto"),
                       max_num_seqs=max_batch)
        self.params = SamplingParams(max_tokens=output_tokens, temperature=0.0,
                                     ignore_eos=ignore_eos)

    def batch(self, ids: Sequence[Sequence[int]]) -> Batch:
        return Batch([list(map(int, r)) for r in ids])

    def run(self, batch: Batch) -> tuple[int, int]:
        outs = self.llm.generate([{"prompt_token_ids": r} for r in batch.ids], self.params,
                                 use_tqdm=False)
        return (sum(len(o.outputs[0].token_ids) for o in outs),
                sum(len(r) for r in batch.ids))


class SGLangEngine:  # pragma: no cover - needs SGLang and a GPU
    """SGLang's offline engine."""

    name = "sglang"

    def __init__(self, path: str, *, precision: str | None, output_tokens: int,
                 ignore_eos: bool, max_batch: int) -> None:
        import sglang

        self.engine = sglang.Engine(model_path=path,
                                    dtype=PRECISIONS.get(precision or "", "auto"),
                                    max_running_requests=max_batch)
        self.params = {"max_new_tokens": output_tokens, "temperature": 0.0,
                       "ignore_eos": ignore_eos}

    def batch(self, ids: Sequence[Sequence[int]]) -> Batch:
        return Batch([list(map(int, r)) for r in ids])

    def run(self, batch: Batch) -> tuple[int, int]:
        outs = self.engine.generate(input_ids=batch.ids, sampling_params=self.params)
        return (sum(int(o["meta_info"]["completion_tokens"]) for o in outs),
                sum(len(r) for r in batch.ids))


def make_engine(engine: str, *, model: Any, path: str | None, task: str,
                precision: str | None, output_tokens: int, ignore_eos: bool,
                max_batch: int) -> Any:
    """The engine named ``engine`` (checked with :func:`check_engine` first)."""
    check_engine(engine, task)
    if engine == "transformers":
        return TransformersEngine(model, task=task, output_tokens=output_tokens,
                                  ignore_eos=ignore_eos)
    if path is None:
        raise UsageError(f"--engine {engine} loads the model itself: pass the model's folder "
                         "(a path), not a loaded model")
    cls = VLLMEngine if engine == "vllm" else SGLangEngine  # pragma: no cover
    return cls(path, precision=precision, output_tokens=output_tokens,  # pragma: no cover
               ignore_eos=ignore_eos, max_batch=max_batch)
