"""Synthetic recorded training runs for forecast tests: a power trace (for
:class:`wattprint.testing.ReplaySensor`) and the times at which steps end, with a setup
stretch at idle power, a warm-up (slow, lower power), steady training with per-step
noise and an optional slow drift, and periodic evaluations (different power, no steps).

Shapes and seeds vary; nothing here knows the forecaster's thresholds."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field


@dataclass
class Trace:
    power: list[tuple[float, float]]  # (time_s, power_w), piecewise linear
    step_ends: list[float]  # time at which step i+1 ends
    evals: list[tuple[float, float]] = field(default_factory=list)  # (start, end)
    warmup_steps: int = 0
    description: str = ""

    @property
    def end_s(self) -> float:
        return self.power[-1][0]


def make_trace(seed: int, *, steps: int = 3000) -> Trace:
    rng = random.Random(seed)
    step_s = rng.uniform(0.15, 0.8)  # steady seconds per step
    power_w = rng.uniform(120, 700)
    idle_w = power_w * rng.uniform(0.15, 0.35)
    setup_s = rng.uniform(0, 40)
    warmup_steps = rng.randint(steps // 100, steps // 25)
    warm_slow = rng.uniform(1.5, 4.0)  # warm-up steps take this much longer
    warm_power = rng.uniform(0.5, 0.85)
    eval_every = rng.randint(steps // 50, steps // 25)  # every 2-4 % of the work
    eval_s = rng.uniform(0.2, 0.6) * eval_every * step_s  # evals take 20-60 % of a cycle
    eval_power = rng.uniform(0.4, 0.95)
    drift = rng.uniform(-0.03, 0.03)  # slow change of step time over the run
    noise = rng.uniform(0.03, 0.15)
    t = 0.0
    power: list[tuple[float, float]] = []

    def segment(duration: float, watts: float) -> None:
        nonlocal t
        power.append((t, watts))
        t += duration
        power.append((t - min(1e-3, duration / 10), watts))

    segment(max(setup_s, 0.5), idle_w)
    ends: list[float] = []
    evals: list[tuple[float, float]] = []
    for i in range(1, steps + 1):
        frac = i / steps
        if i <= warmup_steps:
            ramp = 1 + (warm_slow - 1) * (1 - i / warmup_steps)
            dur = step_s * ramp * math.exp(rng.gauss(0, noise))
            w = power_w * (warm_power + (1 - warm_power) * i / warmup_steps)
        else:
            dur = step_s * (1 + drift * frac) * math.exp(rng.gauss(0, noise))
            w = power_w * (1 + rng.gauss(0, 0.04))
        segment(dur, w)
        ends.append(t)
        if i % eval_every == 0:
            start = t
            segment(eval_s * rng.uniform(0.85, 1.15), power_w * eval_power)
            evals.append((start, t))
    power.append((t + 1e-3, idle_w))
    desc = (f"seed {seed}: {step_s:.2f} s/step, {power_w:.0f} W, setup {setup_s:.0f} s, "
            f"warm-up {warmup_steps} steps x{warm_slow:.1f}, eval every {eval_every} steps "
            f"for {eval_s:.0f} s at {eval_power:.0%}, drift {drift:+.1%}, noise {noise:.0%}")
    return Trace(power, ends, evals, warmup_steps, desc)
