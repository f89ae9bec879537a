"""A plan in seconds for any design: region growing, then local search that keeps territories connected.

Works on every shape the engine accepts: any number of balance measures and bands, fixed rep bases or
chosen centres, unequal target shares, locks, a disruption cap or penalty, distance or cut-edge
compactness, contiguity on or off. It is the first step of every method (their MIP start) and the
answer of last resort when a method finds nothing better.

Search state: each unit's territory slot a(i). Two quantities are kept exactly as moves are made:

* violation V = sum_b sum_t (e_bt / s_b)^2 + (e_cap / W)^2, where e_bt is how far territory t's total of
  measure b lies outside [L_bt, U_bt], s_b the measure's mean target, e_cap the moved weight above the
  disruption cap and W the measure's total. Squares make spreading an excess strictly better than
  holding it, so chains of moves carry it to territories with room.
* cost F = sum_i w_i d(i, site(a(i))) (or the number of cut edges) + price * moved weight.

A move or swap is taken when it lowers V, or leaves V unchanged and lowers F (lexicographic). Under
contiguity a unit leaves a territory only if the rest stays connected (a breadth-first check from one
neighbour to the others) and joins only a territory it touches; roots (rep home units, chosen centres)
and locked units never move. Effort is counted in passes and starts, never in seconds, so the same
design gives the same plan whatever the machine load; the deadline is only a safety net.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from spmopt.optim.deadline import Deadline
from spmopt.territory.arrays import TerritoryArrays
from spmopt.territory.heuristic_moves import kick, local_search, rebuild
from spmopt.territory.heuristic_start import grow, initial_centres, recentre, repair
from spmopt.territory.heuristic_state import EPS_V, Search

LATER_KICKS = 12
"""Kicks of a start made after another start has already met every band."""


@dataclass(frozen=True, slots=True)
class Effort:
    """Work limits of the search (deterministic)."""

    starts: int = 4
    """Constructions tried: growth, today's alignment when there is one, then growth with seeded noise."""
    passes: int = 40
    """Local-search passes over all units per round."""
    kicks: int = 40
    """Perturbation rounds when a start is still outside its bands."""
    recentre_rounds: int = 6
    """Chosen centres: medoid updates followed by local search."""
    seed: int = 0


@dataclass(frozen=True, slots=True)
class HeuristicPlan:
    """A slot per unit, the centre site of each slot, and how good it is."""

    slot: np.ndarray
    site: np.ndarray
    """Site index serving each slot (the slot itself for rep bases, the centre unit when chosen)."""
    cost: float
    violation: float
    feasible: bool
    seconds: float
    details: dict[str, object] = field(default_factory=dict)


def _distance_cost(arr: TerritoryArrays) -> np.ndarray:
    cost = arr.dense_cost()
    if cost is None:
        raise MemoryError("design too large for the dense heuristic")
    if arr.cut_edges:  # cut-edge designs still grow by distance; km is the tie-breaker
        cost = np.full((arr.n, arr.m), np.inf)
        cost[arr.pair_unit, arr.pair_site] = arr.pair_km
    return cost


def design_heuristic(
    arr: TerritoryArrays,
    time_limit: float = 30.0,
    effort: Effort = Effort(),
    start: tuple[np.ndarray, np.ndarray] | None = None,
) -> HeuristicPlan:
    """The best plan over `effort.starts` constructions (or from `start`: slots and sites), each improved.

    Returns the plan with the least violation, then the least cost; `feasible` says whether every band,
    lock, cap and (under contiguity) connection holds.
    """
    deadline = Deadline.after(time_limit)
    cost = _distance_cost(arr)
    s = Search(arr, cost, deadline)
    rng = np.random.default_rng(effort.seed)
    best: tuple[float, float, list[int], list[int]] | None = None
    tried = 0
    plans = [("given", 0.0)] if start is not None else []
    if start is None:
        plans += [("grow", 0.0)]
        if (arr.current >= 0).sum() == arr.n and arr.fixed:
            plans.append(("current", 0.0))
        plans += [("grow", 0.3 * (r + 1)) for r in range(max(effort.starts - len(plans), 0))]
    for kind, noise in plans:
        if s.timed_out() and best is not None:
            break
        tried += 1
        if kind in ("given", "current"):
            slots = start[0] if kind == "given" else arr.current
            site = start[1].tolist() if kind == "given" else list(range(arr.k))
            s.load(np.where(arr.lock >= 0, arr.lock, slots).tolist(), site)
            repair(s)
        else:
            site = list(range(arr.k)) if arr.fixed else initial_centres(arr, cost, rng, noise)
            grow(s, site, rng, noise)
            repair(s)
        # Once a start has met every band, later starts only compete on cost: fewer kicks for them.
        in_hand = best is not None and best[0] <= EPS_V
        _improve(s, dataclasses.replace(effort, kicks=min(effort.kicks, LATER_KICKS)) if in_hand else effort, rng)
        v, f = s.violation(), s.cost()
        if best is None or (v, f) < (best[0], best[1]):
            best = (v, f, list(s.a), list(s.site))
    v, f, a, site = best
    s.load(a, site)
    locked = bool(np.all((arr.lock < 0) | (np.array(a) == arr.lock)))
    eligible = all(np.isfinite(cost[i, site[t]]) for i, t in enumerate(a))
    connected = not arr.contiguity or all(s.connected_slot(t) for t in range(arr.k))
    feasible = v <= EPS_V and locked and eligible and connected
    return HeuristicPlan(
        slot=np.array(a, dtype=np.int64),
        site=np.array(site, dtype=np.int64),
        cost=f,
        violation=v,
        feasible=bool(feasible),
        seconds=deadline.elapsed(),
        details={"starts": tried, "moves": s.moves, "timed_out": s.timed_out()},
    )


def _improve(s: Search, effort: Effort, rng: np.random.Generator) -> None:
    """Local search; kicks while bands are missed; medoid rounds when centres are chosen."""
    local_search(s, effort.passes, rng)
    kicks = 0
    best = (s.violation(), s.cost(), list(s.a))
    while best[0] > EPS_V and kicks < effort.kicks and not s.timed_out():
        missed = s.missed_slots()
        if missed and kicks % 2 == 0:
            rebuild(s, missed[kicks // 2 % len(missed)], small_first=kicks % 4 == 2)
        else:
            kick(s, rng, strength=max(3, s.n // (20 * max(s.k, 1))))
        local_search(s, effort.passes, rng)
        if (s.violation(), s.cost()) < best[:2]:
            best = (s.violation(), s.cost(), list(s.a))
        kicks += 1
    s.load(best[2], s.site)
    if not s.fixed:
        for _ in range(effort.recentre_rounds):
            if s.timed_out() or not recentre(s):
                break
            repair(s)
            local_search(s, effort.passes, rng)
