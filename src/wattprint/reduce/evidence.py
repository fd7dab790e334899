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

__all__ = ["Evidence", "POWER_CAP", "DISTILLATION", "CHINCHILLA", "CHINCHILLA_REPLICATION",
           "SCALING_FITS", "FINETUNE_TOKEN_SHARE", "ALL"]


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

ALL = (POWER_CAP, DISTILLATION)

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
