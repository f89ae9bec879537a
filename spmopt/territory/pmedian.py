"""Uncapacitated p-median (chosen centres, weighted distance, no other side constraints), solved exactly.

Four steps, each a valid piece of an optimality proof:
1. greedy opening + best-improvement vertex substitution (Teitz-Bart swaps evaluated for all pairs at once,
   Whitaker / Resende-Werneck style) gives an incumbent, an upper bound UB;
2. Lagrangian relaxation of "each unit assigned once" (subgradient) gives a lower bound and multipliers
   lambda_i; sites whose Lagrangian bound with y_j forced to 1 (or 0) reaches UB are fixed closed (or open);
3. the radius (cover) formulation of Elloumi (2010) / Garcia, Labbe & Marin (2011), truncated per unit at
   the first distance level >= lambda_i, is a relaxation whose LP bound equals the Lagrangian one;
4. HiGHS solves it from the incumbent; where the truncation cut a unit's cost short, its radius grows and
   the model is solved again. Every bound reported is valid for the full, unreduced problem.

See `models/territory/pmedian.md` for the formulation and why each reduction is exact.

One module, though long: the four steps are one optimality proof, read top to bottom in the order of
pmedian.md, and each later step is exact only given the earlier ones (the fixings of step 2 are what let
step 3 truncate). They share the cost matrix type, the cutoff and the incumbent arithmetic; split, the
steps would import one another's private helpers.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from spmopt.config import SolverSettings
from spmopt.errors import ConfigError, DataError, InfeasibleModelError, SolverError
from spmopt.optim.deadline import Deadline
from spmopt.optim.solve import (
    SolveReport,
    SolveStatus,
    SparseMILP,
    Termination,
    highs_version,
    relative_gap,
    solve_milp,
)
from spmopt.territory.alignment import Alignment, Progress, quiet
from spmopt.territory.inputs import TerritoryInputs

_TOL = 1e-9


@dataclass(frozen=True, slots=True)
class PMedianCore:
    """Dense weighted costs c_ij = w_i d_ij (inf where (i, j) is not eligible), rows = units, columns = sites."""

    cost: np.ndarray
    home: np.ndarray
    """home[j]: row of site j's own unit (an open centre serves itself)."""
    p: int
    integral: bool
    """Every finite c_ij is an integer, so any objective value is one and bounds may be rounded up."""

    @property
    def n(self) -> int:
        """Number of units."""
        return int(self.cost.shape[0])

    @property
    def m(self) -> int:
        """Number of candidate sites."""
        return int(self.cost.shape[1])


@dataclass(frozen=True, slots=True)
class Lagrangian:
    """Outcome of the subgradient search: best bound, its multipliers, and the sites it fixes."""

    bound: float
    lam: np.ndarray
    closed: np.ndarray
    """Sites proven closed in every solution better than `threshold`."""
    opened: np.ndarray
    """Sites proven open in every solution better than `threshold`."""
    threshold: float
    """Solutions excluded by the fixings cost at least this much."""
    iterations: int
    best_open: np.ndarray
    """Sites the Lagrangian subproblem opened at the best multipliers (a heuristic seed)."""


def pmedian_applies(inp: TerritoryInputs) -> bool:
    """The pure p-median structure: chosen centres, distance objective, no bands, contiguity, locks or labels."""
    return (
        not inp.fixed_sites
        and not inp.bands
        and inp.compactness == "distance"
        and not inp.contiguity
        and not inp.locks
        and not inp.labels
        and inp.disruption is None
    )


def pmedian_core(inp: TerritoryInputs) -> PMedianCore:
    """Dense cost matrix c_ij = w_i d_ij over eligible pairs; checks the p-median assumptions."""
    if not pmedian_applies(inp):
        raise ConfigError(
            "the p-median method needs chosen centres, compactness 'distance' and no balance bands, "
            "contiguity, locks or disruption"
        )
    row = {u: r for r, u in enumerate(inp.units)}
    col = {s: c for c, s in enumerate(inp.sites)}
    missing = [s for s in inp.sites if s not in row]
    if missing:
        raise DataError(f"territory sites must be units in chosen-centre mode; site '{missing[0]}' is not a unit")
    n, m, p = len(inp.units), len(inp.sites), int(inp.territories)
    if not 1 <= p <= m:
        raise DataError(f"territories = {p} but there are {m} candidate centres; need 1 <= territories <= {m}")
    weight = np.array([float(inp.distance_weight[u]) for u in inp.units])
    if (weight < 0).any() or not np.isfinite(weight).all():
        bad = inp.units[int(np.argmax((weight < 0) | ~np.isfinite(weight)))]
        raise DataError(f"distance weight of unit '{bad}' is negative or not finite; weights must be >= 0")
    rows = np.fromiter((row[i] for i, _ in inp.pairs), dtype=np.int64, count=len(inp.pairs))
    cols = np.fromiter((col[j] for _, j in inp.pairs), dtype=np.int64, count=len(inp.pairs))
    dist = np.fromiter((inp.distance[pair] for pair in inp.pairs), dtype=np.float64, count=len(inp.pairs))
    if not np.isfinite(dist).all() or (dist < 0).any():
        i, j = inp.pairs[int(np.argmax(~np.isfinite(dist) | (dist < 0)))]
        raise DataError(f"distance from unit '{i}' to site '{j}' is negative or not finite")
    cost = np.full((n, m), np.inf)
    cost[rows, cols] = weight[rows] * dist
    home = np.array([row[s] for s in inp.sites], dtype=np.int64)
    own = cost[home, np.arange(m)]
    if not np.isfinite(own).all():
        raise DataError(f"site '{inp.sites[int(np.argmax(~np.isfinite(own)))]}' is not an eligible site of itself")
    if (own > cost[home].min(axis=1) + _TOL).any():
        bad = inp.sites[int(np.argmax(own > cost[home].min(axis=1) + _TOL))]
        raise DataError(f"site '{bad}' is farther from itself than from another site; d(j, j) must be the least")
    finite = cost[np.isfinite(cost)]
    integral = bool(np.all(finite == np.round(finite)) and finite.sum() < 2**52)
    return PMedianCore(cost=cost, home=home, p=p, integral=integral)


# --------------------------------------------------------------------------------------------------
# Upper bound: greedy + vertex substitution
# --------------------------------------------------------------------------------------------------


def _finite_costs(core: PMedianCore) -> tuple[np.ndarray, float]:
    """Costs with ineligible pairs at `big`, more than any feasible solution costs (so they are never chosen)."""
    c = core.cost
    finite = np.isfinite(c)
    big = 1.0 + 2.0 * float(np.where(finite, c, 0.0).max(axis=1).sum())
    return np.where(finite, c, big), big


def _nearest_two(c: np.ndarray, open_: np.ndarray, big: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per unit: cost to the nearest open site, that site's column, and the cost to the second nearest."""
    sub = c[:, open_]
    n = c.shape[0]
    if len(open_) == 1:
        return sub[:, 0].copy(), np.full(n, open_[0]), np.full(n, big)
    two = np.argpartition(sub, 1, axis=1)[:, :2]
    a, b = sub[np.arange(n), two[:, 0]], sub[np.arange(n), two[:, 1]]
    first = np.where(a <= b, two[:, 0], two[:, 1])
    return np.minimum(a, b), open_[first], np.maximum(a, b)


def greedy_open(c: np.ndarray, p: int, big: float) -> np.ndarray:
    """Open p sites one at a time, each time the one that lowers sum_i min_{j open} c_ij the most."""
    n, m = c.shape
    nearest = np.full(n, big * 2)
    is_open = np.zeros(m, dtype=bool)
    for _ in range(p):
        gain = np.maximum(nearest[:, None] - c, 0.0).sum(axis=0)
        gain[is_open] = -1.0
        j = int(np.argmax(gain))
        is_open[j] = True
        nearest = np.minimum(nearest, c[:, j])
    return np.flatnonzero(is_open)


def swap_search(c: np.ndarray, open_: np.ndarray, big: float, deadline: Deadline) -> tuple[np.ndarray, int]:
    """Best-improvement swaps (close r, open f) until none lowers the cost; all p(m-p) swaps priced per pass.

    delta(r, f) = sum_i min(0, c_if - d1_i) + sum_{i: nearest(i)=r} max(0, min(c_if, d2_i) - d1_i).
    """
    n, m = c.shape
    open_ = np.sort(open_)
    p = len(open_)
    passes = 0
    if p == m:
        return open_, passes
    rows = np.arange(n)
    while not deadline.expired():
        passes += 1
        d1, c1, d2 = _nearest_two(c, open_, big)
        gain = np.minimum(c - d1[:, None], 0.0).sum(axis=0)
        extra = np.maximum(np.minimum(c, d2[:, None]) - d1[:, None], 0.0)
        owner = sparse.csr_array((np.ones(n), (c1, rows)), shape=(m, n))
        delta = (owner @ extra)[open_] + gain[None, :]
        delta[:, open_] = np.inf
        r, f = np.unravel_index(int(np.argmin(delta)), delta.shape)
        if delta[r, f] >= -1e-9 * max(1.0, float(d1.sum())):
            break
        open_ = np.sort(np.append(np.delete(open_, r), f))
    return open_, passes


def solution_cost(core: PMedianCore, open_: np.ndarray) -> float:
    """sum_i min_{j open} c_ij (inf when some unit has no eligible open site)."""
    return float(core.cost[:, open_].min(axis=1).sum())


def _perturbed(open_: np.ndarray, m: int, rng: np.random.Generator, moves: int) -> np.ndarray:
    closed = np.setdiff1d(np.arange(m), open_)
    k = min(moves, len(open_), len(closed))
    out = rng.choice(len(open_), size=k, replace=False)
    new = rng.choice(closed, size=k, replace=False)
    return np.sort(np.concatenate([np.delete(open_, out), new]))


def heuristic(core: PMedianCore, deadline: Deadline, seeds: list[np.ndarray] | None = None) -> tuple[np.ndarray, int]:
    """Greedy, then swap search from it and from each seed, then seeded random restarts until the deadline;
    returns the best open set and the number of swap passes."""
    c, big = _finite_costs(core)
    starts = [greedy_open(c, core.p, big), *(seeds or [])]
    best, best_value, passes = starts[0], math.inf, 0
    for start in starts:
        found, k = swap_search(c, start, big, deadline)
        passes += k
        value = float(c[:, found].min(axis=1).sum())
        if value < best_value - _TOL:
            best, best_value = found, value
    rng = np.random.default_rng(0)
    for _ in range(8):  # iterated local search: kick the best solution and descend again
        if deadline.expired() or core.p == core.m:
            break
        found, k = swap_search(c, _perturbed(best, core.m, rng, max(2, core.p // 10)), big, deadline)
        passes += k
        value = float(c[:, found].min(axis=1).sum())
        if value < best_value - _TOL:
            best, best_value = found, value
    return best, passes


# --------------------------------------------------------------------------------------------------
# Lower bound: Lagrangian relaxation of the assignment constraints
# --------------------------------------------------------------------------------------------------


def _prices(core: PMedianCore, lam: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """rho_j = (c_jj - lam_j) + sum_{i != j} min(0, c_ij - lam_i), and the reduced costs min(0, c_ij - lam_i)."""
    cols = np.arange(core.m)
    red = np.minimum(core.cost - lam[:, None], 0.0)
    rho = red.sum(axis=0) - red[core.home, cols] + (core.cost[core.home, cols] - lam[core.home])
    return rho, red


def _cutoff(core: PMedianCore, ub: float) -> float:
    """A solution is excluded when its Lagrangian bound exceeds this: it then costs at least UB."""
    return ub - 1.0 + 1e-6 if core.integral else ub * (1.0 + 1e-12)


def lagrangian(core: PMedianCore, ub: float, incumbent: np.ndarray, lam0: np.ndarray, deadline: Deadline) -> Lagrangian:
    """max_lam L(lam), L = sum_i lam_i + (sum of the p smallest rho_j); Polyak subgradient steps toward UB.

    Fixing (valid at any lam): j closed if L + rho_j - rho_(p) > cutoff, j open if L - rho_j + rho_(p+1) > cutoff;
    only fixings the incumbent satisfies are kept, so the incumbent stays feasible as a MIP start.
    """
    m, p = core.m, core.p
    lam = lam0.copy()
    in_inc = np.zeros(m, dtype=bool)
    in_inc[incumbent] = True
    closed = np.zeros(m, dtype=bool)
    opened = np.zeros(m, dtype=bool)
    cut = _cutoff(core, ub)
    best, best_lam, best_open = -math.inf, lam.copy(), incumbent
    step, stall, it = 2.0, 0, 0
    while it == 0 or (not deadline.expired() and step > 1e-4 and it < 3000):
        it += 1
        rho, red = _prices(core, lam)
        if p < m:
            part = np.argpartition(rho, [p - 1, p])
            chosen = part[:p]
            rho_p, rho_next = rho[part[p - 1]], rho[part[p]]
        else:
            chosen, rho_p, rho_next = np.arange(m), float(rho.max()), math.inf
        value = float(lam.sum() + rho[chosen].sum())
        if p < m:
            closed |= ~in_inc & (value + rho - rho_p > cut)
            opened |= in_inc & (value - rho + rho_next > cut)
        if value > best + _TOL:
            best, best_lam, best_open, stall = value, lam.copy(), np.sort(chosen), 0
        else:
            stall += 1
            if stall >= 25:
                step, stall = step / 2, 0
        if best > cut:
            break
        served = (red[:, chosen] < 0).sum(axis=1).astype(np.float64)
        # x_jj = y_j whatever its sign, so the home unit of a chosen site is served exactly by it
        homes = core.home[chosen]
        served[homes] += 1.0 - (red[homes, chosen] < 0)
        g = 1.0 - served
        norm = float(g @ g)
        if norm == 0.0:
            break
        lam = lam + step * max(ub - value, 1e-9 * max(1.0, abs(ub))) / norm * g
    return Lagrangian(
        bound=best,
        lam=best_lam,
        closed=closed,
        opened=opened,
        threshold=ub,
        iterations=it,
        best_open=best_open,
    )


# --------------------------------------------------------------------------------------------------
# Exact step A: Lagrangian branch and bound on the sites (Beasley 1985 style)
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Node:
    """A subtree: sites still allowed, sites forced open, the parent's bound and warm multipliers."""

    allowed: np.ndarray
    forced: np.ndarray
    bound: float
    lam: np.ndarray


@dataclass(frozen=True, slots=True)
class TreeResult:
    """Best open set and value found, the bound proven for the searched region, and the effort spent."""

    open_: np.ndarray
    value: float
    bound: float
    nodes: int
    complete: bool


def _node_search(
    core: PMedianCore, node: _Node, ub: float, iters: int
) -> tuple[float, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Subgradient at one node: max over lam of  sum_i lam_i + sum_{j forced} rho_j + (p - |forced| least other rho_j).

    Returns the best bound, its lam and open set, the sites still allowed/forced after Lagrangian fixing
    within the subtree, and each chosen site's bound if it were closed (for branching).
    """
    allowed, forced = node.allowed.copy(), node.forced.copy()
    lam = node.lam.copy()
    cut = _cutoff(core, ub)
    best, best_lam, best_open = -math.inf, lam, np.zeros(0, dtype=np.int64)
    best_pen = np.zeros(0)
    step, stall = 1.0, 0
    for _ in range(iters):
        cols = np.flatnonzero(allowed)
        k = core.p - int(forced[cols].sum())
        if k < 0 or len(cols) < core.p:
            return math.inf, lam, best_open, allowed, forced, best_pen
        c = core.cost[:, cols]
        home = core.home[cols]
        red = np.minimum(c - lam[:, None], 0.0)
        at = np.arange(len(cols))
        rho = red.sum(axis=0) - red[home, at] + (c[home, at] - lam[home])
        is_forced = forced[cols]
        free = np.flatnonzero(~is_forced)
        if k > 0:
            order = free[np.argsort(rho[free], kind="stable")]
            pick, rest = order[:k], order[k:]
        else:
            pick, rest = np.zeros(0, dtype=np.int64), free
        chosen = np.concatenate([np.flatnonzero(is_forced), pick])
        value = float(lam.sum() + rho[chosen].sum())
        last = rho[pick[-1]] if len(pick) else math.inf
        nxt = rho[rest[0]] if len(rest) else math.inf
        # fixing inside the subtree: opening a rejected site / closing a picked one must beat the cutoff
        if len(pick):
            allowed[cols[rest[value + rho[rest] - last > cut]]] = False
            pen = value - rho[pick] + nxt
            forced[cols[pick[pen > cut]]] = True
        else:
            pen = np.zeros(0)
        if value > best + _TOL:
            best, best_lam, best_open, best_pen, stall = value, lam.copy(), cols[chosen], (cols[pick], pen), 0
        else:
            stall += 1
            if stall >= 8:
                step, stall = step / 2, 0
        if best > cut or step < 1e-3:
            break
        served = (red[:, chosen] < 0).sum(axis=1).astype(np.float64)
        homes = home[chosen]
        served[homes] += 1.0 - (red[homes, chosen] < 0)
        g = 1.0 - served
        norm = float(g @ g)
        if norm == 0.0:  # the relaxed solution serves every unit once: it is optimal for this node
            break
        lam = lam + step * max(ub - value, 1e-9 * max(1.0, abs(ub))) / norm * g
    return best, best_lam, best_open, allowed, forced, best_pen


def lagrangian_tree(
    core: PMedianCore, lag: Lagrangian, incumbent: np.ndarray, deadline: Deadline, iters: int = 60
) -> TreeResult:
    """Depth-first branch and bound on y_j with a Lagrangian bound at every node; branch on the chosen site
    whose closing costs the most (y_j = 1 first). The bound on expiry is the least bound left on the stack."""
    inc, ub = np.sort(incumbent), solution_cost(core, incumbent)
    stack = [_Node(allowed=~lag.closed, forced=lag.opened.copy(), bound=lag.bound, lam=lag.lam)]
    nodes = 0
    while stack:
        if deadline.expired():
            return TreeResult(inc, ub, min(ub, min(nd.bound for nd in stack)), nodes, False)
        node = stack.pop()
        if node.bound > _cutoff(core, ub):
            continue
        nodes += 1
        bound, lam, open_, allowed, forced, pen = _node_search(core, node, ub, iters)
        if len(open_) == core.p:
            value = solution_cost(core, open_)
            if value < ub - _TOL:
                inc, ub = np.sort(open_), value
        if bound > _cutoff(core, ub):
            continue
        cols = np.flatnonzero(allowed)
        if int(forced[cols].sum()) >= core.p or len(cols) <= core.p:
            leaf = cols[forced[cols]] if int(forced[cols].sum()) >= core.p else cols
            if len(leaf) == core.p:
                value = solution_cost(core, leaf)
                if value < ub - _TOL:
                    inc, ub = np.sort(leaf), value
            continue
        sites, penalty = pen
        candidates = [(float(q), int(j)) for j, q in zip(sites, penalty, strict=True) if not forced[j]]
        if not candidates:  # every pick is forced yet fewer than p: open the cheapest other site next
            free = cols[~forced[cols]]
            candidates = [(0.0, int(free[0]))]
        _, j = max(candidates)
        closed_child = allowed.copy()
        closed_child[j] = False
        open_child = forced.copy()
        open_child[j] = True
        stack.append(_Node(allowed=closed_child, forced=forced, bound=bound, lam=lam))
        stack.append(_Node(allowed=allowed, forced=open_child, bound=bound, lam=lam))
    return TreeResult(inc, ub, ub, nodes, True)


# --------------------------------------------------------------------------------------------------
# Exact step: truncated radius (cover) formulation
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CoverModel:
    """The truncated radius formulation in arrays, with the level data needed to seed and check it."""

    problem: SparseMILP
    levels: list[np.ndarray]
    """Per unit: its distance levels D_i^1 < ... below the cap."""
    z_start: np.ndarray
    """Per unit: column index of z_i^1 (its z columns are consecutive)."""
    z_count: np.ndarray


def build_cover(core: PMedianCore, closed: np.ndarray, opened: np.ndarray, cap: np.ndarray) -> CoverModel:
    """min sum_i [D_i^1 + sum_k (D_i^{k+1} - D_i^k) z_ik]  with  D_i^{K_i+1} := cap_i  when truncated;

    z_ik + sum_{j: c_ij = D_i^k} y_j >= z_i,k-1  (z_i0 := 1)  for every level below cap_i,
    sum_j y_j = p,  y binary, z in [0, 1] (integral at any optimum once y is).
    """
    n, m, p = core.n, core.m, core.p
    allowed = ~closed
    reach = np.where(opened[None, :], core.cost, np.inf).min(axis=1)  # a forced-open site bounds each cost
    levels: list[np.ndarray] = []
    z_start = np.zeros(n, dtype=np.int64)
    z_count = np.zeros(n, dtype=np.int64)
    cost_parts: list[np.ndarray] = [np.zeros(m)]
    r_idx: list[np.ndarray] = []
    c_idx: list[np.ndarray] = []
    vals: list[np.ndarray] = []
    row_lo: list[np.ndarray] = []
    offset = 0.0
    next_col, next_row = m, 0
    for i in range(n):
        ci = core.cost[i]
        cols = np.flatnonzero(allowed & np.isfinite(ci) & (ci <= reach[i]))
        if len(cols) == 0:
            raise InfeasibleModelError(f"unit {i} has no eligible site left open")
        d = ci[cols]
        truncated = cap[i] <= d.max()
        keep = d < cap[i] if truncated else np.ones(len(d), dtype=bool)
        lev, inv = np.unique(d[keep], return_inverse=True)
        levels.append(lev)
        k = len(lev)
        if k == 0:
            offset += float(cap[i])
            continue
        offset += float(lev[0])
        nz = k if truncated else k - 1
        tops = np.append(lev[1:], cap[i]) if truncated else lev[1:]
        z_start[i], z_count[i] = next_col, nz
        cost_parts.append(tops - lev[:nz])
        rows_i = next_row + np.arange(k)
        # y_j in the row of its level
        r_idx.append(rows_i[inv])
        c_idx.append(cols[keep])
        vals.append(np.ones(len(inv)))
        # + z_ik in row k, - z_ik in row k+1
        zc = next_col + np.arange(nz)
        r_idx.append(rows_i[:nz])
        c_idx.append(zc)
        vals.append(np.ones(nz))
        r_idx.append(rows_i[1:])
        c_idx.append(zc[: k - 1])
        vals.append(-np.ones(k - 1))
        lo = np.zeros(k)
        lo[0] = 1.0
        row_lo.append(lo)
        next_col += nz
        next_row += k
    r_idx.append(np.full(m, next_row))
    c_idx.append(np.arange(m))
    vals.append(np.ones(m))
    row_lo.append(np.array([float(p)]))
    n_row = next_row + 1
    matrix = sparse.csc_array(
        (np.concatenate(vals), (np.concatenate(r_idx), np.concatenate(c_idx))), shape=(n_row, next_col)
    )
    lower = np.concatenate(row_lo)
    upper = np.full(n_row, np.inf)
    upper[-1] = float(p)
    col_lo = np.zeros(next_col)
    col_lo[:m] = opened.astype(np.float64)
    col_up = np.ones(next_col)
    col_up[:m] = (~closed).astype(np.float64)
    integer = np.zeros(next_col, dtype=bool)
    integer[:m] = True
    problem = SparseMILP(
        cost=np.concatenate(cost_parts),
        matrix=matrix,
        row_lower=lower,
        row_upper=upper,
        col_lower=col_lo,
        col_upper=col_up,
        integer=integer,
        offset=offset,
    )
    return CoverModel(problem=problem, levels=levels, z_start=z_start, z_count=z_count)


def _start_vector(core: PMedianCore, model: CoverModel, open_: np.ndarray) -> np.ndarray:
    """y = the open set; z_ik = 1 when the unit's nearest open site costs more than D_i^k."""
    x = np.zeros(model.problem.cost.shape[0])
    x[open_] = 1.0
    nearest = core.cost[:, open_].min(axis=1)
    for i in range(core.n):
        k = int(model.z_count[i])
        if k:
            x[model.z_start[i] : model.z_start[i] + k] = (nearest[i] > model.levels[i][:k] + _TOL).astype(float)
    return x


def _initial_caps(core: PMedianCore, lam: np.ndarray) -> np.ndarray:
    """cap_i = the least c_ij >= lam_i: pairs dearer than lam_i price at zero in L(lam), so L is unchanged."""
    c = np.where(core.cost >= lam[:, None] - _TOL, core.cost, np.inf)
    return c.min(axis=1)


def _grown_caps(core: PMedianCore, cap: np.ndarray, nearest: np.ndarray) -> np.ndarray:
    """Units whose true cost passed their cap: the cap moves to the next level beyond that cost."""
    short = nearest > cap + _TOL
    c = np.where(core.cost > nearest[:, None] + _TOL, core.cost, np.inf).min(axis=1)
    return np.where(short, c, cap)


# --------------------------------------------------------------------------------------------------
# Entry point
# --------------------------------------------------------------------------------------------------


def solve_pmedian(inp: TerritoryInputs, settings: SolverSettings, progress: Progress = quiet) -> Alignment:
    """Uncapacitated p-median: min sum_i w_i d_ij x_ij over eligible pairs, exactly p centres, proven by bound."""
    deadline = Deadline.after(settings.time_limit)
    core = pmedian_core(inp)
    details: dict[str, object] = {"units": core.n, "sites": core.m, "p": core.p}
    progress(f"p-median: {core.n} units, {core.m} sites, p = {core.p}; local search")
    inc, passes = heuristic(core, deadline.first(0.1))
    ub = solution_cost(core, inc)
    details.update(heuristic_value=ub, heuristic_passes=passes, heuristic_seconds=deadline.elapsed())
    if not math.isfinite(ub):  # pruned pairs can defeat the local search: ask the full radius model
        inc = _feasible_open(core, settings, deadline)
        ub = solution_cost(core, inc)
    t_lag = time.perf_counter()
    lag = lagrangian(core, ub, inc, core.cost[:, inc].min(axis=1), deadline.within(0.25 * settings.time_limit))
    if core.p < core.m:  # a descent from the Lagrangian's open set often improves the incumbent cheaply
        c, big = _finite_costs(core)
        found, _ = swap_search(c, lag.best_open, big, deadline.within(0.05 * settings.time_limit))
        if solution_cost(core, found) < ub - _TOL:
            inc, ub = found, solution_cost(core, found)
            lag = lagrangian(core, ub, inc, lag.lam, deadline.within(0.1 * settings.time_limit))
    details.update(
        lagrangian_bound=lag.bound,
        lagrangian_iterations=lag.iterations,
        lagrangian_seconds=time.perf_counter() - t_lag,
        sites_fixed_closed=int(lag.closed.sum()),
        sites_fixed_open=int(lag.opened.sum()),
    )
    bound = _rounded(core, lag.bound)
    stats = _Effort()
    if not _proven(ub, bound, settings):
        # LP-tight instances (typically large p) close at the radius model's root within a short slice;
        # the rest (small p, where HiGHS's branching stalls on a 0.5% LP gap) go to the Lagrangian tree
        inc, ub, bound = _radius_rounds(core, lag, inc, ub, bound, settings, deadline.share(0.05), stats, progress)
    if not _proven(ub, bound, settings) and not deadline.expired():
        progress("p-median: Lagrangian branch and bound")
        t_tree = time.perf_counter()
        tree = lagrangian_tree(core, lag, inc, deadline)
        if tree.value < ub - _TOL:
            inc, ub = tree.open_, tree.value
        bound = max(bound, _rounded(core, min(tree.bound, lag.threshold)))
        stats.termination = Termination.OPTIMAL if tree.complete else Termination.TIME_LIMIT
        details.update(tree_nodes=tree.nodes, tree_complete=tree.complete, tree_seconds=time.perf_counter() - t_tree)
    bound = min(bound, ub)
    gap = relative_gap(ub, bound)
    reported_bound = bound if math.isfinite(bound) else None
    proven = _proven(ub, bound, settings)
    details.update(
        radius_rounds=stats.rounds,
        radius_columns=stats.columns,
        total_seconds=deadline.elapsed(),
    )
    report = SolveReport(
        status=SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE,
        termination=_termination(stats.termination, proven),
        objective=ub,
        bound=reported_bound,
        gap=gap,
        solve_seconds=stats.solve_seconds,
        handover_seconds=stats.handover_seconds,
        build_seconds=stats.build_seconds,
        solver_version=highs_version(),
    )
    return Alignment(site_of=_site_of(inp, core, inc), report=report, method="pmedian", details=details)


@dataclass(slots=True)
class _Effort:
    """Running account of the radius-model solves (internal, mutable)."""

    rounds: int = 0
    columns: list[int] | None = None
    solve_seconds: float = 0.0
    handover_seconds: float = 0.0
    build_seconds: float = 0.0
    termination: Termination = Termination.GAP_REACHED
    """How the last phase that ran stopped (the Lagrangian bound alone closes the gap when none follows)."""

    def __post_init__(self) -> None:
        self.columns = []


def _termination(last: Termination, proven: bool) -> Termination:
    """The stop to report: a proof outranks how the last phase ended (even an infeasible radius model, which
    proves the incumbent); unproven, a phase can only have ended "optimal" with the clock cutting the next one."""
    if proven:
        return Termination.OPTIMAL if last is Termination.OPTIMAL else Termination.GAP_REACHED
    return Termination.TIME_LIMIT if last in (Termination.OPTIMAL, Termination.GAP_REACHED) else last


def _feasible_open(core: PMedianCore, settings: SolverSettings, deadline: Deadline) -> np.ndarray:
    """Some p sites that serve every unit over its eligible pairs (untruncated radius model), or an error."""
    none = np.zeros(core.m, dtype=bool)
    model = build_cover(core, none, none, np.full(core.n, np.inf))
    remaining = deadline.left(at_least=0.01)
    result = solve_milp(model.problem, settings.model_copy(update={"time_limit": remaining, "mip_gap": 1.0}))
    if result.report.status == SolveStatus.INFEASIBLE:
        raise InfeasibleModelError(
            f"no choice of {core.p} centres lets every unit join an eligible site; allow more (unit, site) pairs"
        )
    if result.x is None:
        raise SolverError(f"no alignment serving every unit was found within {settings.time_limit:g} s")
    return np.flatnonzero(result.x[: core.m] > 0.5)


def _proven(ub: float, bound: float, settings: SolverSettings) -> bool:
    gap = relative_gap(ub, bound)
    return gap is not None and gap <= settings.mip_gap + 1e-12


def _radius_rounds(
    core: PMedianCore,
    lag: Lagrangian,
    inc: np.ndarray,
    ub: float,
    bound: float,
    settings: SolverSettings,
    deadline: Deadline,
    stats: _Effort,
    progress: Progress,
) -> tuple[np.ndarray, float, float]:
    """Solve the truncated radius model, growing the radius of units whose true cost passed it, until the
    solution's true cost meets the bound or time runs out; every bound kept is valid for the full problem."""
    cap = _initial_caps(core, lag.lam)
    while not deadline.expired():
        stats.rounds += 1
        t0 = time.perf_counter()
        model = build_cover(core, lag.closed, lag.opened, cap)
        stats.build_seconds += time.perf_counter() - t0
        stats.columns.append(int(model.problem.cost.shape[0]))
        progress(f"p-median: radius model round {stats.rounds}, {model.problem.cost.shape[0]} columns")
        remaining = deadline.left(at_least=0.01)
        result = solve_milp(
            model.problem,
            settings.model_copy(update={"time_limit": remaining}),
            start=_start_vector(core, model, inc),
        )
        rep = result.report
        stats.solve_seconds += rep.solve_seconds
        stats.handover_seconds += rep.handover_seconds
        stats.termination = rep.termination
        if rep.status == SolveStatus.INFEASIBLE:  # no solution beats the fixing threshold
            return inc, ub, max(bound, _rounded(core, lag.threshold))
        if rep.bound is not None:
            bound = max(bound, _rounded(core, min(rep.bound, lag.threshold)))
        if result.x is None:
            break
        open_ = np.flatnonzero(result.x[: core.m] > 0.5)
        value = solution_cost(core, open_) if len(open_) == core.p else math.inf
        if value < ub - _TOL:
            inc, ub = open_, value
        if rep.status != SolveStatus.OPTIMAL or _proven(ub, bound, settings):
            break
        grown = _grown_caps(core, cap, core.cost[:, open_].min(axis=1))
        if np.array_equal(grown, cap):
            break
        cap = grown
    return inc, ub, bound


def _rounded(core: PMedianCore, bound: float) -> float:
    """An integral problem's bound rounds up to the next integer (with float slack)."""
    if not math.isfinite(bound):
        return bound
    return float(math.ceil(bound - 1e-6)) if core.integral else bound


def _site_of(inp: TerritoryInputs, core: PMedianCore, open_: np.ndarray) -> dict[str, str]:
    """Each unit to its cheapest open site; an open site's own unit to itself."""
    sub = core.cost[:, open_]
    pick = open_[np.argmin(sub, axis=1)]
    pick[core.home[open_]] = open_
    return {u: inp.sites[int(j)] for u, j in zip(inp.units, pick, strict=True)}
