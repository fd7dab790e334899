"""The benchmark loop: per configuration (precision × batch size) one tracked run with a
warm-up phase until the steady state, then ``repeat`` measured repetitions as phases
``rep1``…``repK``; figures from those phases, the estimator's prediction beside them.

    import wattprint
    result = wattprint.bench(model, tokenizer, prompts, batch_sizes=(1, 8, 32))
    print(result.summary())
"""

from __future__ import annotations

import logging
import math
import os
import time
import uuid
from dataclasses import dataclass, replace
from typing import Any, Sequence

from ..errors import UsageError
from ._engines import PRECISIONS, TASKS, check_engine, make_engine
from ._figures import BenchResult, ConfigResult, DevicePower, Figure
from ._inputs import load_model, prompt_ids, read_dataset, synthetic_prompts
from ._predict import hardware_of, predict
from ._stats import STEADY_TOLERANCE, STEADY_WINDOW, percentile, steady_index

__all__ = ["BenchOptions", "bench", "load_model", "synthetic_prompts", "read_dataset"]

log = logging.getLogger("wattprint")


@dataclass
class BenchOptions:
    """How to benchmark (shared by ``wattprint bench`` and :func:`bench`).

    ``requests``: measured requests per repetition (rounded up to whole batches);
    ``output_tokens``: new tokens per request at most (exactly, with ``ignore_eos``);
    ``input_tokens``: prompt length of synthetic prompts, or the cut of given ones;
    ``repeat``: repetitions per configuration (their spread is reported);
    ``precisions``: fp32 / bf16 / fp16 (None: as loaded; several: each cast from the
    original weights); ``warmup_max_batches``,
    ``warmup_max_s``: the warm-up gives up (and says so) after this many batches or
    seconds, whichever comes first; ``idle_s``: seconds of idle
    power measured first (phase ``idle``); ``estimate_accelerator``: the accelerator the
    estimator's prediction assumes when none is measured here; ``reference``: the
    distribution the rating is against (a file or a :class:`Reference`; default: the AI
    Energy Score leaderboard of February 2025, shipped); ``reference_data``: the prompts
    are the task's reference dataset; ``ledger``/``project``/``tags``/``sensors``/``mode``: as
    for :func:`wattprint.track`, except that ``sensors`` may also be a function returning
    them, called once per configuration (each configuration's run then closes its own);
    sensors given as a list measure every configuration and are closed when the
    benchmark ends (a vendor sensor's handles, NVML's, are released then)."""

    task: str = "text-generation"
    batch_sizes: tuple[int, ...] = (1, 8, 32)
    input_tokens: int | None = None
    output_tokens: int = 32
    requests: int = 64
    repeat: int = 3
    precisions: tuple[str | None, ...] = (None,)
    engine: str = "transformers"
    ignore_eos: bool = False
    warmup_min_batches: int = 1
    warmup_max_batches: int = 20
    warmup_max_s: float = 10.0
    steady_window: int = STEADY_WINDOW
    steady_tolerance: float = STEADY_TOLERANCE
    idle_s: float = 0.0
    estimate_accelerator: str | None = None
    reference: Any = None
    reference_data: bool = False
    model_name: str | None = None
    ledger: Any = None
    project: str | None = None
    tags: tuple[str, ...] = ()
    sensors: Any = None
    mode: str = "process"
    seed: int = 0

    def check(self) -> "BenchOptions":
        if self.task not in TASKS:
            raise UsageError(f"--task {self.task!r} is not supported; use one of "
                             f"{', '.join(TASKS)}")
        sizes = tuple(self.batch_sizes)
        if not sizes or any(not isinstance(b, int) or b < 1 for b in sizes):
            raise UsageError(f"--batch {','.join(map(str, sizes)) or '(empty)'}: batch sizes "
                             "are whole numbers of at least 1, e.g. --batch 1,8,32")
        for name in ("output_tokens", "requests", "repeat", "warmup_max_batches",
                     "steady_window"):
            value = getattr(self, name)
            if not isinstance(value, int) or value < 1:
                raise UsageError(f"--{name.replace('_', '-')} {value!r}: use a whole number "
                                 "of at least 1")
        if self.input_tokens is not None and (not isinstance(self.input_tokens, int)
                                              or self.input_tokens < 1):
            raise UsageError(f"--input-tokens {self.input_tokens!r}: use a whole number of at "
                             "least 1")
        for p in self.precisions:
            if p is not None and p not in PRECISIONS:
                raise UsageError(f"--precision {p!r}: use one of {', '.join(PRECISIONS)}")
        if not (math.isfinite(self.warmup_max_s) and self.warmup_max_s > 0):
            raise UsageError(f"--warmup-max-s {self.warmup_max_s!r}: use a number of seconds "
                             "above 0")
        if not (math.isfinite(self.idle_s) and self.idle_s >= 0):
            raise UsageError(f"--idle-s {self.idle_s!r}: use a number of seconds of at least 0")
        if not (math.isfinite(self.steady_tolerance) and self.steady_tolerance > 0):
            raise UsageError(f"steady_tolerance={self.steady_tolerance!r}: use a fraction "
                             "above 0, e.g. 0.15")
        check_engine(self.engine, self.task)
        return replace(self, batch_sizes=tuple(dict.fromkeys(sizes)))


def _count_params(model: Any) -> int | None:
    try:
        return int(sum(p.numel() for p in model.parameters()))
    except Exception:  # noqa: BLE001 - not a torch model (vLLM loads its own)
        return None


def params_from_config(path: str, task: str) -> int | None:
    """Parameter count of the saved model at ``path`` without loading its weights: the
    architecture built from its ``config.json`` on PyTorch's meta device (no memory, no
    computation). For engines that load the model themselves (vLLM, SGLang): the size
    class of the rating and the estimator's prediction need it. None when it cannot be
    built (an architecture Transformers does not know)."""
    try:
        import torch
        import transformers

        config = transformers.AutoConfig.from_pretrained(path)
        cls = (transformers.AutoModelForCausalLM if task == "text-generation"
               else transformers.AutoModelForSequenceClassification)
        with torch.device("meta"):
            model = cls.from_config(config)
        return _count_params(model)
    except Exception as err:  # noqa: BLE001 - any failure only costs the count
        log.info("wattprint: bench: no parameter count from %s/config.json: %s", path, err)
        return None


def _model_precision(model: Any) -> str:
    dtype = str(getattr(model, "dtype", "")).removeprefix("torch.")
    return {v: k for k, v in PRECISIONS.items()}.get(dtype, dtype or "unknown")


def _open_ledger(option: Any) -> tuple[Any, bool]:
    """(a Ledger or None, whether we opened it)."""
    if option in (None, False):
        return None, False
    from ..ledger import Ledger

    if isinstance(option, Ledger):
        return option, False
    return Ledger(None if option is True else option), True


# -- the benchmark ----------------------------------------------------------------------------
def bench(model: Any, tokenizer: Any = None, prompts: Sequence[Any] | None = None, *,
          batch_sizes: Sequence[int] = (1, 8, 32), options: BenchOptions | None = None,
          **kw: Any) -> BenchResult:
    """Benchmark ``model`` (a loaded Transformers model, or the path of a saved one) per
    batch size (and precision): warm-up to the steady state, then ``repeat`` measured
    repetitions. ``prompts``: texts (with ``tokenizer``) or token id lists; None:
    synthetic prompts of ``input_tokens`` (default 32) random tokens. Options: a
    :class:`BenchOptions` or its fields as keywords (``output_tokens=``, ``repeat=``,
    ``ledger=True``…). Returns a :class:`BenchResult`; with a ledger each configuration
    is one run (tags ``bench`` and ``bench-session:ID``)."""
    opts = replace(options or BenchOptions(), batch_sizes=tuple(batch_sizes), **kw).check()
    path = model if isinstance(model, (str, os.PathLike)) else None
    if path is not None:
        path = os.fspath(path)
        name = opts.model_name or os.path.basename(os.path.normpath(path))
        if opts.engine == "transformers":
            model, loaded_tok = load_model(path, opts.task)
            tokenizer = tokenizer or loaded_tok
    else:
        name = opts.model_name or getattr(getattr(model, "config", None), "_name_or_path",
                                          None) or type(model).__name__
    params = (_count_params(model) if path is None or opts.engine == "transformers"
              else params_from_config(path, opts.task))
    session = uuid.uuid4().hex[:10]
    t0 = time.perf_counter()
    ids = prompt_ids(model, tokenizer, prompts, opts)
    from ._rating import Reference, load_reference, shipped_reference

    reference = (opts.reference if isinstance(opts.reference, Reference)
                 else shipped_reference() if opts.reference is None
                 else load_reference(opts.reference))
    ledger, owned = _open_ledger(opts.ledger)
    configs: list[ConfigResult] = []
    notes: list[str] = []
    # several precisions: each is cast from the original weights (kept in host memory
    # while the benchmark runs, put back at the end), never from an earlier cast's
    # rounded ones: fp32 after bf16 is the model's fp32, not bf16 weights widened
    original = (_keep_weights(model) if opts.engine == "transformers"
                and len([p for p in opts.precisions if p]) > 1 else None)
    try:
        for precision in opts.precisions:
            if opts.engine == "transformers":
                if original is not None:
                    _restore_weights(model, original)
                _set_precision(model, precision)
            shown_precision = precision or _model_precision(model)
            dtype = _weights_dtype(model) if opts.engine == "transformers" else None
            engine = make_engine(opts.engine, model=model, path=path, task=opts.task,
                                 precision=precision, output_tokens=opts.output_tokens,
                                 ignore_eos=opts.ignore_eos, max_batch=max(opts.batch_sizes))
            for size in opts.batch_sizes:
                configs.append(_run_config(engine, ids, size, opts, name=name,
                                           precision=shown_precision, params=params,
                                           ledger=ledger, session=session,
                                           reference=reference, dtype=dtype))
    finally:
        if original is not None:
            _restore_weights(model, original)
        if opts.sensors is not None and not callable(opts.sensors):
            for sensor in opts.sensors:  # kept open across the configurations
                try:
                    sensor.close()
                except Exception as err:  # noqa: BLE001 - closing never fails a benchmark
                    log.warning("wattprint: closing sensor %s failed: %s",
                                getattr(sensor, "name", sensor), err)
        if owned and ledger is not None:
            ledger.close()
    return BenchResult(session, configs, time.perf_counter() - t0, notes)


def _keep_weights(model: Any) -> dict[str, Any]:
    """A copy of every parameter and buffer of ``model`` in host memory, as they are."""
    import itertools

    return {name: t.detach().to("cpu", copy=True)
            for name, t in itertools.chain(model.named_parameters(), model.named_buffers())}


def _restore_weights(model: Any, original: dict[str, Any]) -> None:
    """Put the weights :func:`_keep_weights` copied back, with their dtype, on the device
    each is on now (tied weights stay tied: one parameter, assigned once)."""
    import itertools

    import torch

    with torch.no_grad():
        for name, t in itertools.chain(model.named_parameters(), model.named_buffers()):
            if name in original:
                t.data = original[name].to(t.device, copy=True)


def _weights_dtype(model: Any) -> str | None:
    """The dtype(s) of the model's floating-point parameters, e.g. ``bfloat16``."""
    try:
        found = sorted({str(p.dtype).removeprefix("torch.") for p in model.parameters()
                        if p.is_floating_point()})
    except Exception:  # noqa: BLE001 - not a torch model
        return None
    return "/".join(found) or None


def _set_precision(model: Any, precision: str | None) -> None:
    if precision is None:
        return
    import torch

    model.to(getattr(torch, PRECISIONS[precision]))


def _batches(ids: list[list[int]], size: int, count: int, start: int = 0) -> list[list[list[int]]]:
    """``count`` batches of ``size`` prompts, cycling through ``ids`` from ``start``."""
    out = []
    k = start
    for _ in range(count):
        out.append([ids[(k + i) % len(ids)] for i in range(size)])
        k += size
    return out


def _run_config(engine: Any, ids: list[list[int]], size: int, opts: BenchOptions, *,
                name: str, precision: str, params: int | None, ledger: Any, session: str,
                reference: Any, dtype: str | None = None) -> ConfigResult:
    from ..tracker import Tracker

    n_batches = math.ceil(opts.requests / size)
    # batches built before the run: tokenising and padding are not measured
    warm = [engine.batch(b) for b in _batches(ids, size, opts.warmup_max_batches)]
    reps = [[engine.batch(b) for b in _batches(ids, size, n_batches, start=k * size)]
            for k in range(opts.repeat)]
    config = {"kind": "bench", "session": session, "model": name, "task": opts.task,
              "engine": engine.name, "precision": precision, "dtype": dtype,
              "batch_size": size,
              "requests_per_repeat": n_batches * size, "repeat": opts.repeat,
              "output_tokens_max": opts.output_tokens, "input_tokens": opts.input_tokens,
              "ignore_eos": opts.ignore_eos, "params": params}
    tracker = Tracker(f"bench {name} {precision} b{size}", ledger=ledger,
                      project=opts.project, mode=opts.mode,
                      sensors=opts.sensors() if callable(opts.sensors) else opts.sensors,
                      close_sensors=callable(opts.sensors) or opts.sensors is None,
                      tags=["bench", f"bench-session:{session}", *opts.tags],
                      settings={"kind": "bench", "bench": config})
    # CPU seconds of this thread inside wattprint's calls in the benchmark's windows (its
    # own CPU clock: preemption on a busy machine is not wattprint's cost); wall seconds
    # of run start and stop, outside the windows
    boundary_s = setup_s = 0.0
    latencies: list[list[float]] = []
    windows: list[dict[str, float]] = []  # energy per device of each repetition
    warm_durations: list[float] = []
    steady_at: int | None = None
    b0 = time.perf_counter()
    tracker.start()
    setup_s += time.perf_counter() - b0
    t_start = time.perf_counter()
    try:
        if opts.idle_s:
            with tracker.phase("idle"):
                time.sleep(opts.idle_s)
        b0 = time.thread_time()
        with tracker.phase("warmup"):
            boundary_s += time.thread_time() - b0
            w0 = time.perf_counter()
            for i, batch in enumerate(warm):
                t = time.perf_counter()
                gen, _ = engine.run(batch)
                warm_durations.append(time.perf_counter() - t)
                tracker.count(tokens=gen, requests=batch.rows)
                if i + 1 >= opts.warmup_min_batches + opts.steady_window - 1:
                    steady_at = steady_index(warm_durations[opts.warmup_min_batches:],
                                             window=opts.steady_window,
                                             tolerance=opts.steady_tolerance)
                    if steady_at is not None:
                        steady_at += opts.warmup_min_batches
                        break
                if time.perf_counter() - w0 > opts.warmup_max_s:
                    break
            b0 = time.thread_time()
        boundary_s += time.thread_time() - b0
        tokens = prompt = 0
        for k, rep in enumerate(reps, start=1):
            lat: list[float] = []
            b0 = time.thread_time()
            with tracker.phase(f"rep{k}") as rep_phase:
                boundary_s += time.thread_time() - b0
                for batch in rep:
                    t = time.perf_counter()
                    gen, inp = engine.run(batch)
                    lat.append(time.perf_counter() - t)
                    c0 = time.thread_time()
                    tracker.count(tokens=gen, requests=batch.rows)
                    boundary_s += time.thread_time() - c0
                    tokens += gen
                    prompt += inp
                b0 = time.thread_time()
            boundary_s += time.thread_time() - b0
            latencies.append(lat)
            windows.append(rep_phase.by_device_j)
    except BaseException:
        tracker.stop(exit_code=1)
        raise
    bench_s = time.perf_counter() - t_start
    b0 = time.perf_counter()
    result = tracker.stop()
    setup_s += time.perf_counter() - b0
    return _figures(result, config, latencies, warm_durations, steady_at, tokens, prompt,
                    opts, windows=windows, params=params, ledger=ledger, reference=reference,
                    overhead={"boundary_s": boundary_s, "setup_s": setup_s,
                              "bench_s": bench_s})


def _figures(result: Any, config: dict[str, Any], latencies: list[list[float]],
             warm_durations: list[float], steady_at: int | None, tokens: int, prompt: int,
             opts: BenchOptions, *, windows: list[dict[str, float]], params: int | None,
             ledger: Any, reference: Any, overhead: dict[str, float]) -> ConfigResult:
    size = config["batch_size"]
    phases = [result.phase(f"rep{k}") for k in range(1, opts.repeat + 1)]
    basis = result.basis if result.basis != "none" else "none"
    e_basis = basis if basis != "none" else "unmeasured"
    energy = [p.energy_j if basis != "none" else math.nan for p in phases]
    reqs = [p.counters.get("requests", 0.0) for p in phases]
    toks = [p.counters.get("tokens", 0.0) for p in phases]
    durs = [p.duration_s for p in phases]
    gen_task = opts.task == "text-generation"
    figs = {
        "j_per_request": Figure.of([e / r for e, r in zip(energy, reqs) if r], "J", e_basis),
        "j_per_output_token": Figure.of([e / t for e, t in zip(energy, toks) if t], "J",
                                        e_basis) if gen_task else Figure(None, "J", e_basis),
        "wh_per_1k_requests": Figure.of([e / r * 1000 / 3600 for e, r in zip(energy, reqs)
                                          if r], "Wh", e_basis),
        "tokens_per_s": Figure.of([t / d for t, d in zip(toks, durs) if d], "tokens/s",
                                  "timed") if gen_task else Figure(None, "tokens/s", "timed"),
        "requests_per_s": Figure.of([r / d for r, d in zip(reqs, durs) if d], "requests/s",
                                    "timed"),
        "latency_p50_s": Figure.of([percentile(lat, 50) for lat in latencies if lat], "s",
                                   "timed"),
        "latency_p95_s": Figure.of([percentile(lat, 95) for lat in latencies if lat], "s",
                                   "timed"),
        "mean_power_w": Figure.of([e / d for e, d in zip(energy, durs) if d], "W", e_basis),
    }
    if opts.idle_s:
        idle = result.phase("idle")
        figs["idle_power_w"] = Figure.of(
            [idle.energy_j / idle.duration_s] if basis != "none" and idle.duration_s
            else [], "W", e_basis)
    # per device, as mean_power_w: the mean over repetitions of each one's energy over
    # its duration; summed by domain (and over all, mean_power_w) they add up exactly
    by_device: dict[str, DevicePower] = {}
    for dev in result.devices:
        if dev.counted and basis != "none":
            power = Figure.of([w.get(dev.name, 0.0) / d for w, d in zip(windows, durs) if d],
                              "W", dev.kind)
            by_device[dev.name] = DevicePower(dev.name, dev.device, dev.domain, power)
    power_by_domain: dict[str, float] = {}
    for dp in by_device.values():
        if dp.power.value is not None:
            power_by_domain[dp.domain] = power_by_domain.get(dp.domain, 0.0) + dp.power.value
    by_domain: dict[str, float] = {}
    for p in phases:
        for dom, e in p.by_domain.items():
            by_domain[dom] = by_domain.get(dom, 0.0) + e
    notes = []
    steady = steady_at is not None
    if not steady:
        notes.append(f"steady state not reached in {len(warm_durations)} warm-up batches "
                     f"(at most {opts.warmup_max_batches} batches or {opts.warmup_max_s:g} s) "
                     f"(batch times within ±{opts.steady_tolerance:.0%} over "
                     f"{opts.steady_window} batches); the figures may include warm-up")
    rel = figs["j_per_request"].spread.relative if figs["j_per_request"].spread else 0.0
    if rel > 0.2:
        notes.append(f"repetitions differ by {rel:.0%} in J/request: the machine is busy "
                     "or the run too short; raise --requests or --repeat")
    gpu_j = by_domain.get("gpu")
    prediction = predict(config, params, opts, result, figs, gpu_j, toks)
    rating = None
    if figs["wh_per_1k_requests"].value is not None:
        from ._rating import rate

        gpu_wh = (gpu_j / sum(reqs) * 1000 / 3600) if gpu_j and sum(reqs) else None
        try:
            rating = rate(gpu_wh if gpu_wh is not None else figs["wh_per_1k_requests"].value,
                          opts.task, reference, hardware=hardware_of(result),
                          gpu_energy=gpu_wh is not None, reference_data=opts.reference_data,
                          params=params, batch_size=size,
                          precision=config["precision"]).to_dict()
        except UsageError as err:
            notes.append(f"no rating: {err}")
    over_cpu = float(result.overhead_cpu_s or 0.0)
    overhead_d = {**overhead, "sampler_cpu_s": over_cpu,
                  "fraction": (overhead["boundary_s"] + over_cpu) / overhead["bench_s"]
                  if overhead["bench_s"] > 0 else 0.0}
    warmup = {"batches": len(warm_durations), "steady": steady, "steady_at": steady_at,
              "durations_s": warm_durations, "window": opts.steady_window,
              "tolerance": opts.steady_tolerance}
    cr = ConfigResult(model=config["model"], task=opts.task, engine=config["engine"],
                      precision=config["precision"], batch_size=size, run_id=result.run_id,
                      requests=int(sum(reqs)), output_tokens=int(tokens), prompt_tokens=prompt,
                      repeat=opts.repeat, warmup=warmup, figures=figs,
                      power_by_domain_w=power_by_domain, power_by_device_w=by_device,
                      energy_basis=e_basis, prediction=prediction, rating=rating,
                      overhead=overhead_d, notes=notes, dtype=config["dtype"])
    if ledger is not None and result.run_id:
        ledger.update_settings(result.run_id, {"bench": {**config, **cr.to_dict()}})
    return cr
