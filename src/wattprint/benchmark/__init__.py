"""Inference energy benchmark: J/request, J/output token, energy per 1,000 requests,
throughput, latency and power of *your* model on *your* hardware, per batch size and
precision, after a warm-up to the steady state and with the spread of repetitions; the
estimator's prediction beside each measurement; an AI Energy Score-style star rating
against a reference distribution you supply.

    import wattprint
    result = wattprint.bench(model, tokenizer, ["Hello", "Tell me"], batch_sizes=(1, 8),
                             output_tokens=64, repeat=3, ledger=True)
    print(result.summary())

Modules: :mod:`._core` (the loop, options), :mod:`._engines` (Transformers, vLLM,
SGLang), :mod:`._stats` (steady state, spread), :mod:`._figures` (results),
:mod:`._rating` (stars), :mod:`._view` (compare rows, report section). ``wattprint
bench`` is the command line; docs/bench.md says how to benchmark fairly.
"""

from ._core import BenchOptions, bench, load_model, read_dataset, synthetic_prompts
from ._figures import BenchResult, ConfigResult, Figure
from ._rating import Rating, Reference, load_reference, rate, stars_for
from ._stats import Spread, percentile, spread_of, steady_index

__all__ = ["bench", "BenchOptions", "BenchResult", "ConfigResult", "Figure", "load_model",
           "read_dataset", "synthetic_prompts", "Rating", "Reference", "load_reference",
           "rate", "stars_for", "Spread", "percentile", "spread_of", "steady_index"]
