"""Districting in chosen-centre mode: the Hess assignment model with extended cut-edge variables and a cut loop.

Cut edges are counted as y_e = sum_j z_ej with z_ej >= x_uj - x_vj (the extended form, whose LP
bound is about twice that of y_e >= |x_uj - x_vj|). Contiguity is imposed lazily: a shortest-path
model seeds a contiguous incumbent, the model starts with the cheap neighbour rows
x_ij <= sum_{v in N(i)} x_vj, HiGHS solves it, every disconnected piece S of a district with centre j
yields separator rows x_ij <= sum_{c in C} x_cj (i in S, C a minimal S-j separator), and the model is
re-solved with the best contiguous alignment as a MIP start. Each relaxation's bound is a valid
bound for the full problem, so the report is honest whenever the time limit stops the loop.
See models/territory/contiguity.md for the formulation, the symmetry breaking and the fixings.
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from dataclasses import dataclass

import networkx as nx
import numpy as np
from scipy import sparse

from spmopt.config import SolverSettings
from spmopt.optim.deadline import Deadline
from spmopt.optim.solve import IncrementalMilp, SolveReport, SolveStatus, SparseMILP, Termination, relative_gap
from spmopt.territory.alignment import Alignment, Progress, quiet, score_alignment
from spmopt.territory.districts_heuristic import balanced_districts
from spmopt.territory.inputs import TerritoryInputs


@dataclass(frozen=True, slots=True)
class DistrictLayout:
    """Columns of the district model: x per eligible (unit, centre) pair, y per edge, z per (edge, centre) link."""

    units: tuple[str, ...]
    pairs: tuple[tuple[int, int], ...]
    """Eligible (unit index, centre index) pairs after symmetry breaking and fixings."""
    col: dict[tuple[int, int], int]
    edges: tuple[tuple[int, int], ...]
    eligible: dict[int, frozenset[int]]
    """Units that may join centre j."""
    neighbours: tuple[tuple[int, ...], ...]
    symmetry_broken: bool
    links: tuple[tuple[int, int], ...]
    """(edge index e = {u, v} with u < v, centre j eligible for u): z_ej = 1 when u is in j and v is not."""

    @property
    def n_col(self) -> int:
        """x columns, then y columns, then z columns."""
        return len(self.pairs) + len(self.edges) + len(self.links)

    def edge_col(self, e: int) -> int:
        """Column of the cut indicator of edge e."""
        return len(self.pairs) + e

    def link_col(self, n: int) -> int:
        """Column of the n-th (edge, centre) link."""
        return len(self.pairs) + len(self.edges) + n


def handles(inp: TerritoryInputs) -> bool:
    """True for chosen-centre designs without labels, locks or disruption (the districting case)."""
    return not inp.fixed_sites and not inp.labels and not inp.locks and inp.disruption is None


def solve_contiguous(inp: TerritoryInputs, settings: SolverSettings, progress: Progress = quiet) -> Alignment:
    """Minimise cut edges (or distance) over k balanced districts, contiguous when asked, with a proven bound."""
    if not handles(inp):
        from spmopt.territory.exact import solve_exact

        return solve_exact(inp, settings, progress)
    deadline = Deadline.after(settings.time_limit)
    layout = district_layout(inp)
    problem = district_milp(inp, layout)
    milp = IncrementalMilp(problem, threads=settings.threads)
    build_seconds = deadline.elapsed()
    progress(
        f"District model: {len(layout.pairs)} assignment columns, {len(layout.edges)} edges, "
        f"symmetry broken: {layout.symmetry_broken}"
    )
    integral = inp.compactness == "cut_edges"
    seed: dict[str, object] = {}
    budget = min(HEURISTIC_SHARE * settings.time_limit, HEURISTIC_CAP)
    heuristic = _heuristic_start(inp, layout, budget)
    if heuristic["x"] is None:
        heuristic = _general_start(inp, layout, max(budget, 5.0))
    if heuristic["x"] is not None:
        seed = heuristic
        progress(f"Start ({seed['method']}): {seed['objective']} in {seed['seconds']:.1f} s")
    elif inp.contiguity:
        seed_limit = min(max(SEED_SHARE * settings.time_limit, 0.5), SEED_CAP)
        seed_limit = min(seed_limit, deadline.left(at_least=0.05))
        seed = _shortest_path_seed(layout, problem, settings, seed_limit)
        progress(f"Shortest-path seed: {seed['objective']} in {seed['seconds']:.1f} s")
    best_x: np.ndarray | None = None
    best_value = math.inf
    bound = -math.inf
    rounds = 0
    cuts = 0
    last: SolveReport | None = None
    stop = Termination.TIME_LIMIT
    proven = False
    pending: dict[tuple[int, int], list[int]] = {}
    incumbent: dict[str, object] = {"x": None, "value": math.inf}
    if seed.get("x") is not None:
        incumbent["x"], incumbent["value"] = seed["x"], float(problem.cost @ seed["x"])

    def learn(x: np.ndarray) -> None:
        # every integer point HiGHS meets: keep it when contiguous, else harvest its separator rows
        site_of = _decode(layout, x)
        found = _separator_rows(layout, site_of) if inp.contiguity else []
        if not found:
            clean = _vector(layout, site_of)
            value = float(problem.cost @ clean)
            if value < incumbent["value"]:
                incumbent["x"], incumbent["value"] = clean, value
        for i, j, separator in found:
            pending.setdefault((i, j), separator)

    while True:
        remaining = deadline.left()
        if remaining <= 0.05:
            stop = Termination.TIME_LIMIT
            break
        rounds += 1
        result = milp.solve(remaining, settings.mip_gap, start=incumbent["x"], on_solution=learn)
        last = result.report
        stop = last.termination
        if last.status == SolveStatus.INFEASIBLE:
            break
        if last.bound is not None:
            bound = max(bound, math.ceil(last.bound - 1e-6) if integral else last.bound)
        if result.x is None:
            break
        learn(result.x)
        best_x, best_value = incumbent["x"], incumbent["value"]
        gap = relative_gap(best_value, bound) if math.isfinite(bound) else None
        closed = best_x is not None and gap is not None and gap <= settings.mip_gap  # no bound, no proof
        final_connected = not inp.contiguity or not _separator_rows(layout, _decode(layout, result.x))
        if final_connected or closed:
            # the relaxation's optimum is contiguous (or the incumbent meets the bound): nothing left to cut
            proven = last.status == SolveStatus.OPTIMAL or closed
            break
        rows = [(i, j, sep) for (i, j), sep in pending.items()]
        pending.clear()
        cuts += len(rows)
        progress(f"Round {rounds}: {len(rows)} separator rows (best {best_value:g}, bound {bound:g})")
        _add_rows(milp, layout, rows)
    best_x, best_value = incumbent["x"], incumbent["value"]
    elapsed = deadline.elapsed()
    site_of_ids: dict[str, str] = {}
    if best_x is not None:
        picked = _decode(layout, best_x)
        site_of_ids = {layout.units[i]: layout.units[j] for i, j in picked.items()}
        best_value = score_alignment(inp, site_of_ids)
    report = _report(
        last, stop, best_value if best_x is not None else None, bound, proven, elapsed, build_seconds, settings
    )
    return Alignment(
        site_of=site_of_ids,
        report=report,
        method="contiguous",
        details={
            "rounds": rounds,
            "separator_rows": cuts,
            "assignment_columns": len(layout.pairs),
            "edges": len(layout.edges),
            "symmetry_broken": layout.symmetry_broken,
            "contiguity": inp.contiguity,
            "seed_objective": seed.get("objective"),
            "seed_seconds": seed.get("seconds"),
            "seed_method": seed.get("method"),
            "heuristic_objective": heuristic.get("objective"),
            "heuristic_seconds": heuristic.get("seconds"),
        },
    )


HEURISTIC_SHARE = 0.05
"""Share of the time limit given to the annealing heuristic that supplies the first incumbent."""
HEURISTIC_CAP = 10.0


def _heuristic_start(inp: TerritoryInputs, layout: DistrictLayout, budget: float) -> dict[str, object]:
    """A balanced start (connected districts when contiguity is asked) from `balanced_districts`, as model columns.

    Applies to one band with the same [L, U] for every site; each district's centre is its
    highest-ranked member whose pairs are all eligible (the symmetry-breaking centre), else no start.
    """
    out: dict[str, object] = {"x": None, "objective": None, "seconds": 0.0, "method": "annealing"}
    if len(inp.bands) != 1 or budget <= 0:
        return out
    band = inp.bands[0]
    lowers, uppers = set(band.lower.values()), set(band.upper.values())
    if len(lowers) != 1 or len(uppers) != 1:
        return out
    units = layout.units
    weight = [float(band.values.get(u, 0.0)) for u in units]
    lower, upper = lowers.pop(), uppers.pop()
    # connected districts are feasible without contiguity too, and the connected anneal found fewer cut edges
    # than the free one on most county instances (LA 52 vs 57, AL 63 vs 66), so the free case runs both
    modes = (True,) if inp.contiguity else (True, False)
    runs = [
        balanced_districts(layout.neighbours, weight, inp.territories, lower, upper, mode, budget / len(modes))
        for mode in modes
    ]
    out["seconds"] = sum(r.seconds for r in runs)
    found = min(runs, key=lambda r: math.inf if r.cut_edges is None else r.cut_edges)
    if found.label is None:
        return out
    members: dict[int, list[int]] = defaultdict(list)
    for i, d in enumerate(found.label):
        members[d].append(i)
    site_of: dict[int, int] = {}
    for part in members.values():
        ranked = sorted(part, key=lambda n: (-weight[n], units[n]))
        centre = next((j for j in ranked if all((i, j) in layout.col for i in part)), None)
        if centre is None:
            return out
        site_of.update(dict.fromkeys(part, centre))
    out["x"] = _vector(layout, site_of)
    out["objective"] = found.cut_edges if inp.compactness == "cut_edges" else None
    return out


def _general_start(inp: TerritoryInputs, layout: DistrictLayout, budget: float) -> dict[str, object]:
    """A start from the general heuristic (several bands, unequal limits), as model columns when it is feasible."""
    from spmopt.territory.arrays import territory_arrays
    from spmopt.territory.heuristic import design_heuristic

    out: dict[str, object] = {"x": None, "objective": None, "seconds": 0.0, "method": "region growing"}
    plan = design_heuristic(territory_arrays(inp), time_limit=budget)
    out["seconds"] = plan.seconds
    if not plan.feasible:
        return out
    weight = _ranking_weight(inp)
    units = layout.units
    site_of: dict[int, int] = {}
    for slot, centre in enumerate(plan.site.tolist()):
        part = np.flatnonzero(plan.slot == slot).tolist()
        ranked = [centre] if not layout.symmetry_broken else []
        ranked += sorted(part, key=lambda n: (-weight[n], units[n]))
        chosen = next((j for j in ranked if all((i, j) in layout.col for i in part)), None)
        if chosen is None:
            return out
        site_of.update(dict.fromkeys(part, chosen))
    out["x"] = _vector(layout, site_of)
    out["objective"] = plan.cost
    return out


SEED_SHARE = 0.1
"""Share of the time limit given to the shortest-path model that seeds a contiguous incumbent."""
SEED_CAP = 60.0


def _shortest_path_seed(
    layout: DistrictLayout, problem: SparseMILP, settings: SolverSettings, limit: float
) -> dict[str, object]:
    """A contiguous incumbent from the model with x_ij <= sum_{v in N(i), l_j(v) < l_j(i)} x_vj added.

    l_j is the hop distance from j inside j's eligible units; following ever-closer neighbours
    reaches j, so every district of this model is connected (Zoltners & Sinha 1983). It excludes
    some connected districts, so it only seeds the exact loop.
    """
    clock = time.perf_counter()
    graph = nx.Graph(layout.edges)
    graph.add_nodes_from(range(len(layout.units)))
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    r = 0
    for j, members in layout.eligible.items():
        hops = nx.single_source_shortest_path_length(graph.subgraph(members), j)
        for i in members:
            if i == j:
                continue
            rows.append(r)
            cols.append(layout.col[i, j])
            vals.append(1.0)
            for v in layout.neighbours[i]:
                if v in members and hops[v] < hops[i]:
                    rows.append(r)
                    cols.append(layout.col[v, j])
                    vals.append(-1.0)
            r += 1
    milp = IncrementalMilp(problem, threads=settings.threads)
    if r:
        milp.add_rows(
            sparse.coo_array((vals, (rows, cols)), shape=(r, layout.n_col)), np.full(r, -math.inf), np.zeros(r)
        )
    result = milp.solve(limit, settings.mip_gap)
    x = None
    if result.x is not None:
        x = _vector(layout, _decode(layout, result.x))
    return {
        "x": x,
        "objective": result.report.objective,
        "seconds": time.perf_counter() - clock,
        "method": "shortest path",
    }


def district_layout(inp: TerritoryInputs) -> DistrictLayout:
    """Eligible pairs: the given ones, reduced by the most-weighted-centre rule and the exact fixings."""
    units = inp.units
    index = {u: n for n, u in enumerate(units)}
    edges = tuple(sorted({(min(index[u], index[v]), max(index[u], index[v])) for u, v in inp.edges}))
    adjacency: list[list[int]] = [[] for _ in units]
    for a, b in edges:
        adjacency[a].append(b)
        adjacency[b].append(a)
    given: dict[int, set[int]] = defaultdict(set)
    for i, j in inp.pairs:
        given[index[j]].add(index[i])
    weight = _ranking_weight(inp)
    symmetric = _can_break_symmetry(inp, given)
    rank = {n: r for r, n in enumerate(sorted(range(len(units)), key=lambda n: (-weight[n], units[n])))}
    graph = nx.Graph(edges)
    graph.add_nodes_from(range(len(units)))
    eligible: dict[int, frozenset[int]] = {}
    for j, members in given.items():
        keep = {i for i in members if rank[i] >= rank[j]} if symmetric else set(members)
        if j not in keep:
            continue
        keep = _within_upper(inp, graph, keep, j)
        if inp.contiguity:
            keep = set(nx.node_connected_component(graph.subgraph(keep), j))
        if _can_reach_lower(inp, keep, units, j):
            eligible[j] = frozenset(keep)
    pairs = tuple(sorted((i, j) for j, members in eligible.items() for i in members))
    links = tuple((e, j) for e, (u, _) in enumerate(edges) for j in sorted(eligible) if u in eligible[j])
    return DistrictLayout(
        units=units,
        pairs=pairs,
        col={p: c for c, p in enumerate(pairs)},
        edges=edges,
        eligible=eligible,
        neighbours=tuple(tuple(sorted(a)) for a in adjacency),
        symmetry_broken=symmetric,
        links=links,
    )


def _within_upper(inp: TerritoryInputs, graph: nx.Graph, keep: set[int], j: int) -> set[int]:
    """Drop units that cannot share j's district without exceeding a band's upper bound U_j.

    Without contiguity: w_i + w_j > U_j. With contiguity the district also holds a path from j to i
    inside the eligible units, so the lightest such path (vertex weights, j counted once) must fit.
    """
    units = inp.units
    for band in inp.bands:
        site = units[j]
        upper = band.upper.get(site, math.inf)
        w = [float(band.values.get(u, 0.0)) for u in units]
        if inp.contiguity:
            reach = nx.single_source_dijkstra_path_length(
                graph.subgraph(keep), j, weight=lambda _a, b, _d, w=w: w[b], cutoff=upper - w[j] + 1e-9
            )
            keep = {i for i in keep if i in reach and reach[i] + w[j] <= upper + 1e-9}
        else:
            keep = {i for i in keep if i == j or w[i] + w[j] <= upper + 1e-9}
    return keep


def _ranking_weight(inp: TerritoryInputs) -> list[float]:
    """The first band's values rank the units (any total order is exact; a heavy centre makes fixings bite)."""
    if not inp.bands:
        return [0.0] * len(inp.units)
    values = inp.bands[0].values
    return [float(values.get(u, 0.0)) for u in inp.units]


def _can_break_symmetry(inp: TerritoryInputs, given: dict[int, set[int]]) -> bool:
    """The centre may be fixed to a district's top-ranked unit when the objective and bands ignore the centre.

    Cut edges do not depend on which unit is the centre; bands must be the same for every site and
    every unit must be allowed to join every centre, so each partition keeps exactly one representation.
    """
    if inp.compactness != "cut_edges":
        return False
    n = len(inp.units)
    if len(given) != n or any(len(members) != n for members in given.values()):
        return False
    return all(len(set(b.lower.values())) <= 1 and len(set(b.upper.values())) <= 1 for b in inp.bands)


def _can_reach_lower(inp: TerritoryInputs, keep: set[int], units: tuple[str, ...], j: int) -> bool:
    """Centre j is possible only if its eligible units can fill every band's lower bound and j fits under the upper."""
    for band in inp.bands:
        site = units[j]
        total = sum(band.values.get(units[i], 0.0) for i in keep)
        if total < band.lower.get(site, 0.0) - 1e-9 or band.values.get(site, 0.0) > band.upper.get(site, math.inf):
            return False
    return True


def district_milp(inp: TerritoryInputs, layout: DistrictLayout) -> SparseMILP:
    """Hess rows, balance, extended cut indicators y_e = sum_j z_ej, z_ej >= x_uj - x_vj, neighbour rows, as arrays."""
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    lower: list[float] = []
    upper: list[float] = []

    def row(entries: list[tuple[int, float]], lo: float, hi: float) -> None:
        r = len(lower)
        for c, v in entries:
            rows.append(r)
            cols.append(c)
            vals.append(v)
        lower.append(lo)
        upper.append(hi)

    col = layout.col
    units = layout.units
    centres = sorted(layout.eligible)
    sites_of: dict[int, list[int]] = defaultdict(list)
    for i, j in layout.pairs:
        sites_of[i].append(j)
    # each unit in exactly one district: sum_j x_ij = 1
    for i in range(len(units)):
        row([(col[i, j], 1.0) for j in sites_of[i]], 1.0, 1.0)
    # k centres: sum_j x_jj = k
    row([(col[j, j], 1.0) for j in centres], inp.territories, inp.territories)
    # only open centres: x_ij - x_jj <= 0
    for i, j in layout.pairs:
        if i != j:
            row([(col[i, j], 1.0), (col[j, j], -1.0)], -math.inf, 0.0)
    # balance: L_j x_jj <= sum_i w_i x_ij <= U_j x_jj
    for band in inp.bands:
        for j in centres:
            site = units[j]
            terms = [(col[i, j], band.values.get(units[i], 0.0)) for i in layout.eligible[j]]
            terms = [(c, v) for c, v in terms if c != col[j, j]]
            w_j = band.values.get(site, 0.0)
            row(terms + [(col[j, j], w_j - band.lower[site])], 0.0, math.inf)
            row(terms + [(col[j, j], w_j - band.upper[site])], -math.inf, 0.0)
    # cut indicators, extended form: z_ej >= x_uj - x_vj for e = {u, v} and y_e = sum_j z_ej
    links_of: dict[int, list[int]] = defaultdict(list)
    for n, (e, j) in enumerate(layout.links):
        u, v = layout.edges[e]
        z = layout.link_col(n)
        links_of[e].append(z)
        cv = col.get((v, j))
        row([(col[u, j], 1.0), (z, -1.0)] + ([(cv, -1.0)] if cv is not None else []), -math.inf, 0.0)
    for e in range(len(layout.edges)):
        row([(z, 1.0) for z in links_of[e]] + [(layout.edge_col(e), -1.0)], 0.0, 0.0)
    if inp.contiguity:
        # a non-centre member needs a neighbour in its district: x_ij <= sum_{v in N(i)} x_vj
        for i, j in layout.pairs:
            if i != j:
                near = [col[v, j] for v in layout.neighbours[i] if (v, j) in col]
                row([(col[i, j], 1.0)] + [(c, -1.0) for c in near], -math.inf, 0.0)
    n_col = layout.n_col
    cost = np.zeros(n_col)
    if inp.compactness == "cut_edges":
        cost[len(layout.pairs) : layout.link_col(0)] = 1.0
    else:
        for (i, j), c in col.items():
            cost[c] = inp.distance_weight.get(units[i], 1.0) * inp.distance.get((units[i], units[j]), 0.0)
    matrix = sparse.coo_array((vals, (rows, cols)), shape=(len(lower), n_col))
    return SparseMILP(
        cost=cost,
        matrix=matrix,
        row_lower=np.array(lower),
        row_upper=np.array(upper),
        col_lower=np.zeros(n_col),
        col_upper=np.ones(n_col),
        integer=np.arange(n_col) < layout.link_col(0),
    )


def _vector(layout: DistrictLayout, site_of: dict[int, int]) -> np.ndarray:
    """Column vector of an alignment: its x, y_e = 1 exactly on cut edges, z_ej = 1 when u is in j and v is not."""
    x = np.zeros(layout.n_col)
    for i, j in site_of.items():
        x[layout.col[i, j]] = 1.0
    for e, (u, v) in enumerate(layout.edges):
        x[layout.edge_col(e)] = float(site_of[u] != site_of[v])
    for n, (e, j) in enumerate(layout.links):
        u, v = layout.edges[e]
        x[layout.link_col(n)] = float(site_of[u] == j and site_of[v] != j)
    return x


def _decode(layout: DistrictLayout, x: np.ndarray) -> dict[int, int]:
    """Centre index of every unit in a MIP solution."""
    return {i: j for (i, j), c in layout.col.items() if x[c] > 0.5}


def _separator_rows(layout: DistrictLayout, site_of: dict[int, int]) -> list[tuple[int, int, list[int]]]:
    """Violated rows x_ij <= sum_{c in C} x_cj for each piece S of a district cut off from its centre j.

    C = units eligible for j that border S and also border the part of j's eligible set that j
    reaches without touching S's border: a minimal S-j separator inside j's eligible units.
    """
    members: dict[int, list[int]] = defaultdict(list)
    for i, j in site_of.items():
        members[j].append(i)
    graph = nx.Graph(layout.edges)
    graph.add_nodes_from(range(len(layout.units)))
    found: list[tuple[int, int, list[int]]] = []
    for j, part in members.items():
        for piece in nx.connected_components(graph.subgraph(part)):
            if j in piece:
                continue
            allowed = layout.eligible[j]
            border = {v for i in piece for v in layout.neighbours[i] if v not in piece and v in allowed}
            reach = nx.node_connected_component(graph.subgraph(allowed - border - piece), j)
            separator = sorted(c for c in border if any(v in reach for v in layout.neighbours[c]))
            found.extend((i, j, separator) for i in sorted(piece))
    return found


def _add_rows(milp: IncrementalMilp, layout: DistrictLayout, found: list[tuple[int, int, list[int]]]) -> None:
    """Append the separator rows x_ij - sum_{c in C} x_cj <= 0."""
    rows: list[int] = []
    cols: list[int] = []
    vals: list[float] = []
    for r, (i, j, separator) in enumerate(found):
        rows.append(r)
        cols.append(layout.col[i, j])
        vals.append(1.0)
        for c in separator:
            rows.append(r)
            cols.append(layout.col[c, j])
            vals.append(-1.0)
    matrix = sparse.coo_array((vals, (rows, cols)), shape=(len(found), milp.n_col))
    milp.add_rows(matrix, np.full(len(found), -math.inf), np.zeros(len(found)))


def _report(
    last: SolveReport | None,
    stop: Termination,
    objective: float | None,
    bound: float,
    proven: bool,
    elapsed: float,
    build_seconds: float,
    settings: SolverSettings,
) -> SolveReport:
    """One account of the loop: the best contiguous alignment against the largest relaxation bound.

    `stop` is why the loop ended; a plan proven by the gap alone reports that rather than how the last solve ended.
    """
    finite_bound = bound if math.isfinite(bound) else None
    if objective is not None and finite_bound is not None:
        finite_bound = min(finite_bound, objective)
    gap = relative_gap(objective, finite_bound)
    if objective is None:
        infeasible = last is not None and last.status == SolveStatus.INFEASIBLE
        status = SolveStatus.INFEASIBLE if infeasible else SolveStatus.NO_SOLUTION
    elif proven or (gap is not None and gap <= settings.mip_gap):
        status = SolveStatus.OPTIMAL
        if stop is not Termination.OPTIMAL:
            stop = Termination.GAP_REACHED
    else:
        status = SolveStatus.FEASIBLE
    return SolveReport(
        status=status,
        termination=stop,
        objective=objective,
        bound=finite_bound,
        gap=gap,
        solve_seconds=max(elapsed - build_seconds, 0.0),
        handover_seconds=0.0,
        build_seconds=build_seconds,
        solver_version=last.solver_version if last is not None else "",
    )
