"""Published evidence behind the levers' savings: every constant with its source and
year. A lever whose saving comes from the estimator names the estimator instead; these
are the figures that do not.

Each :class:`Evidence` is a saving range as fractions of energy (``low``..``high``),
what it costs in time (``time_pct``, + = slower), how strong it is (``strength``:
``measured-study`` — a peer-reviewed measurement of the lever; ``model`` — a fitted law;
``weak`` — one result, or a setting unlike most jobs) and where it comes from.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Evidence", "POWER_CAP", "DISTILLATION", "PRUNING_2_4", "SPARSE_2_4_THROUGHPUT",
           "SPARSE_2_4_PEAK", "CHINCHILLA", "CHINCHILLA_REPLICATION", "SCALING_FITS",
           "FINETUNE_TOKEN_SHARE", "ALL"]


@dataclass(frozen=True)
class Evidence:
    key: str
    low: float
    high: float
    time_pct: float | None
    strength: str
    source: str
    note: str = ""


#: GPU power capping: training BERT-class models on V100s capped at 150 W (of 250 W)
#: used 12–15 % less energy and took about 3 % longer. Zhao, Samsi, McDonald et al.
#: (MIT Lincoln Laboratory Supercomputing Center), "Sustainable Supercomputing for AI:
#: GPU Power Capping at HPC Scale", ACM SoCC 2023.
POWER_CAP = Evidence(
    "power_cap", 0.12, 0.15, 3.0, "measured-study",
    "Zhao et al., GPU Power Capping at HPC Scale, ACM SoCC 2023 (MIT LLSC)",
    "V100s capped at 150 W; other GPUs and workloads differ: profile yours "
    "(wattprint.optimize)")

#: Distillation: DistilBERT keeps 97 % of BERT's language-understanding score with 40 %
#: fewer parameters and 60 % faster inference (time per input × 1/1.6 → 37.5 % less).
#: Sanh, Debut, Chaumond, Wolf, "DistilBERT, a distilled version of BERT", 2019
#: (arXiv:1910.01108).
DISTILLATION = Evidence(
    "distillation", 0.375, 0.40, -37.5, "weak",
    "Sanh et al., DistilBERT, arXiv:1910.01108 (2019)",
    "one model family (BERT-base → 6 layers); costs a distillation run and ~3 % of the "
    "task score")

#: Compute-optimal training: the loss fit L(N, D) = E + A / N^alpha + B / D^beta with
#: E = 1.69, A = 406.4, B = 410.7, alpha = 0.34, beta = 0.28 (Hoffmann et al., "Training
#: Compute-Optimal Large Language Models", NeurIPS 2022, approach 3).
CHINCHILLA = {"E": 1.69, "A": 406.4, "B": 410.7, "alpha": 0.34, "beta": 0.28,
              "source": "Hoffmann et al., Training Compute-Optimal LLMs (Chinchilla), "
                        "NeurIPS 2022, approach 3 fit"}

#: Pruning for inference to 2:4 structured sparsity (two of every four weights zero).
#: The hardware bound: NVIDIA's Sparse Tensor Cores (Ampere, 2020, and newer) run a 2:4
#: sparse matrix product at twice the dense math throughput. Mishra, Albericio Latorre,
#: Pool et al. (NVIDIA), "Accelerating Sparse Deep Neural Networks", arXiv:2104.08378
#: (2021), abstract. A bound on the matrix products alone, never reached end to end.
SPARSE_2_4_PEAK = 2.0

#: Measured end to end: Neural Magic's 2:4 Sparse Llama 3.1 8B served by vLLM (CUTLASS
#: sparse kernels) on NVIDIA Hopper GPUs: on average 20 % more throughput and 30 % less
#: latency from the sparsity alone. Neural Magic, "2:4 Sparse Llama FP8: SOTA Performance
#: for NVIDIA Hopper GPUs", blog, 18 Dec 2024 (the vendor's own measurement, one model).
SPARSE_2_4_THROUGHPUT = 1.20

#: The energy saving DERIVED from that throughput: at similar power, energy per request
#: goes as 1 / throughput, so 1 − 1/1.2 ≈ 16.7 %. The range starts at 0: the gain needs
#: 2:4 kernels in the serving stack; the usual unstructured pruning "cannot use the vector
#: and matrix instructions" of GPUs and standard sparse formats are "inefficient for all but
#: high sparsities" (NVIDIA Technical Blog, "Accelerating Inference with Sparsity Using the
#: NVIDIA Ampere Architecture and NVIDIA TensorRT", updated 20 Jul 2021): no saving is
#: counted for it. Accuracy falls with one-shot pruning: LLaMA-2-7B WikiText perplexity
#: 5.12 dense → 11.02 at 2:4 with Wanda, 10.17 with SparseGPT, 6.42 at 50 % unstructured
#: with Wanda (Sun, Liu, Bair, Kolter, "A Simple and Effective Pruning Approach for Large
#: Language Models" (Wanda), arXiv:2306.11695, 2023, the repository's LLaMA-2 table;
#: Frantar & Alistarh, SparseGPT, ICML 2023, arXiv:2301.00774). Training after pruning
#: recovers most of it, at a cost: Neural Magic's Sparse-Llama-3.1-8B-2of4 (SparseGPT, then
#: 13B tokens of distillation) scores 62.16 on OpenLLM v1 against 63.19 dense, 98.37 %
#: (model card, Nov 2024).
#: Time: the same requests take 1/1.2 of the time at full load (−16.7 %, derived).
PRUNING_2_4 = Evidence(
    "pruning", 0.0, 1 - 1 / SPARSE_2_4_THROUGHPUT, -100 * (1 - 1 / SPARSE_2_4_THROUGHPUT),
    "weak",
    "Mishra et al., Accelerating Sparse Deep Neural Networks, arXiv:2104.08378 (2021); "
    "Neural Magic, 2:4 Sparse Llama FP8 on Hopper (blog, 2024); accuracy: Sun et al., "
    "Wanda, arXiv:2306.11695 (2023), Frantar & Alistarh, SparseGPT, arXiv:2301.00774 "
    "(ICML 2023)",
    "2:4 sparsity on NVIDIA Ampere or newer with 2:4 kernels in the serving stack (vLLM, "
    "TensorRT); accuracy drops (LLaMA-2-7B perplexity 5.12 → 10.17–11.02 at 2:4, one-shot) "
    "unless the sparse model is trained further (Neural Magic: 13B tokens for 98 % of the "
    "dense score); unstructured sparsity rarely runs faster on a GPU")

ALL = (POWER_CAP, DISTILLATION, PRUNING_2_4)

#: A replication of the Chinchilla fit: E = 1.82, A = 482.01, B = 2085.43,
#: alpha = 0.3478, beta = 0.3658 (Besiroglu, Erdil, Barnett, You, "Chinchilla Scaling: A
#: replication attempt", arXiv:2404.10102, 2024). The two fits bound the saving.
CHINCHILLA_REPLICATION = {"E": 1.82, "A": 482.01, "B": 2085.43, "alpha": 0.3478,
                          "beta": 0.3658,
                          "source": "Besiroglu et al., Chinchilla Scaling: a replication "
                                    "attempt, arXiv:2404.10102 (2024)"}
SCALING_FITS = (CHINCHILLA, CHINCHILLA_REPLICATION)

#: Fine-tuning instead of pretraining: the share of the pretraining tokens a fine-tune
#: uses. An ASSUMPTION (0.1 %–1 %), not a measurement: fine-tunes range from thousands of
#: examples to continued pretraining. The advisor labels it so and asks for the real count.
FINETUNE_TOKEN_SHARE = (0.001, 0.01)
