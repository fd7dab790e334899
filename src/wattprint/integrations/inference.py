"""Inference: energy per request and per generated token, with prefill and decode apart.

    from wattprint.integrations.inference import measure_inference

    with measure_inference("chat", ledger=True) as meter:
        for prompt in prompts:
            ids = tokenizer(prompt, return_tensors="pt")
            out = meter.generate(model, **ids, max_new_tokens=64)   # Transformers generate
    r = meter.result
    r.per_unit["j_per_request"], r.per_unit["j_per_token"], r.phase("decode").per_unit

Three ways in, all into one run (the meter's own, or ``run=`` a running tracker of yours):

* ``meter.generate(model, ...)`` / ``meter.pipeline(pipe, inputs, ...)``: Transformers
  generation. Requests are the prompts (rows of ``input_ids``); tokens the generated ones,
  read from the output (after the prompt; up to and including the first end-of-sequence
  token of each row). Prefill (up to the first generated token) and decode are separate
  phases, split by a stopping criterion that never stops anything.
* ``meter.call(fn, *args, tokens=..., **kwargs)``: any callable as one request; ``tokens``
  is a number or a function of the output.
* Your own loop, marked: ``with meter.request(): meter.mark_prefill(); ...;
  meter.mark_decode(); ...; meter.count(tokens=n)`` (or ``with meter.prefill(): ...``
  and ``with meter.decode(): ...``).

``tokens`` in the results are *generated* tokens; prompt tokens are counted separately
(``meter.prompt_tokens``; ``energy/prefill/j_per_prompt_token`` in :meth:`metrics`).
Phases are process-wide windows: requests served concurrently from several threads are
all counted, but only one at a time is split into prefill/decode (the others count
toward the run without a phase).
"""

from __future__ import annotations

import contextlib
import functools
import logging
import threading
from typing import Any, Callable, Iterable, Iterator

from ..errors import UsageError
from ..result import RunResult
from ..tracker import Phase, Tracker

__all__ = ["InferenceMeter", "measure_inference", "generated_tokens"]

log = logging.getLogger("wattprint")
PREFILL, DECODE = "prefill", "decode"


def measure_inference(name: str | None = None, /, *, run: Tracker | None = None,
                      **options: Any) -> "InferenceMeter":
    """An :class:`InferenceMeter`; use it as a context manager (or call ``start()`` and
    ``stop()``)."""
    return InferenceMeter(run, name=name, **options)


def generated_tokens(sequences: Any, prompt_length: int, eos_token_id: Any = None) -> int:
    """Generated tokens in ``sequences`` (rows of token ids, prompt first): per row, the
    ids after ``prompt_length`` up to and including the first of ``eos_token_id`` (an id
    or a list of ids; None: the whole row)."""
    import torch

    new = sequences[:, prompt_length:]
    rows, width = int(new.shape[0]), int(new.shape[-1])
    if width == 0 or rows == 0:
        return 0
    if eos_token_id is None:
        return rows * width
    ids = [eos_token_id] if isinstance(eos_token_id, int) else list(eos_token_id)
    if not ids:
        return rows * width
    is_eos = torch.isin(new, torch.tensor(ids, device=new.device))
    has = is_eos.any(dim=1)
    first = is_eos.int().argmax(dim=1)
    lengths = torch.where(has, first + 1, torch.full_like(first, width))
    return int(lengths.sum().item())


class InferenceMeter:
    """Measures inference calls into one run. ``run``: a running tracker of yours (never
    stopped here); else the meter owns a tracker made with ``name`` and ``options``
    (``ledger``, ``project``, ``tags``, ``mode``, ``sensors``…) and ``log_to``
    (``"mlflow"``/``"wandb"``) receives the report when it stops."""

    def __init__(self, run: Tracker | None = None, *, name: str | None = None,
                 log_to: Iterable[Any] | str | None = None, **options: Any) -> None:
        if run is not None and not isinstance(run, Tracker):
            raise UsageError(f"run={run!r} must be a wattprint tracker, or None")
        if run is not None and (options or name is not None):
            raise UsageError("tracker options apply only when the meter creates the run; "
                             "pass them to wattprint.track() instead")
        from ._session import _check_log_to

        _check_log_to([log_to] if isinstance(log_to, str) else list(log_to or ()))
        self._log_to = log_to
        self._owned = run is None
        self.tracker: Tracker = run if run is not None else Tracker(name or "inference",
                                                                      **options)
        self.prompt_tokens = 0.0
        self._lock = threading.RLock()
        self._phase: Phase | None = None
        self._phase_owner: int | None = None
        self._result: RunResult | None = None

    # -- lifecycle ---------------------------------------------------------------------
    def start(self) -> "InferenceMeter":
        if self._owned:
            self.tracker.start()
        elif not self.tracker.running:
            raise UsageError("the run given to the meter is not running; start it first")
        return self

    def stop(self, *, exit_code: int | None = None) -> RunResult | None:
        """Close an open phase; stop the meter's own run and return its result (None
        with your own run: you stop it)."""
        self._close_phase(force=True)
        if not self._owned:
            return None
        if self._result is None:
            self._result = self.tracker.stop(exit_code=exit_code)
            if self._log_to:
                self._report(self._result)
        return self._result

    def __enter__(self) -> "InferenceMeter":
        return self.start()

    def __exit__(self, exc_type: Any, *exc: Any) -> None:
        code = None if exc_type is None else (
            -2 if issubclass(exc_type, KeyboardInterrupt) else 1)
        self.stop(exit_code=code)

    @property
    def result(self) -> RunResult:
        if self._result is None:
            raise UsageError("the meter has no result yet: leave the `with` block or call "
                             "stop() first (with your own run= use run.result)")
        return self._result

    def metrics(self) -> dict[str, float]:
        """The final record (:func:`wattprint.integrations.metrics.run_metrics`) plus
        ``count/prompt_tokens`` and ``energy/prefill/j_per_prompt_token``."""
        from .metrics import run_metrics

        result = self._result if self._result is not None else (
            self.tracker.result if not self.tracker.running else None)
        if result is None:
            raise UsageError("metrics() needs a finished run: stop the meter first")
        out = run_metrics(result)
        if self.prompt_tokens:
            out["count/prompt_tokens"] = self.prompt_tokens
            try:
                prefill = result.phase(PREFILL)
            except KeyError:
                prefill = None
            if prefill is not None:
                out["energy/prefill/j_per_prompt_token"] = (
                    prefill.energy_j / self.prompt_tokens)
        return out

    def _report(self, result: RunResult) -> None:
        from ._session import resolve_sinks

        record = self.metrics()
        for sink in resolve_sinks(self._log_to):
            try:
                sink.log_report(result, record, None)
            except Exception as err:  # noqa: BLE001 - the measurement itself is done
                log.error("wattprint: logging the report to %s failed: %r",
                          type(sink).__name__, err)

    # -- counting and phases -----------------------------------------------------------
    def count(self, **units: float) -> None:
        """``tokens=`` (generated), ``requests=``, ``samples=``, ``steps=``."""
        self.tracker.count(**units)

    def count_prompt(self, tokens: float) -> None:
        """Prompt (input) tokens of a request, for the prefill's energy per token."""
        self.prompt_tokens += float(tokens)

    def _open_phase(self, name: str) -> bool:
        """Open ``name`` unless another thread's request holds a phase; True if open."""
        me = threading.get_ident()
        with self._lock:
            if self._phase is not None:
                if self._phase_owner != me:
                    return False
                if self._phase.name == name:
                    return True
                self._phase.stop()
            self._phase = self.tracker.phase(name).start()
            self._phase_owner = me
            return True

    def _close_phase(self, force: bool = False) -> None:
        with self._lock:
            if self._phase is None or (not force and self._phase_owner != threading.get_ident()):
                return
            phase, self._phase, self._phase_owner = self._phase, None, None
            if self.tracker.running:
                phase.stop()

    def mark_prefill(self) -> None:
        """From now on, this request's prefill (the prompt's forward pass)."""
        self._open_phase(PREFILL)

    def mark_decode(self) -> None:
        """From now on, this request's decode (token by token); closes the prefill."""
        self._open_phase(DECODE)

    def mark_done(self) -> None:
        """Close this request's prefill or decode phase."""
        self._close_phase()

    @contextlib.contextmanager
    def prefill(self) -> Iterator[None]:
        opened = self._open_phase(PREFILL)
        try:
            yield
        finally:
            if opened:
                self._close_phase()

    @contextlib.contextmanager
    def decode(self) -> Iterator[None]:
        opened = self._open_phase(DECODE)
        try:
            yield
        finally:
            if opened:
                self._close_phase()

    @contextlib.contextmanager
    def request(self, *, prompt_tokens: float | None = None) -> Iterator["InferenceMeter"]:
        """One request: counted on exit, and its marked phase closed."""
        if prompt_tokens:
            self.count_prompt(prompt_tokens)
        try:
            yield self
        finally:
            self._close_phase()
            self.count(requests=1)

    # -- any callable ---------------------------------------------------------------------
    def call(self, fn: Callable[..., Any], /, *args: Any,
             tokens: float | Callable[[Any], float] | None = None,
             phase: str | None = None, **kwargs: Any) -> Any:
        """``fn(*args, **kwargs)`` as one request; ``tokens``: generated tokens, a number
        or a function of the output; ``phase``: a phase to run it in (e.g. "decode")."""
        opened = self._open_phase(phase) if phase else False
        try:
            out = fn(*args, **kwargs)
            n = tokens(out) if callable(tokens) else tokens
            if n:
                self.count(tokens=float(n))
            return out
        finally:
            if opened:
                self._close_phase()
            self.count(requests=1)

    def wrap(self, fn: Callable[..., Any], *,
             tokens: float | Callable[[Any], float] | None = None) -> Callable[..., Any]:
        """``fn`` measured as one request per call (see :meth:`call`)."""
        @functools.wraps(fn)
        def measured(*args: Any, **kwargs: Any) -> Any:
            return self.call(fn, *args, tokens=tokens, **kwargs)
        return measured

    # -- Transformers ---------------------------------------------------------------------
    def generate(self, model: Any, *args: Any, split_phases: bool = True, **kwargs: Any) -> Any:
        """``model.generate(*args, **kwargs)``, measured: requests = prompts, tokens =
        generated tokens, prefill and decode as phases (``split_phases``)."""
        return self._generate(model, model.generate, args, kwargs, split_phases)

    def pipeline(self, pipe: Any, inputs: Any, /, *, split_phases: bool = True,
                 **kwargs: Any) -> Any:
        """``pipe(inputs, **kwargs)``, measured. Every ``generate`` the pipeline runs is
        measured as in :meth:`generate`; a pipeline that does not generate (a
        classifier…) counts one request per input."""
        model = pipe.model
        original = getattr(model, "generate", None)
        shadowed = "generate" in vars(model)
        generated: list[int] = []

        def measured_generate(*a: Any, **kw: Any) -> Any:
            assert original is not None
            generated.append(1)
            return self._generate(model, original, a, kw, split_phases)

        if original is not None:
            model.generate = measured_generate  # this call only; restored below
        try:
            return pipe(inputs, **kwargs)
        finally:
            if original is not None:
                if shadowed:
                    model.generate = original
                else:
                    del model.generate
            if not generated:
                n = len(inputs) if isinstance(inputs, (list, tuple)) else 1
                self.count(requests=n)

    def _generate(self, model: Any, generate: Callable[..., Any], args: tuple,
                  kwargs: dict, split_phases: bool) -> Any:
        ids = kwargs.get("input_ids", args[0] if args else None)
        prompt_len, rows = 0, 1
        if ids is not None and getattr(ids, "shape", None) is not None and len(ids.shape) == 2:
            rows, prompt_len = int(ids.shape[0]), int(ids.shape[1])
            mask = kwargs.get("attention_mask")
            prompt = (float(mask.sum().item()) if mask is not None and
                      getattr(mask, "shape", None) == ids.shape else float(rows * prompt_len))
        else:
            prompt = 0.0
        opened = False
        if split_phases:
            opened = self._open_phase(PREFILL)
            if opened:
                kwargs = dict(kwargs, stopping_criteria=self._with_probe(
                    kwargs.get("stopping_criteria")))
        if prompt:
            self.count_prompt(prompt)
        try:
            out = generate(*args, **kwargs)
            seqs = getattr(out, "sequences", out)
            config = getattr(model, "config", None)
            encoder_decoder = bool(getattr(config, "is_encoder_decoder", False))
            eos = kwargs.get("eos_token_id")
            if eos is None:
                gen_config = kwargs.get("generation_config") or getattr(
                    model, "generation_config", None)
                eos = getattr(gen_config, "eos_token_id", None)
            if getattr(seqs, "shape", None) is not None and len(seqs.shape) == 2:
                start = 1 if encoder_decoder else prompt_len
                self.count(tokens=float(generated_tokens(seqs, start, eos)))
            return out
        finally:
            if opened:
                self._close_phase()
            self.count(requests=rows)

    def _with_probe(self, existing: Any) -> Any:
        from transformers import StoppingCriteria, StoppingCriteriaList

        meter = self
        owner = threading.get_ident()

        class _DecodeStarts(StoppingCriteria):  # type: ignore[misc, valid-type]
            """Called after every generated token: the first call ends the prefill."""

            def __init__(self) -> None:
                self.calls = 0

            def __call__(self, input_ids: Any, scores: Any, **kw: Any) -> Any:
                import torch

                self.calls += 1
                if self.calls == 1 and threading.get_ident() == owner:
                    meter._open_phase(DECODE)
                return torch.zeros(input_ids.shape[0], dtype=torch.bool,
                                   device=input_ids.device)

        criteria = StoppingCriteriaList(list(existing or []))
        criteria.append(_DecodeStarts())
        return criteria
