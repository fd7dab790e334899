"""``wattprint bench MODEL``: the inference energy of a saved Hugging Face model on this
machine, per batch size (and precision): warm-up to the steady state, then repeated
measured windows; J/request, J/output token, energy per 1,000 requests, tokens/s,
latency p50/p95 and mean power, each with its basis and spread, the estimator's
prediction beside the measurement, and a star rating by the AI Energy Score method
(against its February 2025 leaderboard, shipped, or a reference file you give).

    wattprint bench ./my-model --batch 1,8,32 --output-tokens 64 --repeat 3
    wattprint bench ./my-classifier --task text-classification --dataset texts.jsonl

Each configuration is recorded as one run (tags ``bench`` and ``bench-session:ID``):
``wattprint report`` on them draws J/token against batch size.
"""

from __future__ import annotations

import argparse
import json
import sys

from ..errors import UsageError

USES_LEDGER = True


def _sizes(text: str) -> tuple[int, ...]:
    try:
        sizes = tuple(int(x) for x in text.split(",") if x.strip())
    except ValueError:
        sizes = ()
    if not sizes or min(sizes) < 1:
        raise UsageError(f"--batch {text!r}: give batch sizes as whole numbers of at least 1 "
                         "separated by commas, e.g. --batch 1,8,32")
    return sizes


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("model", metavar="MODEL",
                   help="folder of a saved Hugging Face model (save_pretrained); nothing is "
                        "downloaded")
    p.add_argument("--task", default="text-generation",
                   help="text-generation (default) or text-classification")
    p.add_argument("--batch", default="1,8,32", metavar="SIZES",
                   help="batch sizes, comma-separated (default 1,8,32)")
    p.add_argument("--input-tokens", type=int, metavar="N",
                   help="prompt length: synthetic prompts of N random tokens (default 32), or "
                        "the cut of --dataset prompts")
    p.add_argument("--output-tokens", type=int, default=32, metavar="N",
                   help="new tokens per request at most (default 32)")
    p.add_argument("--ignore-eos", action="store_true",
                   help="generate exactly --output-tokens per request (no early stop)")
    p.add_argument("--requests", type=int, default=32, metavar="N",
                   help="measured requests per repetition, rounded up to whole batches "
                        "(default 32)")
    p.add_argument("--repeat", type=int, default=3, metavar="K",
                   help="repetitions per configuration; their spread is shown (default 3)")
    p.add_argument("--precision", metavar="P",
                   help="fp32, bf16 or fp16; several, comma-separated, compare them (each "
                        "cast from the original weights; default: as saved)")
    p.add_argument("--engine", default="transformers",
                   help="transformers (default); vllm or sglang need the package and a GPU")
    p.add_argument("--dataset", metavar="FILE",
                   help="prompts: JSON Lines with a 'prompt' or 'text' field, or one per line "
                        "(needs the tokenizer saved with the model)")
    p.add_argument("--warmup-max-s", type=float, default=10.0, metavar="S",
                   help="give up waiting for the steady state after S seconds of warm-up "
                        "(default 10; said in the output)")
    p.add_argument("--idle-s", type=float, default=0.0, metavar="S",
                   help="measure idle power for S seconds first (default 0)")
    p.add_argument("--estimate-accelerator", metavar="NAME",
                   help="accelerator the estimator's prediction assumes when no GPU is "
                        "measured here (e.g. H100)")
    p.add_argument("--reference", metavar="FILE",
                   help="reference distribution for the star rating (CSV "
                        "task,model,gpu_energy_wh_per_1k; default: the AI Energy Score "
                        "leaderboard of February 2025, shipped)")
    p.add_argument("--reference-data", action="store_true",
                   help="the --dataset is the task's reference dataset (for the rating)")
    p.add_argument("--threads", type=int, metavar="N",
                   help="CPU threads torch may use (default: torch's own choice)")
    p.add_argument("--project", help="project recorded with the runs")
    p.add_argument("--no-ledger", action="store_true", help="do not record the runs")
    p.add_argument("--json", action="store_true", help="JSON output for scripts")


def handle(args: argparse.Namespace) -> int:
    from ..benchmark import BenchOptions, bench, read_dataset
    from ..benchmark._core import load_model
    from ._common import ledger_path

    sizes = _sizes(args.batch)
    precisions = tuple(x.strip() for x in args.precision.split(",")) if args.precision \
        else (None,)
    opts = BenchOptions(task=args.task, batch_sizes=sizes, input_tokens=args.input_tokens,
                        output_tokens=args.output_tokens, requests=args.requests,
                        repeat=args.repeat, precisions=precisions, engine=args.engine,
                        ignore_eos=args.ignore_eos, idle_s=args.idle_s,
                        warmup_max_s=args.warmup_max_s,
                        estimate_accelerator=args.estimate_accelerator,
                        reference=args.reference, reference_data=args.reference_data,
                        project=args.project,
                        ledger=None if args.no_ledger else ledger_path(args)).check()
    if opts.estimate_accelerator:
        from ..estimate import find_accelerator

        find_accelerator(opts.estimate_accelerator)  # an unknown name stops here
    if opts.reference is not None:
        from ..benchmark import load_reference

        opts.reference = load_reference(opts.reference)
    if args.threads is not None:
        if args.threads < 1:
            raise UsageError(f"--threads {args.threads}: use a whole number of at least 1")
        import torch

        torch.set_num_threads(args.threads)
    prompts = read_dataset(args.dataset) if args.dataset else None
    model, tokenizer = (load_model(args.model, opts.task) if opts.engine == "transformers"
                        else (args.model, None))
    if prompts is not None and tokenizer is None and opts.engine == "transformers":
        raise UsageError(f"--dataset {args.dataset}: the model folder {args.model} has no "
                         "tokenizer; save it there (tokenizer.save_pretrained) or leave "
                         "--dataset out for synthetic prompts")
    import os

    opts.model_name = os.path.basename(os.path.normpath(args.model))
    result = bench(model, tokenizer, prompts, batch_sizes=sizes, options=opts)
    if args.json:
        print(json.dumps(result.to_dict(), indent=1, allow_nan=False, default=str))
        return 0
    print(f"wattprint bench {opts.model_name}: {opts.task}, {opts.engine}, "
          f"{len(result.configs)} configuration(s), {result.duration_s:.1f} s, measuring "
          f"cost {result.overhead_fraction:.2%} of it")
    print(result.summary())
    for c in result.configs:
        for note in c.notes:
            print(f"note: {c.precision} b{c.batch_size}: {note}")
    reasons = {c.prediction["reason"] for c in result.configs if c.prediction.get("reason")}
    for reason in sorted(reasons):
        print(f"note: no prediction: {reason}")
    rated = [c for c in result.configs if c.rating]
    if rated:
        r = rated[0].rating
        print("rating (AI Energy Score method): " + ", ".join(
            f"{c.precision} b{c.batch_size} {c.rating['stars']}/5"
            + (f" (class {c.rating['size_class']})" if c.rating["size_class"] else "")
            for c in rated)
            + f" — {'comparable' if all(c.rating['comparable'] for c in rated) else 'indicative only'}"
            f"; reference: {r['source']}")
        caveats = sorted({x for c in rated for x in c.rating["caveats"]})
        for caveat in caveats:
            print(f"  rating caveat: {caveat}")
    print("basis: measured/modelled = energy from sensors/models; timed = wall clock; "
          "estimated = wattprint's estimator; ± = half the range of the repetitions")
    if not args.no_ledger and result.configs and result.configs[0].run_id:
        ids = " ".join(c.run_id or "" for c in result.configs)
        print(f"recorded: {len(result.configs)} run(s) tagged bench-session:{result.session}; "
              f"side by side: wattprint report {ids}", file=sys.stderr)
    return 0
