"""Exact method for rep-based designs: assignment MILP on the array path, contiguity by rooted separator rows.

Each rep j has a fixed root r_j (the home unit). Columns x_ij for eligible pairs, plus c_e for cut-edge
compactness. Rows, one function each below:

* assignment       sum_j x_ij = 1                                  for every unit i
* served           sum_i x_ij >= 1                                 for every rep j
* balance          L_bj <= sum_i v_bi x_ij <= U_bj                 for every measure b and rep j
* disruption cap   sum_i w_i x_{i,cur(i)} >= W_cur - cap           (moved weight within the cap)
* cut edge         c_uv >= x_uj - x_vj and c_uv >= x_vj - x_uj     (cut-edge objective only)
* separator        x_ij <= sum_{c in C} x_cj                       for i in j's territory and C an i–r_j
                                                                   vertex separator (contiguity)

Locks and roots are column bounds. Separators start as C = N(i) (a unit other than the root needs a
neighbour in its territory) and grow by separation: from the LP relaxation (pieces of the support graph
not linked to the root) before branching, and from every disconnected integer point HiGHS reports.
Since HiGHS cannot take rows inside its search, the MIP is re-solved with the new rows, from the best
contiguous plan known (the heuristic's, or a repaired incumbent). Every bound reported is the bound of
a relaxation of the contiguous problem, so the gap is honest whatever limit stops the search.

Work is limited in branch-and-bound nodes (deterministic); the clock is a safety net only.

One module, though long: the row builders, the LP separation rounds and the MIP rounds all address
columns through one `_Layout`, and the bound is honest only because every separator row, whichever phase
finds it, goes through `_separator_rows`' path check; they are kept where that can be read in one place.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from scipy import sparse

from spmopt.config import SolverSettings
from spmopt.optim.deadline import Deadline
from spmopt.optim.solve import IncrementalMilp, SolveReport, SolveStatus, SparseMILP, Termination, relative_gap
from spmopt.territory.alignment import Alignment, Progress, quiet
from spmopt.territory.arrays import TerritoryArrays, territory_arrays
from spmopt.territory.heuristic import Effort, HeuristicPlan, design_heuristic
from spmopt.territory.inputs import TerritoryInputs
from spmopt.territory.separation import separates, separators, vertex_cut_separators

LP_ROUNDS = 25
"""Separation rounds on the LP relaxation before branching."""
REPAIR = Effort(starts=1, passes=20, kicks=40)
"""Effort spent turning each disconnected MIP point into a plan (it runs once a round)."""
POLISH_NODES = 50
"""Branch-and-bound nodes of each neighbourhood re-solve in `polish`."""
POLISH_SECONDS = 30.0
"""Safety-net seconds of each neighbourhood re-solve (its node limit is meant to stop it first)."""
SP_TRIGGER = 0.02
"""The shortest-path-ordered model runs when the plan in hand is more than this far above the LP bound."""
SP_NODES = 2_000
"""Branch-and-bound nodes of the shortest-path-ordered model (a deterministic stop)."""
MIP_ROUNDS = 12
"""Re-solves of the MIP with new separator rows (a search stops at its first disconnected point); a deterministic
limit, like `SolverSettings.node_limit`."""


STOPS: dict[str, Termination] = {
    "gap": Termination.GAP_REACHED,
    "time_limit": Termination.TIME_LIMIT,
    "node_limit": Termination.NODE_LIMIT,
    "round_limit": Termination.ROUND_LIMIT,
    "infeasible": Termination.INFEASIBLE,
}
"""`details.stopped_by` (the names models/territory/rooted.md documents) -> the report's termination."""


def applies(inp: TerritoryInputs) -> bool:
    """Rep-based designs (fixed sites) with distance or cut-edge compactness."""
    return inp.fixed_sites


@dataclass
class _Rows:
    """Rows collected in COO form."""

    rows: list[int] = field(default_factory=list)
    cols: list[int] = field(default_factory=list)
    vals: list[float] = field(default_factory=list)
    lower: list[float] = field(default_factory=list)
    upper: list[float] = field(default_factory=list)

    def add(self, cols: list[int], vals: list[float], lo: float, hi: float) -> None:
        r = len(self.lower)
        self.rows += [r] * len(cols)
        self.cols += cols
        self.vals += vals
        self.lower.append(lo)
        self.upper.append(hi)

    def extend(self, other: _Rows) -> None:
        offset = len(self.lower)
        self.rows += [r + offset for r in other.rows]
        self.cols += other.cols
        self.vals += other.vals
        self.lower += other.lower
        self.upper += other.upper

    def matrix(self, n_col: int) -> sparse.csr_array:
        return sparse.csr_array((self.vals, (self.rows, self.cols)), shape=(len(self.lower), n_col))


@dataclass(frozen=True, slots=True)
class _Layout:
    """Column positions: pairs first (x), then cut edges (c)."""

    arr: TerritoryArrays
    pair: dict[tuple[int, int], int]
    n_col: int
    edge_col0: int


def _layout(arr: TerritoryArrays) -> _Layout:
    n_pairs = len(arr.pair_unit)
    extra = len(arr.edges) if arr.cut_edges else 0
    return _Layout(arr=arr, pair=arr.pair_index(), n_col=n_pairs + extra, edge_col0=n_pairs)


def add_assignment(rows: _Rows, lay: _Layout) -> None:
    """sum_j x_ij = 1 for every unit i."""
    arr = lay.arr
    for i in range(arr.n):
        cols = list(range(int(arr.unit_start[i]), int(arr.unit_start[i + 1])))
        rows.add(cols, [1.0] * len(cols), 1.0, 1.0)


def add_served(rows: _Rows, lay: _Layout) -> None:
    """sum_i x_ij >= 1 for every rep j: nobody is left without a territory."""
    arr = lay.arr
    for j in range(arr.m):
        cols = np.flatnonzero(arr.pair_site == j).tolist()
        rows.add(cols, [1.0] * len(cols), 1.0, math.inf)


def add_balance(rows: _Rows, lay: _Layout) -> None:
    """L_bj <= sum_i v_bi x_ij <= U_bj for every measure b and rep j."""
    arr = lay.arr
    for b in range(arr.measure.shape[0]):
        for j in range(arr.m):
            cols = np.flatnonzero(arr.pair_site == j)
            vals = arr.measure[b, arr.pair_unit[cols]]
            keep = vals != 0
            rows.add(cols[keep].tolist(), vals[keep].tolist(), float(arr.lower[b, j]), float(arr.upper[b, j]))


def add_disruption_cap(rows: _Rows, lay: _Layout) -> None:
    """sum_i w_i x_{i,cur(i)} >= sum_i w_i - cap: the weight leaving its current rep stays within the cap."""
    arr = lay.arr
    if arr.moved_cap is None:
        return
    cols, vals = [], []
    for i in np.flatnonzero((arr.current >= 0) & (arr.moved_weight > 0)).tolist():
        p = lay.pair.get((i, int(arr.current[i])))
        if p is not None:
            cols.append(p)
            vals.append(float(arr.moved_weight[i]))
    staying_at_most = float(sum(vals))
    rows.add(cols, vals, float(arr.moved_weight.sum()) - arr.moved_cap, staying_at_most + 1.0)


def add_cut_edges(rows: _Rows, lay: _Layout) -> None:
    """c_uv >= |x_uj - x_vj| for every edge {u, v} and rep j eligible for either end."""
    arr = lay.arr
    if not arr.cut_edges:
        return
    for e, (u, v) in enumerate(arr.edges.tolist()):
        c = lay.edge_col0 + e
        sites = set(arr.pair_site[arr.unit_start[u] : arr.unit_start[u + 1]].tolist())
        sites |= set(arr.pair_site[arr.unit_start[v] : arr.unit_start[v + 1]].tolist())
        for j in sorted(sites):
            pu, pv = lay.pair.get((u, j)), lay.pair.get((v, j))
            for a, b in ((pu, pv), (pv, pu)):
                cols, vals = [c], [1.0]
                if a is not None:
                    cols.append(a)
                    vals.append(-1.0)
                if b is not None:
                    cols.append(b)
                    vals.append(1.0)
                if a is not None:
                    rows.add(cols, vals, 0.0, math.inf)


def add_neighbour_separators(rows: _Rows, lay: _Layout) -> None:
    """x_ij <= sum_{v in N(i)} x_vj for every pair with i not j's root and the root not next to i."""
    arr = lay.arr
    if not arr.contiguity:
        return
    for p, (i, j) in enumerate(zip(arr.pair_unit.tolist(), arr.pair_site.tolist(), strict=True)):
        r = int(arr.root[j])
        if i == r:
            continue
        nbrs = arr.neighbours(i).tolist()
        if r in nbrs:
            continue
        cols = [p] + [lay.pair[v, j] for v in nbrs if (v, j) in lay.pair]
        rows.add(cols, [1.0] + [-1.0] * (len(cols) - 1), -math.inf, 0.0)


def add_shortest_path_order(rows: _Rows, lay: _Layout) -> None:
    """x_ij <= sum_{v in N(i), l_j(v) < l_j(i)} x_vj: a unit joins j only beside a unit nearer j's root.

    l_j is the path length (km along edges) from j's root. Following nearer neighbours always ends at the
    root, so every solution is contiguous (Zoltners & Sinha 1983); some contiguous plans are excluded, so
    this restriction only supplies a first plan, never a bound.
    """
    arr = lay.arr
    inp = arr.inp
    for p, (i, j) in enumerate(zip(arr.pair_unit.tolist(), arr.pair_site.tolist(), strict=True)):
        if i == int(arr.root[j]):
            continue
        dist = inp.root_distance[inp.sites[j]]
        here = dist.get(inp.units[i], math.inf)
        nearer = [
            lay.pair[v, j]
            for v in arr.neighbours(i).tolist()
            if (v, j) in lay.pair and dist.get(inp.units[v], math.inf) < here
        ]
        rows.add([p, *nearer], [1.0] + [-1.0] * len(nearer), -math.inf, 0.0)


def _bounds(lay: _Layout) -> tuple[np.ndarray, np.ndarray]:
    """Locks and roots fix columns; a unit held by two reps (a home locked elsewhere) can join none."""
    arr = lay.arr
    lo = np.zeros(lay.n_col)
    hi = np.ones(lay.n_col)
    held: dict[int, set[int]] = {}
    for i, t in enumerate(arr.lock.tolist()):
        if t >= 0:
            held.setdefault(i, set()).add(t)
    if arr.contiguity:
        for j, r in enumerate(arr.root.tolist()):
            held.setdefault(r, set()).add(j)
    for i, sites in held.items():
        for p in range(int(arr.unit_start[i]), int(arr.unit_start[i + 1])):
            if len(sites) == 1 and int(arr.pair_site[p]) in sites:
                lo[p] = 1.0
            else:
                hi[p] = 0.0
    return lo, hi


def _costs(lay: _Layout) -> tuple[np.ndarray, float]:
    """Objective coefficients and constant: compactness plus price x moved weight."""
    arr = lay.arr
    cost = np.zeros(lay.n_col)
    if arr.cut_edges:
        cost[lay.edge_col0 :] = 1.0
    else:
        cost[: len(arr.pair_cost)] = arr.pair_cost
    offset = arr.moved_price * (float(arr.moved_weight.sum()) + arr.moved_forced)
    if arr.moved_price:
        for i in np.flatnonzero(arr.current >= 0).tolist():
            p = lay.pair.get((i, int(arr.current[i])))
            if p is not None:
                cost[p] -= arr.moved_price * float(arr.moved_weight[i])
    return cost, offset


def _vector(lay: _Layout, slot: np.ndarray) -> np.ndarray:
    x = np.zeros(lay.n_col)
    for i, j in enumerate(slot.tolist()):
        x[lay.pair[i, j]] = 1.0
    if lay.arr.cut_edges:
        e = lay.arr.edges
        x[lay.edge_col0 :] = (slot[e[:, 0]] != slot[e[:, 1]]).astype(float)
    return x


def _decode(lay: _Layout, x: np.ndarray) -> np.ndarray:
    arr = lay.arr
    slot = np.full(arr.n, -1, dtype=np.int64)
    chosen = np.flatnonzero(x[: len(arr.pair_unit)] > 0.5)
    slot[arr.pair_unit[chosen]] = arr.pair_site[chosen]
    return slot


def _separator_rows(lay: _Layout, found: list[tuple[int, int, list[int]]]) -> _Rows:
    """Rows x_ij - sum_{c in C} x_cj <= 0; a set that fails the path check is never added (the bound stays valid)."""
    rows = _Rows()
    for i, j, cut in found:
        if not separates(lay.arr, i, int(lay.arr.root[j]), cut):
            continue
        cols = [lay.pair[i, j]] + [lay.pair[c, j] for c in cut if (c, j) in lay.pair]
        rows.add(cols, [1.0] + [-1.0] * (len(cols) - 1), -math.inf, 0.0)
    return rows


def rooted_milp(lay: _Layout, neighbour_rows: bool = True) -> SparseMILP:
    """The MILP without the separators found later (and without the neighbour separators when asked)."""
    rows = _Rows()
    add_assignment(rows, lay)
    add_served(rows, lay)
    add_balance(rows, lay)
    add_disruption_cap(rows, lay)
    add_cut_edges(rows, lay)
    if neighbour_rows:
        add_neighbour_separators(rows, lay)
    cost, offset = _costs(lay)
    lo, hi = _bounds(lay)
    integer = np.zeros(lay.n_col, dtype=bool)
    integer[: len(lay.arr.pair_unit)] = True
    return SparseMILP(
        cost=cost,
        matrix=rows.matrix(lay.n_col),
        row_lower=np.array(rows.lower),
        row_upper=np.array(rows.upper),
        col_lower=lo,
        col_upper=hi,
        integer=integer,
        offset=offset,
    )


def solve_rooted(
    inp: TerritoryInputs,
    settings: SolverSettings,
    progress: Progress = quiet,
    start: HeuristicPlan | None = None,
) -> Alignment:
    """Heuristic plan, LP separation, reduced-cost fixing, then MIP rounds with separator rows."""
    deadline = Deadline.after(settings.time_limit)
    threads = settings.threads or 1
    arr = territory_arrays(inp)
    lay = _layout(arr)
    if start is None:
        progress("Finding a first plan (region growing and local search)")
        start = design_heuristic(arr, time_limit=max(settings.time_limit / 4, 1.0))
    best_x = _vector(lay, start.slot) if start.feasible else None
    first_plan = deadline.elapsed() if best_x is not None else None
    progress(
        f"First plan: {'feasible' if start.feasible else 'outside its bands'}, cost {start.cost:,.1f}"
        f" ({start.seconds:.1f} s); building the exact model"
    )
    problem = rooted_milp(lay)
    cost, offset = problem.cost, problem.offset
    if best_x is not None and not satisfies(problem, best_x):
        best_x, first_plan = None, None
    nodes_left = settings.node_limit
    sp_report = None
    clock_stops: list[str] = ["heuristic"] if start.details.get("timed_out") else []

    # LP relaxation with separation: a tighter root bound before branching.
    lp = IncrementalMilp(problem, threads, relax=True)
    lp_bound, cuts, lp_rounds = -math.inf, 0, 0
    lp_x = None
    lp_cuts = _Rows()
    for lp_rounds in range(1, LP_ROUNDS + 1):  # noqa: B007 - the count is reported
        res = lp.solve(deadline.left(at_least=0.01), 0.0)
        if res.report.status != SolveStatus.OPTIMAL:
            if res.report.termination is Termination.TIME_LIMIT:
                clock_stops.append("LP rounds")
            break
        lp_bound, lp_x = float(res.report.objective), res.x
        found = (separators(arr, lay.pair, res.x, 1e-6) or vertex_cut_separators(arr, res.x)) if arr.contiguity else []
        if not found:
            break
        extra = _separator_rows(lay, found)
        lp.add_rows(extra.matrix(lay.n_col), np.array(extra.lower), np.array(extra.upper))
        lp_cuts.extend(extra)
        cuts += len(found)
    if lp_x is None and res.report.status == SolveStatus.INFEASIBLE:
        return _result(
            arr,
            None,
            start,
            SolveReport(SolveStatus.INFEASIBLE, Termination.INFEASIBLE, None, None, None, 0, 0),
            deadline,
            {"lp_rounds": lp_rounds},
            "infeasible",
        )
    upper = float(cost @ best_x + offset) if best_x is not None else math.inf
    if arr.contiguity and (
        best_x is None or relative_gap(upper, lp_bound) is None or upper > lp_bound + SP_TRIGGER * abs(upper)
    ):
        # Shortest-path-ordered plans are contiguous by construction and, on designs where one big unit
        # dominates its rep's territory, far better than what local search reaches (Georgia demo: 191,881
        # against 214,755); the model also supplies a plan when the heuristic has none. Where the plan in
        # hand is already within SP_TRIGGER of the LP bound it is skipped, as it rarely pays there.
        progress("Searching the shortest-path-ordered model for a contiguous plan")
        budget = max(min(settings.time_limit / 3, 60.0), 1.0)
        sp_x, sp_report = _shortest_path_plan(lay, threads, budget, SP_NODES, best_x)
        if nodes_left is not None:
            nodes_left -= max(sp_report.nodes, 1)
        if sp_x is not None and (best_x is None or float(cost @ sp_x) < float(cost @ best_x) - 1e-9):
            best_x = sp_x
            first_plan = first_plan if first_plan is not None else deadline.elapsed()
        if sp_report.termination is Termination.TIME_LIMIT:
            clock_stops.append("shortest-path model")
        upper = float(cost @ best_x + offset) if best_x is not None else math.inf
    fixed = 0
    col_hi = problem.col_upper.copy()
    if lp_x is not None and math.isfinite(upper):
        _, reduced = lp.duals()
        # A column at 0 whose reduced cost lifts the LP bound above the best plan cannot improve on it.
        drop = (lp_x < 1e-9) & (lp_bound + reduced > upper + 1e-6 * max(1.0, abs(upper))) & (problem.col_lower == 0)
        col_hi[drop] = 0.0
        fixed = int(drop.sum())
    polish_facts: dict[str, object] = {}
    close = best_x is not None and upper - lp_bound <= settings.mip_gap * abs(upper)
    if arr.contiguity and not arr.cut_edges and best_x is not None and not close:
        progress("Re-solving each territory with its neighbours")
        slot, polish_facts = polish(inp, _decode(lay, best_x), settings, deadline)
        x = _vector(lay, slot)
        if (
            satisfies(problem, x)
            and not separators(arr, lay.pair, x, 0.5)
            and float(cost @ x) < float(cost @ best_x) - 1e-9
        ):
            best_x = x
            upper = float(cost @ best_x + offset)
        if polish_facts.get("polish_clock"):
            clock_stops.append("polish")
    mip = IncrementalMilp(
        SparseMILP(
            cost=cost,
            matrix=sparse.vstack([sparse.csr_array(problem.matrix), lp_cuts.matrix(lay.n_col)]),
            row_lower=np.concatenate([problem.row_lower, lp_cuts.lower]),
            row_upper=np.concatenate([problem.row_upper, lp_cuts.upper]),
            col_lower=problem.col_lower,
            col_upper=col_hi,
            integer=problem.integer,
            offset=offset,
        ),
        threads,
    )
    progress(
        f"LP bound {lp_bound:,.1f} after {lp_rounds} rounds ({cuts} separator rows); {fixed} columns fixed; branching"
    )
    bound = lp_bound if math.isfinite(lp_bound) else None
    stopped_by, rounds, status = "gap", 0, None
    seen: list[np.ndarray] = []

    def disconnected(x: np.ndarray) -> bool:
        # Stop the search at a disconnected point: its rows are added and the search restarts from the
        # best contiguous plan, instead of exploring a tree that the new rows would cut.
        return bool(separators(arr, lay.pair, x, 0.5))

    while True:
        rounds += 1
        left = deadline.left()
        if left <= 0.05:
            stopped_by = "time_limit"
            break
        if nodes_left is not None and nodes_left <= 0:
            stopped_by = "node_limit"
            break
        seen.clear()
        res = mip.solve(
            left,
            settings.mip_gap,
            start=best_x,
            on_solution=seen.append,
            node_limit=nodes_left,
            stop_after=disconnected if arr.contiguity else None,
        )
        if nodes_left is not None:
            nodes_left -= max(res.report.nodes, 1)
        if res.report.bound is not None:
            bound = res.report.bound if bound is None else max(bound, res.report.bound)
        status = res.report.status
        if status == SolveStatus.INFEASIBLE:
            if best_x is None:
                return _result(arr, None, start, res.report, deadline, {"rounds": rounds, "cuts": cuts}, "infeasible")
            break  # the rows cut off every plan better than the best one: it is optimal
        points = ([res.x] if res.x is not None else []) + seen
        found: list[tuple[int, int, list[int]]] = []
        for x in points:
            sep = separators(arr, lay.pair, x, 0.5) if arr.contiguity else []
            if not sep:
                value = float(cost @ x + offset)
                if value < upper - 1e-9:
                    upper, best_x = value, x
                    first_plan = first_plan if first_plan is not None else deadline.elapsed()
            found += sep
        if found:
            # A disconnected point: the heuristic repairs it into a plan, and the rows forbid it.
            repaired = design_heuristic(
                arr,
                time_limit=max(min(5.0, deadline.left()), 0.5),
                effort=REPAIR,
                start=(_decode(lay, points[0]), np.arange(arr.m)),
            )
            if repaired.details.get("timed_out"):
                clock_stops.append("repair")
            if repaired.feasible and satisfies(problem, _vector(lay, repaired.slot)):
                x = _vector(lay, repaired.slot)
                value = float(cost @ x + offset)
                if value < upper - 1e-9:
                    upper, best_x = value, x
                    first_plan = first_plan if first_plan is not None else deadline.elapsed()
            extra = _separator_rows(lay, _unique(found))
            mip.add_rows(extra.matrix(lay.n_col), np.array(extra.lower), np.array(extra.upper))
            cuts += len(extra.lower)
            if rounds >= MIP_ROUNDS:
                stopped_by = "round_limit"
                break
            continue
        if status == SolveStatus.OPTIMAL:
            stopped_by = "gap"
        elif status == SolveStatus.NO_SOLUTION or status == SolveStatus.FEASIBLE:
            stopped_by = "node_limit" if nodes_left is not None and nodes_left <= 0 else "time_limit"
        break
    if best_x is None:
        report = SolveReport(SolveStatus.NO_SOLUTION, STOPS[stopped_by], None, bound, None, deadline.elapsed(), 0.0)
        facts = {"rounds": rounds, "cuts": cuts, "fixed": fixed, "clock_stopped": sorted(set(clock_stops))}
        return _result(arr, None, start, report, deadline, facts, stopped_by)
    if bound is not None:
        bound = min(bound, upper)
    gap = relative_gap(upper, bound)
    proven = gap is not None and gap <= settings.mip_gap + 1e-12
    report = SolveReport(
        status=SolveStatus.OPTIMAL if proven else SolveStatus.FEASIBLE,
        termination=STOPS["gap" if proven else stopped_by],
        objective=upper,
        bound=bound,
        gap=gap,
        solve_seconds=deadline.elapsed(),
        handover_seconds=0.0,
        solver_version=res.report.solver_version if rounds else "",
    )
    details = {
        "rounds": rounds,
        "cuts": cuts,
        "fixed_columns": fixed,
        "lp_bound": lp_bound,
        "lp_rounds": lp_rounds,
        "clock_stopped": sorted(set(clock_stops)),
        "first_plan_seconds": None if first_plan is None else round(first_plan, 3),
        **polish_facts,
    }
    if sp_report is not None:
        details["shortest_path_start"] = sp_report.status.value
    return _result(arr, _decode(lay, best_x), start, report, deadline, details, "gap" if proven else stopped_by)


def _shortest_path_plan(
    lay: _Layout, threads: int, budget: float, nodes: int | None, start: np.ndarray | None
) -> tuple[np.ndarray | None, SolveReport]:
    """A contiguous plan from the restricted model (None when it finds none within its limits).

    The neighbour separators are left out: the shortest-path rows imply them, and with them HiGHS found
    no plan in 60 s on al-k20 where without them it proves 1% in 26 s.
    """
    problem = rooted_milp(lay, neighbour_rows=False)
    sp = _Rows()
    add_shortest_path_order(sp, lay)
    model = IncrementalMilp(
        SparseMILP(
            cost=problem.cost,
            matrix=sparse.vstack([sparse.csr_array(problem.matrix), sp.matrix(lay.n_col)]),
            row_lower=np.concatenate([problem.row_lower, sp.lower]),
            row_upper=np.concatenate([problem.row_upper, sp.upper]),
            col_lower=problem.col_lower,
            col_upper=problem.col_upper,
            integer=problem.integer,
            offset=problem.offset,
        ),
        threads,
    )
    res = model.solve(budget, 0.01, start=start, node_limit=nodes)
    return res.x, res.report


def polish(
    inp: TerritoryInputs, slot: np.ndarray, settings: SolverSettings, deadline: Deadline
) -> tuple[np.ndarray, dict[str, object]]:
    """Neighbourhood re-solves of a contiguous plan: each rep's territory with its adjacent ones is
    re-assigned by a small MILP (others fixed, contiguity by nearer neighbours as in the large method),
    and kept when it lowers the objective. Distance designs only; each re-solve is node-limited.
    """
    from spmopt.optim.solve import solve_milp
    from spmopt.territory.large import _State, contiguous_submilp, index_inputs, neighbour_territories, root_order

    ix = index_inputs(inp)
    st = _State(ix, len(inp.units), len(inp.sites), slot.copy())
    order = root_order(inp, ix)
    tried = kept = 0
    clock_cut = False
    for seed in range(len(inp.sites)):
        left = deadline.left()
        if left <= 1.0:
            clock_cut = True
            break
        region = {seed} | neighbour_territories(st, {seed})
        problem, cols = contiguous_submilp(st, region, order, True)
        sub = settings.model_copy(update={"time_limit": min(left - 1.0, POLISH_SECONDS), "mip_gap": 1e-4})
        before = st.objective()
        result = solve_milp(problem, sub, node_limit=POLISH_NODES)
        tried += 1
        clock_cut = clock_cut or result.report.termination is Termination.TIME_LIMIT
        if result.x is None:
            continue
        chosen = [cols[c] for c in np.flatnonzero(result.x > 0.5).tolist()]
        moves = [(i, j) for i, j in chosen if st.lab[i] != j]
        if not moves:
            continue
        undo = [(i, st.lab[i]) for i, _ in moves]
        for i, j in moves:
            st.move(i, j)
        if st.objective() < before - 1e-9 and st.within_cap(st.moved):
            kept += 1
        else:
            for i, j in undo:
                st.move(i, j)
    return np.array(st.lab, dtype=np.int64), {"polish_tried": tried, "polish_kept": kept, "polish_clock": clock_cut}


def satisfies(problem: SparseMILP, x: np.ndarray, tol: float = 1e-6) -> bool:
    """x meets every row and column bound of `problem`: an outside plan enters as incumbent only then."""
    ax = sparse.csr_array(problem.matrix) @ x
    scale = tol * np.maximum(1.0, np.abs(ax))
    rows = np.all(ax >= problem.row_lower - scale) and np.all(ax <= problem.row_upper + scale)
    return bool(rows and np.all(x >= problem.col_lower - tol) and np.all(x <= problem.col_upper + tol))


def _unique(found: list[tuple[int, int, list[int]]]) -> list[tuple[int, int, list[int]]]:
    seen, out = set(), []
    for i, j, cut in found:
        key = (i, j, tuple(cut))
        if key not in seen:
            seen.add(key)
            out.append((i, j, cut))
    return out


def _result(
    arr: TerritoryArrays,
    slot: np.ndarray | None,
    start: HeuristicPlan,
    report: SolveReport,
    deadline: Deadline,
    details: dict[str, object],
    stopped_by: str,
) -> Alignment:
    inp = arr.inp
    site_of = {inp.units[i]: inp.sites[int(j)] for i, j in enumerate(slot.tolist())} if slot is not None else {}
    return Alignment(
        site_of=site_of,
        report=report,
        method="rooted",
        details={
            **details,
            "start_feasible": start.feasible,
            "start_cost": start.cost,
            "start_seconds": round(start.seconds, 3),
            "stopped_by": stopped_by,
            # The clock decided something (a stop, or a phase cut short): another load may give another plan.
            "reproducible": stopped_by != "time_limit" and not details.get("clock_stopped"),
            "seconds": round(deadline.elapsed(), 3),
        },
    )
