"""The territory-alignment MILP: one `add_<family>` function per constraint family.

Notation (also in models/territory/README.md): units i, sites j (rep bases or candidate centre
units), eligible pairs P, x_ij = 1 when unit i joins site j's territory. In chosen-centre mode
x_jj = 1 means unit j is opened as a centre (Hess / p-median form, which has no label symmetry).
"""

from __future__ import annotations

from collections import defaultdict

import pyomo.environ as pyo

from spmopt.territory.inputs import TerritoryInputs

CONSTRAINT_FAMILIES: tuple[str, ...] = (
    "each_unit_assigned_once",
    "territory_count",
    "assign_only_to_open_centre",
    "every_territory_served",
    "balance_band",
    "cut_edge_indicator",
    "rep_home_in_territory",
    "contiguity_flow",
    "contiguity_shortest_path",
    "territory_labels",
    "locked_units_stay",
    "disruption_cap",
)


def build_territory_model(inp: TerritoryInputs, contiguity: str = "flow") -> pyo.ConcreteModel:
    """Assemble the MILP for `inp`; families switched off in `inp` are simply not added.

    `contiguity` picks the family that enforces it: "flow" (exact) or "shortest_path" (a stronger
    but more restrictive form used to find a first contiguous alignment quickly).
    """
    m = pyo.ConcreteModel(name="territory_alignment")
    add_sets_and_assignment(m, inp)
    add_each_unit_assigned_once(m)
    if inp.fixed_sites:
        add_every_territory_served(m)
    else:
        add_territory_count(m, inp.territories)
        add_assign_only_to_open_centre(m)
    if inp.bands:
        add_balance_band(m, inp)
    if inp.needs_cut_edges:
        add_cut_edge_indicator(m, inp)
    if inp.contiguity and inp.fixed_sites:
        add_rep_home_in_territory(m, inp)
    if inp.contiguity and contiguity == "flow":
        add_contiguity_flow(m, inp)
    elif inp.contiguity:
        add_contiguity_shortest_path(m, inp)
    if inp.labels:
        add_territory_labels(m, inp)
    if inp.locks:
        add_locked_units_stay(m, inp)
    if inp.disruption is not None:
        add_disruption_cap(m, inp)
    set_objective(m, inp)
    return m


def add_sets_and_assignment(m: pyo.ConcreteModel, inp: TerritoryInputs) -> None:
    """Sets, incidence lists and the assignment variables x_ij in {0,1} for (i, j) in P."""
    m.units = pyo.Set(initialize=inp.units, ordered=True, doc="Basic units (ZIPs, counties, accounts)")
    m.sites = pyo.Set(initialize=inp.sites, ordered=True, doc="Territory sites: rep bases or centre units")
    m.pairs = pyo.Set(initialize=inp.pairs, dimen=2, ordered=True, doc="Eligible (unit, site) pairs")
    sites_of: dict[str, list[str]] = defaultdict(list)
    units_of: dict[str, list[str]] = defaultdict(list)
    for i, j in inp.pairs:
        sites_of[i].append(j)
        units_of[j].append(i)
    m.sites_of = sites_of
    m.units_of = units_of
    m.assign = pyo.Var(m.pairs, domain=pyo.Binary, doc="1 when unit i belongs to site j's territory")
    if inp.fixed_sites:
        m.is_open = {j: 1 for j in inp.sites}
    else:
        m.is_open = {j: m.assign[j, j] for j in inp.sites}


def add_each_unit_assigned_once(m: pyo.ConcreteModel) -> None:
    """Every unit joins exactly one territory:  sum_j x_ij = 1  for all i."""

    @m.Constraint(m.units)
    def each_unit_assigned_once(m, i):
        return sum(m.assign[i, j] for j in m.sites_of[i]) == 1


def add_territory_count(m: pyo.ConcreteModel, k: int) -> None:
    """Exactly k centres open (chosen-centre mode):  sum_j x_jj = k."""
    m.territory_count = pyo.Constraint(expr=sum(m.assign[j, j] for j in m.sites) == k)


def add_assign_only_to_open_centre(m: pyo.ConcreteModel) -> None:
    """Units join only open centres:  x_ij <= x_jj  for (i, j) in P, i != j."""

    index = [(i, j) for i, j in m.pairs if i != j]

    @m.Constraint(index)
    def assign_only_to_open_centre(m, i, j):
        return m.assign[i, j] <= m.assign[j, j]


def add_every_territory_served(m: pyo.ConcreteModel) -> None:
    """Each rep keeps at least one unit (fixed-site mode):  sum_i x_ij >= 1  for all j."""

    @m.Constraint(m.sites)
    def every_territory_served(m, j):
        return sum(m.assign[i, j] for i in m.units_of[j]) >= 1


def add_balance_band(m: pyo.ConcreteModel, inp: TerritoryInputs) -> None:
    """Each measure within its band:  L_bj * open_j <= sum_i w_bi x_ij <= U_bj * open_j  for b, j."""
    m.balance_measures = pyo.Set(initialize=[b.measure for b in inp.bands], ordered=True)
    bands = {b.measure: b for b in inp.bands}
    index = [(b.measure, j) for b in inp.bands for j in inp.sites]

    def total(m, b, j):
        w = bands[b].values
        return sum(w[i] * m.assign[i, j] for i in m.units_of[j] if w[i] != 0)

    @m.Constraint(index)
    def balance_band_lower(m, b, j):
        return total(m, b, j) >= bands[b].lower[j] * m.is_open[j]

    @m.Constraint(index)
    def balance_band_upper(m, b, j):
        return total(m, b, j) <= bands[b].upper[j] * m.is_open[j]


def add_cut_edge_indicator(m: pyo.ConcreteModel, inp: TerritoryInputs) -> None:
    """Edge {u,v} is cut when its ends differ:  c_uv >= x_uj - x_vj  for j eligible for u.

    One direction suffices: u belongs to some j; if v is not in j the right side is 1.
    c_uv is continuous in [0, 1]; it is integral at every vertex that matters (see README).
    """
    m.edges = pyo.Set(initialize=inp.edges, dimen=2, ordered=True, doc="Adjacency edges {u, v}")
    m.cut = pyo.Var(m.edges, bounds=(0, 1), doc="1 when the edge joins two territories")
    pair_set = set(inp.pairs)
    index = [(u, v, j) for u, v in inp.edges for j in m.sites_of[u]]

    @m.Constraint(index)
    def cut_edge_indicator(m, u, v, j):
        other = m.assign[v, j] if (v, j) in pair_set else 0
        return m.cut[u, v] >= m.assign[u, j] - other


def add_rep_home_in_territory(m: pyo.ConcreteModel, inp: TerritoryInputs) -> None:
    """Each rep's home unit h_j is in the rep's territory (it roots contiguity):  x_{h_j, j} = 1."""

    @m.Constraint(m.sites)
    def rep_home_in_territory(m, j):
        return m.assign[inp.roots[j], j] == 1


def add_contiguity_flow(m: pyo.ConcreteModel, inp: TerritoryInputs) -> None:
    """Single-commodity flow: every non-root unit draws one unit of flow from its territory's root.

    f_uv <= (n - k) (1 - c_uv) on both arcs of every edge (no flow across territory borders);
    inflow_i - outflow_i >= 1 - n * root_i, where root_i = x_ii (chosen centres) or 1 for rep home
    units (fixed sites). Each territory holds exactly one root, so all its units reach that root.
    """
    arcs = [(u, v) for u, v in inp.edges] + [(v, u) for u, v in inp.edges]
    m.arcs = pyo.Set(initialize=arcs, dimen=2, ordered=True)
    cap = inp.flow_capacity
    m.flow = pyo.Var(m.arcs, bounds=(0, cap), doc="Flow along arc (u, v), in units")
    if inp.fixed_sites:
        homes = set(inp.roots.values())
        root = {i: (1 if i in homes else 0) for i in inp.units}
    else:
        root = {i: m.assign[i, i] for i in inp.units}
    out_arcs: dict[str, list[str]] = defaultdict(list)
    in_arcs: dict[str, list[str]] = defaultdict(list)
    for u, v in arcs:
        out_arcs[u].append(v)
        in_arcs[v].append(u)

    @m.Constraint(m.arcs)
    def contiguity_flow_on_uncut_edge(m, u, v):
        edge = (u, v) if (u, v) in m.cut else (v, u)
        return m.flow[u, v] <= cap * (1 - m.cut[edge])

    n = len(inp.units)

    @m.Constraint(m.units)
    def contiguity_flow(m, i):
        inflow = sum(m.flow[u, i] for u in in_arcs[i])
        outflow = sum(m.flow[i, v] for v in out_arcs[i])
        return inflow - outflow >= 1 - n * root[i]


def add_contiguity_shortest_path(m: pyo.ConcreteModel, inp: TerritoryInputs) -> None:
    """A unit joins site j only with a neighbour nearer j's root:  x_ij <= sum_{v in N(i), l_j(v) < l_j(i)} x_vj.

    l_j is the shortest-path length from j's root along adjacency edges. Following nearer
    neighbours always ends at the root, so every territory is connected (Zoltners & Sinha 1983);
    some connected territories are excluded, which is why this only seeds the exact flow model.
    """
    neighbours: dict[str, list[str]] = defaultdict(list)
    for u, v in inp.edges:
        neighbours[u].append(v)
        neighbours[v].append(u)
    pair_set = set(inp.pairs)
    inf = float("inf")
    index = []
    closer: dict[tuple[str, str], list[str]] = {}
    for i, j in inp.pairs:
        if i == inp.roots[j]:
            continue
        dist = inp.root_distance[j]
        here = dist.get(i, inf)
        closer[i, j] = [v for v in neighbours[i] if (v, j) in pair_set and dist.get(v, inf) < here]
        index.append((i, j))

    @m.Constraint(index)
    def contiguity_shortest_path(m, i, j):
        return m.assign[i, j] <= sum(m.assign[v, j] for v in closer[i, j])


def add_territory_labels(m: pyo.ConcreteModel, inp: TerritoryInputs) -> None:
    """Each open centre carries one territory label, each label at most one centre.

    sum_l g_jl = x_jj for all j;  sum_j g_jl <= 1 for all l (chosen-centre mode with locks/disruption).
    """
    m.labels = pyo.Set(initialize=inp.labels, ordered=True)
    m.label = pyo.Var(m.sites, m.labels, domain=pyo.Binary, doc="1 when centre j carries label l")

    @m.Constraint(m.sites)
    def territory_labels_one_per_centre(m, j):
        return sum(m.label[j, lab] for lab in m.labels) == m.assign[j, j]

    @m.Constraint(m.labels)
    def territory_labels_each_once(m, lab):
        return sum(m.label[j, lab] for j in m.sites) <= 1


def add_locked_units_stay(m: pyo.ConcreteModel, inp: TerritoryInputs) -> None:
    """Locked unit i stays in territory l:  x_{i,site(l)} = 1 (fixed), or x_ij <= g_jl for all j (chosen)."""
    if inp.fixed_sites:
        site_of = {t: j for j, t in inp.site_territory.items()}
        index = [(i, site_of[t]) for i, t in sorted(inp.locks.items())]

        @m.Constraint(index)
        def locked_units_stay(m, i, j):
            return m.assign[i, j] == 1

    else:
        index = [(i, j) for i in sorted(inp.locks) for j in m.sites_of[i]]

        @m.Constraint(index)
        def locked_units_stay(m, i, j):
            return m.assign[i, j] <= m.label[j, inp.locks[i]]


def add_disruption_cap(m: pyo.ConcreteModel, inp: TerritoryInputs) -> None:
    """Share of the measure moved off the current alignment:  F + sum_i w_i moved_i <= cap * W.

    Fixed mode: moved_i = 1 - x_{i,site(cur_i)}. Chosen mode: moved_i >= x_ij - g_{j,cur_i}. F is the weight that
    moves in every alignment (accounts of open owners and of a unit's smaller owners; 0 without accounts).
    """
    dis = inp.disruption
    current = {i: t for i, t in inp.current.items()}
    m.moved = pyo.Var(list(current), bounds=(0, 1), doc="1 when unit i leaves its current territory")
    if inp.fixed_sites:
        site_of = {t: j for j, t in inp.site_territory.items()}

        @m.Constraint(list(current))
        def disruption_moved(m, i):
            j = site_of.get(current[i])
            stays = m.assign[i, j] if j is not None and (i, j) in m.assign else 0
            return m.moved[i] >= 1 - stays

    else:
        index = [(i, j) for i in current for j in m.sites_of[i]]

        @m.Constraint(index)
        def disruption_moved(m, i, j):
            return m.moved[i] >= m.assign[i, j] - m.label[j, current[i]]

    moved = dis.unavoidable + sum(dis.weights[i] * m.moved[i] for i in current)
    m.moved_share_pct = pyo.Expression(expr=100.0 * moved / dis.total)
    if dis.cap is not None:
        m.disruption_cap = pyo.Constraint(expr=m.moved_share_pct <= 100.0 * dis.cap)


def set_objective(m: pyo.ConcreteModel, inp: TerritoryInputs) -> None:
    """min  sum_ij a_i d_ij x_ij  (distance)  or  sum_e c_e  (cut_edges),  + penalty * moved %."""
    if inp.compactness == "cut_edges":
        compact = sum(m.cut[e] for e in m.edges)
    else:
        w, d = inp.distance_weight, inp.distance
        compact = sum(w[i] * d[i, j] * m.assign[i, j] for i, j in inp.pairs if w[i] * d[i, j] != 0)
    m.compactness = pyo.Expression(expr=compact)
    penalty = 0.0
    if inp.disruption is not None and inp.disruption.penalty_per_point > 0:
        penalty = inp.disruption.penalty_per_point * m.moved_share_pct
    m.total_cost = pyo.Objective(expr=m.compactness + penalty, sense=pyo.minimize)
