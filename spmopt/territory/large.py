"""Large contiguous designs (fixed sites): an LP bound without contiguity, an alignment by rounding and repair.

The exact flow model does not scale to tens of thousands of units. This method:
1. solves the LP of the balanced assignment on the eligible pairs *without* contiguity (direct highspy).
   Contiguity only removes solutions, so its optimum bounds the contiguous design from below;
2. rounds the LP and mends every split or out-of-band territory by re-solving it with its neighbours
   as a small MILP with nearer-neighbour contiguity, everything else fixed (detached pieces are re-grown
   from the rooted ones as a last resort);
3. improves compactness by single-unit moves between adjacent territories that keep both territories
   connected and in band.
The gap against the LP bound is certified for the design on the eligible pairs. See
models/territory/large.md for the argument and the references.
"""

from __future__ import annotations

import heapq
import math
import time
from collections import deque
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from spmopt.config import SolverSettings
from spmopt.errors import ConfigError, InfeasibleModelError, SolverError
from spmopt.optim.solve import SolveReport, SolveStatus, SparseMILP, relative_gap, solve_milp
from spmopt.territory.alignment import Alignment, Progress, quiet
from spmopt.territory.inputs import TerritoryInputs

_EPS = 1e-9
RELAXATION_GAP = 0.002
"""Gap at which a neighbourhood re-solve stops: small next to the 2% the whole design is certified to."""


@dataclass(frozen=True, slots=True)
class LargeIndex:
    """The design in integer arrays: pair p joins unit pu[p] to site ps[p] at cost w_i d_ij."""

    pu: np.ndarray
    ps: np.ndarray
    cost: np.ndarray
    dist: np.ndarray
    """d_ij per pair (km or the instance's own unit)."""
    values: np.ndarray
    """Band b's value at unit i: values[b, i]."""
    lower: np.ndarray
    upper: np.ndarray
    """Band b's limits at site j: lower[b, j], upper[b, j]."""
    root: np.ndarray
    """Root unit of site j (-1 without contiguity)."""
    fixed: np.ndarray
    """Site a unit must join (root or lock), -1 when free."""
    nbr_ptr: np.ndarray
    nbr: np.ndarray
    """Adjacency in CSR form: neighbours of unit i are nbr[nbr_ptr[i]:nbr_ptr[i+1]]."""


def index_inputs(inp: TerritoryInputs) -> LargeIndex:
    """Integer arrays of a fixed-site design (units and sites in `inp` order)."""
    unit = {u: i for i, u in enumerate(inp.units)}
    site = {s: j for j, s in enumerate(inp.sites)}
    n, k = len(inp.units), len(inp.sites)
    pu = np.fromiter((unit[u] for u, _ in inp.pairs), dtype=np.int64, count=len(inp.pairs))
    ps = np.fromiter((site[s] for _, s in inp.pairs), dtype=np.int64, count=len(inp.pairs))
    w = np.array([inp.distance_weight.get(u, 1.0) for u in inp.units])
    d = np.fromiter((inp.distance[p] for p in inp.pairs), dtype=np.float64, count=len(inp.pairs))
    values = np.array([[b.values.get(u, 0.0) for u in inp.units] for b in inp.bands]).reshape(len(inp.bands), n)
    lower = np.array([[b.lower[s] for s in inp.sites] for b in inp.bands]).reshape(len(inp.bands), k)
    upper = np.array([[b.upper[s] for s in inp.sites] for b in inp.bands]).reshape(len(inp.bands), k)
    fixed = np.full(n, -1, dtype=np.int64)
    by_territory = {t: s for s, t in inp.site_territory.items()}
    for u, t in inp.locks.items():
        fixed[unit[u]] = site[by_territory.get(t, t)]
    root = np.full(k, -1, dtype=np.int64)
    if inp.contiguity:
        for s, r in inp.roots.items():
            root[site[s]] = unit[r]
            fixed[unit[r]] = site[s]
    a = np.array([unit[u] for u, _ in inp.edges], dtype=np.int64)
    b = np.array([unit[v] for _, v in inp.edges], dtype=np.int64)
    adj = sparse.csr_array((np.ones(2 * len(a)), (np.r_[a, b], np.r_[b, a])), shape=(n, n))
    return LargeIndex(pu, ps, w[pu] * d, d, values, lower, upper, root, fixed, adj.indptr, adj.indices)


def assignment_milp(ix: LargeIndex, n: int, k: int) -> SparseMILP:
    """sum_j x_ij = 1 for all i;  L_bj <= sum_i v_bi x_ij <= U_bj;  x_ij = 1 where i is j's root or locked to j."""
    m = len(ix.pu)
    cols = np.arange(m)
    rows = [sparse.csr_array((np.ones(m), (ix.pu, cols)), shape=(n, m))]
    lo, hi = [np.ones(n)], [np.ones(n)]
    for b in range(len(ix.values)):
        rows.append(sparse.csr_array((ix.values[b, ix.pu], (ix.ps, cols)), shape=(k, m)))
        lo.append(ix.lower[b])
        hi.append(ix.upper[b])
    col_lower = np.zeros(m)
    forced = ix.fixed[ix.pu]
    col_lower[(forced >= 0) & (forced == ix.ps)] = 1.0
    col_upper = np.ones(m)
    col_upper[(forced >= 0) & (forced != ix.ps)] = 0.0
    return SparseMILP(
        cost=ix.cost,
        matrix=sparse.vstack(rows, format="csc"),
        row_lower=np.concatenate(lo),
        row_upper=np.concatenate(hi),
        col_lower=col_lower,
        col_upper=col_upper,
        integer=np.ones(m, dtype=bool),
    )


class _State:
    """A working alignment with per-site totals, pair costs and territory member sets."""

    def __init__(self, ix: LargeIndex, n: int, k: int, lab: np.ndarray) -> None:
        self.ix, self.n, self.k = ix, n, k
        self.cost: list[dict[int, float]] = [{} for _ in range(n)]
        for i, j, c in zip(ix.pu.tolist(), ix.ps.tolist(), ix.cost.tolist(), strict=True):
            self.cost[i][j] = c
        self.nb: list[list[int]] = [ix.nbr[ix.nbr_ptr[i] : ix.nbr_ptr[i + 1]].tolist() for i in range(n)]
        self.val = [ix.values[b].tolist() for b in range(len(ix.values))]
        self.lo = [ix.lower[b].tolist() for b in range(len(ix.values))]
        self.hi = [ix.upper[b].tolist() for b in range(len(ix.values))]
        self.lab = lab.tolist()
        self.fixed = ix.fixed.tolist()
        self.members: list[set[int]] = [set() for _ in range(k)]
        for i, j in enumerate(self.lab):
            if j >= 0:
                self.members[j].add(i)
        self.total = [[0.0] * k for _ in self.val]
        for b, v in enumerate(self.val):
            for i, j in enumerate(self.lab):
                if j >= 0:
                    self.total[b][j] += v[i]

    def objective(self) -> float:
        """sum_i w_i d_{i,s(i)} of the current labels."""
        return math.fsum(self.cost[i][j] for i, j in enumerate(self.lab))

    def excess(self, b: int, j: int, total: float) -> float:
        """How far a territory total lies outside its band (0 inside)."""
        return max(self.lo[b][j] - total, total - self.hi[b][j], 0.0)

    def violation(self) -> float:
        return sum(self.excess(b, j, self.total[b][j]) for b in range(len(self.val)) for j in range(self.k))

    def move(self, i: int, j: int) -> None:
        a = self.lab[i]
        if a >= 0:
            self.members[a].discard(i)
        self.members[j].add(i)
        for b, v in enumerate(self.val):
            if a >= 0:
                self.total[b][a] -= v[i]
            self.total[b][j] += v[i]
        self.lab[i] = j

    def stays_connected(self, i: int) -> bool:
        """Territory of i stays connected without i: i's same-territory neighbours still reach each other."""
        a = self.lab[i]
        ends = [v for v in self.nb[i] if self.lab[v] == a]
        if len(ends) <= 1:
            return len(ends) == 1 or len(self.members[a]) == 1
        want = set(ends[1:])
        seen = {i, ends[0]}
        queue = deque([ends[0]])
        while queue:
            u = queue.popleft()
            for v in self.nb[u]:
                if v not in seen and self.lab[v] == a:
                    if v in want:
                        want.discard(v)
                        if not want:
                            return True
                    seen.add(v)
                    queue.append(v)
        return False


def detach_pieces(st: _State) -> int:
    """Unlabel every unit outside the piece of its territory that holds the root; returns how many."""
    keep = [False] * st.n
    for j in range(st.k):
        r = st.ix.root[j]
        if r < 0 or st.lab[r] != j:
            continue
        keep[r] = True
        queue = deque([int(r)])
        while queue:
            u = queue.popleft()
            for v in st.nb[u]:
                if not keep[v] and st.lab[v] == j:
                    keep[v] = True
                    queue.append(v)
    loose = [i for i in range(st.n) if not keep[i]]
    for i in loose:
        a = st.lab[i]
        st.members[a].discard(i)
        for b, v in enumerate(st.val):
            st.total[b][a] -= v[i]
        st.lab[i] = -1
    return len(loose)


def regrow(st: _State) -> None:
    """Give each unlabelled unit to an adjacent territory, cheapest eligible first (Prim-like growth)."""
    heap: list[tuple[float, int, int]] = []

    def offer(i: int) -> None:
        j = st.lab[i]
        for v in st.nb[i]:
            if st.lab[v] < 0 and j in st.cost[v]:
                heapq.heappush(heap, (st.cost[v][j] + _balance_pressure(st, v, j), v, j))

    for i in range(st.n):
        if st.lab[i] >= 0 and any(st.lab[v] < 0 for v in st.nb[i]):
            offer(i)
    while heap:
        _, v, j = heapq.heappop(heap)
        if st.lab[v] >= 0:
            continue
        st.move(v, j)
        offer(v)
    stuck = [i for i in range(st.n) if st.lab[i] < 0]
    if stuck:
        raise SolverError(
            f"{len(stuck)} units could not join any adjacent territory among their eligible sites; "
            "raise territory.candidate_sites so neighbouring reps are eligible"
        )


def _balance_pressure(st: _State, i: int, j: int) -> float:
    """Penalty for pushing territory j above its band: steers regrowth away from full territories (1e3 per
    unit of measure over the band outweighs any distance difference between adjacent sites)."""
    extra = 0.0
    for b, v in enumerate(st.val):
        over = st.total[b][j] + v[i] - st.hi[b][j]
        if over > 0:
            extra += over * 1e3
    return extra


def root_order(inp: TerritoryInputs, ix: LargeIndex) -> dict[tuple[int, int], float]:
    """l_j(i) per pair: shortest-path km from j's root when known, else the distance from unit i to j's base."""
    pu, ps = ix.pu.tolist(), ix.ps.tolist()
    if inp.root_distance:
        sites, units = inp.sites, inp.units
        ell = [inp.root_distance[sites[j]].get(units[i], math.inf) for i, j in zip(pu, ps, strict=True)]
    else:
        ell = ix.dist.tolist()
    return dict(zip(zip(pu, ps, strict=True), ell, strict=True))


def contiguous_submilp(
    st: _State, region: set[int], order: dict[tuple[int, int], float], contiguity: bool = True
) -> tuple[SparseMILP, list[tuple[int, int]]]:
    """Re-assign the units of the `region` territories with the others fixed, contiguity by nearer neighbours:
    x_ij <= sum_{v in N(i), l_j(v) < l_j(i)} x_vj (fixed neighbours enter as constants; Zoltners & Sinha 1983);
    sum_j x_ij = 1;  L_bj <= sum_i v_bi x_ij <= U_bj for the region's territories, and for a fixed territory,
    which can only gain units, sum_i v_bi x_ij <= max(U_bj - F_bj, 0) with F_bj its fixed total."""
    free = np.array(sorted(i for j in region for i in st.members[j]), dtype=np.int64)
    cols: list[tuple[int, int]] = []
    col_of: dict[tuple[int, int], int] = {}
    is_free = np.zeros(st.n, dtype=bool)
    is_free[free] = True
    for i in free.tolist():
        for j in sorted(st.cost[i]) if st.fixed[i] < 0 else [st.fixed[i]]:
            col_of[i, j] = len(cols)
            cols.append((i, j))
    m = len(cols)
    r_idx: list[int] = []
    c_idx: list[int] = []
    vals: list[float] = []
    lo: list[float] = []
    hi: list[float] = []
    col_upper = np.ones(m)
    roots = set(st.ix.root.tolist())
    for c, (i, j) in enumerate(cols):
        if not contiguity or (i in roots and st.ix.root[j] == i):
            continue
        li = order[i, j]
        fixed_help = False
        terms = []
        for v in st.nb[i]:
            lv = order.get((v, j))
            if lv is None or lv >= li:
                continue
            if is_free[v]:
                if (v, j) in col_of:
                    terms.append(col_of[v, j])
            elif st.lab[v] == j:
                fixed_help = True
                break
        if fixed_help:
            continue
        if not terms:
            col_upper[c] = 0.0
            continue
        row = len(lo)
        r_idx.extend([row] * (len(terms) + 1))
        c_idx.extend([c, *terms])
        vals.extend([1.0] + [-1.0] * len(terms))
        lo.append(-math.inf)
        hi.append(0.0)
    for c, (i, _) in enumerate(cols):
        r_idx.append(len(lo) + int(np.searchsorted(free, i)))
        c_idx.append(c)
        vals.append(1.0)
    lo.extend([1.0] * len(free))
    hi.extend([1.0] * len(free))
    touched = sorted({j for _, j in cols})
    for b, v in enumerate(st.val):
        fixed_total = [0.0] * st.k
        for i in range(st.n):
            if not is_free[i]:
                fixed_total[st.lab[i]] += v[i]
        row0 = len(lo)
        pos = {j: row0 + t for t, j in enumerate(touched)}
        for c, (i, j) in enumerate(cols):
            r_idx.append(pos[j])
            c_idx.append(c)
            vals.append(v[i])
        for j in touched:
            if j in region:
                lo.append(st.lo[b][j] - fixed_total[j])
                hi.append(st.hi[b][j] - fixed_total[j])
            else:  # a fixed territory can only gain units: it may not be pushed (further) above its band
                lo.append(-math.inf)
                hi.append(max(st.hi[b][j] - fixed_total[j], 0.0))
    matrix = sparse.csc_array((vals, (r_idx, c_idx)), shape=(len(lo), m))
    cost = np.array([st.cost[i][j] for i, j in cols])
    col_lower = np.array([1.0 if st.fixed[i] == j else 0.0 for i, j in cols])
    problem = SparseMILP(
        cost=cost,
        matrix=matrix,
        row_lower=np.array(lo),
        row_upper=np.array(hi),
        col_lower=col_lower,
        col_upper=np.maximum(col_upper, col_lower),
        integer=np.ones(m, dtype=bool),
    )
    return problem, cols


def broken_territories(st: _State) -> set[int]:
    """Territories split into several pieces or missing their root."""
    bad = set()
    for j in range(st.k):
        r = int(st.ix.root[j])
        if r < 0:
            continue
        if st.lab[r] != j:
            bad.add(j)
            continue
        seen = {r}
        queue = deque([r])
        while queue:
            u = queue.popleft()
            for v in st.nb[u]:
                if v not in seen and st.lab[v] == j:
                    seen.add(v)
                    queue.append(v)
        if len(seen) != len(st.members[j]):
            bad.add(j)
    return bad


def neighbour_territories(st: _State, sites: set[int]) -> set[int]:
    """Territories adjacent to any of `sites` (by an edge between their units)."""
    out = set()
    for j in sites:
        for i in st.members[j]:
            for v in st.nb[i]:
                out.add(st.lab[v])
    return out - sites


def improve(st: _State, deadline: float, contiguity: bool = True, max_passes: int = 50) -> dict[str, int]:
    """Single-unit moves between adjacent territories keeping both connected: lexicographic in
    (total band violation, sum w_i d_ij); first-improvement sweeps until no move helps or time runs out."""
    nb_bands = len(st.val)
    moves = passes = 0
    for passes in range(1, max_passes + 1):  # noqa: B007
        moved = 0
        for i in range(st.n):
            if time.perf_counter() > deadline:
                return {"passes": passes, "moves": moves}
            a = st.lab[i]
            if st.fixed[i] >= 0:
                continue
            best = None
            targets = {st.lab[v] for v in st.nb[i]} - {a}
            for j in targets:
                cj = st.cost[i].get(j)
                if cj is None:
                    continue
                dviol = 0.0
                for b in range(nb_bands):
                    vi = st.val[b][i]
                    ta, tj = st.total[b][a], st.total[b][j]
                    dviol += st.excess(b, a, ta - vi) - st.excess(b, a, ta)
                    dviol += st.excess(b, j, tj + vi) - st.excess(b, j, tj)
                dcost = cj - st.cost[i][a]
                if dviol > _EPS or (dviol > -_EPS and dcost > -_EPS * (1 + abs(dcost))):
                    continue
                key = (round(dviol, 9), dcost)
                if best is None or key < best[0]:
                    best = (key, j)
            if best is not None and (not contiguity or st.stays_connected(i)):
                st.move(i, best[1])
                moved += 1
        moves += moved
        if moved == 0:
            break
    return {"passes": passes, "moves": moves}


def out_of_band(st: _State) -> set[int]:
    """Territories whose total of some band lies outside [L_bj, U_bj]."""
    return {j for j in range(st.k) for b in range(len(st.val)) if st.excess(b, j, st.total[b][j]) > 1e-6}


def round_relaxation(ix: LargeIndex, x: np.ndarray, n: int) -> np.ndarray:
    """Each unit joins the site with its largest LP value (forced pairs win ties by their bound of 1)."""
    order = np.lexsort((-x, ix.pu))
    first = np.r_[True, ix.pu[order][1:] != ix.pu[order][:-1]]
    lab = np.full(n, -1, dtype=np.int64)
    lab[ix.pu[order][first]] = ix.ps[order][first]
    return lab


def _resolve_broken(
    inp: TerritoryInputs,
    ix: LargeIndex,
    st: _State,
    settings: SolverSettings,
    deadline: float,
    progress: Progress,
) -> list[dict[str, object]]:
    """Mend broken (split or out-of-band) territories one neighbourhood at a time: re-solve the territory and
    its adjacent territories with nearer-neighbour contiguity, everything else fixed; widen the neighbourhood
    by one ring of territories whenever that sub-problem has no solution."""
    order = root_order(inp, ix)
    rounds: list[dict[str, object]] = []
    gap = max(settings.mip_gap, RELAXATION_GAP)
    while time.perf_counter() < deadline - 1.0:
        bad = broken_territories(st) | out_of_band(st)
        if not bad:
            break
        seed = min(bad)
        region = {seed} | neighbour_territories(st, {seed})
        for _ in range(4):
            region |= bad & neighbour_territories(st, region)
            problem, cols = contiguous_submilp(st, region, order, inp.contiguity)
            limit = max(min(deadline - time.perf_counter() - 1.0, settings.time_limit), 1.0)
            result = solve_milp(problem, settings.model_copy(update={"time_limit": limit, "mip_gap": gap}))
            rounds.append(
                {
                    "seed": inp.sites[seed],
                    "territories": len(region),
                    "pairs": len(cols),
                    "status": result.report.status.value,
                    "seconds": round(result.report.solve_seconds, 3),
                }
            )
            progress(
                f"Re-solved {len(region)} territories around {inp.sites[seed]} ({len(cols)} pairs): "
                f"{result.report.status.value}, {result.report.solve_seconds:.1f} s"
            )
            if result.x is not None:
                for c in np.flatnonzero(result.x > 0.5).tolist():
                    i, j = cols[c]
                    if st.lab[i] != j:
                        st.move(i, j)
                break
            region |= neighbour_territories(st, region)
        else:
            break
    progress(f"Contiguity and balance mended in {len(rounds)} neighbourhood re-solves")
    return rounds


def solve_large(inp: TerritoryInputs, settings: SolverSettings, progress: Progress = quiet) -> Alignment:
    """Bound by the LP of the balanced assignment without contiguity; alignment by rounding, contiguous
    neighbourhood re-solves and local search."""
    if not inp.fixed_sites or inp.compactness != "distance" or inp.disruption is not None:
        raise ConfigError(
            "the large-design method handles fixed rep sites with the distance objective and no disruption "
            "settings; use the exact method for this scenario"
        )
    clock = time.perf_counter()
    deadline = clock + settings.time_limit
    n, k = len(inp.units), len(inp.sites)
    ix = index_inputs(inp)
    if inp.contiguity:
        lonely = np.flatnonzero(np.diff(ix.nbr_ptr) == 0)
        lonely = lonely[~np.isin(lonely, ix.root)]
        if lonely.size and k > 1:
            raise InfeasibleModelError(
                f"contiguity is required but unit '{inp.units[lonely[0]]}' ({lonely.size} units in all) has no "
                "adjacent unit and is no rep's home unit, so no connected territory can hold it; add its "
                "adjacency or drop contiguity"
            )
    problem = assignment_milp(ix, n, k)
    build = time.perf_counter() - clock
    progress(f"LP of the balanced assignment without contiguity: {len(ix.pu)} pairs, {n} units, {k} territories")
    lp = solve_milp(problem, settings, relax=True)
    if lp.report.status == SolveStatus.INFEASIBLE:
        raise InfeasibleModelError(
            "no balanced assignment exists on the eligible pairs even without contiguity (the LP is infeasible); "
            "widen the balance tolerance or raise territory.candidate_sites"
        )
    if lp.x is None or lp.report.status != SolveStatus.OPTIMAL:
        raise SolverError(f"HiGHS did not solve the LP relaxation within {settings.time_limit:g} s")
    bound = float(lp.report.objective)
    st = _State(ix, n, k, round_relaxation(ix, lp.x, n))
    rounded_value = st.objective()
    broken = len(broken_territories(st) | out_of_band(st))
    progress(f"LP bound {bound:.6g}; rounded {rounded_value:.6g} with {broken} broken territories")
    rounds = _resolve_broken(inp, ix, st, settings, deadline, progress) if broken else []
    regrown = 0
    if inp.contiguity and broken_territories(st):  # last resort when a neighbourhood re-solve found nothing
        regrown = detach_pieces(st)
        regrow(st)
    mended_value = st.objective()
    stats = improve(st, deadline, inp.contiguity)
    objective = st.objective()
    violation = st.violation()
    still = broken_territories(st) if inp.contiguity else set()
    if violation > 1e-6 or still:
        raise SolverError(
            f"no contiguous balanced alignment found within {settings.time_limit:g} s ({len(still)} territories "
            f"split, balance missed by {violation:.6g}); raise the time limit or territory.candidate_sites"
        )
    gap = relative_gap(objective, bound)
    status = SolveStatus.OPTIMAL if gap is not None and gap <= settings.mip_gap else SolveStatus.FEASIBLE
    seconds = time.perf_counter() - clock
    report = SolveReport(
        status=status,
        termination="LP bound; rounding, contiguous neighbourhood re-solves and local search",
        objective=objective,
        bound=bound,
        gap=gap,
        solve_seconds=seconds - build,
        handover_seconds=lp.report.handover_seconds,
        build_seconds=build,
        solver_version=lp.report.solver_version,
    )
    progress(f"Alignment {objective:.6g}, bound {bound:.6g}, gap {gap}, {seconds:.1f} s")
    return Alignment(
        site_of={inp.units[i]: inp.sites[j] for i, j in enumerate(st.lab)},
        report=report,
        method="large",
        details={
            "lp": lp.report.as_dict(),
            "rounded_value": rounded_value,
            "broken_after_rounding": broken,
            "neighbourhood_resolves": rounds,
            "regrown_units": regrown,
            "mended_value": mended_value,
            "local_search": stats,
            "seconds": seconds,
        },
    )
