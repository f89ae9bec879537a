"""Each constraint family of the territory MILP on a tiny instance whose optimum is worked out by hand.

Every instance is small enough (3-9 units, 2 territories) to check on paper; the hand computation is
in the comment next to each expected value. Instances are built as `TerritoryInputs` directly, so
the tests exercise `build_territory_model` + `solve` and nothing else.

Notation in the comments: `a->R1` means unit a joins rep R1's territory; `{a,b}|{c,d}` a partition.
"""

from __future__ import annotations

from collections.abc import Callable

import networkx as nx
import pyomo.environ as pyo
import pytest

from spmopt.config import SolverSettings
from spmopt.optim.solve import SolveStatus, solve
from spmopt.territory.inputs import Band, Disruption, TerritoryInputs
from spmopt.territory.model import CONSTRAINT_FAMILIES, build_territory_model

EXACT = SolverSettings(time_limit=30, mip_gap=0)


# --------------------------------------------------------------------------------------------------
# Builders and readers
# --------------------------------------------------------------------------------------------------


def _edges(pairs: list[tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    return tuple(sorted((min(u, v), max(u, v)) for u, v in pairs))


def _hops(units: tuple[str, ...], edges: tuple[tuple[str, str], ...]) -> dict[str, dict[str, float]]:
    graph = nx.Graph(edges)
    graph.add_nodes_from(units)
    return {u: {v: float(d) for v, d in lengths.items()} for u, lengths in nx.all_pairs_shortest_path_length(graph)}


def band(measure: str, values: dict[str, float], sites: tuple[str, ...], tol: float, territories: int) -> Band:
    """A band with equal shares, as `inputs._band` builds it: target = total / k, [(1-tol), (1+tol)] * target."""
    target = sum(values.values()) / territories
    return Band(
        measure=measure,
        tolerance=tol,
        values=dict(values),
        lower=dict.fromkeys(sites, (1 - tol) * target),
        upper=dict.fromkeys(sites, (1 + tol) * target),
        target=dict.fromkeys(sites, target),
    )


def fixed(
    dist: dict[str, dict[str, float]],
    weights: dict[str, float] | None = None,
    *,
    homes: dict[str, str] | None = None,
    edges: tuple[tuple[str, str], ...] = (),
    **kw,
) -> TerritoryInputs:
    """Fixed-site inputs: `dist[unit][site]`; site R<n> carries territory T<n>; every pair eligible."""
    units = tuple(dist)
    sites = tuple(next(iter(dist.values())))
    distance = {(u, s): float(d) for u, row in dist.items() for s, d in row.items()}
    extra = {}
    if homes is not None:
        hops = _hops(units, edges)
        extra = {"roots": dict(homes), "root_distance": {s: hops[h] for s, h in homes.items()}}
    return TerritoryInputs(
        units=units,
        sites=sites,
        fixed_sites=True,
        territories=len(sites),
        pairs=tuple(sorted(distance)),
        distance=distance,
        distance_weight=weights or dict.fromkeys(units, 1.0),
        site_territory={s: "T" + s[1:] for s in sites},
        site_rep={s: s for s in sites},
        edges=edges,
        **extra,
        **kw,
    )


def chosen(
    pos: dict[str, float],
    k: int,
    weights: dict[str, float] | None = None,
    *,
    edges: tuple[tuple[str, str], ...] = (),
    **kw,
) -> TerritoryInputs:
    """Chosen-centre inputs on a line: d_ij = |pos_i - pos_j|; every unit a candidate centre."""
    units = tuple(pos)
    distance = {(i, j): abs(pos[i] - pos[j]) for i in units for j in units}
    extra = {}
    if kw.get("contiguity"):
        extra = {"roots": {u: u for u in units}, "root_distance": _hops(units, edges)}
    return TerritoryInputs(
        units=units,
        sites=units,
        fixed_sites=False,
        territories=k,
        pairs=tuple(sorted(distance)),
        distance=distance,
        distance_weight=weights or dict.fromkeys(units, 1.0),
        edges=edges,
        **extra,
        **kw,
    )


def run(inp: TerritoryInputs, contiguity: str = "flow") -> tuple[pyo.ConcreteModel, float, dict[str, str]]:
    """Build, solve exactly, and return (model, objective, site of every unit)."""
    m = build_territory_model(inp, contiguity=contiguity)
    report = solve(m, EXACT)
    assert report.status == SolveStatus.OPTIMAL, report
    site_of = {i: j for i, j in inp.pairs if pyo.value(m.assign[i, j]) > 0.5}
    assert sorted(site_of) == sorted(inp.units)
    return m, report.objective, site_of


def groups(site_of: dict[str, str]) -> set[frozenset[str]]:
    """The partition of units, ignoring which site holds which part."""
    by_site: dict[str, set[str]] = {}
    for u, s in site_of.items():
        by_site.setdefault(s, set()).add(u)
    return {frozenset(part) for part in by_site.values()}


def label_of(m: pyo.ConcreteModel, inp: TerritoryInputs, site_of: dict[str, str]) -> dict[str, str]:
    """Territory id of every unit: the site's territory (fixed) or the label its centre carries (chosen)."""
    if inp.fixed_sites:
        return {u: inp.site_territory[s] for u, s in site_of.items()}
    centre_label = {}
    for j in set(site_of.values()):
        carried = [lab for lab in inp.labels if pyo.value(m.label[j, lab]) > 0.5]
        assert len(carried) == 1, (j, carried)
        centre_label[j] = carried[0]
    return {u: centre_label[s] for u, s in site_of.items()}


def cut_count(inp: TerritoryInputs, site_of: dict[str, str]) -> int:
    return sum(site_of[u] != site_of[v] for u, v in inp.edges)


def all_contiguous(inp: TerritoryInputs, site_of: dict[str, str]) -> bool:
    graph = nx.Graph(inp.edges)
    graph.add_nodes_from(inp.units)
    return all(nx.is_connected(graph.subgraph(part)) for part in groups(site_of))


# --------------------------------------------------------------------------------------------------
# Instances (module-level factories, so the registry test can rebuild every one of them)
# --------------------------------------------------------------------------------------------------


def three_units_two_reps(**kw) -> TerritoryInputs:
    # unit:  R1  R2   weight
    #   a     1   5     2
    #   b     2   3     1
    #   c     4   1     3
    return fixed(
        {"a": {"R1": 1, "R2": 5}, "b": {"R1": 2, "R2": 3}, "c": {"R1": 4, "R2": 1}},
        {"a": 2.0, "b": 1.0, "c": 3.0},
        **kw,
    )


# Five units on a line at 0, 1, 2, 10, 11; u4 has weight 2 (breaks the centre tie in {u3, u4}).
LINE = {"u0": 0.0, "u1": 1.0, "u2": 2.0, "u3": 10.0, "u4": 11.0}
LINE_W = {"u0": 1.0, "u1": 1.0, "u2": 1.0, "u3": 1.0, "u4": 2.0}


def line(k: int = 2, **kw) -> TerritoryInputs:
    return chosen(LINE, k, LINE_W, **kw)


def all_near_r1() -> TerritoryInputs:
    # every unit is nearest R1; R2 must still get one unit
    #   a: R1 1, R2 10;  b: R1 1, R2 3;  c: R1 1, R2 6
    return fixed({"a": {"R1": 1, "R2": 10}, "b": {"R1": 1, "R2": 3}, "c": {"R1": 1, "R2": 6}})


def four_on_a_line(tol: float) -> TerritoryInputs:
    # units a, b, c, d at x = 0, 1, 2, 3; R1 at x = 0, R2 at x = 3; sales a=4, b=1, c=1, d=2 (total 8)
    dist = {u: {"R1": x, "R2": 3 - x} for u, x in zip("abcd", range(4), strict=True)}
    sales = {"a": 4.0, "b": 1.0, "c": 1.0, "d": 2.0}
    return fixed(dist, bands=(band("sales", sales, ("R1", "R2"), tol, 2),))


def line_band(tol: float) -> TerritoryInputs:
    # the LINE positions with unit weights; measure u0..u3 = 1, u4 = 4 (total 8, target 4)
    load = {"u0": 1.0, "u1": 1.0, "u2": 1.0, "u3": 1.0, "u4": 4.0}
    return chosen(LINE, 2, bands=(band("load", load, tuple(LINE), tol, 2),))


PATH4 = _edges([("a", "b"), ("b", "c"), ("c", "d")])


def path_cut_edges() -> TerritoryInputs:
    # path a-b-c-d, two reps, every unit worth 1 and tolerance 0, so each territory holds exactly 2 units
    dist = {u: {"R1": 0.0, "R2": 0.0} for u in "abcd"}
    ones = dict.fromkeys("abcd", 1.0)
    return fixed(dist, edges=PATH4, compactness="cut_edges", bands=(band("n", ones, ("R1", "R2"), 0.0, 2),))


def grid_cut_edges() -> TerritoryInputs:
    # 3x3 grid, chosen centres, k = 2, every unit worth 1, target 4.5 +- 12% = [3.96, 5.04]: sizes 4 and 5
    graph = nx.grid_2d_graph(3, 3)
    name = {(r, c): f"g{r}{c}" for r, c in graph.nodes}
    edges = _edges([(name[a], name[b]) for a, b in graph.edges])
    pos = dict.fromkeys(sorted(name.values()), 0.0)
    ones = dict.fromkeys(pos, 1.0)
    return chosen(pos, 2, edges=edges, compactness="cut_edges", bands=(band("n", ones, tuple(pos), 0.12, 2),))


def path_fixed(contiguity: bool) -> TerritoryInputs:
    # path a-b-c-d; R1's home is a, R2's home is d
    # unit:  R1  R2
    #   a     0  10
    #   b     5   1
    #   c     1   4
    #   d    10   0
    dist = {
        "a": {"R1": 0, "R2": 10},
        "b": {"R1": 5, "R2": 1},
        "c": {"R1": 1, "R2": 4},
        "d": {"R1": 10, "R2": 0},
    }
    return fixed(dist, homes={"R1": "a", "R2": "d"}, edges=PATH4, contiguity=contiguity)


def path_chosen(contiguity: bool) -> TerritoryInputs:
    # path a-b-c-d whose positions zig-zag: a=0, b=10, c=1, d=12
    return chosen({"a": 0.0, "b": 10.0, "c": 1.0, "d": 12.0}, 2, edges=PATH4, contiguity=contiguity)


# path a-b-c, R1 home a, R2 home c; but a and c are 0 km from R2 and b is 0 km from R1
HOME_DIST = {"a": {"R1": 9, "R2": 0}, "b": {"R1": 0, "R2": 9}, "c": {"R1": 9, "R2": 0}}


def home_far_from_rep() -> TerritoryInputs:
    edges = _edges([("a", "b"), ("b", "c")])
    return fixed(HOME_DIST, homes={"R1": "a", "R2": "c"}, edges=edges, contiguity=True)


def disruption_fixed(cap: float | None, penalty: float = 0.0) -> TerritoryInputs:
    # unit:  R1  R2  sales  current
    #   a     1   5    1     T1
    #   b     3   2    2     T1
    #   c     4   1    1     T2
    sales = {"a": 1.0, "b": 2.0, "c": 1.0}
    dis = Disruption(measure="sales", weights=sales, total=4.0, cap=cap, penalty_per_point=penalty)
    dist = {"a": {"R1": 1, "R2": 5}, "b": {"R1": 3, "R2": 2}, "c": {"R1": 4, "R2": 1}}
    return fixed(dist, current={"a": "T1", "b": "T1", "c": "T2"}, disruption=dis)


def disruption_chosen(cap: float | None, penalty: float = 0.0) -> TerritoryInputs:
    # LINE, k = 2; today u0..u3 are territory A and u4 alone is B; disruption counted in units (total 5)
    current = {"u0": "A", "u1": "A", "u2": "A", "u3": "A", "u4": "B"}
    dis = Disruption(measure=None, weights=dict.fromkeys(LINE, 1.0), total=5.0, cap=cap, penalty_per_point=penalty)
    return line(labels=("A", "B"), current=current, disruption=dis)


# --------------------------------------------------------------------------------------------------
# each_unit_assigned_once
# --------------------------------------------------------------------------------------------------


def test_each_unit_assigned_once_to_its_nearest_rep() -> None:
    # Nothing else binds (every territory is served anyway), so each unit takes its nearest rep:
    # a->R1 (2*1) + b->R1 (1*2) + c->R2 (3*1) = 7. Without the family the optimum would be 0 (no x set).
    inp = three_units_two_reps()
    m, obj, site_of = run(inp)
    assert obj == pytest.approx(7.0)
    assert site_of == {"a": "R1", "b": "R1", "c": "R2"}
    assert len(m.each_unit_assigned_once) == 3
    for i in inp.units:
        assert sum(pyo.value(m.assign[i, j]) for j in inp.sites) == pytest.approx(1.0)


# --------------------------------------------------------------------------------------------------
# territory_count + assign_only_to_open_centre (chosen centres, p-median on a line)
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("k", "expected"),
    [
        # k=1: centre u2: 2+1+0+8+2*9 = 29 (u3: 10+9+8+0+2*1 = 29 ties; u1: 31, u4: 31)
        (1, 29.0),
        # k=2: {u0,u1,u2} centre u1: 1+0+1 = 2; {u3,u4} centre u4: 1*1 = 1 (centre u3 would cost 2*1) -> 3
        (2, 3.0),
        # k=3: e.g. {u0,u1,u2}=2, {u3}, {u4} -> 2 (or {u0,u1}=1,{u2},{u3,u4}=1 -> 2)
        (3, 2.0),
        # k=4: one pair at distance 1 with a weight-1 member away from its centre -> 1
        (4, 1.0),
        # k=5: every unit its own centre -> 0
        (5, 0.0),
    ],
)
def test_territory_count_opens_exactly_k_centres(k: int, expected: float) -> None:
    inp = line(k)
    m, obj, site_of = run(inp)
    assert obj == pytest.approx(expected)
    opened = {j for j in inp.sites if pyo.value(m.assign[j, j]) > 0.5}
    assert len(opened) == k
    # assign_only_to_open_centre: every unit's site is an open centre, and each centre serves itself
    assert set(site_of.values()) == opened
    assert all(site_of[j] == j for j in opened)


def test_p_median_line_two_centres_exact_assignment() -> None:
    # k=2 optimum (see above): centres u1 and u4, {u0,u1,u2}->u1, {u3,u4}->u4, objective 3
    m, obj, site_of = run(line(2))
    assert obj == pytest.approx(3.0)
    assert site_of == {"u0": "u1", "u1": "u1", "u2": "u1", "u3": "u4", "u4": "u4"}
    assert len(m.assign_only_to_open_centre) == 5 * 4
    assert pyo.value(m.territory_count.body) == pytest.approx(2.0)


# --------------------------------------------------------------------------------------------------
# every_territory_served
# --------------------------------------------------------------------------------------------------


def test_every_territory_served_gives_r2_the_cheapest_unit() -> None:
    # All three units are nearest R1 (cost 3 in total), but R2 must hold one unit.
    # Extra cost of moving a / b / c to R2: 9 / 2 / 5, so b goes: 1 + 3 + 1 = 5.
    m, obj, site_of = run(all_near_r1())
    assert obj == pytest.approx(5.0)
    assert site_of == {"a": "R1", "b": "R2", "c": "R1"}
    assert len(m.every_territory_served) == 2


# --------------------------------------------------------------------------------------------------
# balance_band
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tol", "expected", "b_site"),
    [
        # +-30%: band [2.8, 5.2]; nearest alignment {a,b}=5 | {c,d}=3 fits: 0+1+1+0 = 2
        (0.3, 2.0, "R1"),
        # +-10%: band [3.6, 4.4], so R1 holds exactly 4: {a} or {b,c,d}.
        # {a}|{b,c,d}: 0 + 2 + 1 + 0 = 3 (b leaves its nearest rep);  {b,c,d}|{a}: 1+2+3+3 = 9
        (0.1, 3.0, "R2"),
        # +-1%: still exactly 4 each -> same as 10%
        (0.01, 3.0, "R2"),
    ],
)
def test_balance_band_forces_a_non_nearest_assignment(tol: float, expected: float, b_site: str) -> None:
    inp = four_on_a_line(tol)
    _, obj, site_of = run(inp)
    assert obj == pytest.approx(expected)
    assert site_of["b"] == b_site
    assert site_of["a"] == "R1"
    assert site_of["d"] == "R2"
    sales = inp.bands[0].values
    for site in inp.sites:
        total = sum(v for u, v in sales.items() if site_of[u] == site)
        assert inp.bands[0].lower[site] - 1e-9 <= total <= inp.bands[0].upper[site] + 1e-9


@pytest.mark.parametrize(
    ("tol", "expected", "partition"),
    [
        # +-25%: band [3, 5]; p-median optimum {u0,u1,u2}=3 | {u3,u4}=5 fits: 2 + 1 = 3 (any other split that
        # fits, {u0..u3} | {u4}, costs 11)
        (0.25, 3.0, {frozenset({"u0", "u1", "u2"}), frozenset({"u3", "u4"})}),
        # +-10%: band [3.6, 4.4]; only {u0..u3}=4 | {u4}=4: centre u1: 1+0+1+9 = 11 (u2 ties), {u4} = 0
        (0.1, 11.0, {frozenset({"u0", "u1", "u2", "u3"}), frozenset({"u4"})}),
    ],
)
def test_balance_band_chosen_centres(tol: float, expected: float, partition: set[frozenset[str]]) -> None:
    inp = line_band(tol)
    m, obj, site_of = run(inp)
    assert obj == pytest.approx(expected)
    assert groups(site_of) == partition
    # closed centres carry a zero band (L * x_jj <= total <= U * x_jj)
    assert len(m.balance_band_lower) == len(m.balance_band_upper) == 5


# --------------------------------------------------------------------------------------------------
# cut_edge_indicator
# --------------------------------------------------------------------------------------------------


def test_cut_edges_on_a_path() -> None:
    # Two units each. {a,b}|{c,d}: 1 cut edge; {a,d}|{b,c}: 2; {a,c}|{b,d}: 3 -> 1, partition {a,b}|{c,d}
    inp = path_cut_edges()
    m, obj, site_of = run(inp)
    assert obj == pytest.approx(1.0)
    assert groups(site_of) == {frozenset("ab"), frozenset("cd")}
    assert cut_count(inp, site_of) == 1
    assert [round(pyo.value(m.cut[e])) for e in inp.edges] == [0, 1, 0]


def test_cut_edges_on_a_grid() -> None:
    # 3x3 grid (12 edges), parts of 4 and 5 units. cut(S) = sum of degrees in S - 2 e(S). For |S| = 4 the
    # best is 4: a corner 2x2 block (2+3+3+4 - 2*4) or a row plus one (2+3+2+3 - 2*3); a 4-set with
    # cut 3 would need degree sum 9 with 3 inner edges (a path of 4), which the grid does not have.
    inp = grid_cut_edges()
    _, obj, site_of = run(inp)
    assert obj == pytest.approx(4.0)
    assert cut_count(inp, site_of) == 4
    assert sorted(len(p) for p in groups(site_of)) == [4, 5]


# --------------------------------------------------------------------------------------------------
# contiguity_flow / contiguity_shortest_path / rep_home_in_territory
# --------------------------------------------------------------------------------------------------


def test_contiguity_flow_fixed_reps() -> None:
    # Without contiguity each unit takes its nearest rep: a->R1 0, b->R2 1, c->R1 1, d->R2 0 = 2,
    # T1 = {a, c} is not connected on the path a-b-c-d.
    loose = path_fixed(contiguity=False)
    _, obj, site_of = run(loose)
    assert obj == pytest.approx(2.0)
    assert site_of == {"a": "R1", "b": "R2", "c": "R1", "d": "R2"}
    assert not all_contiguous(loose, site_of)
    # With contiguity (homes a in T1, d in T2) the only alignments are prefixes of the path:
    # {a}|{b,c,d}: 0+1+4+0 = 5;  {a,b}|{c,d}: 0+5+4+0 = 9;  {a,b,c}|{d}: 0+5+1+0 = 6  -> 5
    tight = path_fixed(contiguity=True)
    m, obj, site_of = run(tight)
    assert obj == pytest.approx(5.0)
    assert site_of == {"a": "R1", "b": "R2", "c": "R2", "d": "R2"}
    assert all_contiguous(tight, site_of)
    assert len(m.contiguity_flow) == 4
    assert len(m.contiguity_flow_on_uncut_edge) == 2 * 3


def test_contiguity_flow_chosen_centres() -> None:
    # Positions a=0, b=10, c=1, d=12 on the path a-b-c-d.
    # Without contiguity: {a,c} (cost 1) | {b,d} (cost 2) = 3, and neither part is connected.
    loose = path_chosen(contiguity=False)
    _, obj, site_of = run(loose)
    assert obj == pytest.approx(3.0)
    assert groups(site_of) == {frozenset("ac"), frozenset("bd")}
    assert not all_contiguous(loose, site_of)
    # With contiguity: {a}|{b,c,d}: centre b 0+9+2 = 11;  {a,b}|{c,d}: 10 + 11 = 21;
    # {a,b,c}|{d}: centre c 1+9+0 = 10 (centre a 11, b 19)  -> 10, centres c and d
    tight = path_chosen(contiguity=True)
    _, obj, site_of = run(tight)
    assert obj == pytest.approx(10.0)
    assert site_of == {"a": "c", "b": "c", "c": "c", "d": "d"}
    assert all_contiguous(tight, site_of)


@pytest.mark.parametrize(
    ("factory", "expected", "partition"),
    [
        (lambda: path_fixed(contiguity=True), 5.0, {frozenset("a"), frozenset("bcd")}),
        (lambda: path_chosen(contiguity=True), 10.0, {frozenset("abc"), frozenset("d")}),
        (home_far_from_rep, 9.0, {frozenset("ab"), frozenset("c")}),
    ],
    ids=["fixed", "chosen", "home"],
)
def test_contiguity_shortest_path_is_contiguous(
    factory: Callable[[], TerritoryInputs], expected: float, partition: set[frozenset[str]]
) -> None:
    # On a path graph every connected territory is a chain towards its root, so the restrictive
    # shortest-path form loses nothing here and reaches the same optimum as the flow form.
    inp = factory()
    m, obj, site_of = run(inp, contiguity="shortest_path")
    assert obj == pytest.approx(expected)
    assert groups(site_of) == partition
    assert all_contiguous(inp, site_of)
    assert len(m.contiguity_shortest_path) > 0
    assert not hasattr(m, "contiguity_flow")


def test_rep_home_in_territory() -> None:
    # a and c are 0 from R2 and b is 0 from R1: unconstrained, a,c->R2 and b->R1 costs 0 and the
    # reps' home units (a for R1, c for R2) would sit in the wrong territory.
    # With the homes fixed: a->R1 (9), c->R2 (0); b->R1 (0) keeps T1 connected -> 9
    inp = home_far_from_rep()
    m, obj, site_of = run(inp)
    assert obj == pytest.approx(9.0)
    assert site_of == {"a": "R1", "b": "R1", "c": "R2"}
    assert len(m.rep_home_in_territory) == 2
    assert all(site_of[home] == site for site, home in inp.roots.items())
    _, free, free_sites = run(fixed(HOME_DIST))
    assert free == pytest.approx(0.0)
    assert free_sites == {"a": "R2", "b": "R1", "c": "R2"}


# --------------------------------------------------------------------------------------------------
# locked_units_stay
# --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("locks", "expected", "sites"),
    [
        # nothing locked: 7 (see test_each_unit_assigned_once_to_its_nearest_rep)
        ({}, 7.0, {"a": "R1", "b": "R1", "c": "R2"}),
        # a locked to T2: a 2*5 = 10, b->R1 2, c->R2 3 -> 15
        ({"a": "T2"}, 15.0, {"a": "R2", "b": "R1", "c": "R2"}),
        # a to T2 and c to T1: 10 + b->R1 2 + 3*4 = 24
        ({"a": "T2", "c": "T1"}, 24.0, {"a": "R2", "b": "R1", "c": "R1"}),
    ],
)
def test_locked_units_stay_fixed(locks: dict[str, str], expected: float, sites: dict[str, str]) -> None:
    m, obj, site_of = run(three_units_two_reps(locks=locks))
    assert obj == pytest.approx(expected)
    assert site_of == sites
    assert hasattr(m, "locked_units_stay") == bool(locks)


def test_locked_units_stay_chosen() -> None:
    # LINE with u0 and u4 locked to the same territory T1. Enumerating the other territory T2:
    #   T2={u1,u2}: 1 + T1={0,10,11(w2)} centre u3 10+0+2 = 12 (u4 ties)  -> 13
    #   T2={u3}: T1={0,1,2,11(w2)} centre u2 21 -> 21;  T2={u1,u2,u3}: 9 + 11 = 20;  T2={u1}: 20
    #   T2={u2}: 21;  T2={u2,u3}: 8 + 21 = 29;  T2={u1,u3}: 9 + 20 = 29   -> 13
    inp = line(labels=("T1", "T2"), locks={"u0": "T1", "u4": "T1"})
    m, obj, site_of = run(inp)
    assert obj == pytest.approx(13.0)
    labels = label_of(m, inp, site_of)
    assert labels == {"u0": "T1", "u1": "T2", "u2": "T2", "u3": "T1", "u4": "T1"}
    # without the locks the two are apart (k=2 optimum 3)
    assert run(line(labels=("T1", "T2")))[1] == pytest.approx(3.0)


def test_locks_to_two_labels_in_chosen_mode() -> None:
    # u1 locked to T1 and u2 to T2 must part. Cutting the line between them is cheapest:
    # {u0,u1} = 1 | {u2,u3,u4} centre u3: 8+0+2 = 10  -> 11.
    # Enumerating the other splits with u1, u2 apart, the next best is 13 ({u1,u3,u4}|{u0,u2}: 11 + 2).
    inp = line(labels=("T1", "T2"), locks={"u1": "T1", "u2": "T2"})
    m, obj, site_of = run(inp)
    assert obj == pytest.approx(11.0)
    assert label_of(m, inp, site_of) == {"u0": "T1", "u1": "T1", "u2": "T2", "u3": "T2", "u4": "T2"}


# --------------------------------------------------------------------------------------------------
# territory_labels + disruption_cap
# --------------------------------------------------------------------------------------------------


def test_territory_labels_one_per_open_centre() -> None:
    # Three labels for two centres: each open centre carries exactly one, each label at most once;
    # labels do not change the optimum (3).
    inp = line(labels=("A", "B", "NEW-1"))
    m, obj, site_of = run(inp)
    assert obj == pytest.approx(3.0)
    per_centre = label_of(m, inp, site_of)
    centre_labels = {per_centre[j] for j in set(site_of.values())}
    assert len(centre_labels) == 2
    for j in inp.sites:
        carried = sum(pyo.value(m.label[j, lab]) for lab in inp.labels)
        assert carried == pytest.approx(pyo.value(m.assign[j, j]))


def _moved_pct(m: pyo.ConcreteModel, inp: TerritoryInputs, site_of: dict[str, str]) -> float:
    labels = label_of(m, inp, site_of)
    moved = sum(w for u, w in inp.disruption.weights.items() if labels[u] != inp.current[u])
    return 100.0 * moved / inp.disruption.total


@pytest.mark.parametrize(
    ("cap", "penalty", "expected", "moved"),
    [
        # free (cap 100%): b moves to R2: 1 + 2 + 1 = 4, b holds 2 of 4 sales -> 50% moved
        (1.0, 0.0, 4.0, 50.0),
        # cap 0: nobody moves: 1 + 3 + 1 = 5
        (0.0, 0.0, 5.0, 0.0),
        # cap 40%: moving b (50%) is forbidden; moving a or c alone (25%) costs 9 or 8 -> 5
        (0.4, 0.0, 5.0, 0.0),
        # cap 50%: b may move -> 4
        (0.5, 0.0, 4.0, 50.0),
        # no cap, 0.05 per point: moving b saves 1 but costs 50 * 0.05 = 2.5 -> stay, 5
        (None, 0.05, 5.0, 0.0),
        # no cap, 0.01 per point: 4 + 50 * 0.01 = 4.5
        (None, 0.01, 4.5, 50.0),
    ],
)
def test_disruption_fixed(cap: float | None, penalty: float, expected: float, moved: float) -> None:
    inp = disruption_fixed(cap, penalty)
    m, obj, site_of = run(inp)
    assert obj == pytest.approx(expected)
    assert _moved_pct(m, inp, site_of) == pytest.approx(moved)
    assert hasattr(m, "disruption_cap") == (cap is not None)
    if cap is not None:
        assert pyo.value(m.moved_share_pct) <= 100 * cap + 1e-6


@pytest.mark.parametrize(
    ("cap", "penalty", "expected", "moved"),
    [
        # cap 0: today's alignment {u0..u3}|{u4}: centre u1 (or u2) 1+0+1+9 = 11
        (0.0, 0.0, 11.0, 0.0),
        # cap 10%: one unit is 20% -> still 11
        (0.1, 0.0, 11.0, 0.0),
        # cap 20%: u3 may move to B: the k=2 optimum 3, labelled {u0,u1,u2}=A, {u3,u4}=B
        (0.2, 0.0, 3.0, 20.0),
        # no cap, 0.5 per point: moving u3 saves 8 but costs 20 * 0.5 = 10 -> stay, 11
        (None, 0.5, 11.0, 0.0),
        # no cap, 0.3 per point: 3 + 20 * 0.3 = 9
        (None, 0.3, 9.0, 20.0),
    ],
)
def test_disruption_chosen(cap: float | None, penalty: float, expected: float, moved: float) -> None:
    inp = disruption_chosen(cap, penalty)
    m, obj, site_of = run(inp)
    assert obj == pytest.approx(expected)
    assert _moved_pct(m, inp, site_of) == pytest.approx(moved)
    # nothing moved: today's alignment, labels included; 20% moved: u3 (one unit of five) went to B
    today = {"u0": "A", "u1": "A", "u2": "A", "u3": "A", "u4": "B"}
    assert label_of(m, inp, site_of) == (today | {"u3": "B"} if moved else today)
    if cap is not None:
        assert pyo.value(m.moved_share_pct) <= 100 * cap + 1e-6


# --------------------------------------------------------------------------------------------------
# Registry: every family in CONSTRAINT_FAMILIES is exercised by an instance above
# --------------------------------------------------------------------------------------------------

BUILDS: list[tuple[Callable[[], TerritoryInputs], str]] = [
    (three_units_two_reps, "flow"),
    (lambda: three_units_two_reps(locks={"a": "T2"}), "flow"),
    (line, "flow"),
    (all_near_r1, "flow"),
    (lambda: four_on_a_line(0.1), "flow"),
    (lambda: line_band(0.1), "flow"),
    (path_cut_edges, "flow"),
    (grid_cut_edges, "flow"),
    (lambda: path_fixed(contiguity=True), "flow"),
    (lambda: path_chosen(contiguity=True), "flow"),
    (lambda: path_fixed(contiguity=True), "shortest_path"),
    (lambda: path_chosen(contiguity=True), "shortest_path"),
    (home_far_from_rep, "flow"),
    (lambda: line(labels=("T1", "T2"), locks={"u0": "T1", "u4": "T1"}), "flow"),
    (lambda: disruption_fixed(0.4), "flow"),
    (lambda: disruption_chosen(0.2), "flow"),
]


def test_every_constraint_family_is_exercised() -> None:
    names: set[str] = set()
    for factory, contiguity in BUILDS:
        m = build_territory_model(factory(), contiguity=contiguity)
        names |= {c.local_name for c in m.component_objects(pyo.Constraint)}
    missing = [fam for fam in CONSTRAINT_FAMILIES if not any(n == fam or n.startswith(fam + "_") for n in names)]
    assert not missing, f"constraint families not built by any test instance: {missing}"
