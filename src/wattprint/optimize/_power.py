"""The GPU power-limit optimiser: profile limits during the first steps of a job, choose
one by an energy-time cost or a maximum slowdown, apply it through NVML, and put the
original limit back on every way out (:class:`~._guard.RestoreGuard`).

    from wattprint.optimize import PowerLimitOptimizer
    with PowerLimitOptimizer(eta=0.5) as opt:      # or max_slowdown=0.05
        for batch in loader:
            train_step(batch)
            opt.step()                             # once per step, at its end
    print(opt.report.summary())

Phases: ``warmup`` (the first ``warmup_steps`` are not measured: compilation, caches),
then for each candidate limit, highest first, ``settle_steps`` unmeasured then
``steps_per_limit`` measured (wall time between :meth:`step` calls; energy from NVML's
total-energy counter, or power × time where the GPU has none); the search stops early
once lower limits only get worse (the cost rose twice, or the slowdown bound is passed).
Then the chosen limit is applied and kept until :meth:`close`, which restores the
original. Without the privilege to set limits (NVML NO_PERMISSION: not root) nothing is
changed: the current limit is measured and the report says the exact fix and what a cap
would save, from published evidence.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

from ..errors import SensorUnavailable, UsageError
from ._choose import LimitProfile, check_knobs, choose, cost
from ._guard import RestoreGuard

__all__ = ["PowerLimitOptimizer", "PowerReport", "NO_PERMISSION_FIX"]

#: What to do when NVML refuses to set a power limit (NVML_ERROR_NO_PERMISSION).
NO_PERMISSION_FIX = (
    "setting a GPU power limit needs root: run the job as root (sudo), or have an admin "
    "apply the limit before the job with `sudo nvidia-smi -i {index} -pl {watts}` (keep "
    "it across jobs with `sudo nvidia-smi -pm 1`); in a container, start it with "
    "--privileged (Docker) or give it CAP_SYS_ADMIN")


@dataclass
class PowerReport:
    """What the optimiser measured and did. ``profiles`` are measured; ``saving_*`` compare
    the chosen limit with the original one (per step, from the profile)."""

    gpus: list[int]
    original_limit_w: list[float]
    constraints_w: tuple[float, float]
    eta: float | None
    max_slowdown: float | None
    profiles: list[LimitProfile] = field(default_factory=list)
    chosen: LimitProfile | None = None
    applied: bool = False
    permission: bool = True
    restored: bool = False
    profiling_steps: int = 0
    profiling_s: float = 0.0
    message: str = ""
    would_save: dict[str, Any] | None = None

    def _at(self, limit_w: float) -> LimitProfile | None:
        return next((p for p in self.profiles if abs(p.limit_w - limit_w) < 0.5), None)

    @property
    def reference(self) -> LimitProfile | None:
        """The profile at the original limit (or the highest tried)."""
        if not self.profiles:
            return None
        return self._at(max(self.original_limit_w)) or max(self.profiles,
                                                           key=lambda p: p.limit_w)

    @property
    def energy_saving_pct(self) -> float | None:
        ref, c = self.reference, self.chosen
        if ref is None or c is None or ref.energy_j <= 0:
            return None
        return (ref.energy_j - c.energy_j) / ref.energy_j * 100

    @property
    def slowdown_pct(self) -> float | None:
        ref, c = self.reference, self.chosen
        if ref is None or c is None or ref.step_s <= 0:
            return None
        return (c.step_s - ref.step_s) / ref.step_s * 100

    def to_dict(self) -> dict[str, Any]:
        return {"gpus": self.gpus, "original_limit_w": self.original_limit_w,
                "constraints_w": list(self.constraints_w), "eta": self.eta,
                "max_slowdown": self.max_slowdown,
                "profiles": [p.to_dict() for p in self.profiles],
                "chosen_limit_w": self.chosen.limit_w if self.chosen else None,
                "applied": self.applied, "permission": self.permission,
                "restored": self.restored, "profiling_steps": self.profiling_steps,
                "profiling_s": self.profiling_s,
                "energy_saving_pct": self.energy_saving_pct,
                "slowdown_pct": self.slowdown_pct, "message": self.message,
                "would_save": self.would_save}

    def summary(self) -> str:
        lines = [f"GPU power limits on GPU(s) {', '.join(map(str, self.gpus))} "
                 f"(settable {self.constraints_w[0]:.0f}–{self.constraints_w[1]:.0f} W, "
                 f"original {', '.join(f'{w:.0f}' for w in self.original_limit_w)} W)"]
        for p in self.profiles:
            mark = "  <- chosen" if self.chosen is not None and p is self.chosen else ""
            lines.append(f"  {p.limit_w:5.0f} W  {p.step_s * 1000:8.1f} ms/step  "
                         f"{p.energy_j:9.1f} J/step  {p.power_w:6.0f} W  (measured, "
                         f"{p.steps} steps){mark}")
        if self.chosen is not None and self.energy_saving_pct is not None:
            lines.append(f"  {self.chosen.limit_w:.0f} W: {self.energy_saving_pct:.1f} % less "
                         f"energy per step, {self.slowdown_pct:+.1f} % step time "
                         f"({'applied' if self.applied else 'NOT applied'})")
        if self.message:
            lines.append(f"  {self.message}")
        return "\n".join(lines)


class PowerLimitOptimizer:
    """See the module docstring. ``gpus``: NVML indices (default: every GPU, or those of
    CUDA_VISIBLE_DEVICES). ``limits_w``: candidate limits per GPU (default: from the
    highest settable down to the lowest in ``step_w`` steps). ``nvml``: the pynvml
    module (default) or a :class:`~wattprint.testing.fake_nvml.FakeNVML`; ``clock``:
    seconds (default ``time.monotonic``)."""

    def __init__(self, gpus: Sequence[int] | None = None, *, eta: float = 0.5,
                 max_slowdown: float | None = None, limits_w: Sequence[float] | None = None,
                 step_w: float = 50.0, warmup_steps: int = 5, settle_steps: int = 1,
                 steps_per_limit: int = 5, nvml: Any = None,
                 clock: Callable[[], float] = time.monotonic, guard_signals: bool = True,
                 log: Callable[[str], None] | None = None) -> None:
        check_knobs(eta, max_slowdown)
        for name, value in (("warmup_steps", warmup_steps), ("settle_steps", settle_steps)):
            if int(value) < 0:
                raise UsageError(f"{name}={value!r}: a number of steps, 0 or more")
        if int(steps_per_limit) < 1:
            raise UsageError(f"steps_per_limit={steps_per_limit!r}: at least 1 step")
        if step_w <= 0:
            raise UsageError(f"step_w={step_w!r}: watts between candidate limits, above 0")
        self.eta, self.max_slowdown = eta, max_slowdown
        self._want_gpus = list(gpus) if gpus is not None else None
        self._limits_w = sorted({float(w) for w in limits_w}, reverse=True) if limits_w else None
        self.step_w = float(step_w)
        self.warmup_steps, self.settle_steps = int(warmup_steps), int(settle_steps)
        self.steps_per_limit = int(steps_per_limit)
        self._nvml, self._clock, self._guard_signals = nvml, clock, guard_signals
        self._log = log or (lambda text: print(f"wattprint: {text}", file=sys.stderr))
        self._handles: list[Any] = []
        self._guard: RestoreGuard | None = None
        self._state = "new"
        self._candidates: list[float] = []
        self._index = 0
        self._count = 0
        self._mark: tuple[float, float] | None = None
        self._energy_fallback: list[float] | None = None
        self._t_start: float | None = None
        self._rises = 0
        self.report: PowerReport | None = None
        self.steps = 0

    # -- lifecycle -------------------------------------------------------------------------
    def __enter__(self) -> "PowerLimitOptimizer":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.close()

    def start(self) -> "PowerLimitOptimizer":
        if self._state != "new":
            return self
        nvml = self._nvml
        if nvml is None:
            try:
                import pynvml as nvml  # type: ignore[no-redef]
            except ImportError as err:
                raise SensorUnavailable("the power optimiser needs NVIDIA's NVML",
                                        source="nvml", reason="no_library",
                                        fix="pip install nvidia-ml-py") from err
            self._nvml = nvml
        try:
            nvml.nvmlInit()
        except nvml.NVMLError as err:
            raise SensorUnavailable(f"no NVIDIA GPU/driver for the power optimiser: "
                                    f"{err}", source="nvml", reason="driver",
                                    fix="run where an NVIDIA GPU and its driver are "
                                        "present (wattprint doctor shows what is found)"
                                    ) from err
        indices = self._want_gpus if self._want_gpus is not None else _visible(nvml)
        if not indices:
            nvml.nvmlShutdown()
            raise SensorUnavailable("no NVIDIA GPU to tune: NVML lists none (or none is "
                                    "visible in CUDA_VISIBLE_DEVICES)", source="nvml",
                                    reason="not_present")
        self._handles = [nvml.nvmlDeviceGetHandleByIndex(i) for i in indices]
        original = [nvml.nvmlDeviceGetPowerManagementLimit(h) / 1000.0 for h in self._handles]
        cons = [nvml.nvmlDeviceGetPowerManagementLimitConstraints(h) for h in self._handles]
        lo, hi = max(c[0] for c in cons) / 1000.0, min(c[1] for c in cons) / 1000.0
        self.report = PowerReport(list(indices), original, (lo, hi), self.eta,
                                  self.max_slowdown)
        self._candidates = self._candidate_limits(lo, hi)
        permission = self._try_set(original)  # setting the current value: a no-op test
        self.report.permission = permission
        if permission:
            self._guard = RestoreGuard(self._restore).install(signals=self._guard_signals)
        else:
            self._candidates = [max(original)]  # measure what runs now, change nothing
            idx = self.report.gpus[0] if self.report.gpus else 0
            self._log("cannot set GPU power limits (NVML: Insufficient Permissions); "
                      "profiling the current limit only. Fix: "
                      + NO_PERMISSION_FIX.format(index=idx, watts="W"))
        self._state = "warmup" if self.warmup_steps else "settle"
        self._count = 0
        return self

    def _candidate_limits(self, lo: float, hi: float) -> list[float]:
        if self._limits_w is not None:
            bad = [w for w in self._limits_w if not lo <= w <= hi]
            if bad:
                raise UsageError(f"power limit {bad[0]:g} W is outside what the GPU accepts "
                                 f"({lo:g}–{hi:g} W); give limits within that range")
            return list(self._limits_w)
        out, w = [], hi
        while w >= lo - 1e-9:
            out.append(round(w, 3))
            w -= self.step_w
        return out

    def _try_set(self, limits_w: Sequence[float]) -> bool:
        nvml = self._nvml
        try:
            for h, w in zip(self._handles, limits_w):
                nvml.nvmlDeviceSetPowerManagementLimit(h, int(round(w * 1000)))
        except nvml.NVMLError as err:
            if getattr(err, "value", None) == nvml.NVML_ERROR_NO_PERMISSION:
                return False
            raise SensorUnavailable(f"NVML refused the power limit: {err}", source="nvml",
                                    reason="driver") from err
        return True

    def _set_all(self, limit_w: float) -> None:
        self._try_set([limit_w] * len(self._handles))

    def _restore(self) -> None:
        if self.report is None or not self.report.permission:
            return
        try:
            self._try_set(self.report.original_limit_w)
            self.report.restored = True
        except Exception as err:  # noqa: BLE001 - say it loudly: the GPU stays capped
            idx = ", ".join(map(str, self.report.gpus))
            self._log(f"could not restore the original power limit of GPU(s) {idx} "
                      f"({err}); restore it with `sudo nvidia-smi -i {idx} -pl "
                      f"{max(self.report.original_limit_w):.0f}`")

    def close(self) -> None:
        """Restore the original limits (once) and release NVML."""
        if self._state in ("new", "closed"):
            return
        if self._guard is not None:
            self._guard.run()
            self._guard.uninstall()
        self._state = "closed"
        try:
            self._nvml.nvmlShutdown()
        except Exception:  # noqa: BLE001 - nothing left to do with NVML
            pass

    # -- measuring -------------------------------------------------------------------------
    def _energy_j(self) -> float:
        nvml, total = self._nvml, 0.0
        for i, h in enumerate(self._handles):
            try:
                total += nvml.nvmlDeviceGetTotalEnergyConsumption(h) / 1000.0
            except nvml.NVMLError:  # no counter (pre-Volta): power now × time since last
                total += self._power_energy(i, h)
        return total

    def _power_energy(self, i: int, h: Any) -> float:
        now = self._clock()
        if self._energy_fallback is None:
            self._energy_fallback = [0.0] * len(self._handles) * 2
        acc, last = self._energy_fallback[2 * i], self._energy_fallback[2 * i + 1]
        power_w = self._nvml.nvmlDeviceGetPowerUsage(h) / 1000.0
        if last:
            acc += power_w * (now - last)
        self._energy_fallback[2 * i:2 * i + 2] = [acc, now]
        return acc

    def step(self) -> None:
        """Call once per step, when it ends. Cheap once the choice is made."""
        self.steps += 1
        if self._state in ("done", "closed", "new"):
            return
        if self._t_start is None:
            self._t_start = self._clock()
        self._count += 1
        if self._state == "warmup":
            if self._count >= self.warmup_steps:
                self._begin_candidate()
            return
        if self._state == "settle":
            if self._count >= self.settle_steps:
                self._mark = (self._clock(), self._energy_j())
                self._state, self._count = "measure", 0
            return
        if self._state == "measure" and self._count >= self.steps_per_limit:
            self._finish_candidate()

    def _begin_candidate(self) -> None:
        assert self.report is not None
        if self.report.permission:
            self._set_all(self._candidates[self._index])
        self._count = 0
        self._state = "settle"
        if self.settle_steps == 0:
            self._mark = (self._clock(), self._energy_j())
            self._state = "measure"

    def _finish_candidate(self) -> None:
        assert self.report is not None and self._mark is not None
        t0, e0 = self._mark
        t1, e1 = self._clock(), self._energy_j()
        n = self._count
        profile = LimitProfile(self._candidates[self._index], (t1 - t0) / n,
                               max(0.0, e1 - e0) / n, n)
        self.report.profiles.append(profile)
        if self._stop_search(profile) or self._index + 1 >= len(self._candidates):
            self._decide()
            return
        self._index += 1
        self._begin_candidate()

    def _stop_search(self, latest: LimitProfile) -> bool:
        """Lower limits only get slower; stop when they cannot win any more."""
        assert self.report is not None
        profiles = self.report.profiles
        ref = profiles[0]
        if self.max_slowdown is not None:
            return latest.step_s > ref.step_s * (1.0 + self.max_slowdown)
        p_max = ref.limit_w * len(self._handles)
        best = min(cost(p, self.eta, p_max) for p in profiles[:-1]) if len(profiles) > 1 \
            else None
        if best is not None and cost(latest, self.eta, p_max) > best:
            self._rises += 1
        else:
            self._rises = 0
        return self._rises >= 2

    def _decide(self) -> None:
        report = self.report
        assert report is not None
        report.profiling_steps = self.steps
        report.profiling_s = self._clock() - (self._t_start or self._clock())
        self._state = "done"
        if not report.permission:
            from ..reduce.evidence import POWER_CAP

            report.chosen = report.profiles[-1]
            ref = report.profiles[-1]
            report.would_save = {
                "energy_j_per_step_low": ref.energy_j * POWER_CAP.low,
                "energy_j_per_step_high": ref.energy_j * POWER_CAP.high,
                "energy_pct": [POWER_CAP.low * 100, POWER_CAP.high * 100],
                "slowdown_pct": POWER_CAP.time_pct, "source": POWER_CAP.source,
                "basis": "estimated (published evidence, not this job's profile)"}
            report.message = (
                f"no limit applied: no permission. A power cap would save "
                f"{POWER_CAP.low:.0%}–{POWER_CAP.high:.0%} of the energy "
                f"({ref.energy_j * POWER_CAP.low:.0f}–{ref.energy_j * POWER_CAP.high:.0f} J "
                f"per step here) for about {POWER_CAP.time_pct:+.0f} % time "
                f"({POWER_CAP.source}). Fix: "
                + NO_PERMISSION_FIX.format(index=report.gpus[0] if report.gpus else 0,
                                           watts=int(max(report.original_limit_w) * 0.6)))
            self._log(report.message)
            return
        report.chosen = choose(report.profiles, eta=self.eta if self.eta is not None else 0.5,
                               max_slowdown=self.max_slowdown, gpus=len(self._handles))
        self._set_all(report.chosen.limit_w)
        report.applied = True
        rule = (f"max_slowdown={self.max_slowdown:g}" if self.max_slowdown is not None
                else f"eta={self.eta:g}")
        report.message = f"chosen by {rule} after {len(report.profiles)} limits"
        self._log(f"power limit {report.chosen.limit_w:.0f} W applied ({rule}): "
                  f"{report.energy_saving_pct or 0:.1f} % less energy per step, "
                  f"{report.slowdown_pct or 0:+.1f} % step time; the original "
                  f"{max(report.original_limit_w):.0f} W comes back at the end")


def _visible(nvml: Any) -> list[int]:
    """The GPUs this process may tune: those of CUDA_VISIBLE_DEVICES (all when unset); in a
    distributed job (WORLD_SIZE > 1 and LOCAL_RANK set) only the local rank's one."""
    import os

    count = nvml.nvmlDeviceGetCount()
    visible = _listed(os.environ.get("CUDA_VISIBLE_DEVICES"), count)
    rank, world = os.environ.get("LOCAL_RANK", ""), os.environ.get("WORLD_SIZE", "1")
    if rank.isdigit() and world.isdigit() and int(world) > 1 and int(rank) < len(visible):
        return [visible[int(rank)]]
    return visible


def _listed(text: str | None, count: int) -> list[int]:
    if text is None or not text.strip():
        return list(range(count))
    out = []
    for part in text.split(","):
        part = part.strip()
        if part.isdigit() and int(part) < count:
            out.append(int(part))
    return out or list(range(count))
