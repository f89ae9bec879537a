"""Pre-drawn randomness of one replication: one seeded stream per replication and per source of randomness.

Opportunities are drawn as *candidates* at the highest rate any effort could generate (effort_max x the
normal rate); a rep at effort e works candidate i when u_accept_i < e / effort_max (thinning). Every plan of a
replication therefore sees the same candidates, sizes, cycle times and outcomes (common random numbers),
and a rep working harder works a superset of the opportunities a rep working less would.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spmopt.sim.inputs import SimInputs
from spmopt.sim.params import BehaviourParams

SIM_STREAM = 5
"""Spawn key of the simulator's streams under the scenario seed (the quota stage uses 4)."""

SOURCES = ("arrivals", "stages", "deal_size", "mix", "accept", "timing", "turnover", "skill")

QUARTER_CHECKS = 3
"""Turnover checks at the ends of months 3, 6 and 9."""


def streams(seed: int, replication: int) -> dict[str, np.random.Generator]:
    """One generator per source of randomness for this replication, independent of the plan."""
    return {
        name: np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(SIM_STREAM, replication, k)))
        for k, name in enumerate(SOURCES)
    }


@dataclass(frozen=True, slots=True)
class Candidates:
    """Candidate opportunities of one replication, sorted by arrival day (negative: before the year)."""

    seat: np.ndarray
    unit: np.ndarray
    arrival: np.ndarray
    durations: np.ndarray
    """(n, stages) days in each stage."""
    drop_stage: np.ndarray
    """Stage at whose end the opportunity is lost; `stages` when it is won."""
    size: np.ndarray
    """Deal amount in cents (whole)."""
    product: np.ndarray
    new_logo: np.ndarray
    u_accept: np.ndarray
    u_move: np.ndarray
    """Uniform deciding whether the customer accepts a moved close date."""
    u_turnover: np.ndarray
    """(seats, QUARTER_CHECKS) uniforms of the turnover checks."""
    win_factor: np.ndarray
    size_factor: np.ndarray
    """(seats,) rep skill: multipliers of the last stage's win probability and of deal size."""
    u_win: np.ndarray | None = None
    """The uniform of the last stage's outcome (won when below the win probability), so coaching that raises the
    win probability turns some losses into wins and no win into a loss."""

    def __len__(self) -> int:
        return len(self.arrival)

    def lists(self) -> CandidateLists:
        """Python-list copies of the fields the event callbacks read (scalar list access is several times
        faster than numpy's); make them once per replication and share them across plans."""
        return CandidateLists(
            self.arrival.tolist(),
            [self.durations[:, k].tolist() for k in range(self.durations.shape[1])],
            self.drop_stage.tolist(),
            self.seat.tolist(),
        )


@dataclass(frozen=True, slots=True)
class CandidateLists:
    arrival: list[float]
    durations: list[list[float]]
    """durations[stage][opportunity] (flat per-stage lists are cheaper to build than one list per row)."""
    drop_stage: list[int]
    seat: list[int]


def draw_candidates(inputs: SimInputs, params: BehaviourParams, seed: int, replication: int) -> Candidates:
    """All candidate opportunities from `warmup_days` before the year to `window_days` after it."""
    rng = streams(seed, replication)
    pipe = params.pipeline
    n_seats = len(inputs.seats)
    sigma = params.reps.skill_sigma.value
    skill = rng["skill"].standard_normal((2, n_seats))
    win_factor, size_factor = np.exp(sigma * skill - sigma**2 / 2)
    lo = -pipe.warmup_days.value
    hi = inputs.days + params.timing.window_days.value
    e_max = params.motivation.effort_max.value
    seat_rate = np.bincount(inputs.unit_seat, weights=inputs.unit_rate, minlength=n_seats)
    counts = rng["arrivals"].poisson(e_max * seat_rate * (hi - lo))
    n = int(counts.sum())
    seat = np.repeat(np.arange(n_seats), counts)
    arrival = rng["arrivals"].uniform(lo, hi, size=n)
    unit = np.empty(n, dtype=np.int64)
    order = np.argsort(inputs.unit_seat, kind="stable")
    first = np.searchsorted(inputs.unit_seat[order], np.arange(n_seats + 1))
    u = rng["arrivals"].random(n)
    offset = 0
    for s in range(n_seats):
        units = order[first[s] : first[s + 1]]
        block = slice(offset, offset + counts[s])
        if counts[s]:
            cum = np.cumsum(inputs.unit_rate[units])
            pick = np.searchsorted(cum, u[block] * cum[-1], side="right")
            unit[block] = units[np.minimum(pick, len(units) - 1)]
        offset += counts[s]
    stages = pipe.stages
    durations = np.column_stack(
        [rng["stages"].gamma(st.shape, st.mean_days / st.shape, size=n) for st in stages]
    ).reshape(n, len(stages))
    passing = np.array([st.pass_probability for st in stages])
    p = np.broadcast_to(passing, (n, len(stages))).copy()
    p[:, -1] = np.minimum(1.0, p[:, -1] * win_factor[seat])
    uniforms = rng["stages"].random((n, len(stages)))
    fails = uniforms >= p
    drop = np.where(fails.any(axis=1), fails.argmax(axis=1), len(stages))
    s2 = pipe.deal_size_sigma.value
    mean = inputs.unit_size[unit] * size_factor[seat]
    size = np.maximum(np.rint(mean * np.exp(s2 * rng["deal_size"].standard_normal(n) - s2**2 / 2)), 1.0)
    shares = np.array([m.share for m in pipe.products.values()])
    product = np.minimum(np.searchsorted(np.cumsum(shares), rng["mix"].random(n), side="right"), len(shares) - 1)
    new_logo = rng["mix"].random(n) < pipe.new_logo_share.value
    u_accept = rng["accept"].random(n)
    u_move = rng["timing"].random(n)
    u_turnover = rng["turnover"].random((n_seats, QUARTER_CHECKS))
    # Before the year only normal effort works candidates (u_accept < 1 / effort_max), and only those still open
    # on day 0 matter: dropping the rest changes nothing and halves the warm-up's share of the work.
    last = np.minimum(drop, len(stages) - 1)
    open_on_day0 = arrival + np.take_along_axis(np.cumsum(durations, axis=1), last[:, None], axis=1)[:, 0] >= 0
    keep = (arrival >= 0) | ((u_accept < 1.0 / e_max) & open_on_day0)
    idx = np.flatnonzero(keep)[np.argsort(arrival[keep], kind="stable")]
    return Candidates(
        seat=seat[idx],
        unit=unit[idx],
        arrival=arrival[idx],
        durations=durations[idx],
        drop_stage=drop[idx],
        size=size[idx].astype(np.int64),
        product=product[idx],
        new_logo=new_logo[idx],
        u_accept=u_accept[idx],
        u_move=u_move[idx],
        u_win=uniforms[idx, -1],
        u_turnover=u_turnover,
        win_factor=win_factor,
        size_factor=size_factor,
    )
