"""Planner-shaped territory designs on public census-tract graphs, feasible by construction.

A design is what a planner brings to `spmopt run`: rep home bases in populous places, one to three
balance measures, contiguity, a few locked units, a disruption cap against today's alignment, one rep
with a larger target share. It is built from a tract dual graph (`tractFF.json` of the Validi-Buchanan
folder, see `tract_folder`) and a seed:

* units: the state's census tracts (id `GEOID10`), centred on their interior point (`INTPTLAT10`,
  `INTPTLON10`) projected to km in the state's UTM zone exactly as the product projects lat/lon units;
* adjacency: the graph's edges, plus one bridge per component without a path to the largest one (its
  nearest pair of tracts), recorded in the design's facts;
* measures: potential = population x a seeded lognormal factor (sigma 0.3); accounts = round(population /
  400 x a seeded gamma factor (mean 1, shape 4)), at least 1; workload = 2.5 h per account + 0.4 h x
  sqrt(land km2);
* reps: k home tracts, one per cell of a seeded recursive bisection of the state into cells of equal
  population, each drawn (weighted by population) among the populated tracts nearest its cell's population
  centre: reps sit in populous places, as many as the population there calls for;
* objective: account-weighted km from each tract to its rep's home (`distance_weight: accounts`).

Feasibility is proved by a *planted* alignment: k connected regions (a weighted graph Voronoi partition from
the home tracts, weights tuned to the first measure's targets), then balanced on every measure by boundary
moves and swaps that keep each region connected. Every requirement is then set so the planted alignment
meets it: a band whose requested tolerance the planted regions miss is widened to their worst deviation
+ 0.5 point, and the disruption cap to their moved share + 1 point (both reported as the effective values).
Locks pin a few units to their planted territory; today's alignment gives each unit to the rep with the
nearest home (not the planted one). The design is then built the way `spmopt run` builds it: a
`PlanningData` and a `ScenarioConfig` in memory, handed to `territory_inputs`.
"""

from __future__ import annotations

import heapq
import json
import math
import os
from collections import deque
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.sparse import coo_array
from scipy.sparse.csgraph import connected_components, dijkstra
from scipy.spatial import cKDTree

from spmopt.errors import ConfigError, DataError
from spmopt.territory.inputs import TerritoryInputs
from spmopt_bench.paths import ROOT
from spmopt_bench.plan_check import check_plan

SHARED_ENV = "SPMOPT_SHARED"
"""Environment variable naming the shared folder that holds `benchmarks/districting-validi-buchanan/`."""
TRACT_SUBFOLDER = Path("benchmarks") / "districting-validi-buchanan" / "tract"
STATES = {
    "01": "AL",
    "05": "AR",
    "13": "GA",
    "19": "IA",
    "20": "KS",
    "21": "KY",
    "22": "LA",
    "28": "MS",
    "29": "MO",
    "31": "NE",
    "35": "NM",
    "40": "OK",
    "54": "WV",
    "55": "WI",
}
"""State FIPS code -> postal code of the 14 tract graphs."""
MEASURES = ("potential", "accounts", "workload")
DISRUPTION_MEASURE = "potential"
DISTANCE_WEIGHT = "accounts"
UNEQUAL_SHARE = 1.5
"""Target share of the one rep with a larger territory (the others have 1)."""
BAND_MARGIN = 0.005
"""A band the planted alignment misses is widened to its worst deviation plus this (0.5 point)."""
CAP_MARGIN = 0.01
"""A cap the planted alignment misses is raised to its moved share plus this (1 point)."""
BALANCE_AIM = 0.6
"""Balancing stops once every planted region lies within this fraction of each requested tolerance."""
BALANCE_FREE = 0.4
BALANCE_CENTRE = 0.01
"""Shape of the balancing penalty (see `_balance`), in units of each measure's requested tolerance."""
BALANCE_MOVES = 20_000
"""Most boundary moves the balancing makes (a fixed effort: the same seed gives the same design)."""


# --------------------------------------------------------------------------------------------------
# the public tract graphs
# --------------------------------------------------------------------------------------------------


def shared_folder() -> Path:
    """The shared data folder: `$SPMOPT_SHARED`, else `../shared` beside the checkout."""
    given = os.environ.get(SHARED_ENV)
    return Path(given).expanduser() if given else ROOT.parent / "shared"


def tract_folder() -> Path:
    """The folder of the tract dual graphs, or a ConfigError saying where it was looked for."""
    folder = shared_folder() / TRACT_SUBFOLDER
    if not folder.is_dir():
        raise ConfigError(
            f"the planner designs need the census-tract graphs of the Validi-Buchanan benchmark, expected in "
            f"{folder}; set {SHARED_ENV} to the folder that holds benchmarks/districting-validi-buchanan/tract/"
        )
    return folder


@dataclass(frozen=True, slots=True, eq=False)
class TractGraph:
    """One state's tracts in file order: ids, interior points, population, land area and adjacency."""

    state: str
    path: Path
    ids: tuple[str, ...]
    lon: np.ndarray
    lat: np.ndarray
    population: np.ndarray
    land_km2: np.ndarray
    edges: np.ndarray
    """(E, 2) tract indices, u < v, sorted."""


@lru_cache(maxsize=16)
def _read_tracts(path: Path) -> TractGraph:
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
        nodes = raw["nodes"]
        adjacency = raw["adjacency"]
        index = {node["id"]: pos for pos, node in enumerate(nodes)}
        ids = tuple(str(node["GEOID10"]) for node in nodes)
        lat = np.array([float(node["INTPTLAT10"]) for node in nodes])
        lon = np.array([float(node["INTPTLON10"]) for node in nodes])
        population = np.array([float(node["TOTPOP"]) for node in nodes])
        land = np.array([float(node["ALAND10"]) for node in nodes]) / 1e6
        pairs = {
            (min(a, b), max(a, b))
            for a, links in enumerate(adjacency)
            for link in links
            if (b := index[link["id"]]) != a
        }
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{path}: not a readable tract dual graph ({type(exc).__name__}: {exc})") from None
    if len(set(ids)) != len(ids) or len(adjacency) != len(nodes):
        raise DataError(f"{path}: GEOID10 repeats or the adjacency lists do not match the nodes")
    edges = np.array(sorted(pairs), dtype=np.int64).reshape(-1, 2)
    state = path.stem.removeprefix("tract")
    return TractGraph(state, path, ids, lon, lat, population, land, edges)


def read_tracts(state: str) -> TractGraph:
    """The tract graph of a state (FIPS code such as "13")."""
    path = tract_folder() / f"tract{state}.json"
    if not path.is_file():
        have = ", ".join(sorted(p.stem.removeprefix("tract") for p in path.parent.glob("tract*.json")))
        raise ConfigError(f"no tract graph for state {state!r} in {path.parent} (have: {have})")
    return _read_tracts(path)


# --------------------------------------------------------------------------------------------------
# the design
# --------------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlannerSpec:
    """What a planner asks for; every other figure of the design follows from it and the seed."""

    name: str
    state: str
    """FIPS code of the tract graph, e.g. "13" for `tract13.json`."""
    reps: int
    measures: tuple[str, ...] = ("potential",)
    """Balance measures, 1-3 of `MEASURES`, the first one leading the planted regions' growth."""
    tolerances: tuple[float, ...] = (0.05,)
    """Requested band per measure (0.03 for +-3%); widened only if the planted alignment misses it."""
    contiguity: bool = True
    locks: int = 0
    """Units locked to their planted territory."""
    max_disruption: float | None = None
    """Requested cap on the moved share of potential against today's nearest-rep alignment."""
    unequal_share: bool = False
    """One rep (the first home placed) carries `UNEQUAL_SHARE` times the others' target."""
    seed: int = 0

    def __post_init__(self) -> None:
        problems = []
        if not 2 <= self.reps <= 60:
            problems.append(f"reps = {self.reps} (2-60)")
        if not 1 <= len(self.measures) <= 3 or len(set(self.measures)) != len(self.measures):
            problems.append(f"measures {self.measures} (1-3 distinct)")
        if any(m not in MEASURES for m in self.measures):
            problems.append(f"measures {self.measures} (known: {', '.join(MEASURES)})")
        if len(self.tolerances) != len(self.measures) or any(not 0 < t < 1 for t in self.tolerances):
            problems.append(f"tolerances {self.tolerances} (one in (0, 1) per measure)")
        if self.locks < 0 or (self.max_disruption is not None and not 0 < self.max_disruption <= 1):
            problems.append(f"locks = {self.locks}, max_disruption = {self.max_disruption}")
        if problems:
            raise ConfigError(f"planner design {self.name!r}: invalid " + "; ".join(problems))

    @property
    def label(self) -> str:
        """State postal code and FIPS, e.g. `GA (13)`."""
        return f"{STATES.get(self.state, '?')} ({self.state})"


@dataclass(frozen=True, slots=True, eq=False)
class PlannerDesign:
    """A built design: the engine's inputs, the planted alignment that proves it feasible, and its facts."""

    spec: PlannerSpec
    inputs: TerritoryInputs
    planted: dict[str, str]
    """unit -> site (rep id): meets every band, lock, cap and (under contiguity) connection of `inputs`."""
    facts: dict[str, object] = field(default_factory=dict)


def planner_design(spec: PlannerSpec) -> tuple[TerritoryInputs, dict[str, str]]:
    """The design's `TerritoryInputs` and its planted alignment (unit -> site)."""
    design = build_design(spec)
    return design.inputs, design.planted


def build_design(spec: PlannerSpec) -> PlannerDesign:
    """Build `spec` on its state's tract graph; see the module docstring for every step."""
    from spmopt.data import geography

    g = read_tracts(spec.state)
    n, k = len(g.ids), spec.reps
    if k > n // 10:
        raise ConfigError(f"planner design {spec.name!r}: {k} reps on {n} tracts leaves too few tracts per rep")
    streams = np.random.SeedSequence([spec.seed, int(spec.state)]).spawn(3)
    rng_measure, rng_homes, rng_locks = (np.random.default_rng(s) for s in streams)

    crs = geography.local_projected_crs(g.lon, g.lat)
    x, y = geography.project_lonlat(g.lon, g.lat, crs)
    xy = np.column_stack([x, y])
    edges, bridges = _bridged(xy, g.edges)

    # every factor is drawn whatever the measures, so one seed gives one data set per state
    potential = g.population * rng_measure.lognormal(0.0, 0.3, n)
    accounts = np.maximum(1.0, np.round(g.population / 400.0 * rng_measure.gamma(4.0, 0.25, n)))
    workload = accounts * 2.5 + 0.4 * np.sqrt(g.land_km2)
    values = {"potential": potential, "accounts": accounts, "workload": workload}

    homes = _homes(xy, g.population, k, rng_homes)
    shares = np.ones(k)
    if spec.unequal_share:
        shares[0] = UNEQUAL_SHARE
    share = shares / shares.sum()
    balance = np.array([values[m] for m in spec.measures])
    target = balance.sum(axis=1, keepdims=True) * share[None, :]
    tol = np.array(spec.tolerances)

    neighbours = _neighbours(n, edges)
    slot = _regions(xy, edges, neighbours, homes, balance[0], target[0])
    slot, moves = _balance(slot, neighbours, homes, balance, target, tol)
    load = np.array([np.bincount(slot, weights=b, minlength=k) for b in balance])
    worst = (np.abs(load - target) / target).max(axis=1)
    effective = [
        max(t, math.ceil((w + BAND_MARGIN) * 1e4) / 1e4) if w > t else t for t, w in zip(tol, worst, strict=True)
    ]

    lock_units = _pick_locks(potential, homes, spec.locks, rng_locks)
    nearest = cKDTree(xy[homes]).query(xy)[1]
    moved = float(potential[slot != nearest].sum() / potential.sum())
    cap = None
    if spec.max_disruption is not None:
        need = math.ceil((moved + CAP_MARGIN) * 1e3) / 1e3
        cap = spec.max_disruption if moved <= spec.max_disruption else need

    reps = [f"rep{t + 1:02d}" for t in range(k)]
    territories = [f"T{t + 1:02d}" for t in range(k)]
    data = _planning_data(g, xy, values, edges, homes, reps, territories, shares, slot, nearest, lock_units, cap)
    cfg = _scenario(spec, effective, cap, bool(lock_units))
    from spmopt.territory.inputs import territory_inputs

    inputs = territory_inputs(data, cfg)
    planted = {g.ids[i]: reps[int(slot[i])] for i in range(n)}
    # the generator proves what it claims: the engine's own inputs accept the planted alignment
    roots_expected = {reps[t]: g.ids[int(homes[t])] for t in range(k)}
    if spec.contiguity and inputs.roots != roots_expected:
        raise RuntimeError(f"{spec.name}: the product chose other home units than the planted roots")
    problems = check_plan(inputs, planted)
    if problems:
        raise RuntimeError(f"{spec.name}: planted alignment is not valid: {'; '.join(problems[:3])}")
    facts: dict[str, object] = {
        "state": spec.label,
        "units": n,
        "reps": k,
        "edges": len(edges),
        "bridges": [[g.ids[int(a)], g.ids[int(b)], round(float(np.hypot(*(xy[a] - xy[b]))), 2)] for a, b in bridges],
        "measures": list(spec.measures),
        "requested_tolerances": [float(t) for t in tol],
        "effective_tolerances": [float(t) for t in effective],
        "planted_worst_deviation": [round(float(w), 6) for w in worst],
        "planted_moved_share": round(moved, 6),
        "requested_cap": spec.max_disruption,
        "effective_cap": cap,
        "locks": len(lock_units),
        "unequal_share": {reps[0]: UNEQUAL_SHARE} if spec.unequal_share else None,
        "contiguity": spec.contiguity,
        "homes": {reps[t]: g.ids[int(homes[t])] for t in range(k)},
        "planted_balance_moves": moves,
        "planted_objective": float(sum(inputs.distance_weight[u] * inputs.distance[u, s] for u, s in planted.items())),
        "source": str(g.path.name),
        "seed": spec.seed,
    }
    return PlannerDesign(spec, inputs, planted, facts)


def _planning_data(
    g: TractGraph,
    xy: np.ndarray,
    values: dict[str, np.ndarray],
    edges: np.ndarray,
    homes: np.ndarray,
    reps: list[str],
    territories: list[str],
    shares: np.ndarray,
    slot: np.ndarray,
    nearest: np.ndarray,
    lock_units: list[int],
    cap: float | None,
):
    """The in-memory `PlanningData` a units/reps/adjacency/alignment/locks file set would load into."""
    from spmopt.data import geography
    from spmopt.data.loader import PlanningData

    index = pd.Index(g.ids, name="unit_id")
    units = pd.DataFrame({"x_km": xy[:, 0], "y_km": xy[:, 1]}, index=index)
    for m in MEASURES:
        units[m] = values[m]
    adjacency = geography.adjacency_graph(index, [(g.ids[a], g.ids[b]) for a, b in edges.tolist()])
    rep_frame = pd.DataFrame(
        {
            "x_km": xy[homes, 0],
            "y_km": xy[homes, 1],
            "territory_id": territories,
            "target_share": shares,
            "start_month": np.zeros(len(reps), dtype=int),
        },
        index=pd.Index(reps, name="rep_id"),
    )
    current = None
    if cap is not None:
        current = pd.Series([territories[t] for t in nearest.tolist()], index=index, name="territory_id")
    locks = None
    if lock_units:
        locks = pd.Series(
            [territories[int(slot[i])] for i in lock_units],
            index=pd.Index([g.ids[i] for i in lock_units], name="unit_id"),
            name="territory_id",
        )
    return PlanningData(
        units=units,
        measures=MEASURES,
        adjacency=adjacency,
        current_alignment=current,
        reps=rep_frame,
        locks=locks,
    )


def _scenario(spec: PlannerSpec, tolerances: list[float], cap: float | None, locks: bool):
    """The scenario a planner would write for this design; its file names only label messages."""
    from spmopt.config import BalanceConfig, DataConfig, ScenarioConfig, TerritoryConfig

    where = Path("planner") / spec.name
    data = DataConfig(
        units=where / "units.csv",
        adjacency=where / "adjacency.csv",
        reps=where / "reps.csv",
        current_alignment=where / "current_alignment.csv" if cap is not None else None,
    )
    territory = TerritoryConfig(
        balance=tuple(BalanceConfig(measure=m, tolerance=t) for m, t in zip(spec.measures, tolerances, strict=True)),
        compactness="distance",
        distance_weight=DISTANCE_WEIGHT,
        contiguity=spec.contiguity,
        max_disruption=cap,
        disruption_measure=DISRUPTION_MEASURE if cap is not None else None,
        locks=where / "locks.csv" if locks else None,
    )
    return ScenarioConfig(name=spec.name, seed=spec.seed, data=data, territory=territory)


# --------------------------------------------------------------------------------------------------
# construction steps
# --------------------------------------------------------------------------------------------------


def _bridged(xy: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Edges plus, for every component without a path to the largest, a link from its nearest tract pair."""
    n = len(xy)
    graph = coo_array((np.ones(len(edges)), (edges[:, 0], edges[:, 1])), shape=(n, n))
    pieces, label = connected_components(graph, directed=False)
    if pieces == 1:
        return edges, []
    sizes = np.bincount(label)
    joined = label == int(np.argmax(sizes))
    bridges = []
    for piece in sorted(range(pieces), key=lambda p: (-sizes[p], p)):
        inside = np.flatnonzero(label == piece)
        if joined[inside[0]]:
            continue
        main = np.flatnonzero(joined)
        dist, near = cKDTree(xy[main]).query(xy[inside])
        best = int(np.argmin(dist))
        a, b = int(inside[best]), int(main[near[best]])
        bridges.append((min(a, b), max(a, b)))
        joined[inside] = True
    out = np.vstack([edges, np.array(bridges, dtype=np.int64)])
    return out[np.lexsort((out[:, 1], out[:, 0]))], bridges


def _neighbours(n: int, edges: np.ndarray) -> list[list[int]]:
    out: list[list[int]] = [[] for _ in range(n)]
    for a, b in edges.tolist():
        out[a].append(b)
        out[b].append(a)
    return out


def _homes(xy: np.ndarray, population: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """One home tract per cell of a seeded recursive bisection into k cells of equal population.

    Each cut runs across the cell's wider axis turned by a seeded angle (up to 30 degrees either way) at the
    population quantile that gives both sides their share of reps; the home is drawn, weighted by population,
    from the five populated tracts nearest the cell's population centre. Reps so sit where people live, as
    many as the population there calls for (a spread-out placement left one rep for all of St. Louis at k = 18).
    """
    homes: list[int] = []

    def split(idx: np.ndarray, parts: int) -> None:
        if parts == 1:
            w = population[idx]
            centre = (xy[idx] * w[:, None]).sum(axis=0) / max(w.sum(), 1e-12)
            near = idx[np.argsort(np.hypot(*(xy[idx] - centre).T), kind="stable")]
            near = near[population[near] > 0][:5]
            homes.append(int(rng.choice(near, p=population[near] / population[near].sum())))
            return
        left = parts // 2
        pts = xy[idx] - xy[idx].mean(axis=0)
        span = pts.max(axis=0) - pts.min(axis=0)
        angle = (0.0 if span[0] >= span[1] else math.pi / 2) + rng.uniform(-math.pi / 6, math.pi / 6)
        idx = idx[np.argsort(pts @ np.array([math.cos(angle), math.sin(angle)]), kind="stable")]
        cum = np.cumsum(population[idx])
        cut = int(np.searchsorted(cum, cum[-1] * left / parts)) + 1
        cut = min(max(cut, 5 * left), len(idx) - 5 * (parts - left))
        split(idx[:cut], left)
        split(idx[cut:], parts - left)

    split(np.arange(len(xy)), k)
    return np.array(homes, dtype=np.int64)


def _regions(
    xy: np.ndarray,
    edges: np.ndarray,
    neighbours: list[list[int]],
    homes: np.ndarray,
    lead: np.ndarray,
    target: np.ndarray,
) -> np.ndarray:
    """Connected regions balanced on the lead measure: an additively weighted Voronoi partition on road-like
    (adjacency, km) distances from the homes, the weights tuned so each region nears its target.

    A unit's region is argmin_t d_t(i) - b_t; every unit on a shortest path from i to home t then prefers t as
    well, so regions are connected up to ties, which a regrowth from the homes settles.
    """
    n, k = len(xy), len(homes)
    length = np.hypot(*(xy[edges[:, 0]] - xy[edges[:, 1]]).T)
    graph = coo_array((length, (edges[:, 0], edges[:, 1])), shape=(n, n)).tocsr()
    dist = dijkstra(graph, directed=False, indices=homes)
    bias = np.zeros(k)
    rounds = 600
    best, best_slot = math.inf, np.argmin(dist, axis=0)
    for r in range(rounds):
        slot = np.argmin(dist - bias[:, None], axis=0)
        slot[homes] = np.arange(k)
        dev = np.bincount(slot, weights=lead, minlength=k) / target - 1
        worst = float(np.abs(dev).max())
        if worst < best:
            best, best_slot = worst, slot.copy()
        if worst < 0.005:
            break
        reach = np.zeros(k)
        np.maximum.at(reach, slot, dist[slot, np.arange(n)])
        bias -= (0.3 * (1 - r / rounds) + 0.02) * np.maximum(reach, 1.0) * np.clip(dev, -0.5, 0.5)
    return _connected(best_slot, neighbours, homes, dist)


def _connected(slot: np.ndarray, neighbours: list[list[int]], homes: np.ndarray, dist: np.ndarray) -> np.ndarray:
    """Keep each region's piece that holds its home; pieces cut off rejoin the nearest adjacent region."""
    slot = slot.copy()
    keep = np.zeros(len(slot), dtype=bool)
    for t, h in enumerate(homes.tolist()):
        keep[h] = True
        queue = deque([h])
        while queue:
            w = queue.popleft()
            for v in neighbours[w]:
                if not keep[v] and slot[v] == t:
                    keep[v] = True
                    queue.append(v)
    slot[~keep] = -1
    frontier = [
        (float(dist[slot[w], v]), v, int(slot[w])) for w in np.flatnonzero(keep).tolist() for v in neighbours[w]
    ]
    frontier = [f for f in frontier if slot[f[1]] < 0]
    heapq.heapify(frontier)
    while frontier:
        _, v, t = heapq.heappop(frontier)
        if slot[v] >= 0:
            continue
        slot[v] = t
        for w in neighbours[v]:
            if slot[w] < 0:
                heapq.heappush(frontier, (float(dist[t, w]), w, t))
    if (slot < 0).any():  # only a disconnected graph leaves units out; _bridged prevents that
        raise RuntimeError("region growing left units unassigned")
    return slot


def _balance(
    slot: np.ndarray,
    neighbours: list[list[int]],
    homes: np.ndarray,
    balance: np.ndarray,
    target: np.ndarray,
    tol: np.ndarray,
) -> tuple[np.ndarray, int]:
    """Boundary moves and swaps that keep every region connected, minimising sum_bt phi(deviation_bt / tol_b).

    phi(z) = max(|z| - `BALANCE_FREE`, 0)^2 + `BALANCE_CENTRE` z^2: a measure well inside its band costs
    almost nothing, so a region may spend that room to fix another measure that is outside.

    Each round prices every move (a boundary unit to a touching region) and every swap (two boundary units of
    touching regions trade places), then applies the best ones that touch disjoint regions, so their gains stay
    exact. It stops once every region is within `BALANCE_AIM` of each tolerance, when no move or swap helps, or
    after `BALANCE_MOVES` changes. Swaps matter: with several measures a region often must give one measure
    and take another, which no single move does.
    """
    slot = slot.copy()
    n, k = len(slot), len(homes)
    fixed = np.zeros(n, dtype=bool)
    fixed[homes] = True
    values = balance.T  # (n, B)
    goal = target.T  # (k, B)
    scale = goal * tol[None, :]
    load = np.zeros_like(goal)
    np.add.at(load, slot, values)
    src = np.repeat(np.arange(n), [len(v) for v in neighbours])
    dst = np.fromiter((b for v in neighbours for b in v), dtype=np.int64, count=len(src))
    changes = 0

    def phi(loads: np.ndarray, terr: np.ndarray) -> np.ndarray:
        z = (loads - goal[terr]) / scale[terr]
        return (np.maximum(np.abs(z) - BALANCE_FREE, 0.0) ** 2 + BALANCE_CENTRE * z**2).sum(axis=-1)

    while changes < BALANCE_MOVES:
        if (np.abs(load - goal) / scale).max() <= BALANCE_AIM:
            break
        here = phi(load, np.arange(k))
        cut = (slot[src] != slot[dst]) & ~fixed[src]
        pair = np.unique(np.column_stack([src[cut], slot[dst[cut]]]), axis=0)
        u, b = pair[:, 0], pair[:, 1]
        a = slot[u]
        gain = phi(load[a] - values[u], a) + phi(load[b] + values[u], b) - here[a] - here[b]
        options = [(float(gain[p]), 0, int(u[p]), int(b[p]), -1) for p in np.flatnonzero(gain < -1e-9).tolist()]
        options += _swaps(u, a, b, values, load, here, phi)
        options.sort()
        touched: set[int] = set()
        applied = 0
        for _, _, i, to, j in options:
            frm = int(slot[i])
            if frm in touched or to in touched:
                continue
            if j < 0:
                if not _stays_connected(slot, neighbours, i):
                    continue
                slot[i] = to
                load[frm] -= values[i]
                load[to] += values[i]
            else:
                if not _swap_keeps_connected(slot, neighbours, i, j):
                    continue
                slot[i], slot[j] = to, frm
                load[frm] += values[j] - values[i]
                load[to] += values[i] - values[j]
            touched.update((frm, to))
            applied += 1
        if not applied:
            break
        changes += applied
    return slot, changes


SWAPS_PER_PAIR = 40
"""Boundary units per side (lowest indices first) priced for swaps between two regions: a cap on the work."""


def _swaps(u, a, b, values, load, here, phi) -> list[tuple[float, int, int, int, int]]:
    """Improving swaps: unit i of region A (touching B) goes to B while unit j of B (touching A) comes to A."""
    out: list[tuple[float, int, int, int, int]] = []
    order = np.lexsort((u, b, a))
    u, a, b = u[order], a[order], b[order]
    key = a * (int(b.max()) + 1) + b
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    groups = {(int(a[s]), int(b[s])): u[s:e] for s, e in zip(starts, np.r_[starts[1:], len(u)], strict=True)}
    for (ta, tb), give in groups.items():
        if ta > tb or (tb, ta) not in groups:
            continue
        take = groups[tb, ta]
        give, take = give[:SWAPS_PER_PAIR], take[:SWAPS_PER_PAIR]
        delta = values[give][:, None, :] - values[take][None, :, :]  # A loses give, gains take
        ia = np.array([ta])
        ib = np.array([tb])
        gain = phi(load[ta] - delta, ia) + phi(load[tb] + delta, ib) - here[ta] - here[tb]
        for p, q in zip(*np.nonzero(gain < -1e-9), strict=True):
            out.append((float(gain[p, q]), 1, int(give[p]), tb, int(take[q])))
    return out


def _swap_keeps_connected(slot: np.ndarray, neighbours: list[list[int]], i: int, j: int) -> bool:
    """i (region A) and j (region B) trade places and both regions stay connected (a sufficient test)."""
    ta, tb = slot[i], slot[j]
    if not (_stays_connected(slot, neighbours, i) and _stays_connected(slot, neighbours, j)):
        return False
    return any(slot[v] == ta and v != i for v in neighbours[j]) and any(slot[v] == tb and v != j for v in neighbours[i])


def _stays_connected(slot: np.ndarray, neighbours: list[list[int]], i: int) -> bool:
    """Whether i's region stays connected without i: its neighbours in the region all reach one another."""
    t = slot[i]
    near = [v for v in neighbours[i] if slot[v] == t]
    if len(near) <= 1:
        return bool(near)
    goal = set(near[1:])
    seen = {i, near[0]}
    queue = deque([near[0]])
    while queue and goal:
        w = queue.popleft()
        for v in neighbours[w]:
            if v not in seen and slot[v] == t:
                seen.add(v)
                goal.discard(v)
                queue.append(v)
    return not goal


def _pick_locks(potential: np.ndarray, homes: np.ndarray, count: int, rng: np.random.Generator) -> list[int]:
    """`count` non-home units drawn with probability ~ potential (key accounts are the ones planners lock)."""
    if count == 0:
        return []
    weight = potential.copy()
    weight[homes] = 0.0
    chosen = rng.choice(len(potential), size=count, replace=False, p=weight / weight.sum())
    return sorted(int(i) for i in chosen)


# --------------------------------------------------------------------------------------------------
# the suite's designs
# --------------------------------------------------------------------------------------------------

_P, _A, _W = MEASURES
DESIGNS: tuple[PlannerSpec, ...] = (
    PlannerSpec("ar-k6-p", "05", 6, (_P,), (0.05,)),
    PlannerSpec("ms-k8-pa-locks", "28", 8, (_P, _A), (0.04, 0.08), locks=4),
    PlannerSpec("ia-k5-pw-free", "19", 5, (_P, _W), (0.03, 0.10), contiguity=False),
    PlannerSpec("ks-k10-pa-cap", "20", 10, (_P, _A), (0.05, 0.08), max_disruption=0.20),
    PlannerSpec("ok-k12-paw-locks", "40", 12, (_P, _A, _W), (0.05, 0.08, 0.10), locks=6),
    PlannerSpec("ky-k14-pw-share", "21", 14, (_P, _W), (0.04, 0.10), unequal_share=True),
    PlannerSpec("la-k16-paw-cap-locks", "22", 16, (_P, _A, _W), (0.05, 0.10, 0.12), locks=8, max_disruption=0.25),
    PlannerSpec(
        "mo-k18-pa-share-cap", "29", 18, (_P, _A), (0.04, 0.06), locks=5, max_disruption=0.30, unequal_share=True
    ),
    PlannerSpec("al-k20-paw-tight", "01", 20, (_P, _A, _W), (0.02, 0.03, 0.05)),
    PlannerSpec("wi-k22-pa-tight", "55", 22, (_P, _A), (0.02, 0.03)),
    PlannerSpec(
        "ga-k24-paw-tight-all",
        "13",
        24,
        (_P, _A, _W),
        (0.025, 0.03, 0.06),
        locks=6,
        max_disruption=0.20,
        unequal_share=True,
    ),
    PlannerSpec("ga-k9-p-tight", "13", 9, (_P,), (0.02,)),
)
"""The `planner` suite: 12 designs on 11 states, 664-1,965 tracts, 5-24 reps, 1-3 measures; contiguous but one,
four with locks, four with a disruption cap, three with an unequal share; the `-tight` ones hold +-2-3% bands."""


def design_spec(name: str) -> PlannerSpec:
    """The suite design called `name`."""
    for spec in DESIGNS:
        if spec.name == name:
            return spec
    raise ConfigError(f"no planner design {name!r}; designs: {', '.join(s.name for s in DESIGNS)}")
