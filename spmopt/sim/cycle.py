"""The won-deal cycle of the pipeline: its length distribution, the expected part of it that falls past a date,
and the lag between a new rep's first day and their first closed deals (used by the quota ramp and the
simulator alike, so both stages see one sales cycle)."""

from __future__ import annotations

from functools import cache

import numpy as np
from scipy import signal, stats

from spmopt.config import SimulationConfig
from spmopt.quota.periods import PipelineLag
from spmopt.sim.params import BehaviourParams, load_behaviour

_DENSITY_STEP = 0.01
"""Days between the points the stage densities are convolved on."""
_LAG_TAIL = 1e-9
"""Probability mass of the longest cycles left out of a `PipelineLag`."""


Stages = tuple[tuple[float, float], ...]
"""(mean days, Gamma shape) of each pipeline stage."""


def _stages(params: BehaviourParams) -> Stages:
    return tuple((s.mean_days, s.shape) for s in params.pipeline.stages)


def _won_cycle_density(stages: Stages, horizon: float) -> tuple[np.ndarray, np.ndarray]:
    """Grid and density of the total won cycle D (sum of the Gamma stage durations) on [0, horizon)."""
    x = np.arange(0.0, horizon, _DENSITY_STEP)
    density = None
    for mean, shape in stages:
        f = stats.gamma.pdf(x, shape, scale=mean / shape)
        density = f if density is None else signal.fftconvolve(density, f)[: len(x)] * _DENSITY_STEP
    assert density is not None
    return x, density


def cycle_tail(params: BehaviourParams, beyond: float) -> float:
    """E[(D - beyond)^+] in days for the total won cycle D."""
    stages = _stages(params)
    x, density = _won_cycle_density(stages, beyond + 40 * sum(m for m, _ in stages))
    return float(np.sum(np.maximum(x - beyond, 0.0) * density) * _DENSITY_STEP)


def pipeline_lag(params: BehaviourParams) -> PipelineLag:
    """The daily distribution of a won opportunity's cycle, from arrival to close (the delay between a new rep's
    first day and their first closed deals)."""
    names = ", ".join(f"{s.name} {s.mean_days:g} d" for s in params.pipeline.stages)
    return PipelineLag(daily=_daily_cycle(_stages(params)), source=f"won-deal cycle of the pipeline stages ({names})")


def scenario_lag(simulation: SimulationConfig | None) -> PipelineLag | None:
    """The lag a new rep's quota ramp allows for: the won-deal cycle of the simulation's behaviour file (None
    without a simulation, when the quota stage has no sales cycle to go by and ramps on work alone)."""
    if simulation is None:
        return None
    return pipeline_lag(load_behaviour(simulation.behaviour))


@cache
def _daily_cycle(stages: Stages) -> tuple[float, ...]:
    """P(D in [d, d + 1)) for d = 0, 1, ..., the last `_LAG_TAIL` of mass left out (computed once per process
    for each stage set: every plan context and replication asks again)."""
    _, density = _won_cycle_density(stages, 40 * sum(m for m, _ in stages))
    per_day = int(round(1 / _DENSITY_STEP))
    cdf = np.concatenate([[0.0], np.cumsum(density) * _DENSITY_STEP])[::per_day]
    cdf = np.minimum(cdf / cdf[-1], 1.0)
    last = int(np.searchsorted(cdf, 1.0 - _LAG_TAIL)) + 1
    daily = np.diff(cdf[: last + 1])
    return tuple(float(v) for v in daily / daily.sum())
