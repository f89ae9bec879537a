"""Large contiguous designs (fixed sites): an LP bound without contiguity, an alignment by rounding and repair.

The exact flow model does not scale to tens of thousands of units. This method:
1. solves the LP of the balanced assignment on the eligible pairs *without* contiguity (direct highspy),
   with locks as column bounds and the disruption cap as one row. Contiguity only removes solutions, so
   its optimum bounds the contiguous design from below;
2. rounds the LP (moving units back to their current territory while the cap is exceeded) and mends every
   split or out-of-band territory by re-solving it with its neighbours as a small MILP with
   nearer-neighbour contiguity and the cap on what may still move, everything else fixed (detached
   pieces are re-grown from the rooted ones as a last resort);
3. improves the objective by single-unit moves between adjacent territories that keep both territories
   connected and in band and the moved weight within the cap.
The objective is compactness plus the disruption penalty (price per point of the measure moved), as in
`model.set_objective`. The gap against the LP bound is certified for the design on the eligible pairs.
See models/territory/large.md for the argument and the references.

One module, though long: every phase edits the same working alignment (`_State`, with its running band
totals and moved weight) and is ordered by the certificate above. `_State` and `contiguous_submilp` are
also what `rooted.polish` reuses; they are the seam for a module of their own if a third method needs them.
"""

from __future__ import annotations

import heapq
import math
from collections import deque
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from spmopt.config import SolverSettings
from spmopt.errors import ConfigError, InfeasibleModelError, SolverError
from spmopt.optim.deadline import Deadline
from spmopt.optim.solve import SolveReport, SolveStatus, SparseMILP, Termination, relative_gap, solve_milp
from spmopt.territory.alignment import Alignment, Progress, quiet, score_alignment
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
    cur: np.ndarray
    """Site of unit i's current territory when (i, site) is eligible, else -1."""
    moved_weight: np.ndarray
    """Disruption measure of units with cur >= 0 (0 otherwise)."""
    moved_forced: float
    """Disruption measure that moves whatever the plan: current territory uncovered or not eligible."""
    moved_room: float
    """Largest total of `moved_weight` that may move: cap * total - forced (inf without a cap)."""
    price: float
    """Objective cost per unit of disruption measure moved: penalty per point * 100 / total."""

    @property
    def stays(self) -> np.ndarray:
        """Pairs that keep their unit in its current territory."""
        return self.ps == self.cur[self.pu]

    @property
    def offset(self) -> float:
        """Objective constant: the penalty as if every unit with a current territory moved."""
        return self.price * (math.fsum(self.moved_weight.tolist()) + self.moved_forced)


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
    for i in np.flatnonzero(fixed >= 0).tolist():
        if (inp.units[i], inp.sites[fixed[i]]) not in inp.distance:
            raise InfeasibleModelError(
                f"unit '{inp.units[i]}' must stay with {inp.sites[fixed[i]]} (a lock, or the rep's home unit) but "
                "that pair is not eligible, so no assignment keeps it there; raise territory.candidate_sites"
            )
    cur = np.full(n, -1, dtype=np.int64)
    moved_weight = np.zeros(n)
    forced, room, price = 0.0, math.inf, 0.0
    dis = inp.disruption
    if dis is not None:
        stray = []
        for u, t in inp.current.items():
            s = by_territory.get(t)
            weight = dis.weights.get(u, 0.0)
            if s is not None and (u, s) in inp.distance:
                cur[unit[u]] = site[s]
                moved_weight[unit[u]] = weight
            else:  # no eligible pair keeps it where it is: it moves in every plan, as in the exact model
                stray.append(weight)
        forced = math.fsum(stray) + dis.unavoidable
        if dis.cap is not None:
            room = dis.cap * dis.total - forced
        price = dis.penalty_per_point * 100.0 / dis.total if dis.total > 0 else 0.0
    return LargeIndex(
        pu,
        ps,
        w[pu] * d,
        d,
        values,
        lower,
        upper,
        root,
        fixed,
        adj.indptr,
        adj.indices,
        cur,
        moved_weight,
        forced,
        room,
        price,
    )


def assignment_milp(ix: LargeIndex, n: int, k: int) -> SparseMILP:
    """sum_j x_ij = 1 for all i;  L_bj <= sum_i v_bi x_ij <= U_bj;  x_ij = 1 where i is j's root or locked to j;
    sum_i m_i x_{i,cur(i)} >= sum_i m_i - room (disruption cap).  Cost a_i d_ij - price m_i on staying pairs,
    plus the constant price (sum_i m_i + forced): compactness + penalty * moved %."""
    m = len(ix.pu)
    cols = np.arange(m)
    rows = [sparse.csr_array((np.ones(m), (ix.pu, cols)), shape=(n, m))]
    lo, hi = [np.ones(n)], [np.ones(n)]
    for b in range(len(ix.values)):
        rows.append(sparse.csr_array((ix.values[b, ix.pu], (ix.ps, cols)), shape=(k, m)))
        lo.append(ix.lower[b])
        hi.append(ix.upper[b])
    stays = ix.stays
    if math.isfinite(ix.moved_room):
        keep = cols[stays]
        rows.append(
            sparse.csr_array((ix.moved_weight[ix.pu[keep]], (np.zeros(len(keep), dtype=np.int64), keep)), shape=(1, m))
        )
        lo.append(np.array([math.fsum(ix.moved_weight.tolist()) - ix.moved_room]))
        hi.append(np.array([math.inf]))
    cost = ix.cost - ix.price * np.where(stays, ix.moved_weight[ix.pu], 0.0) if ix.price else ix.cost
    col_lower = np.zeros(m)
    forced = ix.fixed[ix.pu]
    col_lower[(forced >= 0) & (forced == ix.ps)] = 1.0
    col_upper = np.ones(m)
    col_upper[(forced >= 0) & (forced != ix.ps)] = 0.0
    return SparseMILP(
        cost=cost,
        matrix=sparse.vstack(rows, format="csc"),
        row_lower=np.concatenate(lo),
        row_upper=np.concatenate(hi),
        col_lower=col_lower,
        col_upper=col_upper,
        integer=np.ones(m, dtype=bool),
        offset=ix.offset,
    )


class _State:
    """A working alignment with per-site totals, pair costs, territory member sets and the moved weight."""

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
        self.cur = ix.cur.tolist()
        self.mw = ix.moved_weight.tolist()
        self.price = ix.price
        self.room = ix.moved_room
        self.forced = ix.moved_forced
        # Only summation error may separate the running total from an exact one; nothing beyond it is let through.
        self.tol = 1e-9 * max(math.fsum(self.mw) + self.forced, 1.0)
        self.moved = self.moved_total()

    def moved_of(self, i: int, j: int) -> float:
        """Disruption measure unit i moves when it sits in j (0 while unlabelled)."""
        return self.mw[i] if j >= 0 and j != self.cur[i] else 0.0

    def moved_total(self) -> float:
        """Disruption measure moved by the current labels, forced moves excluded."""
        return math.fsum(self.moved_of(i, j) for i, j in enumerate(self.lab))

    def within_cap(self, moved: float) -> bool:
        return moved <= self.room + self.tol

    def objective(self) -> float:
        """sum_i a_i d_{i,s(i)} + price * (moved + forced) of the current labels."""
        compact = math.fsum(self.cost[i][j] for i, j in enumerate(self.lab))
        return compact + self.price * (self.moved_total() + self.forced) if self.price else compact

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
        self.moved += self.moved_of(i, j) - self.moved_of(i, a)
        self.lab[i] = j

    def unlabel(self, i: int) -> None:
        a = self.lab[i]
        self.members[a].discard(i)
        for b, v in enumerate(self.val):
            self.total[b][a] -= v[i]
        self.moved -= self.moved_of(i, a)
        self.lab[i] = -1

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
        st.unlabel(i)
    return len(loose)


def regrow(st: _State) -> None:
    """Give each unlabelled unit to an adjacent territory, cheapest eligible first (Prim-like growth); a locked
    unit only to its own territory."""
    _link_locked(st)
    heap: list[tuple[float, int, int]] = []

    def offer(i: int) -> None:
        j = st.lab[i]
        for v in st.nb[i]:
            if st.lab[v] < 0 and j in st.cost[v] and st.fixed[v] in (-1, j):
                price = st.cost[v][j] + st.price * st.moved_of(v, j) + _balance_pressure(st, v, j)
                heapq.heappush(heap, (price, v, j))

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


def _link_locked(st: _State) -> None:
    """Join each unlabelled locked unit to its territory along a shortest chain of unlabelled units eligible for
    it: free growth could otherwise wall it off from its own territory."""
    for u in range(st.n):
        j = st.fixed[u]
        if j < 0 or st.lab[u] >= 0:
            continue
        parent = {u: -1}
        queue = deque([u])
        end = -1
        while queue and end < 0:
            a = queue.popleft()
            for v in st.nb[a]:
                if st.lab[v] == j:
                    end = a
                    break
                if v not in parent and st.lab[v] < 0 and j in st.cost[v] and st.fixed[v] in (-1, j):
                    parent[v] = a
                    queue.append(v)
        while end >= 0:
            st.move(end, j)
            end = parent[end]


def _balance_pressure(st: _State, i: int, j: int) -> float:
    """Penalty for pushing territory j above its band: steers regrowth away from full territories (1e3 per
    unit of measure over the band outweighs any distance difference between adjacent sites)."""
    extra = 0.0
    for b, v in enumerate(st.val):
        over = st.total[b][j] + v[i] - st.hi[b][j]
        if over > 0:
            extra += over * 1e3
    over_cap = st.moved + st.moved_of(i, j) - st.room
    if over_cap > 0:
        extra += over_cap * 1e3
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
    which can only gain units, sum_i v_bi x_ij <= max(U_bj - F_bj, 0) with F_bj its fixed total.
    With a disruption cap, sum_{i free} m_i x_{i,cur(i)} >= M_free - (room - moved by the fixed units); the
    objective is the region's compactness plus the price of the measure its units move."""
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
    free_weight = math.fsum(st.mw[i] for i in free.tolist())
    if math.isfinite(st.room):
        moved_free = math.fsum(st.moved_of(i, st.lab[i]) for i in free.tolist())
        left = st.room - (st.moved - moved_free)
        row = len(lo)
        for c, (i, j) in enumerate(cols):
            if j == st.cur[i] and st.mw[i]:
                r_idx.append(row)
                c_idx.append(c)
                vals.append(st.mw[i])
        lo.append(free_weight - left)
        hi.append(math.inf)
    matrix = sparse.csc_array((vals, (r_idx, c_idx)), shape=(len(lo), m))
    cost = np.array([st.cost[i][j] - (st.price * st.mw[i] if j == st.cur[i] else 0.0) for i, j in cols])
    col_lower = np.array([1.0 if st.fixed[i] == j else 0.0 for i, j in cols])
    problem = SparseMILP(
        cost=cost,
        matrix=matrix,
        row_lower=np.array(lo),
        row_upper=np.array(hi),
        col_lower=col_lower,
        col_upper=np.maximum(col_upper, col_lower),
        integer=np.ones(m, dtype=bool),
        offset=st.price * free_weight,  # keeps the region's objective non-negative, so its relative gap means something
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


def improve(st: _State, deadline: Deadline, contiguity: bool = True, max_passes: int = 50) -> dict[str, object]:
    """Single-unit moves between adjacent territories keeping both connected, never taking the moved weight past
    the cap: lexicographic in (total band violation + moved weight over the cap, sum a_i d_ij + price * moved);
    first-improvement sweeps until no move helps, `max_passes` sweeps are done, or time runs out. The cap term
    lets the search repair a regrown alignment that moved too much. `stopped_by` says which of the three
    ended it (a `Termination` value)."""
    nb_bands = len(st.val)
    moves = passes = 0
    for passes in range(1, max_passes + 1):  # noqa: B007
        st.moved = st.moved_total()  # drop the drift of a sweep's running sum
        moved = 0
        for i in range(st.n):
            if deadline.expired():
                return {"passes": passes, "moves": moves, "stopped_by": Termination.TIME_LIMIT.value}
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
                dmoved = st.moved_of(i, j) - st.moved_of(i, a)
                if dmoved > 0 and not st.within_cap(st.moved + dmoved):
                    continue
                dviol += max(st.moved + dmoved - st.room, 0.0) - max(st.moved - st.room, 0.0)
                dcost = cj - st.cost[i][a] + st.price * dmoved
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
            return {"passes": passes, "moves": moves, "stopped_by": Termination.LOCAL_OPTIMUM.value}
    return {"passes": passes, "moves": moves, "stopped_by": Termination.ITERATION_LIMIT.value}


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


def restore_within_cap(st: _State, ix: LargeIndex, x: np.ndarray) -> int:
    """Send units back to their current territory until the moved weight fits the cap; returns how many.

    Those the LP keeps there most go first, then the cheapest per unit of measure. Restoring every unit with
    x_{i,cur(i)} > 0 already moves no more than the LP does, and the LP meets the cap, so this stops early."""
    if st.within_cap(st.moved):
        return 0
    stays = ix.stays
    share = np.zeros(st.n)
    share[ix.pu[stays]] = x[stays]
    back = [i for i in range(st.n) if st.cur[i] >= 0 and st.lab[i] != st.cur[i] and st.fixed[i] < 0 and st.mw[i] > 0]
    back.sort(key=lambda i: (-share[i], (st.cost[i][st.cur[i]] - st.cost[i][st.lab[i]]) / st.mw[i], i))
    count = 0
    for i in back:
        if st.within_cap(st.moved):
            break
        st.move(i, st.cur[i])
        count += 1
    return count


def _resolve_broken(
    inp: TerritoryInputs,
    ix: LargeIndex,
    st: _State,
    settings: SolverSettings,
    deadline: Deadline,
    progress: Progress,
) -> list[dict[str, object]]:
    """Mend broken (split or out-of-band) territories one neighbourhood at a time: re-solve the territory and
    its adjacent territories with nearer-neighbour contiguity, everything else fixed; widen the neighbourhood
    by one ring of territories whenever that sub-problem has no solution."""
    order = root_order(inp, ix)
    rounds: list[dict[str, object]] = []
    gap = max(settings.mip_gap, RELAXATION_GAP)
    while deadline.left() > 1.0:
        bad = broken_territories(st) | out_of_band(st)
        if not bad:
            break
        seed = min(bad)
        region = {seed} | neighbour_territories(st, {seed})
        for _ in range(4):
            region |= bad & neighbour_territories(st, region)
            problem, cols = contiguous_submilp(st, region, order, inp.contiguity)
            limit = max(min(deadline.left() - 1.0, settings.time_limit), 1.0)
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
            chosen = [cols[c] for c in np.flatnonzero(result.x > 0.5).tolist()] if result.x is not None else []
            # HiGHS meets the cap row within its tolerances; the alignment must meet it exactly.
            if chosen and st.within_cap(
                st.moved + math.fsum(st.moved_of(i, j) - st.moved_of(i, st.lab[i]) for i, j in chosen)
            ):
                for i, j in chosen:
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
    if not inp.fixed_sites or inp.compactness != "distance":
        raise ConfigError(
            "the large-design method handles fixed rep sites with the distance objective; "
            "use the exact method for this scenario"
        )
    deadline = Deadline.after(settings.time_limit)
    n, k = len(inp.units), len(inp.sites)
    ix = index_inputs(inp)
    _check_cap(inp, ix)
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
    build = deadline.elapsed()
    progress(f"LP of the balanced assignment without contiguity: {len(ix.pu)} pairs, {n} units, {k} territories")
    lp = solve_milp(problem, settings, relax=True)
    if lp.report.status == SolveStatus.INFEASIBLE:
        capped = math.isfinite(ix.moved_room)
        raise InfeasibleModelError(
            "no balanced assignment "
            + ("within the disruption cap " if capped else "")
            + "exists on the eligible pairs even without contiguity (the LP is infeasible); "
            "widen the balance tolerance"
            + (", raise territory.max_disruption" if capped else "")
            + " or raise territory.candidate_sites"
        )
    if lp.x is None or lp.report.status != SolveStatus.OPTIMAL:
        raise SolverError(f"HiGHS did not solve the LP relaxation within {settings.time_limit:g} s")
    bound = float(lp.report.objective)
    st = _State(ix, n, k, round_relaxation(ix, lp.x, n))
    restored = restore_within_cap(st, ix, lp.x)
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
    violation = st.violation()
    still = broken_territories(st) if inp.contiguity else set()
    unlocked = sum(1 for i, j in enumerate(st.fixed) if j >= 0 and st.lab[i] != j)
    over = st.moved_total() - st.room
    if violation > 1e-6 or still or unlocked or over > st.tol:
        cap_note = (
            f", disruption cap exceeded by {100 * over / inp.disruption.total:.4g} points" if over > st.tol else ""
        )
        raise SolverError(
            f"no contiguous balanced alignment found within {settings.time_limit:g} s ({len(still)} territories "
            f"split, balance missed by {violation:.6g}, {unlocked} locked units elsewhere{cap_note}); "
            "raise the time limit or territory.candidate_sites"
        )
    site_of = {inp.units[i]: inp.sites[j] for i, j in enumerate(st.lab)}
    share = moved_share_pct(inp, site_of)
    objective = score_alignment(inp, site_of)
    if share is not None:
        objective += inp.disruption.penalty_per_point * share
    gap = relative_gap(objective, bound)
    proven = gap is not None and gap <= settings.mip_gap
    seconds = deadline.elapsed()
    report = SolveReport(
        status=SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE,
        # the local search is the last phase: whatever stopped it stopped the method, unless the bound proves the plan
        termination=Termination.GAP_REACHED if proven else Termination(stats["stopped_by"]),
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
        site_of=site_of,
        report=report,
        method="large",
        details={
            "approach": "LP bound; rounding, contiguous neighbourhood re-solves and local search",
            "lp": lp.report.as_dict(),
            "rounded_value": rounded_value,
            "restored_to_meet_cap": restored,
            "moved_share_pct": share,
            "broken_after_rounding": broken,
            "neighbourhood_resolves": rounds,
            "regrown_units": regrown,
            "mended_value": mended_value,
            "local_search": stats,
            "seconds": seconds,
        },
    )


def moved_share_pct(inp: TerritoryInputs, site_of: dict[str, str]) -> float | None:
    """100 * sum_i m_i moved_i / total, moved_i = 1 unless i sits with its current territory's rep (as in the
    exact model: a unit whose current territory no rep covers always moves); None without disruption settings."""
    dis = inp.disruption
    if dis is None:
        return None
    site_of_territory = {t: s for s, t in inp.site_territory.items()}
    moved = math.fsum(dis.weights.get(u, 0.0) for u, t in inp.current.items() if site_of[u] != site_of_territory.get(t))
    moved += dis.unavoidable
    return 100.0 * moved / dis.total if dis.total > 0 else 0.0


def _check_cap(inp: TerritoryInputs, ix: LargeIndex) -> None:
    """Refuse at once a cap that the forced moves alone exceed (uncovered or ineligible current territories,
    locks and home units elsewhere): the LP would only say it is infeasible."""
    dis = inp.disruption
    if dis is None or dis.cap is None or dis.total <= 0:
        return
    away = (ix.fixed >= 0) & (ix.cur >= 0) & (ix.fixed != ix.cur)
    least = ix.moved_forced + math.fsum(ix.moved_weight[away].tolist())
    if least > dis.cap * dis.total * (1 + 1e-12):
        what = dis.measure or "units"
        raise InfeasibleModelError(
            f"at least {100 * least / dis.total:.4g}% of {what} must move (current territories no eligible rep "
            f"covers, locks and rep home units in another territory) but territory.max_disruption is "
            f"{100 * dis.cap:.4g}%; raise the cap or change the locks or the current alignment"
        )
