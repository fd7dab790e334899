"""Power of one accelerator and its share of the host, as priors in watts.

Training draw: a fraction of TDP by accelerator class (Google's measured chip power for
TPU v3/v4). Host share: the reference server's non-accelerator rating per accelerator
(NVIDIA DGX datasheets) × how much of it is drawn — or, for TPUs, a host per four chips.
"""

from __future__ import annotations

from .._format import format_number, format_power
from .catalogue import Accelerator
from ._priors import (HOST_RATIO_DEFAULT, HOST_UTILISATION, TPU_HOST_W, TPU_MEASURED_SOURCE,
                      TPU_MEASURED_W, TRAIN_DRAW_TPU, Prior, reference_server,
                      train_draw_fraction)
from ..errors import UsageError

__all__ = ["training_draw_w", "host_rating_w", "host_draw_w", "require_tdp", "tdp_text",
           "is_cap"]


#: A power limit below this share of a catalogued part's TDP is refused: no accelerator
#: can be capped that low (NVIDIA's data-centre GPUs accept limits down to roughly a
#: quarter to a third of their TDP), so it is a unit slip or a typo, not a cap.
LOWEST_CAP_SHARE = 0.1


def require_tdp(acc: Accelerator, tdp_w: float | None) -> float:
    """The power limit the draw is a fraction of: ``tdp_w`` when given (the part's TDP, or a
    cap set on it), else the catalogue's TDP."""
    tdp = tdp_w if tdp_w is not None else acc.tdp_w
    if not tdp:
        raise UsageError(f"the catalogue has no TDP for {acc.name}; pass tdp_w= (--tdp) or a "
                         "measured accelerator power")
    if acc.tdp_w and tdp < LOWEST_CAP_SHARE * acc.tdp_w:
        raise UsageError(f"a power limit of {format_power(tdp)} is below a tenth of the "
                         f"{acc.name}'s TDP ({format_power(acc.tdp_w)}): no accelerator can "
                         "be capped that low. Give the limit in watts (tdp_w=, --tdp), e.g. "
                         f"{format_number(acc.tdp_w / 2)}")
    return float(tdp)


def is_cap(acc: Accelerator, tdp_w: float | None) -> bool:
    """Whether a given ``tdp_w`` is a power cap: below the catalogued part's TDP."""
    return bool(tdp_w and acc.tdp_w and tdp_w < acc.tdp_w)


def tdp_text(acc: Accelerator, tdp_w: float | None) -> str:
    """The power limit as an estimate's assumptions state it: ``"TDP 700 W"``, ``"TDP
    400 W, capped at 350 W (given)"``, ``"TDP 500 W (given; the catalogue says 400 W)"``."""
    if is_cap(acc, tdp_w):
        return f"TDP {format_power(acc.tdp_w)}, capped at {format_power(tdp_w)} (given)"
    if tdp_w and acc.tdp_w and tdp_w != acc.tdp_w:
        return f"TDP {format_power(tdp_w)} (given; the catalogue says {format_power(acc.tdp_w)})"
    if tdp_w or acc.tdp_w:
        return f"TDP {format_power(tdp_w or acc.tdp_w)}{' (given)' if tdp_w else ''}"
    return "TDP unknown"


def training_draw_w(acc: Accelerator, tdp_w: float | None = None,
                    params: float | None = None) -> Prior:
    """Average accelerator draw (W) during training: measured chip power for TPU v3/v4,
    else a fraction of TDP (TPU prior; GPU-class: by model size, ``params`` when known)."""
    if acc.name in TPU_MEASURED_W and tdp_w is None:
        lo, mean, hi = TPU_MEASURED_W[acc.name]
        return Prior(f"{acc.name} measured chip power", mean, lo, hi, "W",
                     TPU_MEASURED_SOURCE)
    tdp = require_tdp(acc, tdp_w)
    prior = TRAIN_DRAW_TPU if acc.kind == "tpu" else train_draw_fraction(params)
    return Prior(prior.name, prior.central * tdp, prior.low * tdp, prior.high * tdp, "W",
                 f"{format_number(prior.central)} × TDP {format_power(tdp)} (range "
                 f"{format_number(prior.low)}–{format_number(prior.high)} × TDP): "
                 f"{prior.source}")


def host_rating_w(acc: Accelerator, tdp_w: float | None = None) -> Prior:
    """The non-accelerator server rating per accelerator (W): from the reference server
    where one applies, else a share of TDP; TPUs: the host share per chip directly. A
    ``tdp_w`` below a catalogued part's TDP is a power cap on the accelerators: the server
    around them is the part's, so its datasheet TDP sizes the host."""
    if acc.kind == "tpu":
        return TPU_HOST_W
    tdp = acc.tdp_w or require_tdp(acc, tdp_w)
    ref = reference_server(acc.name, tdp)
    if ref is not None:
        watts, source = ref
        return Prior("non-accelerator server rating", watts, watts, watts, "W",
                     f"{source} → {format_power(watts)} per accelerator besides the "
                     "accelerator")
    p = HOST_RATIO_DEFAULT
    return Prior(p.name, p.central * tdp, p.low * tdp, p.high * tdp, "W",
                 f"no reference server for {acc.name}: {format_number(p.central)} × TDP "
                 f"(range {format_number(p.low)}–{format_number(p.high)}); {p.source}")


def host_draw_w(acc: Accelerator, tdp_w: float | None = None,
                utilisation: Prior = HOST_UTILISATION) -> tuple[Prior, Prior]:
    """(rating prior, utilisation prior) of the host share; TPUs: (host W, 1)."""
    rating = host_rating_w(acc, tdp_w)
    if acc.kind == "tpu":
        return rating, Prior("host draw", 1.0, 1.0, 1.0, "×", "included in the host share")
    return rating, utilisation
