"""Pre-drawn randomness of one replication: one seeded stream per replication and per source of randomness.

Opportunities are drawn as *candidates* at the highest rate any effort could generate (effort_max x the
normal rate); a rep at effort e works candidate i when u_accept_i < e / effort_max (thinning). Every plan of a
replication therefore sees the same candidates, sizes, cycle times and outcomes (common random numbers),
and a rep working harder works a superset of the opportunities a rep working less would.

Arrivals follow the plan year's demand (`demand_weights`), shifted earlier by the mean won cycle so that deals
close, at normal effort, in the months the demand falls in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from spmopt.sim.inputs import SimInputs
from spmopt.sim.params import BehaviourParams

SIM_STREAM = 5
"""Spawn key of the simulator's streams under the scenario seed (the quota stage uses 4)."""

SOURCES = ("arrivals", "stages", "deal_size", "mix", "accept", "timing", "turnover", "skill", "last_year")
"""Appended, never reordered: a source's stream is keyed by its index, so adding one leaves the others alone."""

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
    last_year: np.ndarray | None = None
    """(seats,) standard normal draw of last year's sales against expectation, which set the deal timing the year
    opens with (None: no deals carried in)."""

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
    window = params.timing.window_days.value
    hi = inputs.days + window
    e_max = params.motivation.effort_max.value
    seat_rate = np.bincount(inputs.unit_seat, weights=inputs.unit_rate, minlength=n_seats)
    edges, intensity = arrival_intensity(inputs, params, lo, hi)
    counts = rng["arrivals"].poisson(e_max * seat_rate * intensity[-1])
    n = int(counts.sum())
    seat = np.repeat(np.arange(n_seats), counts)
    arrival = np.interp(rng["arrivals"].random(n) * intensity[-1], intensity, edges)
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
    last_year = rng["last_year"].standard_normal(n_seats)
    # Before the year only normal effort works candidates (u_accept < 1 / effort_max), and only those still open
    # `window` days before day 0 matter (the last of them may have been pushed into this year): dropping the rest
    # changes nothing and halves the warm-up's share of the work.
    last = np.minimum(drop, len(stages) - 1)
    ends = arrival + np.take_along_axis(np.cumsum(durations, axis=1), last[:, None], axis=1)[:, 0]
    keep = (arrival >= 0) | ((u_accept < 1.0 / e_max) & (ends >= -window))
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
        last_year=last_year,
    )


def demand_weights(inputs: SimInputs) -> np.ndarray:
    """(12,) opportunity demand of each plan-year month relative to the year's daily mean (day-weighted mean 1).

    It is the quota stage's seasonal profile (`SimInputs.month_weights`, flat by default) averaged
    within each quarter: the profile's within-quarter shape (quarter-end months about 1.2x, first months 0.85x in
    the demo's history) is the period-end bunching that deal timing produces, which the simulator makes itself;
    keeping it in the demand would count it twice."""
    weights = np.asarray(inputs.month_weights, dtype=float)
    if weights.shape != (12,) or not np.all(np.isfinite(weights)) or (weights < 0).any() or weights.sum() <= 0:
        raise ValueError(f"month_weights must be 12 finite non-negative weights, not {weights!r}")
    days = np.diff(inputs.month_days).astype(float)
    # The profile gives each month's share of the year; spread over its quarter's days, it is a daily rate.
    quarterly = np.repeat(weights.reshape(4, 3).sum(axis=1) / days.reshape(4, 3).sum(axis=1), 3)
    return quarterly * days.sum() / (quarterly * days).sum()


def arrival_intensity(
    inputs: SimInputs, params: BehaviourParams, lo: float, hi: float
) -> tuple[np.ndarray, np.ndarray]:
    """Piecewise-constant arrival intensity over [lo, hi) (days, relative to the mean day): interval edges and the
    cumulative intensity at each edge, for inverse-CDF draws. An opportunity arriving on day t closes a mean won
    cycle later, so it follows the demand of day t + cycle (the calendar repeats year on year)."""
    cycle = sum(s.mean_days for s in params.pipeline.stages)
    inner = np.arange(np.floor(lo) + 1, np.ceil(hi))
    edges = np.concatenate([[lo], inner, [hi]])
    mid = (edges[:-1] + edges[1:]) / 2 + cycle
    day = np.mod(mid, inputs.days)
    month = np.minimum(np.searchsorted(inputs.month_days, day, side="right") - 1, 11)
    weight = demand_weights(inputs)[month]
    return edges, np.concatenate([[0.0], np.cumsum(weight * np.diff(edges))])


def concessions(cands: Candidates, params: BehaviourParams) -> np.ndarray:
    """(n,) price concession each candidate's customer asks to close early, a share of its amount: spread evenly
    between 0 and twice `pull_discount` over the customers who accept a move (u_move < movable_share), the
    willing ones asking least; 0 for the rest (they never move)."""
    timing = params.timing
    share = timing.movable_share.value
    if share <= 0:
        return np.zeros(len(cands))
    return np.where(cands.u_move < share, 2 * timing.pull_discount.value * cands.u_move / share, 0.0)
