"""Inference energy benchmark: J/request, J/output token, energy per 1,000 requests,
throughput, latency and power of *your* model on *your* hardware, per batch size and
precision, after a warm-up to the steady state and with the spread of repetitions; the
estimator's prediction beside each measurement; a star rating by the AI Energy Score
method against its February 2025 leaderboard (shipped) or a distribution you supply.

    import wattprint
    result = wattprint.bench(model, tokenizer, ["Hello", "Tell me"], batch_sizes=(1, 8),
                             output_tokens=64, repeat=3, ledger=True)
    print(result.summary())

Modules: :mod:`._core` (the loop, options), :mod:`._engines` (Transformers, vLLM,
SGLang), :mod:`._stats` (steady state, spread), :mod:`._figures` (results),
:mod:`._rating` (stars), :mod:`._figures` (results, compare rows). ``wattprint
bench`` is the command line; docs/bench.md says how to benchmark fairly.
"""

from ._core import BenchOptions, bench, load_model, read_dataset, synthetic_prompts
from ._figures import BenchResult, ConfigResult, DevicePower, Figure
from ._rating import (Rating, Reference, load_reference, rate, shipped_reference, size_class,
                      stars_for)
from ._stats import Spread, percentile, spread_of, steady_index

__all__ = ["bench", "BenchOptions", "BenchResult", "ConfigResult", "DevicePower", "Figure",
           "load_model",
           "read_dataset", "synthetic_prompts", "Rating", "Reference", "load_reference",
           "shipped_reference", "size_class", "rate", "stars_for", "Spread", "percentile", "spread_of", "steady_index"]
