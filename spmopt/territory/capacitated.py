"""Capacitated p-median with chosen centres and single sourcing, solved on arrays with HiGHS directly.

Strong formulation (x_ij <= x_jj, capacity knapsacks) over each unit's nearest candidate centres,
grown by LP pricing until the LP bound holds for every eligible pair. Location-allocation and a
kernel MIP supply an incumbent; LP and Lagrangian (0-1 knapsack) reduced-cost arguments remove the
pairs and centres that cannot be in any better solution, so the MIP on what remains is exact for the
full problem. Large instances get neighbourhood MIPs instead, with the LP bound reported.
See models/territory/capacitated.md for the algebra and why each reduction is exact.

One module, though long: every reduction (pricing, reduced-cost and Lagrangian fixing) is exact only
against the formulation `_formulation` builds and the incumbent the heuristics supply, and keeping them
together keeps that argument checkable in one place. The section rules below (pair sets, formulation and
pricing, MIP and heuristics, Lagrangian bound) are where it would split if it grows.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from spmopt.config import SolverSettings
from spmopt.errors import ConfigError
from spmopt.optim.deadline import Deadline
from spmopt.optim.solve import (
    SolveReport,
    SolveStatus,
    SparseMILP,
    Termination,
    relative_gap,
    solve_lp_duals,
    solve_milp,
)
from spmopt.territory.alignment import Alignment
from spmopt.territory.inputs import TerritoryInputs

NEAREST = 20
"""Candidate centres per unit in the first working set (LP pricing adds any others the bound needs)."""
NEAREST_SMALL = 60
"""The same for at most LARGE_POINTS points: one LP over a wider set is cheaper than several pricing rounds."""
MAX_EXACT_PAIRS = 400_000
"""Largest pair set the final MIP takes whole; beyond it the MIP runs on the working set only."""
MIP_SECONDS_PER_PAIR = 1e-4
"""Least time left per pair for the exact MIP to be attempted (about what HiGHS needs to presolve and start)."""
MIP_MIN_SECONDS = 1.0
"""No final MIP with less time left than this."""
LARGE_POINTS = 1000
"""Above this many points the MIP cannot be made exact in useful time: the search is LP bound plus
location-allocation and neighbourhood MIPs; below it, kernel MIP, Lagrangian fixing and the exact MIP."""
NEIGHBOUR_UNITS = 40
"""Units (on average) in one neighbourhood MIP of the large-instance search."""
NEIGHBOUR_SECONDS = 1.0
"""Time limit of one neighbourhood MIP."""
NEIGHBOUR_NEAREST = 12
"""Candidate centres per unit inside one neighbourhood MIP (besides its current centre)."""
LAGRANGE_SHARE = 0.3
"""Share of the time left given to subgradient optimisation of the Lagrangian bound."""
KERNEL_SITES = 3
"""Kernel size in multiples of p: LP support plus the centres of largest LP value / least reduced cost."""
KERNEL_NEAREST = 10
"""Kernel centres each unit may join in the kernel MIP."""
KERNEL_SHARE = 0.25
"""Share of the time left after the LP given to the kernel MIP."""
LOCATE_SHARE = 0.1
"""Share of the time left that location-allocation may use on instances of at most LARGE_POINTS points."""
_TOL = 1e-6


@dataclass(frozen=True, slots=True)
class CapacitatedCore:
    """The problem in arrays: points 0..n-1 are both units and candidate centres.

    min sum_k cost_k x_k over eligible pairs k = (row_k, col_k);  sum_{k: row_k = i} x_k = 1;
    sum_j x_jj = p;  x_ij <= x_jj;  sum_{i != j} v_bi x_ij <= (Q_bj - v_bj) x_jj for every band b.
    """

    p: int
    row: np.ndarray
    col: np.ndarray
    cost: np.ndarray
    demand: np.ndarray
    """Shape (bands, n)."""
    capacity: np.ndarray
    """Shape (bands, n)."""

    @property
    def n(self) -> int:
        return int(self.demand.shape[1])


@dataclass(frozen=True, slots=True)
class CoreResult:
    """Best assignment found (centre index per point, None without one), its report and facts."""

    median: np.ndarray | None
    report: SolveReport
    details: dict[str, object] = field(default_factory=dict)


def applies(inp: TerritoryInputs) -> bool:
    """True when the design is a capacitated (or plain) p-median this method solves exactly."""
    return (
        not inp.fixed_sites
        and inp.compactness == "distance"
        and not inp.contiguity
        and not inp.locks
        and not inp.labels
        and inp.disruption is None
        and all(v == 0 for b in inp.bands for v in b.lower.values())
    )


def core_from_inputs(inp: TerritoryInputs) -> CapacitatedCore:
    """Arrays of the chosen-centre problem: cost_ij = w_i d_ij, one capacity row set per band."""
    if not applies(inp):
        raise ConfigError(
            "the capacitated method needs chosen centres, distance compactness, no contiguity, locks, labels "
            "or disruption, and balance bands with lower bound 0 (capacities)"
        )
    index = {u: k for k, u in enumerate(inp.units)}
    n = len(inp.units)
    m = len(inp.pairs)
    row = np.fromiter((index[i] for i, _ in inp.pairs), dtype=np.int64, count=m)
    col = np.fromiter((index[j] for _, j in inp.pairs), dtype=np.int64, count=m)
    dist, w = inp.distance, inp.distance_weight
    cost = np.fromiter((w[i] * dist[i, j] for i, j in inp.pairs), dtype=np.float64, count=m)
    demand = np.array([[b.values.get(u, 0.0) for u in inp.units] for b in inp.bands], dtype=np.float64).reshape(
        len(inp.bands), n
    )
    capacity = np.array([[b.upper[u] for u in inp.units] for b in inp.bands], dtype=np.float64).reshape(
        len(inp.bands), n
    )
    return CapacitatedCore(p=inp.territories, row=row, col=col, cost=cost, demand=demand, capacity=capacity)


def solve_capacitated(inp: TerritoryInputs, settings: SolverSettings) -> Alignment:
    """Solve the capacitated chosen-centre design; the report's bound is valid for every eligible pair."""
    deadline = Deadline.after(settings.time_limit)
    core = core_from_inputs(inp)
    build = deadline.elapsed()
    budget = settings.model_copy(update={"time_limit": deadline.left(at_least=0.05)})
    result = solve_core(core, budget)
    site_of: dict[str, str] = {}
    if result.median is not None:
        site_of = {inp.units[i]: inp.units[j] for i, j in enumerate(result.median.tolist())}
    report = dataclasses.replace(result.report, build_seconds=build)
    return Alignment(site_of=site_of, report=report, method="capacitated", details=result.details)


# ---------------------------------------------------------------------------------------------------------------
# The search


def solve_core(core: CapacitatedCore, settings: SolverSettings) -> CoreResult:
    """LP with pricing, heuristic incumbent, reduced-cost fixing, then the MIP (see module docstring)."""
    deadline = Deadline.after(settings.time_limit)
    facts: dict[str, object] = {"points": core.n, "eligible_pairs": len(core.row)}
    pool = _usable_pairs(core)
    facts["usable_pairs"] = int(pool.sum())
    reason = _obviously_infeasible(core, pool)
    if reason:
        facts["infeasible"] = reason
        return CoreResult(None, _report(SolveStatus.INFEASIBLE, Termination.INFEASIBLE, None, None, deadline), facts)

    work = _nearest(core, pool, NEAREST if core.n > LARGE_POINTS else NEAREST_SMALL)
    lp, work, z, rounds = _priced_lp(core, pool, work, deadline, settings.threads)
    facts.update(lp_rounds=rounds, working_pairs=int(work.sum()))
    if lp is None:
        # The LP over the working set did not finish; nothing valid to report without a bound.
        return CoreResult(None, _report(SolveStatus.NO_SOLUTION, Termination.TIME_LIMIT, None, None, deadline), facts)
    if lp == "infeasible":
        facts["infeasible"] = "the LP relaxation over every usable pair is infeasible"
        return CoreResult(None, _report(SolveStatus.INFEASIBLE, Termination.INFEASIBLE, None, None, deadline), facts)
    facts.update(lp_bound=z, lp_seconds=round(deadline.elapsed(), 2))
    rc = _reduced_costs(core, pool, work, lp)

    large = core.n > LARGE_POINTS
    median, ub = _location_allocation(core, pool, lp, deadline, settings.threads)
    source = "location-allocation"
    facts.update(
        location_allocation_objective=ub if median is not None else None,
        location_allocation_seconds=round(deadline.elapsed(), 2),
    )
    if not large:
        kernel_median, kernel_ub = _kernel_search(core, pool, lp, rc, median, deadline, settings)
        if kernel_median is not None and kernel_ub < ub - _TOL:
            median, ub, source = kernel_median, kernel_ub, "kernel"
    # Why the search stopped if no final MIP runs: the large path ends when no neighbourhood improves or on the
    # clock; without a plan, location-allocation (and with it the large path) found none within its time.
    term = Termination.TIME_LIMIT
    if large and median is not None:
        median, ub, moves, tried, converged = _neighbourhood_search(core, pool, median, deadline, settings)
        facts.update(neighbourhood_moves=moves, neighbourhoods_solved=tried)
        source = "neighbourhood" if moves else source
        term = Termination.LOCAL_OPTIMUM if converged else Termination.TIME_LIMIT
    facts.update(
        heuristic=source,
        heuristic_objective=ub if median is not None else None,
        heuristic_seconds=round(deadline.elapsed(), 2),
    )
    ub_for_fixing = ub if median is not None else math.inf
    keep, open_fixed = _fix_by_reduced_cost(core, pool, rc, z, ub_for_fixing)
    facts["pairs_after_lp_fixing"] = int(keep.sum())
    lag_bound = -math.inf
    if median is not None and not large and _knapsack_ready(core):
        lag = _lagrangian(core, pool, lp.u, ub, deadline.share(LAGRANGE_SHARE))
        lag_bound = lag.bound
        keep &= lag.keep
        open_fixed |= lag.open
        facts.update(
            lagrangian_bound=lag.bound,
            lagrangian_iterations=lag.iterations,
            lagrangian_seconds=round(deadline.elapsed(), 2),
        )
    facts.update(pairs_after_fixing=int(keep.sum()), centres_fixed_open=int(open_fixed.sum()))
    remaining = deadline.left()
    # HiGHS does not stop inside presolve and the root LP of a large model, so a big exact MIP with
    # little time left would overrun the limit; the working set is used instead.
    exact = int(keep.sum()) <= min(MAX_EXACT_PAIRS, remaining / MIP_SECONDS_PER_PAIR)
    mip_pairs = keep if exact else (work & keep)
    if median is not None:
        mip_pairs = mip_pairs | _pairs_of(core, pool, median)
    facts["mip_pairs"] = int(mip_pairs.sum())
    facts["mip_exact"] = exact

    remaining = deadline.left()
    best, best_obj, mip_status = median, (ub if median is not None else None), None
    bound = max(z, lag_bound)
    if (
        not large
        and remaining > MIP_MIN_SECONDS
        and (best_obj is None or relative_gap(best_obj, bound) > settings.mip_gap)
    ):
        res = _solve_mip(core, mip_pairs, open_fixed, median, remaining, settings)
        mip_status = res.report.status
        if res.median is not None and (best_obj is None or res.objective < best_obj - _TOL):
            best, best_obj = res.median, res.objective
        if exact and res.report.bound is not None:
            bound = max(bound, min(res.report.bound, best_obj if best_obj is not None else math.inf))
        elif res.report.bound is not None:
            bound = max(bound, _restricted_bound(res.report.bound, z, rc, pool & ~mip_pairs, best_obj))
        if exact and mip_status == SolveStatus.INFEASIBLE and median is None:
            facts["infeasible"] = "no assignment satisfies the capacities"
            return CoreResult(
                None, _report(SolveStatus.INFEASIBLE, Termination.INFEASIBLE, None, None, deadline), facts
            )
        term = res.report.termination
        if term is Termination.OPTIMAL and not exact:
            term = Termination.LOCAL_OPTIMUM  # optimal over the working pairs only, not proven for all of them
    facts["mip_status"] = mip_status.value if mip_status is not None else None
    if best is None:
        return CoreResult(None, _report(SolveStatus.NO_SOLUTION, term, None, bound, deadline), facts)
    obj = _score(core, best)
    if np.all(core.cost == np.round(core.cost)):
        bound = math.ceil(bound - 1e-6 * max(1.0, abs(bound)))  # integer costs: the optimum is an integer
    bound = min(bound, obj)
    gap = relative_gap(obj, bound)
    proven = gap is not None and gap <= settings.mip_gap + 1e-12
    if proven:
        # A final MIP over every pair that proved optimality says so; otherwise the proof is the bounds' own.
        term = Termination.OPTIMAL if term is Termination.OPTIMAL else Termination.GAP_REACHED
    status = SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE
    return CoreResult(best, _report(status, term, obj, bound, deadline), facts)


def _report(
    status: SolveStatus, term: Termination, obj: float | None, bound: float | None, deadline: Deadline
) -> SolveReport:
    from spmopt.optim.solve import highs_version

    return SolveReport(
        status=status,
        termination=term,
        objective=obj,
        bound=bound,
        gap=relative_gap(obj, bound),
        solve_seconds=deadline.elapsed(),
        handover_seconds=0.0,
        solver_version=highs_version(),
    )


def _score(core: CapacitatedCore, median: np.ndarray) -> float:
    """sum_i c_{i, m(i)} recomputed from the eligible pairs."""
    lookup = _cost_matrix(core)
    return float(sum(lookup[i, int(j)] - 1.0 for i, j in enumerate(median)))


def _cost_matrix(core: CapacitatedCore) -> sparse.csr_array:
    """Eligible costs as a sparse matrix holding cost + 1, so a zero distance is told apart from a missing pair."""
    return sparse.csr_array((core.cost + 1.0, (core.row, core.col)), shape=(core.n, core.n))


# ---------------------------------------------------------------------------------------------------------------
# Pair sets


def _usable_pairs(core: CapacitatedCore) -> np.ndarray:
    """Drop pairs no feasible solution uses: v_bi + v_bj > Q_bj (i != j), or v_bj > Q_bj for the centre itself."""
    diag = core.row == core.col
    ok = np.ones(len(core.row), dtype=bool)
    for v, q in zip(core.demand, core.capacity, strict=True):
        load = v[core.col] + np.where(diag, 0.0, v[core.row])
        ok &= load <= q[core.col] + _TOL * np.maximum(1.0, np.abs(q[core.col]))
    centre = np.zeros(core.n, dtype=bool)
    centre[core.col[ok & diag]] = True
    return ok & centre[core.col]


def _obviously_infeasible(core: CapacitatedCore, pool: np.ndarray) -> str:
    """Necessary conditions: p <= candidate centres, every unit has a usable pair, p largest capacities hold demand."""
    centres = np.unique(core.col[pool & (core.row == core.col)])
    if core.p > len(centres):
        return f"{core.p} centres requested but only {len(centres)} units can be a centre"
    if core.p < 1:
        return "at least one centre is needed"
    covered = np.zeros(core.n, dtype=bool)
    covered[core.row[pool]] = True
    if not covered.all():
        return f"unit {int(np.flatnonzero(~covered)[0])} has no centre it may join within capacity"
    for b, (v, q) in enumerate(zip(core.demand, core.capacity, strict=True)):
        top = np.sort(q[centres])[::-1][: core.p].sum()
        if v.sum() > top + _TOL * max(1.0, top):
            return f"band {b}: total {v.sum():g} exceeds the {core.p} largest capacities ({top:g})"
    return ""


def _nearest(core: CapacitatedCore, pool: np.ndarray, k: int) -> np.ndarray:
    """Each unit's k cheapest usable pairs, plus every centre's own pair."""
    idx = np.flatnonzero(pool)
    order = idx[np.lexsort((core.cost[idx], core.row[idx]))]
    rows = core.row[order]
    first = np.searchsorted(rows, rows, side="left")
    rank = np.arange(len(order)) - first
    work = np.zeros(len(core.row), dtype=bool)
    work[order[rank < k]] = True
    work |= pool & (core.row == core.col)
    return work


def _pairs_of(core: CapacitatedCore, pool: np.ndarray, median: np.ndarray) -> np.ndarray:
    """Pairs used by an assignment, and the own pairs of its centres."""
    return pool & ((median[core.row] == core.col) | ((core.row == core.col) & np.isin(core.col, median)))


# ---------------------------------------------------------------------------------------------------------------
# The formulation


@dataclass(frozen=True, slots=True)
class _Model:
    milp: SparseMILP
    pairs: np.ndarray
    """Indices into the core's pair arrays, one per column."""


def _formulation(core: CapacitatedCore, mask: np.ndarray, open_lb: np.ndarray | None = None) -> _Model:
    """Rows: assignment (n), count (1), capacity (bands x n), linking x_ij <= x_jj (one per off-diagonal pair)."""
    has_centre = np.zeros(core.n, dtype=bool)
    has_centre[core.col[mask & (core.row == core.col)]] = True
    pairs = np.flatnonzero(mask & has_centre[core.col])
    r, c = core.row[pairs], core.col[pairs]
    n, m, nb = core.n, len(pairs), core.demand.shape[0]
    diag = r == c
    diag_col = np.full(n, -1, dtype=np.int64)
    diag_col[c[diag]] = np.flatnonzero(diag)
    off = np.flatnonzero(~diag)
    cols = np.arange(m)
    rows_i, cols_i, vals = [r], [cols], [np.ones(m)]
    rows_i.append(np.full(int(diag.sum()), n))
    cols_i.append(np.flatnonzero(diag))
    vals.append(np.ones(int(diag.sum())))
    total = core.demand.sum(axis=1)
    for b in range(nb):
        q = np.minimum(core.capacity[b], total[b])  # a capacity above total demand never binds
        base = n + 1 + b * n
        rows_i.append(base + c)
        cols_i.append(cols)
        vals.append(np.where(diag, -(q[c] - core.demand[b, c]), core.demand[b, r]))
    link0 = n + 1 + nb * n
    link_rows = link0 + np.arange(len(off))
    rows_i += [link_rows, link_rows]
    cols_i += [off, diag_col[c[off]]]
    vals += [np.ones(len(off)), -np.ones(len(off))]
    n_row = link0 + len(off)
    a = sparse.csc_array((np.concatenate(vals), (np.concatenate(rows_i), np.concatenate(cols_i))), shape=(n_row, m))
    lower = np.full(n_row, -np.inf)
    upper = np.zeros(n_row)
    lower[:n] = upper[:n] = 1.0
    lower[n] = upper[n] = core.p
    col_lb = np.zeros(m)
    if open_lb is not None:
        col_lb[diag] = open_lb[c[diag]]
    milp = SparseMILP(
        cost=core.cost[pairs],
        matrix=a,
        row_lower=lower,
        row_upper=upper,
        col_lower=col_lb,
        col_upper=np.ones(m),
        integer=np.ones(m, dtype=bool),
    )
    return _Model(milp=milp, pairs=pairs)


@dataclass(frozen=True, slots=True)
class _Lp:
    x: np.ndarray
    """LP value per eligible pair (0 off the working set)."""
    u: np.ndarray
    """Dual of each unit's assignment row."""
    cap: np.ndarray
    """Duals of the capacity rows, shape (bands, n), <= 0."""
    rc_work: np.ndarray
    """Reduced cost per eligible pair, valid on the working set."""


def _priced_lp(
    core: CapacitatedCore, pool: np.ndarray, work: np.ndarray, deadline: Deadline, threads: int | None
) -> tuple[_Lp | str | None, np.ndarray, float, int]:
    """Solve the LP over the working set and add every usable pair of negative reduced cost until none is left.

    A missing pair (i, j) enters with its linking row at dual 0, so its reduced cost is
    c_ij - u_i - sum_b v_bi lambda_bj; when none is negative the working-set duals are feasible for the
    LP over all usable pairs and its value is a valid lower bound.
    """
    rounds = 0
    n, nb = core.n, core.demand.shape[0]
    while True:
        rounds += 1
        model = _formulation(core, work)
        left = deadline.left()
        if left <= 0.05:
            return None, work, math.nan, rounds
        duals = solve_lp_duals(model.milp, SolverSettings(time_limit=left, mip_gap=0.0, threads=threads))
        if duals is None:
            if deadline.left() <= 0.05:
                return None, work, math.nan, rounds
            if work.sum() == pool.sum():
                return "infeasible", work, math.nan, rounds
            work = pool.copy()  # infeasible on the working set: the full pair set decides
            continue
        x = np.zeros(len(core.row))
        x[model.pairs] = duals.x
        rc_work = np.zeros(len(core.row))
        rc_work[model.pairs] = duals.reduced_cost
        lp = _Lp(
            x=x,
            u=duals.row_dual[:n],
            cap=duals.row_dual[n + 1 : n + 1 + nb * n].reshape(nb, n),
            rc_work=rc_work,
        )
        rc = _reduced_costs(core, pool, work, lp)
        enter = pool & ~work & (rc < -1e-7)
        if not enter.any():
            return lp, work, duals.objective, rounds
        work = work | enter


def _reduced_costs(core: CapacitatedCore, pool: np.ndarray, work: np.ndarray, lp: _Lp) -> np.ndarray:
    """HiGHS reduced costs on the working set; c_ij - u_i - sum_b v_bi lambda_bj on every other usable pair."""
    rc = core.cost - lp.u[core.row]
    for b in range(core.demand.shape[0]):
        rc -= core.demand[b, core.row] * lp.cap[b, core.col]
    rc = np.where(work, lp.rc_work, rc)
    rc[~pool] = np.inf
    return rc


def _fix_by_reduced_cost(
    core: CapacitatedCore, pool: np.ndarray, rc: np.ndarray, z: float, ub: float
) -> tuple[np.ndarray, np.ndarray]:
    """For a dual-feasible LP of value z every solution costs >= z + sum_{r_k>0} r_k x_k + sum_{r_k<0} r_k (x_k - 1).

    So a pair with z + r_k > UB (or a centre whose own pair has it) is absent from every better
    solution, and a centre with z - r_jj > UB is open in all of them.
    """
    keep = pool.copy()
    open_fixed = np.zeros(core.n, dtype=bool)
    if not math.isfinite(ub):
        return keep, open_fixed
    slack = ub - z + _TOL * max(1.0, abs(ub))
    keep &= ~(rc > slack)
    diag = pool & (core.row == core.col)
    closed = np.ones(core.n, dtype=bool)
    closed[core.col[keep & diag]] = False
    keep &= ~closed[core.col]
    open_fixed[core.col[diag & (rc < -slack)]] = True
    return keep, open_fixed


def _restricted_bound(mip_bound: float, z: float, rc: np.ndarray, left_out: np.ndarray, best: float | None) -> float:
    """A solution using a pair outside the MIP costs >= z + min r_k over those pairs; otherwise >= the MIP bound."""
    outside = rc[left_out]
    if len(outside) == 0:
        return mip_bound
    cheapest = float(outside.min())
    if cheapest <= 0:
        return z
    return min(mip_bound, z + cheapest)


# ---------------------------------------------------------------------------------------------------------------
# MIP and heuristic


@dataclass(frozen=True, slots=True)
class _Mip:
    median: np.ndarray | None
    objective: float
    report: SolveReport


def _solve_mip(
    core: CapacitatedCore,
    mask: np.ndarray,
    open_lb: np.ndarray,
    start: np.ndarray | None,
    time_limit: float,
    settings: SolverSettings,
    mip_gap: float | None = None,
) -> _Mip:
    """The strong formulation over `mask`, offered `start` (a centre per point) as MIP start."""
    model = _formulation(core, mask, open_lb)
    x0 = None
    if start is not None:
        chosen = _pairs_of(core, mask, start)
        x0 = chosen[model.pairs].astype(np.float64)
    gap = settings.mip_gap if mip_gap is None else mip_gap
    res = solve_milp(
        model.milp, SolverSettings(time_limit=max(time_limit, 0.05), mip_gap=gap, threads=settings.threads), start=x0
    )
    if res.x is None:
        return _Mip(None, math.inf, res.report)
    used = model.pairs[res.x > 0.5]
    median = np.full(core.n, -1, dtype=np.int64)
    median[core.row[used]] = core.col[used]
    return _Mip(median, float(core.cost[used].sum()), res.report)


def _kernel_search(
    core: CapacitatedCore,
    pool: np.ndarray,
    lp: _Lp,
    rc: np.ndarray,
    start: np.ndarray | None,
    deadline: Deadline,
    settings: SolverSettings,
) -> tuple[np.ndarray | None, float]:
    """MIP restricted to a kernel of promising centres (LP support, then by LP value and reduced cost)."""
    diag = pool & (core.row == core.col)
    y = np.zeros(core.n)
    y[core.col[diag]] = lp.x[diag]
    r = np.full(core.n, np.inf)
    r[core.col[diag]] = rc[diag]
    kernel = np.zeros(core.n, dtype=bool)
    kernel[np.lexsort((r, -y))[: KERNEL_SITES * core.p]] = True
    kernel &= np.isfinite(r)
    kernel |= y > 1e-6
    mask = pool & kernel[core.col]
    mask &= _nearest(core, mask, KERNEL_NEAREST)
    if start is not None:
        mask |= _pairs_of(core, pool, start)
    res = _solve_mip(core, mask, np.zeros(core.n, dtype=bool), start, KERNEL_SHARE * deadline.left(), settings)
    if res.median is None:
        return None, math.inf
    return res.median, res.objective


def _location_allocation(
    core: CapacitatedCore, pool: np.ndarray, lp: _Lp, deadline: Deadline, threads: int | None
) -> tuple[np.ndarray | None, float]:
    """Open the p centres with the largest LP value, then alternate capacitated assignment and re-centring."""
    diag = pool & (core.row == core.col)
    y = np.full(core.n, -1.0)
    y[core.col[diag]] = lp.x[diag]
    # Small instances get their incumbent from the kernel MIP; location-allocation only seeds it.
    share = 0.5 if core.n > LARGE_POINTS else LOCATE_SHARE
    return _locate_from(core, pool, np.argsort(-y, kind="stable")[: core.p], deadline, share, threads)


def _locate_from(
    core: CapacitatedCore, pool: np.ndarray, centres: np.ndarray, deadline: Deadline, share: float, threads: int | None
) -> tuple[np.ndarray | None, float]:
    """Alternate capacitated assignment to `centres` and re-centring while it improves, within `share` of the time."""
    lookup = _cost_matrix(core)
    best, best_obj = None, math.inf
    span = deadline.left(at_least=0.0)
    for _ in range(3 if core.n > LARGE_POINTS else 10):
        left = deadline.left()
        if left < (1.0 - share) * span:
            break
        median = _assign(core, pool, centres, min(left * 0.3, 30.0, share * span), threads)
        if median is None:
            break
        obj = _score(core, median)
        if obj >= best_obj - _TOL:
            break
        best, best_obj = median, obj
        centres = _recentre(core, lookup, median)
    return best, best_obj


def _assign(
    core: CapacitatedCore, pool: np.ndarray, centres: np.ndarray, time_limit: float, threads: int | None
) -> np.ndarray | None:
    """Generalised assignment to fixed open centres (each unit to one, capacities held), nearest 10 per unit."""
    is_open = np.zeros(core.n, dtype=bool)
    is_open[centres] = True
    mask = pool & is_open[core.col] & ~(is_open[core.row] & (core.row != core.col))
    mask = _nearest(core, mask, 10) & mask
    open_lb = is_open.astype(np.float64)
    res = _solve_mip(
        core, mask, open_lb, None, time_limit, SolverSettings(time_limit=time_limit, threads=threads), mip_gap=1e-3
    )
    return res.median


def _neighbourhood_search(
    core: CapacitatedCore, pool: np.ndarray, median: np.ndarray, deadline: Deadline, settings: SolverSettings
) -> tuple[np.ndarray, float, int, int, bool]:
    """Re-solve, one at a time, the sub-problems formed by a centre's nearest centres and their units.

    Each sub-problem keeps its number of centres and its units' total demand, so any improvement
    found there is an improvement of the whole assignment. The last value says whether the search
    converged (a full sweep without improvement) rather than ran out of time.
    """
    lookup = sparse.csr_array((core.cost[pool] + 1.0, (core.row[pool], core.col[pool])), shape=(core.n, core.n))
    median = median.copy()
    size = max(2, math.ceil(NEIGHBOUR_UNITS * core.p / core.n))
    rng = np.random.default_rng(0)
    moves, tried, improved, cut_short = 0, 0, True, False
    while improved and deadline.left() > 0.1:
        improved = False
        for seed in rng.permutation(np.unique(median)).tolist():
            left = deadline.left()
            if left < 0.1:
                cut_short = True
                break
            if median[seed] != seed:
                continue  # no longer a centre
            centres = np.unique(median)
            near = lookup[[seed]][:, centres].toarray().ravel()
            near = np.where(near > 0, near, np.inf)
            group = centres[np.argsort(near, kind="stable")[:size]]
            units = np.flatnonzero(np.isin(median, group))
            sub = lookup[units][:, units].tocoo()
            part = CapacitatedCore(
                p=len(group),
                row=sub.row.astype(np.int64),
                col=sub.col.astype(np.int64),
                cost=sub.data - 1.0,
                demand=core.demand[:, units],
                capacity=core.capacity[:, units],
            )
            local = np.searchsorted(units, median[units])
            before = float(lookup[units, median[units]].sum()) - len(units)
            usable = _usable_pairs(part)
            # Far pairs of a neighbourhood seldom pay; dropping them makes each MIP several times smaller.
            mask = (_nearest(part, usable, NEIGHBOUR_NEAREST) & usable) | _pairs_of(part, usable, local)
            res = _solve_mip(
                part,
                mask,
                np.zeros(len(units), dtype=bool),
                local,
                min(NEIGHBOUR_SECONDS, left),
                settings,
            )
            tried += 1
            if res.median is not None and res.objective < before - _TOL * max(1.0, before):
                median[units] = units[res.median]
                moves += 1
                improved = True
    return median, _score(core, median), moves, tried, not (improved or cut_short)


def _recentre(core: CapacitatedCore, lookup: sparse.csr_array, median: np.ndarray) -> np.ndarray:
    """Move each centre to the member of its territory that serves it at least cost within capacity."""
    centres = []
    order = np.argsort(median, kind="stable")
    groups = np.split(order, np.flatnonzero(np.diff(median[order])) + 1)
    for members in groups:
        current = int(median[members[0]])
        sub = lookup[members][:, members].toarray()
        full = (sub > 0).all(axis=0)
        cost = np.where(full, (sub - 1.0).sum(axis=0), np.inf)
        for v, q in zip(core.demand, core.capacity, strict=True):
            cost[q[members] < v[members].sum() - _TOL] = np.inf
        k = int(np.argmin(cost))
        centres.append(int(members[k]) if math.isfinite(cost[k]) else current)
    return np.asarray(centres, dtype=np.int64)


# ---------------------------------------------------------------------------------------------------------------
# Lagrangian bound: relax the assignment rows with multipliers u; each centre's subproblem is a 0-1 knapsack


@dataclass(frozen=True, slots=True)
class _Lagrange:
    bound: float
    keep: np.ndarray
    """Usable pairs that may still be in a solution better than the incumbent."""
    open: np.ndarray
    """Centres open in every better solution."""
    iterations: int


def _knapsack_ready(core: CapacitatedCore) -> bool:
    """One band with non-negative integer demands and capacities small enough for a DP over capacity."""
    if core.demand.shape[0] != 1:
        return False
    v, q = core.demand[0], core.capacity[0]
    return bool((v >= 0).all() and (v == np.round(v)).all() and (q == np.round(q)).all() and q.max() <= 100_000)


def _knapsack(weight: np.ndarray, value: np.ndarray, cap: int, track: bool) -> tuple[np.ndarray, np.ndarray]:
    """K(c) = min sum_k value_k z_k  s.t. sum_k weight_k z_k <= c, z binary, for c = 0..cap; and the items at cap."""
    best = np.zeros(cap + 1)
    taken = np.zeros((len(weight), cap + 1), dtype=bool) if track else None
    for k, (wt, val) in enumerate(zip(weight.tolist(), value.tolist(), strict=True)):
        if wt > cap:
            continue
        cand = best[: cap + 1 - wt] + val
        if taken is None:
            best[wt:] = np.minimum(best[wt:], cand)
        else:
            better = cand < best[wt:]
            taken[k, wt:] = better
            best[wt:] = np.where(better, cand, best[wt:])
    chosen = np.zeros(len(weight), dtype=bool)
    if taken is not None:
        c = cap
        for k in range(len(weight) - 1, -1, -1):
            if taken[k, c]:
                chosen[k] = True
                c -= int(weight[k])
    return best, chosen


class _Subproblems:
    """Usable off-diagonal pairs by centre: g_j(u) = c_jj - u_j + K_j(Q_j - v_j) over items with c_ij - u_i < 0."""

    def __init__(self, core: CapacitatedCore, pool: np.ndarray) -> None:
        off = np.flatnonzero(pool & (core.row != core.col))
        self.pairs = off[np.argsort(core.col[off], kind="stable")]
        self.row = core.row[self.pairs]
        self.col = core.col[self.pairs]
        self.cost = core.cost[self.pairs]
        self.weight = np.round(core.demand[0]).astype(np.int64)
        self.cap = np.round(core.capacity[0]).astype(np.int64) - self.weight
        diag = np.flatnonzero(pool & (core.row == core.col))
        self.own = np.full(core.n, np.inf)
        self.own[core.col[diag]] = core.cost[diag]
        self.n = core.n

    def values(self, u: np.ndarray, track: set[int] | None = None) -> tuple[np.ndarray, dict[int, np.ndarray]]:
        """g_j(u) per centre (inf where j cannot be a centre) and, for centres in `track`, their knapsack items."""
        w = self.cost - u[self.row]
        neg = np.flatnonzero(w < 0)
        bounds = np.searchsorted(self.col[neg], np.arange(self.n + 1))
        g = self.own - u
        items: dict[int, np.ndarray] = {}
        for j in np.flatnonzero(np.isfinite(self.own)).tolist():
            seg = neg[bounds[j] : bounds[j + 1]]
            if len(seg) == 0:
                items[j] = seg
                continue
            rows = self.row[seg]
            best, chosen = _knapsack(self.weight[rows], w[seg], int(self.cap[j]), track is not None and j in track)
            g[j] += best[-1]
            items[j] = rows[chosen]
        return g, items


def _lagrangian(core: CapacitatedCore, pool: np.ndarray, u0: np.ndarray, ub: float, budget: Deadline) -> _Lagrange:
    """Subgradient ascent on L(u) = sum_i u_i + (sum of the p smallest g_j(u)), then fixing at the best u.

    L(u) is a lower bound for every u (the assignment rows are relaxed, the capacity knapsacks kept
    integral), so it is at least the LP bound at the LP duals u0.
    """
    sub = _Subproblems(core, pool)
    u, best_u, best_val = u0.copy(), u0.copy(), -math.inf
    step, stall, it = 1.0, 0, 0
    tol = _TOL * max(1.0, abs(ub))
    while not budget.expired() and step > 0.01:
        it += 1
        g, _ = sub.values(u)
        if not np.isfinite(np.sort(g)[core.p - 1]):
            break
        chosen = np.argpartition(g, core.p - 1)[: core.p]
        val = float(u.sum() + g[chosen].sum())
        if val > best_val + tol * 1e-3:
            best_val, best_u, stall = val, u.copy(), 0
        else:
            stall += 1
            if stall >= 15:
                step, stall = step / 2, 0
        if best_val >= ub - tol:
            break
        _, items = sub.values(u, track={int(j) for j in chosen})
        count = np.zeros(core.n)
        for j in chosen.tolist():
            count[items[j]] += 1
            count[j] += 1
        direction = 1.0 - count
        norm = float(direction @ direction)
        if norm == 0:
            break
        u = u + step * (ub - val) / norm * direction
    keep, opened = _lagrangian_fixing(core, pool, sub, best_u, best_val, ub)
    return _Lagrange(bound=best_val, keep=keep, open=opened, iterations=it)


def _lagrangian_fixing(
    core: CapacitatedCore, pool: np.ndarray, sub: _Subproblems, u: np.ndarray, val: float, ub: float
) -> tuple[np.ndarray, np.ndarray]:
    """Bounds with one decision forced, compared with the incumbent UB.

    With S the p centres of least g and g_(p), g_(p+1) the p-th and (p+1)-th values: opening j outside
    S gives L + g_j - g_(p); closing j in S gives L - g_j + g_(p+1); forcing i into j gives at least
    L - (g_j if j in S else g_(p)) + c_jj - u_j + (c_ij - u_i) + K_j(Q_j - v_j - v_i).
    """
    g, _ = sub.values(u)
    keep = pool.copy()
    opened = np.zeros(core.n, dtype=bool)
    if not math.isfinite(val) or not np.isfinite(np.sort(g)[core.p]):
        return keep, opened
    order = np.argsort(g, kind="stable")
    in_s = np.zeros(core.n, dtype=bool)
    in_s[order[: core.p]] = True
    gp, gp1 = g[order[core.p - 1]], g[order[core.p]]
    slack = ub + _TOL * max(1.0, abs(ub))
    closed = ~in_s & (val + g - gp > slack)
    opened = in_s & (val - g + gp1 > slack)
    keep &= ~closed[core.col]
    w = sub.cost - u[sub.row]
    neg = w < 0
    bounds = np.searchsorted(sub.col, np.arange(core.n + 1))
    for j in np.flatnonzero(np.isfinite(g) & ~closed).tolist():
        lo, hi = bounds[j], bounds[j + 1]
        if lo == hi:
            continue
        seg = np.arange(lo, hi)
        items = seg[neg[seg]]
        cap = int(sub.cap[j])
        best, _ = _knapsack(sub.weight[sub.row[items]], w[items], cap, False)
        rest = cap - sub.weight[sub.row[seg]]
        forced = np.full(len(seg), np.inf)
        fits = rest >= 0
        base = val - (g[j] if in_s[j] else gp) + sub.own[j] - u[j]
        forced[fits] = base + w[seg[fits]] + best[rest[fits]]
        keep[sub.pairs[seg[forced > slack]]] = False
    return keep, opened
