"""Public benchmark instances (OR-Library p-median, capacitated p-median, county districting) as one type.

Readers validate every file and raise `DataError` naming the file, the line (or field / node) and the
problem; `to_inputs` turns an instance into the territory-design problem `spmopt run` solves, and
`score` recomputes an assignment's objective from scratch with every constraint checked. They live in the
product, beside the engine they feed, because `spmopt bench` and the engine's tests both read instances through
them; the benchmark tooling itself stays in the checkout (`benchmarks/spmopt_bench`).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path

import networkx as nx
import numpy as np
from networkx.readwrite import json_graph
from scipy.sparse import csr_matrix
from scipy.sparse.csgraph import shortest_path

from spmopt.errors import DataError
from spmopt.territory.inputs import Band, TerritoryInputs

DISTANCES = ("floor", "euclid", "matrix")


@dataclass(frozen=True, slots=True)
class BenchInstance:
    """One benchmark instance: the data of its kind, already validated (other kinds' fields are None)."""

    name: str
    kind: str
    """"pmedian" | "cpmp" | "district"."""
    path: Path
    k: int
    """Medians (p) or districts."""
    cost: np.ndarray | None
    """n x n distances: shortest paths (pmedian) or per the distance convention (cpmp)."""
    demand: np.ndarray | None
    capacity: np.ndarray | None
    graph: nx.Graph | None
    """District adjacency with nodes 0..n-1 in the file's node order."""
    weight: np.ndarray | None
    lower: float | None
    upper: float | None
    contiguity: bool = True

    @property
    def n(self) -> int:
        """Number of points / nodes."""
        if self.graph is not None:
            return self.graph.number_of_nodes()
        return 0 if self.cost is None else int(self.cost.shape[0])


# --------------------------------------------------------------------------------------------------
# text parsing shared by the readers
# --------------------------------------------------------------------------------------------------


def _lines(path: Path) -> list[tuple[int, list[str]]]:
    """Non-blank lines as (1-based line number, tokens); missing, unreadable or empty files are errors."""
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        text = path.read_text(encoding="utf-8", errors="strict")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the file ({exc})") from None
    rows = [(no, line.split()) for no, line in enumerate(text.splitlines(), start=1) if line.strip()]
    if not rows:
        raise DataError(f"{path}: the file is empty")
    return rows


def _numbers(path: Path, line: tuple[int, list[str]], count: int, what: str) -> list[float]:
    """Exactly `count` finite numbers on one line, else an error naming the line and the bad token."""
    no, tokens = line
    if len(tokens) != count:
        raise DataError(f"{path}, line {no}: expected {count} values ({what}), found {len(tokens)}")
    values = []
    for token in tokens:
        try:
            value = float(token)
        except ValueError:
            raise DataError(f"{path}, line {no}: '{token}' is not a number (expected {what})") from None
        if not math.isfinite(value):
            raise DataError(f"{path}, line {no}: '{token}' is not a finite number (expected {what})")
        values.append(value)
    return values


def _integers(path: Path, line: tuple[int, list[str]], count: int, what: str) -> list[int]:
    values = _numbers(path, line, count, what)
    for token, value in zip(line[1], values, strict=True):
        if value != int(value):
            raise DataError(f"{path}, line {line[0]}: '{token}' is not an integer (expected {what})")
    return [int(v) for v in values]


def _check_body(path: Path, rows: list[tuple[int, list[str]]], expected: int, header: str) -> None:
    """The header promises `expected` data lines; fewer means truncated, more means wrong counts."""
    found = len(rows) - 1
    if found < expected:
        raise DataError(
            f"{path}: truncated or wrong count: the header (line {rows[0][0]}) says {header}, "
            f"so {expected} data lines are expected, but only {found} follow"
        )
    if found > expected:
        raise DataError(
            f"{path}, line {rows[expected + 1][0]}: wrong count: the header (line {rows[0][0]}) says {header}, "
            f"so {expected} data lines are expected, but {found} follow"
        )


def _check_p(path: Path, p: int, n: int, what: str) -> None:
    if p < 1:
        raise DataError(f"{path}, line 1: {what} = {p}; at least 1 is needed")
    if p > n:
        raise DataError(f"{path}, line 1: {what} = {p} exceeds the number of points n = {n}")


# --------------------------------------------------------------------------------------------------
# readers
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PmedianGraph:
    """An OR-Library pmed file as read: vertices 0..n-1, p, and each edge's cost (last listing of a pair wins)."""

    n: int
    p: int
    cost_of: dict[tuple[int, int], float]
    """(a, b) with a < b, 0-based."""
    repeats: int
    """Edge lines that list an already listed pair (the duplicate-edge trap)."""


def read_pmedian_graph(path: str | Path) -> PmedianGraph:
    """OR-Library pmed: header `n m p`, m lines `i j c` (1-based, undirected; a repeated pair keeps its LAST cost)."""
    path = Path(path)
    rows = _lines(path)
    n, m, p = _integers(path, rows[0], 3, "header 'n m p'")
    if n < 1 or m < 0:
        raise DataError(f"{path}, line {rows[0][0]}: header gives n = {n}, m = {m}; need n >= 1 and m >= 0")
    _check_p(path, p, n, "p")
    _check_body(path, rows, m, f"m = {m} edges")
    cost_of: dict[tuple[int, int], float] = {}
    repeats = 0
    for line in rows[1:]:
        i, j, c = _numbers(path, line, 3, "edge 'i j cost'")
        for v in (i, j):
            if v != int(v) or not 1 <= v <= n:
                raise DataError(f"{path}, line {line[0]}: vertex id {v:g} is out of range 1..{n}")
        if c < 0:
            raise DataError(f"{path}, line {line[0]}: negative edge cost {c:g}")
        a, b = sorted((int(i) - 1, int(j) - 1))
        if a != b:
            repeats += (a, b) in cost_of
            cost_of[a, b] = c  # OR-Library convention: the last listing of a pair wins
    return PmedianGraph(n, p, cost_of, repeats)


def read_pmedian(path: str | Path) -> BenchInstance:
    """OR-Library pmed instance; distances are all-pairs shortest paths d_ij = min over paths of the sum of costs."""
    path = Path(path)
    g = read_pmedian_graph(path)
    n, p, cost_of = g.n, g.p, g.cost_of
    if cost_of:
        ends = np.array(list(cost_of), dtype=np.int64)
        costs = np.array(list(cost_of.values()), dtype=np.float64)
    else:
        ends, costs = np.zeros((0, 2), dtype=np.int64), np.zeros(0)
    # csgraph drops stored zeros as non-edges; a zero-cost edge joins its ends, so they get a tiny weight
    # that only matters for connectivity (it is removed again below).
    tiny = np.where(costs == 0, 1e-300, costs)
    graph = csr_matrix((tiny, (ends[:, 0], ends[:, 1])), shape=(n, n))
    cost = shortest_path(graph, method="D", directed=False)
    if np.isinf(cost).any():
        i, j = map(int, np.argwhere(np.isinf(cost))[0])
        raise DataError(f"{path}: the graph is disconnected (no path between vertices {i + 1} and {j + 1})")
    cost[cost < 1e-200] = 0.0
    return BenchInstance(path.stem, "pmedian", path, p, cost, None, None, None, None, None, None, False)


def read_cpmp(path: str | Path, distance: str = "floor", matrix: str | Path | None = None) -> BenchInstance:
    """Capacitated p-median: line 1 `n p`, then n lines `x y capacity demand`.

    distance: floor = floor(||x_i - x_j||) (Osman-Christofides), euclid = ||x_i - x_j|| (SJC, p3038),
    matrix = an n x n whitespace-separated row-major file.
    """
    path = Path(path)
    if distance not in DISTANCES:
        raise DataError(f"{path}: unknown distance '{distance}'; use one of {', '.join(DISTANCES)}")
    rows = _lines(path)
    n, p = _integers(path, rows[0], 2, "header 'n p'")
    if n < 1:
        raise DataError(f"{path}, line {rows[0][0]}: header gives n = {n}; need n >= 1")
    _check_p(path, p, n, "p")
    _check_body(path, rows, n, f"n = {n} points")
    data = np.array([_numbers(path, line, 4, "'x y capacity demand'") for line in rows[1:]], dtype=np.float64)
    for col, what in ((2, "capacity"), (3, "demand")):
        bad = np.flatnonzero(data[:, col] < 0)
        if bad.size:
            raise DataError(f"{path}, line {rows[bad[0] + 1][0]}: negative {what} {data[bad[0], col]:g}")
    capacity, demand = data[:, 2].copy(), data[:, 3].copy()
    best = float(np.sort(capacity)[::-1][:p].sum())
    if best < demand.sum():
        raise DataError(
            f"{path}: infeasible: total demand {demand.sum():g} exceeds the total capacity {best:g} "
            f"of the {p} largest capacities"
        )
    if distance == "matrix":
        if matrix is None:
            raise DataError(f"{path}: --distance matrix needs a distance file (--matrix FILE)")
        cost = _read_matrix(Path(matrix), n)
    else:
        xy = data[:, :2]
        cost = np.sqrt(((xy[:, None, :] - xy[None, :, :]) ** 2).sum(axis=2))
        if distance == "floor":
            cost = np.floor(cost)
    return BenchInstance(path.stem, "cpmp", path, p, cost, demand, capacity, None, None, None, None, False)


def _read_matrix(path: Path, n: int) -> np.ndarray:
    """n lines of n non-negative numbers (d_ij, row-major)."""
    rows = _lines(path)
    if len(rows) != n:
        raise DataError(f"{path}: wrong shape: {len(rows)} rows, but the instance has n = {n} points (n x n needed)")
    cost = np.array([_numbers(path, line, n, f"{n} distances of one row") for line in rows], dtype=np.float64)
    if (cost < 0).any():
        i, j = map(int, np.argwhere(cost < 0)[0])
        raise DataError(f"{path}, line {rows[i][0]}: negative distance {cost[i, j]:g} in column {j + 1}")
    return cost


def read_district(path: str | Path, k: int, tolerance: float = 0.005, contiguity: bool = True) -> BenchInstance:
    """NetworkX adjacency JSON, weight TOTPOP: k districts each in [L, U], L = ceil((1-t)P/k), U = floor((1+t)P/k)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    try:
        raw_text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise DataError(f"{path}: cannot read the file ({exc})") from None
    if not raw_text.strip():
        raise DataError(f"{path}: the file is empty")
    try:
        data = json.loads(raw_text)
    except json.JSONDecodeError as exc:
        raise DataError(f"{path}, line {exc.lineno}: not valid JSON ({exc.msg})") from None
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("nodes"), list)
        or not isinstance(data.get("adjacency"), list)
    ):
        raise DataError(f"{path}: not a networkx adjacency graph (needs 'nodes' and 'adjacency' lists)")
    try:
        raw = json_graph.adjacency_graph(data)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise DataError(f"{path}: malformed networkx adjacency graph ({type(exc).__name__}: {exc})") from None
    order = list(raw.nodes)  # adjacency_graph adds nodes in the file's `nodes` order
    n = len(order)
    if n == 0:
        raise DataError(f"{path}: the graph has no nodes")
    if len(data["adjacency"]) != len(data["nodes"]):
        raise DataError(f"{path}: wrong count: {len(data['nodes'])} nodes but {len(data['adjacency'])} adjacency lists")
    weight = np.empty(n)
    for index, node in enumerate(order):
        value = raw.nodes[node].get("TOTPOP")
        if value is None:
            raise DataError(f"{path}: node {index} (id {node!r}) has no TOTPOP attribute")
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise DataError(f"{path}: node {index} (id {node!r}) has TOTPOP {value!r}, not a number")
        if value < 0:
            raise DataError(f"{path}: node {index} (id {node!r}) has negative TOTPOP {value:g}")
        weight[index] = value
    if k < 1:
        raise DataError(f"{path}: k = {k} districts; at least 1 is needed")
    if k > n:
        raise DataError(f"{path}: k = {k} districts exceeds the number of nodes n = {n}")
    if not 0 <= tolerance < 1:
        raise DataError(f"{path}: tolerance {tolerance:g} must lie in [0, 1)")
    index_of = {node: i for i, node in enumerate(order)}
    graph = nx.Graph()
    graph.add_nodes_from(range(n))
    graph.add_edges_from((index_of[u], index_of[v]) for u, v in raw.edges() if u != v)
    total = float(weight.sum())
    lower = math.ceil((1 - tolerance) * total / k)
    upper = math.floor((1 + tolerance) * total / k)
    if lower > upper:
        raise DataError(
            f"{path}: empty population band: L = ceil((1-{tolerance:g}) * {total:g} / {k}) = {lower} exceeds "
            f"U = floor((1+{tolerance:g}) * {total:g} / {k}) = {upper}; raise the tolerance"
        )
    return BenchInstance(
        path.stem, "district", path, k, None, None, None, graph, weight, float(lower), float(upper), contiguity
    )


# --------------------------------------------------------------------------------------------------
# the territory-design problem and the objective
# --------------------------------------------------------------------------------------------------


def to_inputs(inst: BenchInstance) -> TerritoryInputs:
    """The instance as a chosen-centre territory design: units = sites = "0".."n-1", k centres opened."""
    n = inst.n
    units = tuple(str(i) for i in range(n))
    ones = dict.fromkeys(units, 1.0)
    if inst.kind in ("pmedian", "cpmp"):
        assert inst.cost is not None
        flat = inst.cost.ravel().tolist()
        pairs = tuple((units[i], units[j]) for i in range(n) for j in range(n))
        distance = dict(zip(pairs, flat, strict=True))
        bands: tuple[Band, ...] = ()
        if inst.kind == "cpmp":
            assert inst.demand is not None
            assert inst.capacity is not None
            bands = (
                Band(
                    measure="demand",
                    tolerance=0.0,
                    values=dict(zip(units, inst.demand.tolist(), strict=True)),
                    lower=dict.fromkeys(units, 0.0),
                    upper=dict(zip(units, inst.capacity.tolist(), strict=True)),
                    target=dict(zip(units, inst.capacity.tolist(), strict=True)),
                ),
            )
        return TerritoryInputs(
            units=units,
            sites=units,
            fixed_sites=False,
            territories=inst.k,
            pairs=pairs,
            distance=distance,
            distance_weight=ones,
            bands=bands,
        )
    assert inst.graph is not None
    assert inst.weight is not None
    assert inst.lower is not None
    assert inst.upper is not None
    pairs = tuple((units[i], units[j]) for i in range(n) for j in range(n))
    edges = tuple(sorted((str(min(u, v)), str(max(u, v))) for u, v in inst.graph.edges))
    band = Band(
        measure="TOTPOP",
        tolerance=(inst.upper - inst.lower) / 2 / (float(inst.weight.sum()) / inst.k or 1.0),
        values=dict(zip(units, inst.weight.tolist(), strict=True)),
        lower=dict.fromkeys(units, inst.lower),
        upper=dict.fromkeys(units, inst.upper),
        target=dict.fromkeys(units, float(inst.weight.sum()) / inst.k),
    )
    roots: dict[str, str] = {}
    root_distance: dict[str, dict[str, float]] = {}
    if inst.contiguity:
        roots = {u: u for u in units}
        hops = dict(nx.all_pairs_shortest_path_length(inst.graph))
        root_distance = {str(u): {str(v): float(d) for v, d in row.items()} for u, row in hops.items()}
    return TerritoryInputs(
        units=units,
        sites=units,
        fixed_sites=False,
        territories=inst.k,
        pairs=pairs,
        distance=dict.fromkeys(pairs, 0.0),
        distance_weight=ones,
        bands=(band,),
        compactness="cut_edges",
        contiguity=inst.contiguity,
        edges=edges,
        roots=roots,
        root_distance=root_distance,
    )


def score(inst: BenchInstance, assignment: list[int]) -> float:
    """Objective of an assignment with every constraint checked (ValueError when one fails).

    pmedian / cpmp: sum_i cost[i, a_i], exactly p medians, a_m = m for each median m, and for cpmp
    sum_{i: a_i = m} demand_i <= capacity_m. district: #{(u, v) in E : a_u != a_v}, k labels, each
    district's population in [L, U], each district connected when contiguity is required.
    """
    n = inst.n
    a = np.asarray(assignment)
    if a.shape != (n,):
        raise ValueError(f"{inst.name}: the assignment has {a.size} entries, the instance has {n} points")
    if a.size and (not np.issubdtype(a.dtype, np.integer) or a.min() < 0 or a.max() >= n):
        raise ValueError(f"{inst.name}: assignment entries must be integers in 0..{n - 1}")
    if inst.kind in ("pmedian", "cpmp"):
        assert inst.cost is not None
        medians = np.unique(a)
        if medians.size != inst.k:
            raise ValueError(f"{inst.name}: {medians.size} distinct medians used, p = {inst.k} required")
        stray = medians[a[medians] != medians]
        if stray.size:
            raise ValueError(f"{inst.name}: median {int(stray[0])} is assigned to {int(a[stray[0]])}, not itself")
        if inst.kind == "cpmp":
            assert inst.demand is not None
            assert inst.capacity is not None
            load = np.bincount(a, weights=inst.demand, minlength=n)
            over = medians[load[medians] > inst.capacity[medians] + 1e-9]
            if over.size:
                m = int(over[0])
                raise ValueError(f"{inst.name}: median {m} serves demand {load[m]:g} > capacity {inst.capacity[m]:g}")
        return float(inst.cost[np.arange(n), a].sum())
    assert inst.graph is not None
    assert inst.weight is not None
    labels = np.unique(a)
    if labels.size != inst.k:
        raise ValueError(f"{inst.name}: {labels.size} districts used, k = {inst.k} required")
    population = np.bincount(a, weights=inst.weight)
    for label in labels.tolist():
        pop = population[label]
        if not inst.lower <= pop <= inst.upper:
            raise ValueError(
                f"{inst.name}: district {label} has population {pop:g}, outside [{inst.lower:g}, {inst.upper:g}]"
            )
        if inst.contiguity and not nx.is_connected(inst.graph.subgraph(np.flatnonzero(a == label).tolist())):
            raise ValueError(f"{inst.name}: district {label} is not contiguous")
    return float(sum(1 for u, v in inst.graph.edges if a[u] != a[v]))
